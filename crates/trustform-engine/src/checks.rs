//! The checks a plan is judged by, given to the engine rather than written in it: the engine
//! runs every [`Check`] of its [`EngineOptions`](crate::EngineOptions) over each normal plan's
//! planned values and over the cloud-free plan of [`Engine::lint`]. The checks themselves (the
//! cross-cloud TF13xx of the seeds' troubleshooting tables) live in `trustform-checks`, so this
//! crate names no cloud resource type.

use crate::engine::Engine;
use crate::plan::{DataReads, Refreshed};
use crate::{PlanOptions, Providers};
use std::collections::BTreeMap;
use trustform_diag::Diagnostics;
use trustform_lang::config::Config;
use trustform_lang::Value;
use trustform_plan::Plan;
use trustform_state::State;

/// What a check reads: the configuration (for locations), the variables, the plan and the
/// providers (for their schemas).
pub struct CheckInput<'a> {
    pub config: &'a Config,
    pub variables: &'a BTreeMap<String, Value>,
    pub plan: &'a Plan,
    pub providers: &'a Providers,
}

/// A check over a plan. It must not call a cloud: it sees only what the plan knows, and values
/// still unknown (or only partly known) are judged only as far as they are known.
pub trait Check: Send + Sync {
    fn check(&self, input: &CheckInput<'_>) -> Diagnostics;
}

impl Engine {
    /// `trustform lint` (and `validate`): the static checks of [`Engine::validate`], then every
    /// check over a plan that contacts no cloud. Providers are not configured, nothing is
    /// refreshed (the plan is made against an empty state), and only data sources computed
    /// locally (a policy document rendered from its arguments) are read; the others stay unknown, and what depends
    /// on them is judged by what is known of it.
    pub async fn lint(&self) -> Diagnostics {
        let mut diags = self.validate();
        let mut plan = Plan::default();
        // The planning walk repeats what validate reported, plus failures that only mean a value
        // is unknown without the cloud (a count from a data source): the checks are what counts.
        let mut planning = Diagnostics::new();
        let state = State::new();
        let options = PlanOptions::normal();
        self.plan_normal(&state, &Refreshed::new(), &options, DataReads::LocalOnly, &mut plan, &mut planning).await;
        diags.extend(self.run_checks(&plan));
        diags
    }

    /// Every check over the planned values of `plan`.
    pub(crate) fn run_checks(&self, plan: &Plan) -> Diagnostics {
        let input = CheckInput { config: &self.config, variables: &self.variables, plan, providers: &self.providers };
        let diags: Diagnostics = self.checks.iter().flat_map(|check| check.check(&input)).collect();
        // Checks quote the values they judge (a project number, a trust policy's subject), read
        // through `as_str` and JSON, which drop the sensitive mark: whatever a sensitive variable,
        // attribute or output holds is redacted from every message here.
        let secrets = sensitive_texts(&input);
        if secrets.is_empty() {
            return diags;
        }
        diags
            .into_iter()
            .map(|mut d| {
                d.summary = trustform_lang::redact_texts(&d.summary, &secrets);
                d.detail = trustform_lang::redact_texts(&d.detail, &secrets);
                d
            })
            .collect()
    }
}

/// Every text inside a sensitive value the checks can see.
fn sensitive_texts(input: &CheckInput<'_>) -> Vec<String> {
    let mut secrets: Vec<String> = input.variables.values().flat_map(Value::sensitive_texts).collect();
    for change in &input.plan.changes {
        secrets.extend(change.after().into_iter().flat_map(Value::sensitive_texts));
    }
    for output in input.plan.outputs.values() {
        for value in output.after.iter() {
            secrets.extend(if output.sensitive { value.clone().sensitive() } else { value.clone() }.sensitive_texts());
        }
    }
    secrets
}
