//! The rules that keep a state's history linear, as pure functions so that every backend and the
//! `state push` command apply the same ones.

use crate::{State, StateError};

/// Whether `incoming` may replace `current` in a `state push`: it must continue the same lineage
/// and must not be older, and a state at the same serial must be the same state. `force` skips
/// every check; the pushed state should then be [`State::rebase_onto`] the current one so that the
/// store's own [`check_overwrite`] accepts it.
pub fn check_push(current: Option<&State>, incoming: &State, force: bool) -> Result<(), StateError> {
    let Some(current) = current else { return Ok(()) };
    if force {
        return Ok(());
    }
    if current.lineage != incoming.lineage {
        return Err(StateError::PushLineage { current: current.lineage.clone(), incoming: incoming.lineage.clone() });
    }
    if incoming.serial < current.serial {
        return Err(StateError::PushOlder { current: current.serial, incoming: incoming.serial });
    }
    if incoming.serial == current.serial
        && (incoming.resources != current.resources || incoming.outputs != current.outputs)
    {
        return Err(StateError::PushSameSerial { serial: incoming.serial });
    }
    Ok(())
}

/// Whether a store holding `stored` may write `incoming` over it: the lineage must match and the
/// serial must not go backwards. Every [`crate::StateStore::write`] applies this to what it holds,
/// so a writer that started from an older copy cannot undo a newer run's changes. `target` is the
/// store's [`crate::StateStore::describe`], for the message.
pub fn check_overwrite(target: &str, stored: &State, incoming: &State) -> Result<(), StateError> {
    check_serial(target, (&stored.lineage, stored.serial), (&incoming.lineage, incoming.serial))
}

/// [`check_overwrite`] on lineages and serials alone, as `(lineage, serial)`: what a journal
/// record carries.
pub fn check_serial(target: &str, stored: (&str, u64), incoming: (&str, u64)) -> Result<(), StateError> {
    if stored.0 != incoming.0 {
        return Err(StateError::LineageChanged {
            target: target.to_owned(),
            stored: stored.0.to_owned(),
            incoming: incoming.0.to_owned(),
        });
    }
    if incoming.1 < stored.1 {
        return Err(StateError::SerialBackwards { target: target.to_owned(), stored: stored.1, incoming: incoming.1 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutputState;

    fn at(lineage: &State, serial: u64) -> State {
        State { serial, ..lineage.clone() }
    }

    fn with_output(state: &State, value: &str) -> State {
        let mut changed = state.clone();
        changed.outputs.insert("x".to_owned(), OutputState { value: value.into(), sensitive: false });
        changed
    }

    #[test]
    fn push_to_an_empty_backend_is_always_allowed() {
        assert!(check_push(None, &State::new(), false).is_ok());
    }

    #[test]
    fn push_allows_newer_and_identical_states_of_the_same_lineage() {
        let current = at(&State::new(), 4);
        assert!(check_push(Some(&current), &with_output(&at(&current, 5), "new"), false).is_ok());
        assert!(check_push(Some(&current), &current.clone(), false).is_ok());
    }

    #[test]
    fn push_refuses_another_lineage() {
        let current = at(&State::new(), 4);
        let foreign = at(&State::new(), 9);
        let err = check_push(Some(&current), &foreign, false).unwrap_err();
        assert!(
            matches!(&err, StateError::PushLineage { current: c, incoming: i } if *c == current.lineage && *i == foreign.lineage)
        );
        assert!(err.to_string().contains("-force"), "{err}");
    }

    #[test]
    fn push_refuses_an_older_serial() {
        let current = at(&State::new(), 4);
        let err = check_push(Some(&current), &at(&current, 3), false).unwrap_err();
        assert!(matches!(err, StateError::PushOlder { current: 4, incoming: 3 }));
    }

    #[test]
    fn push_refuses_different_contents_at_the_same_serial() {
        let current = at(&State::new(), 4);
        let err = check_push(Some(&current), &with_output(&current, "diverged"), false).unwrap_err();
        assert!(matches!(err, StateError::PushSameSerial { serial: 4 }));
    }

    #[test]
    fn force_pushes_anything_and_rebasing_satisfies_the_store() {
        let current = at(&State::new(), 4);
        let mut foreign = at(&State::new(), 1);
        assert!(check_push(Some(&current), &foreign, true).is_ok());
        assert!(check_overwrite("t", &current, &foreign).is_err());
        foreign.rebase_onto(&current);
        assert!(check_overwrite("t", &current, &foreign).is_ok());
    }

    #[test]
    fn overwrite_allows_the_same_or_a_later_serial() {
        let stored = at(&State::new(), 4);
        assert!(check_overwrite("t", &stored, &at(&stored, 4)).is_ok());
        assert!(check_overwrite("t", &stored, &at(&stored, 5)).is_ok());
    }

    #[test]
    fn overwrite_refuses_going_back_or_changing_lineage() {
        let stored = at(&State::new(), 4);
        let err = check_overwrite("local state file s", &stored, &at(&stored, 3)).unwrap_err();
        assert!(matches!(&err, StateError::SerialBackwards { stored: 4, incoming: 3, .. }));
        assert!(err.to_string().starts_with("refusing to write serial 3 to local state file s"), "{err}");
        let err = check_overwrite("t", &stored, &at(&State::new(), 5)).unwrap_err();
        assert!(matches!(err, StateError::LineageChanged { .. }));
    }
}
