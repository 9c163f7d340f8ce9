//! `google_iam_workload_identity_pool` and `google_iam_workload_identity_pool_provider`: iam v1
//! `projects.locations.workloadIdentityPools[.providers]`, whose create, patch, delete and
//! undelete return long-running operations.
//!
//! What users depend on:
//! * a create is in state the moment Google accepts it (checkpoint), before its operation is
//!   polled to the end, so an interrupted wait never orphans a pool;
//! * delete is a 30-day soft delete, and Google refuses to create an ID that exists soft-deleted
//!   (409): create then undeletes and patches it instead of failing;
//! * refresh keeps a soft-deleted object (`state = "DELETED"`) and plan wants it `ACTIVE`, so the
//!   plan shows an in-place undelete rather than a create that would hit that 409.

use crate::api::{answer, found, gone, string_map, strings, text, with, Api};
use crate::schema;
use async_trait::async_trait;
use google_iam1::api::{Operation, WorkloadIdentityPool, WorkloadIdentityPoolProvider};
use google_iam1::FieldMask;
use serde_json::{json, Map, Value as Json};
use trustform_lang::Value;
use trustform_provider::attrs::{derived_or_prior, derived_text};
use trustform_provider::{Checkpoint, ProviderError, ProviderErrorKind};
use trustform_provider::{ResourceType, Session, ValidationIssue};
use trustform_schema::ResourceSchema;

const ACTIVE: &str = "ACTIVE";
const DELETED: &str = "DELETED";

/// Pools and their providers share one lifecycle; this says which one a call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Pool,
    Provider,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Pool => "workload identity pool",
            Kind::Provider => "workload identity pool provider",
        }
    }

    fn method(self, verb: &str) -> String {
        match self {
            Kind::Pool => format!("iam.projects.locations.workloadIdentityPools.{verb}"),
            Kind::Provider => format!("iam.projects.locations.workloadIdentityPools.providers.{verb}"),
        }
    }

    /// The fields a patch may change, as (attribute, API field).
    fn mutable(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Pool => &[("display_name", "displayName"), ("description", "description"), ("disabled", "disabled")],
            Kind::Provider => &[
                ("display_name", "displayName"),
                ("description", "description"),
                ("disabled", "disabled"),
                ("attribute_mapping", "attributeMapping"),
                ("attribute_condition", "attributeCondition"),
                ("aws", "aws"),
                ("oidc", "oidc"),
            ],
        }
    }
}

/// Where a pool or provider lives, by project id: the path every call takes.
struct Path {
    project: String,
    pool: String,
    provider: Option<String>,
}

impl Path {
    fn of(kind: Kind, value: &Value, project: Option<&str>) -> Option<Path> {
        Some(Path {
            project: super::planned_project(value, project)?.to_owned(),
            pool: text(value, "workload_identity_pool_id")?.to_owned(),
            provider: match kind {
                Kind::Pool => None,
                Kind::Provider => Some(text(value, "workload_identity_pool_provider_id")?.to_owned()),
            },
        })
    }

    fn parse(kind: Kind, id: &str, default_project: Option<&str>) -> Result<Path, ProviderError> {
        let parts: Vec<&str> = id.split('/').collect();
        let path = match (kind, parts.as_slice()) {
            (Kind::Pool, ["projects", project, "locations", "global", "workloadIdentityPools", pool]) => {
                Some((*project, *pool, None))
            }
            (Kind::Pool, [project, pool]) => Some((*project, *pool, None)),
            (Kind::Pool, [pool]) => default_project.map(|project| (project, *pool, None)),
            (
                Kind::Provider,
                ["projects", project, "locations", "global", "workloadIdentityPools", pool, "providers", provider],
            ) => Some((*project, *pool, Some(*provider))),
            (Kind::Provider, [project, pool, provider]) => Some((*project, *pool, Some(*provider))),
            _ => None,
        };
        let (project, pool, provider) = path.ok_or_else(|| {
            ProviderError::invalid(format!(
                "{id:?} is not a valid {} id; expected projects/PROJECT/locations/global/workloadIdentityPools/POOL{}",
                kind.noun(),
                if kind == Kind::Provider { "/providers/PROVIDER" } else { "" }
            ))
        })?;
        Ok(Path { project: project.to_owned(), pool: pool.to_owned(), provider: provider.map(str::to_owned) })
    }

