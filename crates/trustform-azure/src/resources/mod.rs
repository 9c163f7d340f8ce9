//! One module per resource type, each with the same five entry points (`create`, `read`,
//! `update`, `delete`, `import`), and the data sources.

pub(crate) mod application;
pub(crate) mod application_federated_identity_credential;
pub(crate) mod data;
pub(crate) mod federated_identity_credential;
pub(crate) mod role_assignment;
pub(crate) mod role_definition;
pub(crate) mod service_principal;
pub(crate) mod user_assigned_identity;
