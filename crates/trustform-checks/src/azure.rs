//! The Azure check (seed 002): a custom role can only be assigned inside its assignable scopes.

use super::shape::is_hole;
use super::{finding, text, Spec};
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::{ResourceAddr, Value};

const DEFINITION: &str = "azurerm_role_definition";
const ASSIGNMENT: &str = "azurerm_role_assignment";

pub(super) fn checks(spec: &Spec<'_>, diags: &mut Diagnostics) {
    let definitions: Vec<(&ResourceAddr, &Value)> = spec.resources(DEFINITION).collect();
    for (address, after) in spec.resources(ASSIGNMENT) {
        let Some(scope) = spec.shaped(after, "scope") else { continue };
        let Some((definition, role)) = definition_of(spec, address, after, &definitions) else { continue };
        let Some(assignable) = assignable_scopes(spec, definition, role) else { continue };
        // Judged only when every assignable scope surely does not hold the assignment's.
        if !assignable.iter().all(|parent| contains(parent, &scope) == Some(false)) {
            continue;
        }
        let scope = spec.show(&scope);
        // A management group holds subscriptions the spec does not list: not judged.
        if assignable.iter().any(|parent| parent.to_ascii_lowercase().contains("/providers/microsoft.management/")) {
            continue;
        }
        diags.push(finding(
            Diagnostic::error(
                "TF1314",
                "Role assignment outside the role's assignable scopes",
                format!(
                    "{address} assigns {definition} at {scope:?}, but the role definition is assignable only at {}, \
                     so ARM refuses the assignment. Assign it at one of those scopes or below, or add {scope:?} \
                     (or a parent of it) to the definition's assignable_scopes.",
                    assignable.iter().map(|s| format!("{:?}", spec.show(s))).collect::<Vec<_>>().join(", ")
                ),
            ),
            spec.attr_span(address, "scope"),
            address,
            [spec.attr_span(definition, "assignable_scopes")],
        ));
    }
}

/// The spec's role definition an assignment names: by resource id or role name when known,
/// else the one definition it depends on.
fn definition_of<'s>(
    spec: &Spec<'s>,
    address: &ResourceAddr,
    after: &Value,
    definitions: &[(&'s ResourceAddr, &'s Value)],
) -> Option<(&'s ResourceAddr, &'s Value)> {
    if let Some(id) = text(after, "role_definition_id") {
        let found = definitions
            .iter()
            .find(|(_, d)| text(d, "role_definition_resource_id").is_some_and(|rid| rid.eq_ignore_ascii_case(id)));
        if found.is_some() {
            return found.copied();
        }
    }
    if let Some(name) = text(after, "role_definition_name") {
        return definitions.iter().find(|(_, d)| text(d, "name") == Some(name)).copied();
    }
    if text(after, "role_definition_id").is_some() {
        return None;
    }
    let mut depended = spec.dependencies(address).iter().filter(|dependency| dependency.type_name() == DEFINITION);
    match (depended.next(), depended.next()) {
        (Some(dependency), None) => definitions.iter().find(|(a, _)| *a == dependency).copied(),
        _ => None,
    }
}

/// The definition's assignable scopes; unset, Azure uses the definition's own scope.
fn assignable_scopes(spec: &Spec<'_>, address: &ResourceAddr, definition: &Value) -> Option<Vec<String>> {
    match definition.get("assignable_scopes").map(Value::unmarked) {
        Some(Value::List(scopes)) if !scopes.is_empty() => scopes.iter().map(|scope| spec.holes.text(scope)).collect(),
        Some(Value::Unknown) if spec.writes(address, "assignable_scopes") => None,
        _ => spec.shaped(definition, "scope").map(|scope| vec![scope]),
    }
}

/// Whether ARM scope `child` is `parent` or lies below it (ids compare case-insensitively);
/// `None` when holes leave it open. One expression is one hole ([`super::shape`]), so the texts
/// agree place for place up to their first difference: a difference between known characters
/// there settles it.
fn contains(parent: &str, child: &str) -> Option<bool> {
    let parent: Vec<char> = parent.trim_end_matches('/').to_lowercase().chars().collect();
    let child: Vec<char> = child.trim_end_matches('/').to_lowercase().chars().collect();
    if parent.is_empty() {
        return Some(true);
    }
    let same = parent.iter().zip(&child).take_while(|(p, c)| p == c).count();
    if same == parent.len() {
        return match child.get(same) {
            None | Some('/') => Some(true),
            Some(c) if is_hole(*c) => None,
            Some(_) => Some(false),
        };
    }
    let differs = |c: Option<&char>| c.is_none_or(|c| !is_hole(*c));
    (!is_hole(parent[same]) && differs(child.get(same))).then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_contain_their_descendants_only() {
        let group = "/subscriptions/S/resourceGroups/openai";
        assert_eq!(contains(group, "/subscriptions/s/resourcegroups/OpenAI"), Some(true));
        assert_eq!(
            contains(group, "/subscriptions/S/resourceGroups/openai/providers/Microsoft.CognitiveServices/accounts/a"),
            Some(true)
        );
        assert_eq!(contains(group, "/subscriptions/S/resourceGroups/openai-other"), Some(false));
        assert_eq!(contains(group, "/subscriptions/S"), Some(false));
        assert_eq!(contains("/", "/subscriptions/S"), Some(true));
    }

    #[test]
    fn scopes_with_holes_are_judged_where_the_known_text_settles_it() {
        let sub = '\u{F0000}';
        let other = '\u{F0001}';
        let group = format!("/subscriptions/{sub}/resourceGroups/openai");
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/openai/x")), Some(true));
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/other")), Some(false));
        assert_eq!(
            contains(&group, &format!("/subscriptions/{other}/resourceGroups/openai")),
            None,
            "two subscriptions"
        );
        assert_eq!(contains(&group, &format!("/subscriptions/{sub}/resourceGroups/openai{other}")), None);
        assert_eq!(contains(&format!("/subscriptions/{sub}"), "/subscriptions/s1"), None);
    }
}