    fn parent(&self) -> String {
        match &self.provider {
            None => format!("projects/{}/locations/global", self.project),
            Some(_) => self.pool_name(),
        }
    }

    fn pool_name(&self) -> String {
        format!("projects/{}/locations/global/workloadIdentityPools/{}", self.project, self.pool)
    }

    fn name(&self) -> String {
        match &self.provider {
            None => self.pool_name(),
            Some(provider) => format!("{}/providers/{provider}", self.pool_name()),
        }
    }
}

/// Fills the id, the name Google will give the object when the project's number is known, and
/// the wanted state: always ACTIVE, so a soft-deleted object plans an undelete.
pub(crate) fn plan(kind: Kind, planned: Value, project: Option<&str>, project_number: Option<&str>) -> Value {
    let planned = with(&planned, [("state", Value::string(ACTIVE))]);
    let planned = match Path::of(kind, &planned, project) {
        Some(path) => with(&planned, [("id", Value::string(path.name())), ("project", Value::string(&path.project))]),
        None => planned,
    };
    match planned_name(kind, &planned, project, project_number) {
        Some(name) => with(&planned, [("name", name)]),
        None => planned,
    }
}

/// The `name` Google gives a pool, `projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID`,
/// or a provider, that and `/providers/PROVIDER_ID` (the resource's `name` field in the IAM REST
/// reference, <https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools>
/// and `.../workloadIdentityPools.providers`): always the project's number, whichever way the
/// project was named. Known when the project is given by number, or is the provider's, whose
/// number `configure` looked up (`default_number`); partially known while an id is (a random
/// suffix); `None` for another project or an unknown one.
pub(crate) fn planned_name(
    kind: Kind,
    planned: &Value,
    default_project: Option<&str>,
    default_number: Option<&str>,
) -> Option<Value> {
    let project = super::planned_project(planned, default_project)?;
    let number = match project {
        project if super::project::is_number(project) => project,
        project if Some(project) == default_project => default_number?,
        _ => return None,
    };
    let mut pieces = vec![
        Value::string(format!("projects/{number}/locations/global/workloadIdentityPools/")),
        planned.get("workload_identity_pool_id")?.clone(),
    ];
    if kind == Kind::Provider {
        pieces.push(Value::from("/providers/"));
        pieces.push(planned.get("workload_identity_pool_provider_id")?.clone());
    }
    derived_text(&pieces)
}

pub(crate) async fn create(
    api: &Api,
    kind: Kind,
    planned: &Value,
    checkpoint: &dyn Checkpoint,
) -> Result<Value, ProviderError> {
    let path = path(api, kind, planned)?;
    let body = body(kind, planned, kind.mutable().iter().map(|(attribute, _)| *attribute));
    let accepted = api.call(|| start_create(api, kind, &path, &body)).await;
    let operation = match accepted {
        Ok(operation) => operation,
        Err(error) if error.kind == ProviderErrorKind::AlreadyExists => {
            return restore(api, kind, &path, planned).await
        }
        Err(error) => return Err(error),
    };
    // In state before the wait: an interrupted apply still knows the object exists.
    let accepted = with(
        planned,
        [("id", Value::string(path.name())), ("project", Value::string(&path.project)), ("name", Value::Null)],
    );
    checkpoint.record(&accepted).await;
    let created: Json = api.wait(&kind.method("create"), operation).await?;
    Ok(state_of(kind, &path, &created, Some(planned)))
}

