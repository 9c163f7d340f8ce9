//! `moved` and `removed` blocks: what they do to the prior state before a plan is made, and the
//! checks Terraform makes of them.
//!
//! Moves are applied to a copy of the state before refresh, as Terraform's `refactoring.ApplyMoves`
//! does (hashicorp/terraform internal/refactoring/move_execute.go), so refresh, diff and render
//! all see each object at its new address; the plan lists the moves ([`Plan::moved`]) and the
//! apply records them first. The statement checks follow `ValidateMoves`
//! (internal/refactoring/move_validate.go): redundant, ambiguous and cyclic statements, a type
//! change, and a `from` still declared; an object that cannot move because another already sits
//! at its destination stays and is reported ("Unresolved resource instance address changes", a
//! warning, as in Terraform).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_graph::Dag;
use trustform_lang::config::{Config, Moved};
use trustform_lang::ResourceAddr;
use trustform_plan::{Action, MovedObject, Plan};
use trustform_state::State;

/// Where the statements send `addr`, following chains; `None` when no statement matches it.
fn destination(statements: &[Moved], addr: &ResourceAddr) -> Option<ResourceAddr> {
    let mut current = addr.clone();
    let mut seen = BTreeSet::from([current.clone()]);
    loop {
        let next = statements.iter().find_map(|m| {
            if m.is_resource_move() && m.from.resource == current.resource {
                Some(m.to.resource.instance(current.key.clone()))
            } else if !m.is_resource_move() && m.from == current {
                Some(m.to.clone())
            } else {
                None
            }
        });
        match next {
            // A cycle is reported by `validate`; stop where it closes.
            Some(next) if seen.insert(next.clone()) => current = next,
            _ => break,
        }
    }
    (&current != addr).then_some(current)
}

/// The statement problems that need no plan: each statement on its own, then the set.
pub(crate) fn validate(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let statements = &config.moved;
    let mut from_seen: BTreeMap<&ResourceAddr, &Moved> = BTreeMap::new();
    let mut to_seen: BTreeMap<&ResourceAddr, &Moved> = BTreeMap::new();
    for m in statements {
        if m.from == m.to {
            diags.push(
                Diagnostic::error(
                    "TF0715",
                    "Redundant move statement",
                    format!("This statement declares a move from {} to the same address, which is the same as not declaring this move at all. Remove it.", m.from),
                )
                .with_span(m.span.clone()),
            );
            continue;
        }
        if m.from.resource.type_name != m.to.resource.type_name {
            diags.push(
                Diagnostic::error(
                    "TF0711",
                    "Resource type mismatch",
                    format!(
                        "This statement declares a move from {} to {}, which is a resource of a different type. An object can only move to an address of its own type; to change the type, remove the old resource and import the object under the new one.",
                        m.from, m.to
                    ),
                )
                .with_span(m.span.clone()),
            );
            continue;
        }
        if let Some(first) = from_seen.get(&m.from).filter(|first| first.to != m.to) {
            diags.push(
                Diagnostic::error(
                    "TF0713",
                    "Ambiguous move statements",
                    format!("A statement at {} declared that {} moved to {}, but this statement instead declares that it moved to {}. Each resource can move to only one destination; remove one of the statements.", first.span, m.from, first.to, m.to),
                )
                .with_span(m.span.clone()),
            );
        }
        from_seen.entry(&m.from).or_insert(m);
        if let Some(first) = to_seen.get(&m.to).filter(|first| first.from != m.from) {
            diags.push(
                Diagnostic::error(
                    "TF0713",
                    "Ambiguous move statements",
                    format!("A statement at {} declared that {} moved to {}, but this statement instead declares that {} moved there. Each resource can have moved from only one source; remove one of the statements.", first.span, first.from, m.to, m.from),
                )
                .with_span(m.span.clone()),
            );
        }
        to_seen.entry(&m.to).or_insert(m);
        if m.is_resource_move() && config.resources.contains_key(&m.from.resource) {
            let declared = &config.resources[&m.from.resource];
            diags.push(
                Diagnostic::error(
                    "TF0710",
                    "Moved object still exists",
                    format!("This statement declares a move from {}, but that resource is still declared at {}. Change your configuration so that this resource will be declared as {} instead.", m.from, declared.span, m.to),
                )
                .with_span(m.span.clone()),
            );
        }
    }
    if diags.has_errors() {
        return diags;
    }
    // A chain that comes back to where it started has no final location.
    let mut graph = Dag::new();
    let ids: Vec<_> = (0..statements.len()).map(|i| graph.add_node(i)).collect();
    for (i, m) in statements.iter().enumerate() {
        for (j, next) in statements.iter().enumerate() {
            if chains(m, next) {
                graph.add_edge(ids[i], ids[j]);
            }
        }
    }
    for cycle in graph.cycles() {
        let mut lines: Vec<String> = cycle
            .iter()
            .map(|id| &statements[*graph.node(*id)])
            .map(|s| format!("\n  - {}: {} → {}", s.span, s.from, s.to))
            .collect();
        lines.sort();
        let first = &statements[*graph.node(cycle[0])];
        diags.push(
            Diagnostic::error(
                "TF0712",
                "Cyclic dependency in move statements",
                format!("The following chained move statements form a cycle, and so there is no final location to move objects to:{}\n\nA chain of move statements must end with an address that doesn't appear in any other statements, and which typically also refers to an object still declared in the configuration.", lines.concat()),
            )
            .with_span(first.span.clone()),
        );
    }
    diags
}

