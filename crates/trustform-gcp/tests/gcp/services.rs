//! `google_project_service` against the sandbox's Service Usage: the conformance suite, the
//! default that leaves an API enabled on destroy, dependents, and Google's answer for a service
//! that does not exist.

use crate::{create, google, planned, start, PROJECT};
use trustform_lang::Value;
use trustform_provider::conformance::{self, Case};
use trustform_provider::{NoCheckpoint, Provider, ProviderErrorKind};

const SERVICE: &str = "google_project_service";

fn body(service: &str, disable_on_destroy: bool) -> Value {
    Value::object([("service", service.into()), ("disable_on_destroy", disable_on_destroy.into())])
}

#[tokio::test]
async fn project_service_conforms() {
    let (_sandbox, provider) = start(google()).await;
    let case = Case::new(SERVICE, body("sts.googleapis.com", true))
        .with_update(Value::object([
            ("service", "sts.googleapis.com".into()),
            ("disable_on_destroy", true.into()),
            ("disable_dependent_services", true.into()),
        ]))
        // Enabling an enabled API is the same one enablement.
        .with_idempotent_create()
        // What to do on destroy is the configuration's, not Google's.
        .with_import_ignoring(&["disable_on_destroy", "disable_dependent_services"])
        .with_missing_state(|state| {
            let mut map = state.as_object().cloned().unwrap_or_default();
            map.insert("service".into(), "iamcredentials.googleapis.com".into());
            map.insert("id".into(), format!("{PROJECT}/iamcredentials.googleapis.com").into());
            Value::Object(map)
        });
    conformance::run(&provider, &case).await.unwrap();
}

#[tokio::test]
async fn an_api_stays_enabled_on_destroy_unless_asked_and_imports_by_project_and_service() {
    let (sandbox, provider) = start(google()).await;
    let state = create(&provider, SERVICE, Value::object([("service", "aiplatform.googleapis.com".into())])).await;
    assert_eq!(state.get("id"), Some(&Value::from(format!("{PROJECT}/aiplatform.googleapis.com"))));
    assert_eq!(state.get("disable_on_destroy"), Some(&Value::from(false)), "the default is to keep the API");
    assert_eq!(sandbox.requests_for("POST /v1/projects/{}/services/{}:enable"), 1);

    provider.delete(SERVICE, &state).await.unwrap();
    assert_eq!(provider.read(SERVICE, &state).await.unwrap(), Some(state.clone()), "still enabled");
    assert_eq!(sandbox.requests_for("POST /v1/projects/{}/services/{}:disable"), 0);

    let imported = provider.import(SERVICE, &format!("{PROJECT}/aiplatform.googleapis.com")).await.unwrap();
    assert_eq!(imported, state);
    let error = provider.import(SERVICE, &format!("{PROJECT}/compute.googleapis.com")).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::NotFound, "{error}");
    let error = provider.import(SERVICE, "aiplatform.googleapis.com").await.unwrap_err();
    assert!(error.message.contains("PROJECT/SERVICE"), "{error}");
}

#[tokio::test]
async fn an_api_others_depend_on_is_disabled_only_with_its_dependents() {
    let (_sandbox, provider) = start(google()).await;
    create(&provider, SERVICE, body("container.googleapis.com", true)).await;
    // Enabling Kubernetes Engine enabled Compute Engine: adopted, not enabled again.
    let compute = create(&provider, SERVICE, body("compute.googleapis.com", true)).await;
    let error = provider.delete(SERVICE, &compute).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::Invalid);
    assert!(error.message.contains("disable_dependent_services=true"), "{error}");

    let with_dependents = planned(
        &provider,
        SERVICE,
        Value::object([
            ("service", "compute.googleapis.com".into()),
            ("disable_on_destroy", true.into()),
            ("disable_dependent_services", true.into()),
        ]),
    );
    let compute = provider.update(SERVICE, &compute, &with_dependents).await.unwrap();
    provider.delete(SERVICE, &compute).await.unwrap();
    assert_eq!(provider.read(SERVICE, &compute).await.unwrap(), None);
}

#[tokio::test]
async fn a_misspelt_api_is_googles_error_and_a_bad_name_never_reaches_google() {
    let (sandbox, provider) = start(google()).await;
    let planned = planned(&provider, SERVICE, body("vertexai.googleapis.com", false));
    let error = provider.create(SERVICE, &planned, &NoCheckpoint).await.unwrap_err();
    assert_eq!(error.kind, ProviderErrorKind::Denied);
    assert!(
        error.message.contains("Not found or permission denied for service(s): vertexai.googleapis.com"),
        "{error}"
    );

    let before = sandbox.request_count();
    let issues = provider.validate(SERVICE, &body("aiplatform", false));
    assert_eq!(issues.len(), 1);
    assert!(issues[0].is_error && issues[0].attribute == "service", "{issues:?}");
    assert_eq!(sandbox.request_count(), before);
}

/// API economy: what one enabled API costs. Create reads the service, enables it and polls the
/// operation (done on the third `operations.get` with two polls configured); refresh is one
/// read; an API already enabled is adopted with that one read; destroy without
/// `disable_on_destroy` calls nothing.
#[tokio::test]
async fn an_enabled_api_costs_one_read_to_refresh_and_nothing_to_forget() {
    let (sandbox, provider) = start(google()).await;
    let routes = |sandbox: &trustform_sandbox::Sandbox| {
        [
            "GET /v1/projects/{}/services/{}",
            "POST /v1/projects/{}/services/{}:enable",
            "GET /v1/operations/{}",
            "POST /v1/projects/{}/services/{}:disable",
        ]
        .map(|route| sandbox.requests_for(route))
    };
    let state = create(&provider, SERVICE, body("iamcredentials.googleapis.com", false)).await;
    assert_eq!(routes(&sandbox), [1, 1, 3, 0], "create");
    provider.read(SERVICE, &state).await.unwrap();
    assert_eq!(routes(&sandbox), [2, 1, 3, 0], "refresh");
    create(&provider, SERVICE, body("iamcredentials.googleapis.com", false)).await;
    assert_eq!(routes(&sandbox), [3, 1, 3, 0], "adopting an enabled API");
    provider.delete(SERVICE, &state).await.unwrap();
    assert_eq!(routes(&sandbox), [3, 1, 3, 0], "destroy keeps the API and calls nothing");
}