/// The answer to a 409 on create: an object with this ID exists. Soft-deleted, it is ours to
/// bring back (undelete, then patch to the configuration); active, it is someone else's.
async fn restore(api: &Api, kind: Kind, path: &Path, planned: &Value) -> Result<Value, ProviderError> {
    let existing = api.call(|| get(api, kind, path)).await?;
    if existing.get("state").and_then(Json::as_str) != Some(DELETED) {
        return Err(ProviderError::already_exists(format!(
            "a {} with the id {:?} exists already; import it with the id \"{}\"",
            kind.noun(),
            path.provider.as_deref().unwrap_or(&path.pool),
            path.name()
        ))
        .with_code("ALREADY_EXISTS"));
    }
    tracing::info!(name = %path.name(), "undeleting a soft-deleted {}", kind.noun());
    undelete(api, kind, path).await?;
    let all: Vec<&str> = kind.mutable().iter().map(|(attribute, _)| *attribute).collect();
    let restored = patch(api, kind, path, planned, &all).await?;
    Ok(state_of(kind, path, &restored, Some(planned)))
}

pub(crate) async fn read(api: &Api, kind: Kind, state: &Value) -> Result<Option<Value>, ProviderError> {
    let path = path(api, kind, state)?;
    let live = found(api.call(|| get(api, kind, &path)).await)?;
    Ok(live.map(|live| state_of(kind, &path, &live, Some(state))))
}

pub(crate) async fn import(api: &Api, kind: Kind, id: &str) -> Result<Value, ProviderError> {
    let path = Path::parse(kind, id, api.clients.project.as_deref())?;
    let live = api.call(|| get(api, kind, &path)).await?;
    Ok(state_of(kind, &path, &live, None))
}

pub(crate) async fn update(api: &Api, kind: Kind, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let path = path(api, kind, prior)?;
    let mut live = None;
    if text(prior, "state") == Some(DELETED) {
        live = Some(undelete(api, kind, &path).await?);
    }
    let changed: Vec<&str> = kind
        .mutable()
        .iter()
        .map(|(attribute, _)| *attribute)
        .filter(|attribute| {
            let null = &Value::Null;
            let (before, after) = (prior.get(attribute).unwrap_or(null), planned.get(attribute).unwrap_or(null));
            // An unset mapping keeps whatever Google filled in (its default AWS mapping).
            let keeps_default = *attribute == "attribute_mapping" && after.is_null();
            !keeps_default && !before.eq_ignoring_marks(after)
        })
        .collect();
    if !changed.is_empty() {
        live = Some(patch(api, kind, &path, planned, &changed).await?);
    }
    let live = match live {
        Some(live) => live,
        None => api.call(|| get(api, kind, &path)).await?,
    };
    Ok(state_of(kind, &path, &live, Some(planned)))
}

pub(crate) async fn delete(api: &Api, kind: Kind, state: &Value) -> Result<(), ProviderError> {
    if text(state, "state") == Some(DELETED) {
        return Ok(());
    }
    let path = path(api, kind, state)?;
    let name = path.name();
    let iam = &api.clients.iam;
    let method = kind.method("delete");
    let started = api
        .call(|| async {
            let result = match kind {
                Kind::Pool => iam.projects().locations_workload_identity_pools_delete(&name).doit().await,
                Kind::Provider => iam.projects().locations_workload_identity_pools_providers_delete(&name).doit().await,
            };
            answer(&method, result)
        })
        .await;
    match started {
        Ok(operation) => api.wait::<Json>(&method, operation).await.map(drop).or_else(|e| gone(Err(e))),
        // Google refuses to delete what is already soft-deleted; that is done, not an error.
        Err(error) if error.code.as_deref() == Some("FAILED_PRECONDITION") => {
            match found(api.call(|| get(api, kind, &path)).await)? {
                Some(live) if live.get("state").and_then(Json::as_str) == Some(DELETED) => Ok(()),
                None => Ok(()),
                Some(_) => Err(error),
            }
        }
        Err(error) => gone(Err(error)),
    }
}

