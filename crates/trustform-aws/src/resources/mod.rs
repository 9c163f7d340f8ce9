//! One module per resource type, each with the same five entry points (`create`, `read`,
//! `update`, `delete`, `import`), and the data sources.

pub(crate) mod data;
pub(crate) mod eks_addon;
pub(crate) mod eks_pod_identity;
pub(crate) mod iam_oidc_provider;
pub(crate) mod iam_policy;
pub(crate) mod iam_role;
pub(crate) mod iam_role_policy;
pub(crate) mod iam_role_policy_attachment;