/// Whether `next` picks up what `m` moves: it moves from where `m` moves to.
fn chains(m: &Moved, next: &Moved) -> bool {
    match (m.is_resource_move(), next.is_resource_move()) {
        (_, true) | (true, false) => next.from.resource == m.to.resource,
        (false, false) => next.from == m.to,
    }
}

/// Applies the statements to a copy of `state` (borrowed as it is when there are none, so a
/// plan without moves copies nothing): the state to plan against, the moves made, and a
/// warning for each object whose destination is taken.
pub(crate) fn apply_moves<'a>(config: &Config, state: &'a State) -> (Cow<'a, State>, Vec<MovedObject>, Diagnostics) {
    let mut diags = Diagnostics::new();
    if config.moved.is_empty() {
        return (Cow::Borrowed(state), Vec::new(), diags);
    }
    let mut moved_state = state.clone();
    let mut moves = Vec::new();
    let mut blocked = Vec::new();
    for addr in state.resources.keys().filter(|a| !a.is_data()) {
        let Some(to) = destination(&config.moved, addr) else { continue };
        if moved_state.resources.contains_key(&to) {
            blocked.push(format!("\n  - {addr} could not move to {to}"));
            continue;
        }
        if let Some(object) = moved_state.resources.remove(addr) {
            moved_state.resources.insert(to.clone(), object);
            moves.push(MovedObject { from: addr.clone(), to });
        }
    }
    if !blocked.is_empty() {
        diags.push(Diagnostic::warning(
            "TF0714",
            "Unresolved resource instance address changes",
            format!(
                "Trustform tried to adjust resource instance addresses in the prior state based on change information recorded in the configuration, but some adjustments did not succeed due to existing objects already at the intended addresses:{}\n\nTrustform has planned to destroy these objects. If Trustform's proposed changes aren't appropriate, you must first resolve the conflicts using the \"trustform state\" subcommands and then create a new plan.",
                blocked.concat()
            ),
        ));
    }
    (Cow::Owned(moved_state), moves, diags)
}

/// The checks that need the plan: an instance a statement moves away from that the
/// configuration still declares (Terraform's "Moved object still exists" for instances).
pub(crate) fn validate_planned(config: &Config, plan: &Plan) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for m in config.moved.iter().filter(|m| !m.is_resource_move()) {
        let declared = plan.change(&m.from).is_some_and(|c| !matches!(c.action(), Action::Delete | Action::Forget));
        if declared {
            diags.push(
                Diagnostic::error(
                    "TF0710",
                    "Moved object still exists",
                    format!("This statement declares a move from {}, but that resource instance is still declared in the configuration. Change your configuration so that this instance will be declared as {} instead.", m.from, m.to),
                )
                .with_span(m.span.clone())
                .with_address(&m.from),
            );
        }
    }
    diags
}