fn path(api: &Api, kind: Kind, value: &Value) -> Result<Path, ProviderError> {
    match text(value, "id") {
        Some(id) => Path::parse(kind, id, api.clients.project.as_deref()),
        None => Path::of(kind, value, api.clients.project.as_deref())
            .ok_or_else(|| ProviderError::invalid(format!("the {} has no id", kind.noun()))),
    }
}

async fn start_create(api: &Api, kind: Kind, path: &Path, body: &Json) -> Result<Operation, ProviderError> {
    let iam = &api.clients.iam;
    let parent = path.parent();
    let method = kind.method("create");
    let result = match kind {
        Kind::Pool => {
            let request: WorkloadIdentityPool = typed(body)?;
            iam.projects()
                .locations_workload_identity_pools_create(request, &parent)
                .workload_identity_pool_id(&path.pool)
                .doit()
                .await
        }
        Kind::Provider => {
            let request: WorkloadIdentityPoolProvider = typed(body)?;
            iam.projects()
                .locations_workload_identity_pools_providers_create(request, &parent)
                .workload_identity_pool_provider_id(path.provider.as_deref().unwrap_or_default())
                .doit()
                .await
        }
    };
    answer(&method, result)
}

async fn get(api: &Api, kind: Kind, path: &Path) -> Result<Json, ProviderError> {
    let iam = &api.clients.iam;
    let name = path.name();
    match kind {
        Kind::Pool => untyped(answer(
            &kind.method("get"),
            iam.projects().locations_workload_identity_pools_get(&name).doit().await,
        )?),
        Kind::Provider => untyped(answer(
            &kind.method("get"),
            iam.projects().locations_workload_identity_pools_providers_get(&name).doit().await,
        )?),
    }
}

async fn undelete(api: &Api, kind: Kind, path: &Path) -> Result<Json, ProviderError> {
    let iam = &api.clients.iam;
    let name = path.name();
    let method = kind.method("undelete");
    let operation = api
        .call(|| async {
            let result = match kind {
                Kind::Pool => {
                    iam.projects().locations_workload_identity_pools_undelete(Default::default(), &name).doit().await
                }
                Kind::Provider => {
                    iam.projects()
                        .locations_workload_identity_pools_providers_undelete(Default::default(), &name)
                        .doit()
                        .await
                }
            };
            answer(&method, result)
        })
        .await?;
    api.wait(&method, operation).await
}

async fn patch(
    api: &Api,
    kind: Kind,
    path: &Path,
    planned: &Value,
    attributes: &[&str],
) -> Result<Json, ProviderError> {
    let unset_mapping = planned.get("attribute_mapping").is_none_or(Value::is_null);
    let fields: Vec<&str> = kind
        .mutable()
        .iter()
        .filter(|(attribute, _)| attributes.contains(attribute))
        .filter(|(attribute, _)| !(*attribute == "attribute_mapping" && unset_mapping))
        .map(|(_, field)| *field)
        .collect();
    let body = body(kind, planned, attributes.iter().copied());
    let iam = &api.clients.iam;
    let name = path.name();
    let method = kind.method("patch");
    let (body, fields) = (&body, &fields);
    let operation = api
        .call(|| async {
            let mask = FieldMask::new(fields);
            let result = match kind {
                Kind::Pool => {
                    iam.projects()
                        .locations_workload_identity_pools_patch(typed(body)?, &name)
                        .update_mask(mask)
                        .doit()
                        .await
                }
                Kind::Provider => {
                    iam.projects()
                        .locations_workload_identity_pools_providers_patch(typed(body)?, &name)
                        .update_mask(mask)
                        .doit()
                        .await
                }
            };
            answer(&method, result)
        })
        .await?;
    api.wait(&method, operation).await
}

fn typed<T: serde::de::DeserializeOwned>(body: &Json) -> Result<T, ProviderError> {
    serde_json::from_value(body.clone()).map_err(|e| ProviderError::invalid(format!("cannot build the request: {e}")))
}

