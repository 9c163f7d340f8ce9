//! Checking a plan read from a file before it is applied.
//!
//! A saved plan is input like a spec or a state: whoever can write the file could name any
//! object in its prior values, and the apply would update or delete what they name. So every
//! prior value must be the state's record of that address, or what the cloud answers for that
//! record now (a plan made after refresh found drift); data sources are read again; a create must
//! not hide an object the state still records. Planned values need no check here: the apply
//! compares each with what the configuration gives (TF1013).

use crate::engine::Engine;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_lang::{ResourceAddr, Value};
use trustform_plan::{Action, Change, ChangeValues, Plan, PlanMode};
use trustform_schema::block_body_equal;
use trustform_state::{ResourceState, State};

impl Engine {
    /// Checks `plan` (read from a file) against `state` (just read, under the lock) and returns
    /// the plan to apply: the same changes, with data sources read again during the apply.
    /// Every mismatch is an error that asks for a new plan.
    pub async fn verify_saved_plan(&self, plan: &Plan, state: &State) -> Result<Plan, Diagnostics> {
        let mut diags = self.configure_providers(state).await;
        if diags.has_errors() {
            return Err(diags);
        }
        // The changes are at the addresses the plan's moves give; check them against a state
        // with the same moves made, each only if the state is still as the plan found it.
        let mut moved_state = state.clone();
        if let Err(problem) = crate::refactor::replay_moves(plan, &mut moved_state) {
            diags.push(Diagnostic::error(
                "TF1036",
                "Saved plan does not match the state",
                format!("{problem}; nothing was applied. Make a new plan with `trustform plan --out FILE`."),
            ));
            return Err(diags);
        }
        if let Err((addr, problem)) = self.replay_imports(plan, &mut moved_state).await {
            diags.push(mismatch(&addr, &problem));
            return Err(diags);
        }
        let state = &moved_state;
        let mut verified = plan.clone();
        for change in &mut verified.changes {
            if let Err(problem) = self.verify_change(plan.mode, change, state).await {
                diags.push(mismatch(&change.address, &problem));
            }
            // Read again during the apply, so no value a data source gave at plan time comes
            // from the file; a different answer now fails the apply's planned-value check.
            if let ChangeValues::NoOp { after, .. } = &change.values {
                if change.address.is_data() && plan.mode != PlanMode::RefreshOnly {
                    change.values = ChangeValues::Read { after: after.clone() };
                }
            }
        }
        for addr in &plan.adopted {
            let creating =
                state.resources.get(addr).is_some_and(|r| r.status == trustform_state::ResourceStatus::Creating);
            if !creating {
                diags.push(mismatch(addr, "the plan adopts it, but the state records no interrupted create of it"));
            }
        }
        if diags.has_errors() {
            return Err(diags);
        }
        Ok(verified)
    }

    /// Checks one change and puts the trusted prior value in place of the file's (for a
    /// refresh-only plan, the trusted refreshed value).
    async fn verify_change(&self, mode: PlanMode, change: &mut Change, state: &State) -> Result<(), String> {
        let addr = &change.address;
        let recorded = state.resources.get(addr);
        let configured = self.block(addr).map(|r| self.provider_key(r, &addr.module));
        let provider_known = recorded.is_some_and(|r| r.provider == change.provider)
            || configured.is_some_and(|key| key == change.provider);
        if !provider_known {
            return Err(format!(
                "the plan names the provider {:?}, which neither the state nor the configuration gives it",
                change.provider
            ));
        }
        if let Some(recorded) = recorded {
            if recorded.type_name != addr.type_name() {
                return Err(format!("the state records it as a {}", recorded.type_name));
            }
        }
        if mode == PlanMode::RefreshOnly {
            // Applying a refresh-only plan writes its values into the state.
            let recorded = recorded.ok_or("the state does not record it")?;
            if change.before().is_some() && !self.same_object_value(addr, Some(&recorded.value()), change.before()) {
                return Err("its prior value is not the one the state records".to_owned());
            }
            let observed = self.observed(addr, recorded, change.after()).await?;
            change.values = ChangeValues::refreshed(Some(recorded.value()), observed);
            return Ok(());
        }
        match change.action() {
            Action::Create => match recorded {
                // Refresh found the recorded object gone; it must still be gone, or creating it
                // again would leave the one the state records unmanaged.
                Some(recorded) if !recorded.id.is_empty() => self.observed(addr, recorded, None).await.map(drop),
                _ => Ok(()),
            },
            Action::Read => Ok(()),
            Action::NoOp if addr.is_data() => Ok(()),
            Action::NoOp
            | Action::Update
            | Action::Delete
            | Action::Forget
            | Action::DeleteThenCreate
            | Action::CreateThenDelete => {
                let recorded = recorded.ok_or("the plan changes an object the state does not record")?;
                let trusted = self.observed(addr, recorded, change.before()).await?;
                if change.action() == Action::NoOp && !self.same_object_value(addr, change.before(), change.after()) {
                    return Err("the plan leaves it unchanged but gives it different values".to_owned());
                }
                // `observed` answers an object for a claimed one, and these actions claim one
                // (a no-op of a managed object has it, or failed the check above).
                let (Some(trusted), Some(before)) = (trusted, change.values.before_mut()) else {
                    return Err("the plan gives no prior value for it".to_owned());
                };
                *before = trusted.clone();
                if let ChangeValues::NoOp { after, .. } = &mut change.values {
                    *after = trusted.mark_paths(&after.sensitive_paths());
                }
                Ok(())
            }
        }
    }

    /// The value to trust for `addr`: the state's record when `claimed` is that, else what the
    /// cloud answers for the record now (`None`: gone), provided `claimed` is that. `Err` when
    /// `claimed` is neither.
    pub(crate) async fn observed(
        &self,
        addr: &ResourceAddr,
        recorded: &ResourceState,
        claimed: Option<&Value>,
    ) -> Result<Option<Value>, String> {
        let in_state = recorded.value();
        if claimed.is_some() && self.same_object_value(addr, Some(&in_state), claimed) {
            return Ok(Some(in_state));
        }
        if addr.is_data() {
            return Err("its prior value is not the one the state records".to_owned());
        }
        let provider = self.providers.instance(&recorded.provider).ok_or("no provider serves its type")?;
        let now = provider
            .read(addr.type_name(), &in_state)
            .await
            .map_err(|e| format!("it differs from the state's record, and reading it to compare failed: {e}"))?
            .map(|v| v.mark_paths(&in_state.sensitive_paths()));
        if self.same_object_value(addr, now.as_ref(), claimed) {
            Ok(now)
        } else {
            Err(match claimed {
                Some(_) => "its prior value is neither the state's record nor what the cloud holds now".to_owned(),
                None => "the plan creates it, but the object the state records still exists".to_owned(),
            })
        }
    }

    pub(crate) fn same_object_value(&self, addr: &ResourceAddr, a: Option<&Value>, b: Option<&Value>) -> bool {
        match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => match self.providers.resource_schema(addr.type_name()) {
                Some(schema) if !addr.is_data() => {
                    a.as_object().is_some() && b.as_object().is_some() && block_body_equal(&schema.block, a, b)
                }
                _ => a.eq_ignoring_marks(b),
            },
            _ => false,
        }
    }
}

fn mismatch(addr: &ResourceAddr, problem: &str) -> Diagnostic {
    Diagnostic::error(
        "TF1036",
        "Saved plan does not match the state",
        format!("{addr}: {problem}. The plan file was edited, or the object changed after the plan was made; nothing was applied. Make a new plan with `trustform plan --out FILE`."),
    )
    .with_address(addr)
}
