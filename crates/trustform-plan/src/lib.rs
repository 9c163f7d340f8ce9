//! Plans: what will change and why. A [`Plan`] is a list of [`Change`]s, each with its
//! [`ChangeValues`] (an [`Action`] with exactly the values before and after it needs), a separate
//! [`Reason`], and the attribute-level differences the renderers show. The diff is pure: it compares values by schema and never
//! talks to a cloud.

mod diff;
pub(crate) mod model;
mod render;
mod saved;

pub use diff::{deletion_attributes, diff_resource, merge_planned, AttributeChange, ResourceDiff};
pub use model::{
    Action, Change, ChangeValues, ImportedObject, MovedObject, OutputChange, Plan, PlanMode, Reason, ReplaceOrder,
    Summary,
};
pub use render::{render_human, render_json, Style};
pub use saved::{config_digest, state_digest, SavedPlan, SavedPlanError};