/// A response as JSON, without the nulls the generated types write for absent fields.
fn untyped<T: serde::Serialize>(value: T) -> Result<Json, ProviderError> {
    let mut json =
        serde_json::to_value(value).map_err(|e| ProviderError::transient(format!("cannot read the response: {e}")))?;
    google_iam1::common::remove_json_null_values(&mut json);
    Ok(json)
}

/// The API body carrying `attributes` of `value` (all of them on create). A cleared text field
/// is sent empty, which is how a patch clears it.
fn body<'a>(kind: Kind, value: &Value, attributes: impl IntoIterator<Item = &'a str>) -> Json {
    let mut body = Map::new();
    for attribute in attributes {
        let Some((_, field)) = kind.mutable().iter().find(|(name, _)| *name == attribute) else { continue };
        let json = match attribute {
            "disabled" => json!(value.get("disabled").and_then(Value::as_bool).unwrap_or(false)),
            "attribute_mapping" => match value.get("attribute_mapping").map(Value::unmarked) {
                Some(Value::Object(_)) => json!(string_map(value, "attribute_mapping")),
                _ => continue,
            },
            "aws" => match value.get("aws").filter(|aws| !aws.is_null()) {
                Some(aws) => json!({ "accountId": text(aws, "account_id") }),
                None => continue,
            },
            "oidc" => match value.get("oidc").filter(|oidc| !oidc.is_null()) {
                Some(oidc) => {
                    let mut map = Map::new();
                    map.insert("issuerUri".into(), json!(text(oidc, "issuer_uri")));
                    let audiences = strings(oidc, "allowed_audiences");
                    if !audiences.is_empty() {
                        map.insert("allowedAudiences".into(), json!(audiences));
                    }
                    if let Some(jwks) = text(oidc, "jwks_json") {
                        map.insert("jwksJson".into(), json!(jwks));
                    }
                    Json::Object(map)
                }
                None => continue,
            },
            _ => json!(text(value, attribute).unwrap_or_default()),
        };
        body.insert((*field).to_owned(), json);
    }
    Json::Object(body)
}

/// The state of a live pool or provider; `prior` supplies the user's spellings of what Google
/// leaves out (an empty description, an empty audience list).
fn state_of(kind: Kind, path: &Path, live: &Json, prior: Option<&Value>) -> Value {
    let field = |name: &str| live.get(name).and_then(Json::as_str).filter(|s| !s.is_empty());
    let text_value = |name: &str| field(name).map(Value::string).unwrap_or_default();
    let mut state = vec![
        ("id", Value::string(path.name())),
        ("project", Value::string(&path.project)),
        ("workload_identity_pool_id", Value::string(&path.pool)),
        ("name", text_value("name")),
        ("state", Value::string(field("state").unwrap_or(ACTIVE))),
        ("display_name", text_value("displayName")),
        ("description", text_value("description")),
        ("disabled", Value::from(live.get("disabled").and_then(Json::as_bool).unwrap_or(false))),
    ];
    if kind == Kind::Provider {
        let mapping = live.get("attributeMapping").and_then(Json::as_object).map(|map| {
            Value::Object(map.iter().filter_map(|(k, v)| Some((k.clone(), Value::string(v.as_str()?)))).collect())
        });
        let aws = live.get("aws").map(|aws| {
            Value::object([(
                "account_id",
                aws.get("accountId").and_then(Json::as_str).map(Value::string).unwrap_or_default(),
            )])
        });
        let oidc = live.get("oidc").map(|oidc| {
            let audiences: Vec<Value> = oidc
                .get("allowedAudiences")
                .and_then(Json::as_array)
                .map(|list| list.iter().filter_map(Json::as_str).map(Value::string).collect())
                .unwrap_or_default();
            let prior_audiences = prior.and_then(|p| p.get("oidc")).and_then(|o| o.get("allowed_audiences"));
            let audiences = match (audiences.is_empty(), prior_audiences) {
                (true, Some(spelling @ Value::List(list))) if list.is_empty() => spelling.clone(),
                (true, _) => Value::Null,
                (false, _) => Value::List(audiences),
            };
            Value::object([
                ("issuer_uri", oidc.get("issuerUri").and_then(Json::as_str).map(Value::string).unwrap_or_default()),
                ("allowed_audiences", audiences),
                ("jwks_json", oidc.get("jwksJson").and_then(Json::as_str).map(Value::string).unwrap_or_default()),
            ])
        });
        state.extend([
            ("workload_identity_pool_provider_id", Value::string(path.provider.as_deref().unwrap_or_default())),
            ("attribute_mapping", mapping.unwrap_or_default()),
            ("attribute_condition", text_value("attributeCondition")),
            ("aws", aws.unwrap_or_default()),
            ("oidc", oidc.unwrap_or_default()),
        ]);
    }
    Value::object(state)
}