/// Records `plan`'s moves in `state` (a saved plan's, checked against the state it is applied
/// to): each `from` must be recorded and its `to` free, else the plan is stale.
pub(crate) fn replay_moves(plan: &Plan, state: &mut State) -> Result<(), String> {
    for m in &plan.moved {
        if state.resources.contains_key(&m.to) {
            return Err(format!("the plan moves {} to {}, but the state already records {}", m.from, m.to, m.to));
        }
        let object = state.resources.remove(&m.from).ok_or_else(|| {
            format!("the plan moves {} to {}, but the state does not record {}", m.from, m.to, m.from)
        })?;
        state.resources.insert(m.to.clone(), object);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::config::load_sources;
    use trustform_lang::Value;
    use trustform_state::ResourceState;

    fn config(text: &str) -> Config {
        let (config, diags) = load_sources([("main.tf".to_owned(), text.to_owned())]);
        assert!(!diags.has_errors(), "{diags:?}");
        config
    }

    fn addr(text: &str) -> ResourceAddr {
        text.parse().unwrap()
    }

    fn state(addresses: &[&str]) -> State {
        let mut state = State::new();
        for text in addresses {
            let address = addr(text);
            let value = Value::object([("id", Value::from(*text))]);
            let object = ResourceState::from_value(address.type_name(), "trustform", &value, Vec::new()).unwrap();
            state.resources.insert(address, object);
        }
        state
    }

    fn ids(state: &State) -> Vec<(String, String)> {
        state.resources.iter().map(|(a, r)| (a.to_string(), r.id.clone())).collect()
    }

    #[test]
    fn a_chain_of_moves_takes_each_object_to_its_last_address_keeping_keys() {
        let config = config(
            r#"
            moved {
              from = trustform_data.a
              to   = trustform_data.b
            }
            moved {
              from = trustform_data.b
              to   = trustform_data.c
            }
            moved {
              from = trustform_data.single
              to   = trustform_data.keyed["one"]
            }
            "#,
        );
        assert!(validate(&config).is_empty());
        let prior = state(&["trustform_data.a[0]", "trustform_data.a[1]", "trustform_data.single"]);
        let (moved, moves, diags) = apply_moves(&config, &prior);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            ids(&moved),
            [
                ("trustform_data.c[0]".to_owned(), "trustform_data.a[0]".to_owned()),
                ("trustform_data.c[1]".to_owned(), "trustform_data.a[1]".to_owned()),
                ("trustform_data.keyed[\"one\"]".to_owned(), "trustform_data.single".to_owned()),
            ]
        );
        let pairs: Vec<_> = moves.iter().map(|m| format!("{} -> {}", m.from, m.to)).collect();
        assert_eq!(
            pairs,
            [
                "trustform_data.a[0] -> trustform_data.c[0]",
                "trustform_data.a[1] -> trustform_data.c[1]",
                "trustform_data.single -> trustform_data.keyed[\"one\"]",
            ]
        );
        // Already moved: the statements find nothing to do.
        let (again, moves, _) = apply_moves(&config, &moved);
        assert!(moves.is_empty());
        assert_eq!(ids(&again), ids(&moved));
    }

    #[test]
    fn an_occupied_destination_keeps_both_objects_and_warns_as_terraform_does() {
        let config = config("moved {\n  from = trustform_data.old\n  to   = trustform_data.new\n}\n");
        let prior = state(&["trustform_data.old", "trustform_data.new"]);
        let (moved, moves, diags) = apply_moves(&config, &prior);
        assert!(moves.is_empty());
        assert_eq!(ids(&moved), ids(&prior));
        let warning = diags.iter().next().unwrap();
        assert_eq!(
            (warning.code, warning.summary.as_str()),
            ("TF0714", "Unresolved resource instance address changes")
        );
        assert!(
            warning.detail.contains("- trustform_data.old could not move to trustform_data.new"),
            "{}",
            warning.detail
        );
    }

    #[test]
    fn ambiguous_and_redundant_statements_are_errors() {
        let config = config(
            r#"
            moved {
              from = trustform_data.a
              to   = trustform_data.b
            }
            moved {
              from = trustform_data.a
              to   = trustform_data.c
            }
            moved {
              from = trustform_data.d
              to   = trustform_data.d
            }
            "#,
        );
        let found: Vec<_> = validate(&config).iter().map(|d| (d.code, d.summary.clone())).collect();
        assert_eq!(
            found,
            [("TF0713", "Ambiguous move statements".to_owned()), ("TF0715", "Redundant move statement".to_owned()),]
        );
    }

    #[test]
    fn a_saved_plans_moves_replay_only_onto_the_state_they_were_planned_from() {
        let plan = Plan {
            moved: vec![MovedObject { from: addr("trustform_data.x"), to: addr("trustform_data.y") }],
            ..Plan::default()
        };
        let mut fresh = state(&["trustform_data.x"]);
        replay_moves(&plan, &mut fresh).unwrap();
        assert_eq!(ids(&fresh), [("trustform_data.y".to_owned(), "trustform_data.x".to_owned())]);
        let err = replay_moves(&plan, &mut fresh).unwrap_err();
        assert!(err.contains("already records trustform_data.y"), "{err}");
    }
}