/// `google_iam_workload_identity_pool` and `google_iam_workload_identity_pool_provider`, as
/// the provider serves them: one per [`Kind`].
pub(crate) struct Pool(pub(crate) Kind);

/// The ids IAM accepts for a pool and a pool provider: "4-32 characters, and may contain the
/// characters [a-z0-9-]. The prefix gcp- is reserved for use by Google, and may not be
/// specified." (`workloadIdentityPoolId` and `workloadIdentityPoolProviderId` of
/// <https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/create>).
/// Checked at plan, so a short id like "aws" fails before anything is created rather than at
/// the create, after the pool and its grants. An id not known yet is left for IAM.
fn validate(kind: Kind, config: &Value) -> Vec<ValidationIssue> {
    let mut attributes = vec![("workload_identity_pool_id", "pool")];
    if kind == Kind::Provider {
        attributes.push(("workload_identity_pool_provider_id", "pool provider"));
    }
    attributes
        .into_iter()
        .filter_map(|(attribute, what)| {
            let id = config.get(attribute).and_then(Value::as_str)?;
            let allowed = id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let problem = if !(4..=32).contains(&id.len()) {
                format!("it has {} characters, and IAM takes 4 to 32", id.len())
            } else if !allowed {
                "IAM takes only lowercase letters, digits and hyphens".to_owned()
            } else if id.starts_with("gcp-") {
                "the prefix gcp- is reserved for Google".to_owned()
            } else {
                return None;
            };
            Some(ValidationIssue {
                attribute: attribute.to_owned(),
                summary: format!("Invalid workload identity {what} id"),
                detail: format!(
                    "{attribute} = {id:?} is not an id IAM accepts: {problem}. Choose an id of 4 to 32 lowercase letters, digits and hyphens, not starting with gcp- (such as \"{}\").",
                    id_suggestion(id)
                ),
                is_error: true,
            })
        })
        .collect()
}

/// A valid id close to `id`: lowercased, other characters as hyphens, padded or cut to fit.
fn id_suggestion(id: &str) -> String {
    let mut out: String =
        id.chars().map(|c| c.to_ascii_lowercase()).map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    if let Some(rest) = out.strip_prefix("gcp-") {
        out = format!("wif-{rest}");
    }
    while out.len() < 4 {
        out.push_str(if out.is_empty() { "pool" } else { "-wif" });
    }
    out.truncate(32);
    out
}

#[async_trait]
impl ResourceType<Api> for Pool {
    fn schema(&self) -> ResourceSchema {
        match self.0 {
            Kind::Pool => schema::pool(),
            Kind::Provider => schema::pool_provider(),
        }
    }

    fn validate(&self, config: &Value) -> Vec<ValidationIssue> {
        validate(self.0, config)
    }

    fn plan(&self, session: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let number = session.peek().and_then(|api| api.project_number.as_deref());
        let planned = plan(self.0, planned, super::default_project(session), number);
        let identity = ["project", "workload_identity_pool_id", "workload_identity_pool_provider_id"];
        let derived = planned.get("name").filter(|name| !name.is_null()).cloned();
        Ok(match derived_or_prior(prior, &planned, &identity, "name", derived) {
            Some(name) => with(&planned, [("name", name)]),
            None => planned,
        })
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, self.0, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        checkpoint: &dyn Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, self.0, planned, checkpoint).await
    }

    async fn update(&self, session: &Session<Api>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(session.clients()?, self.0, prior, planned).await
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, self.0, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, self.0, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_provider_ids_are_held_to_what_iam_accepts() {
        let provider = |pool: &str, id: &str| {
            Value::object([
                ("workload_identity_pool_id", pool.into()),
                ("workload_identity_pool_provider_id", id.into()),
            ])
        };
        assert!(validate(Kind::Provider, &provider("litellm-aws", "aws-account")).is_empty());
        let short = validate(Kind::Provider, &provider("litellm-aws", "aws"));
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].attribute, "workload_identity_pool_provider_id");
        assert!(short[0].detail.contains("it has 3 characters, and IAM takes 4 to 32"), "{}", short[0].detail);
        assert!(short[0].detail.contains("\"aws-wif\""), "{}", short[0].detail);
        let reserved = validate(Kind::Pool, &Value::object([("workload_identity_pool_id", "gcp-pool".into())]));
        assert!(reserved[0].detail.contains("reserved for Google") && reserved[0].detail.contains("\"wif-pool\""));
        let upper = validate(Kind::Pool, &Value::object([("workload_identity_pool_id", "AWS_Pool".into())]));
        assert!(
            upper[0].detail.contains("lowercase letters, digits and hyphens")
                && upper[0].detail.contains("\"aws-pool\"")
        );
        let long = "p".repeat(33);
        assert!(validate(Kind::Pool, &Value::object([("workload_identity_pool_id", long.as_str().into())]))[0]
            .detail
            .contains("33 characters"));
        assert!(validate(Kind::Pool, &Value::object([("workload_identity_pool_id", Value::Unknown)])).is_empty());
    }
    use trustform_lang::{Hole, Part, Partial};

    fn pool(project: Value, id: Value) -> Value {
        Value::object([("project", project), ("workload_identity_pool_id", id)])
    }

    #[test]
    fn the_name_carries_the_project_number_once_it_is_known() {
        let name = |planned: &Value, number: Option<&str>| {
            plan(Kind::Pool, planned.clone(), Some("litellm-prod"), number).get("name").cloned()
        };
        let unset = pool(Value::Null, "aws-pool".into());
        assert_eq!(
            name(&unset, Some("123456789012")),
            Some(Value::from("projects/123456789012/locations/global/workloadIdentityPools/aws-pool"))
        );
        assert_eq!(name(&unset, None), None, "the provider's project without its number");
        let by_number = pool("987".into(), "aws-pool".into());
        assert_eq!(
            name(&by_number, None),
            Some(Value::from("projects/987/locations/global/workloadIdentityPools/aws-pool"))
        );
        let other = pool("other-project".into(), "aws-pool".into());
        assert_eq!(name(&other, Some("123456789012")), None, "another project's number is not known");
        let suffix =
            Partial::new([Part::Text("pool-".into()), Part::Hole(Hole::reference("random_id.s.hex"))]).unwrap();
        let random = pool(Value::Null, Value::Partial(Box::new(suffix)));
        let shape = name(&random, Some("42")).unwrap();
        assert_eq!(
            shape.as_partial().map(Partial::to_template).as_deref(),
            Some("projects/42/locations/global/workloadIdentityPools/pool-${random_id.s.hex}")
        );
        let provider = Value::object([
            ("project", Value::Null),
            ("workload_identity_pool_id", "aws-pool".into()),
            ("workload_identity_pool_provider_id", "aws".into()),
        ]);
        assert_eq!(
            plan(Kind::Provider, provider, Some("litellm-prod"), Some("42")).get("name"),
            Some(&Value::from("projects/42/locations/global/workloadIdentityPools/aws-pool/providers/aws"))
        );
    }
}
