//! The engine end to end over the in-memory test provider: plan, apply, re-plan, change,
//! destroy, failures, drift, import.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use trustform_engine::{Engine, EngineOptions, PlanOptions, Providers, RecordingHook};
use trustform_lang::config::load_sources;
use trustform_lang::{resolve_variables, CliVar, ResourceAddr, Value};
use trustform_plan::{render_human, Action, Plan, PlanMode, Reason, Style};
use trustform_provider::ProviderErrorKind;
use trustform_state::{MemoryBackend, State, StateStore};
use trustform_test_provider::{CallKind, TestProvider, TestProviderConfig};

fn engine_with(spec: &str, provider: &TestProvider, vars: &[&str]) -> Engine {
    let (mut config, diags) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
    assert!(!diags.has_errors(), "{diags:?}");
    let cli: Vec<CliVar> = vars.iter().map(|v| CliVar::Assignment((*v).to_owned())).collect();
    let (variables, diags) = resolve_variables(&mut config, &cli, Vec::new());
    assert!(!diags.has_errors(), "{diags:?}");
    let mut providers = Providers::new();
    providers.register(Arc::new(provider.clone()));
    let (engine, diags) = Engine::new(config, variables, providers, EngineOptions::default());
    assert!(!diags.has_errors(), "{diags:?}");
    engine.expect("engine")
}

fn engine(spec: &str, provider: &TestProvider) -> Engine {
    engine_with(spec, provider, &[])
}

async fn plan(engine: &Engine, state: &State) -> Plan {
    let (plan, diags) = engine.plan(state, &PlanOptions::normal()).await;
    assert!(!diags.has_errors(), "{diags:?}");
    plan.expect("plan")
}

async fn apply(engine: &Engine, state: State, store: &MemoryBackend) -> State {
    let plan = plan(engine, &state).await;
    let outcome = engine.apply(&plan, state, store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    outcome.state
}

fn addr(text: &str) -> ResourceAddr {
    text.parse().unwrap()
}

/// 24 resources: four chains of five joined at a root, plus a fan-in and `count`/`for_each`.
const CHAINS: &str = r#"
variable "suffix" { default = "v1" }
resource "test_resource" "root" { name = "root" }
resource "test_resource" "a" {
  count = 5
  name  = "a${count.index}"
  input = count.index == 0 ? test_resource.root.arn : "after-${count.index}"
}
resource "test_resource" "b" {
  for_each = toset(["b0", "b1", "b2", "b3", "b4"])
  name     = each.key
  input    = test_resource.root.id
}
resource "trustform_data" "c" {
  count = 5
  input = "c${count.index}-${var.suffix}"
}
resource "test_resource" "d" {
  count      = 5
  name       = "d${count.index}"
  input      = trustform_data.c[count.index].output
  depends_on = [test_resource.a]
}
resource "test_resource" "join" {
  name  = "join"
  input = jsonencode({ a = test_resource.a[*].id, b = [for k, v in test_resource.b : v.arn] })
  tags  = { owner = "platform" }
}
resource "trustform_data" "last" {
  input = test_resource.join.output
}
output "join_arn" { value = test_resource.join.arn }
output "b_ids" { value = { for k, v in test_resource.b : k => v.id } }
"#;

#[tokio::test]
async fn applies_converges_updates_and_destroys() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let engine = engine(CHAINS, &provider);

    let first = plan(&engine, &State::new()).await;
    assert_eq!(first.summary().add, 23);
    let state = apply(&engine, State::new(), &store).await;
    assert_eq!(state.resources.len(), 23);
    assert_eq!(provider.objects().len(), 17);
    assert_eq!(store.read().await.unwrap().unwrap(), state, "the store holds what apply returned");
    assert!(state.outputs["join_arn"].value.as_str().unwrap().starts_with("arn:test"));

    // Dependencies were created first: every `a` before `d`, `root` before everything.
    let creates: Vec<String> =
        provider.calls().into_iter().filter(|c| c.kind == CallKind::Create).filter_map(|c| c.name).collect();
    let position = |name: &str| creates.iter().position(|n| n == name).unwrap();
    assert_eq!(position("root"), 0);
    for i in 0..5 {
        assert!(position(&format!("a{i}")) < position("d0"));
    }
    assert!(position("join") > position("b4"));

    let second = plan(&engine, &state).await;
    assert!(!second.has_changes(), "{}", render_human(&second, Style::Plain));

    // One variable change reaches exactly the trustform_data and the test_resource fed by it.
    let changed = engine_with(CHAINS, &provider, &["suffix=v2"]);
    let third = plan(&changed, &state).await;
    let actionable: Vec<(String, Action)> = third
        .changes
        .iter()
        .filter(|c| c.action() != Action::NoOp)
        .map(|c| (c.address.to_string(), c.action()))
        .collect();
    assert_eq!(actionable.len(), 10, "{actionable:?}");
    assert!(actionable.iter().all(|(a, action)| *action == Action::Update
        && (a.starts_with("trustform_data.c") || a.starts_with("test_resource.d"))));

    let destroy = PlanOptions { mode: PlanMode::Destroy, ..PlanOptions::normal() };
    let (plan, _) = engine.plan(&state, &destroy).await;
    let outcome = engine.apply(&plan.unwrap(), state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert!(outcome.state.resources.is_empty());
    assert!(outcome.state.outputs.is_empty());
    assert!(provider.objects().is_empty());
    // Dependents were deleted before what they depend on.
    let deletes: Vec<String> =
        provider.calls().into_iter().filter(|c| c.kind == CallKind::Delete).filter_map(|c| c.name).collect();
    assert_eq!(deletes.last().map(String::as_str), Some("root"));
}

/// Regression: every instance of a `for_each` block that read its own instance of another
/// `for_each` block listed all of that block's instances as dependencies, so n instances held n²
/// addresses (and the apply graph n² edges). A dependency is now its block's address, as in
/// Terraform's state, and the order is still every instance of the block first.
#[tokio::test]
async fn a_block_of_instances_is_one_dependency_and_still_orders_apply_and_destroy() {
    const FAN: &str = r#"
locals {
  names = { k1 = "one", k2 = "two", k3 = "three", k4 = "four" }
}
resource "test_resource" "first" {
  for_each = local.names
  name     = "first-${each.value}"
}
resource "test_resource" "second" {
  for_each = local.names
  name     = "second-${each.value}"
  input    = test_resource.first[each.key].arn
}
"#;
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let engine = engine(FAN, &provider);
    let planned = plan(&engine, &State::new()).await;
    for change in planned.changes.iter().filter(|c| c.address.resource.name == "second") {
        assert_eq!(change.dependencies, [addr("test_resource.first")], "{}", change.address);
    }
    let state = apply(&engine, State::new(), &store).await;
    assert_eq!(state.resources.len(), 8);
    let second = &state.resources[&addr("test_resource.second[\"k3\"]")];
    assert_eq!(second.dependencies, [addr("test_resource.first")]);
    let first_arn = state.resources[&addr("test_resource.first[\"k3\"]")].attributes["arn"].clone();
    assert_eq!(second.attributes["input"], first_arn, "each instance reads its own instance");
    let creates: Vec<String> =
        provider.calls().into_iter().filter(|c| c.kind == CallKind::Create).filter_map(|c| c.name).collect();
    let last_first = creates.iter().rposition(|n| n.starts_with("first-")).unwrap();
    let first_second = creates.iter().position(|n| n.starts_with("second-")).unwrap();
    assert!(last_first < first_second, "{creates:?}");
    assert!(!plan(&engine, &state).await.has_changes());

    let destroy = PlanOptions { mode: PlanMode::Destroy, ..PlanOptions::normal() };
    let (destroying, _) = engine.plan(&state, &destroy).await;
    let outcome = engine.apply(&destroying.unwrap(), state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert!(outcome.state.resources.is_empty() && provider.objects().is_empty());
    let deletes: Vec<String> =
        provider.calls().into_iter().filter(|c| c.kind == CallKind::Delete).filter_map(|c| c.name).collect();
    let last_second = deletes.iter().rposition(|n| n.starts_with("second-")).unwrap();
    let first_first = deletes.iter().position(|n| n.starts_with("first-")).unwrap();
    assert!(last_second < first_first, "dependents are deleted first: {deletes:?}");

    // One failed instance of the block holds back every instance that depends on the block.
    let faults = TestProviderConfig::default().fail_named(CallKind::Create, ["first-two"], ProviderErrorKind::Invalid);
    let provider = TestProvider::new(faults);
    let engine = self::engine(FAN, &provider);
    let planned = plan(&engine, &State::new()).await;
    let outcome = engine.apply(&planned, State::new(), &MemoryBackend::new()).await;
    assert_eq!(outcome.diagnostics.iter().filter(|d| d.is_error()).count(), 1, "{:?}", outcome.diagnostics);
    assert_eq!(outcome.state.resources.len(), 3, "the other three instances of first, and no second");
    assert!(outcome.state.resources.keys().all(|a| a.resource.name == "first"));
}

/// Regression: a provider whose resources were all removed from the spec was never configured,
/// so the plan that should delete them failed on the first refresh.
#[tokio::test]
async fn a_provider_known_only_from_state_is_configured_to_delete_its_resources() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let before = engine(r#"resource "test_resource" "gone" { name = "gone" }"#, &provider);
    let state = apply(&before, State::new(), &store).await;
    assert_eq!(provider.configurations().len(), 1);

    let after = engine(r#"resource "trustform_data" "kept" { input = "x" }"#, &provider);
    let state = apply(&after, state, &store).await;
    assert_eq!(provider.configurations().len(), 2, "the provider was configured from state alone");
    assert!(provider.objects().is_empty());
    assert_eq!(state.resources.keys().map(ToString::to_string).collect::<Vec<_>>(), ["trustform_data.kept"]);
}

/// Regression: an optional, computed attribute the configuration leaves unset (an OIDC
/// provider's thumbprints, say) was refused at apply as "still unknown".
#[tokio::test]
async fn an_unset_optional_computed_attribute_is_left_to_the_provider() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let spec = r#"
resource "test_resource" "picked" { name = "picked" }
resource "test_resource" "given" {
  name = "given"
  zone = "zone-of-${test_resource.picked.zone}"
}
"#;
    let engine = engine(spec, &provider);
    let first = plan(&engine, &State::new()).await;
    let picked = first.changes.iter().find(|c| c.address == addr("test_resource.picked")).unwrap();
    assert_eq!(picked.after().and_then(|after| after.get("zone")), Some(&Value::Unknown));
    let state = apply(&engine, State::new(), &store).await;
    let zone = |name: &str| state.resources[&addr(name)].attributes["zone"].as_str().map(str::to_owned);
    assert_eq!(zone("test_resource.picked").as_deref(), Some("test-zone-a"));
    assert_eq!(zone("test_resource.given").as_deref(), Some("zone-of-test-zone-a"));
    assert!(!plan(&engine, &state).await.has_changes());
}

/// Regression: a destroy counted and showed the data sources it drops from state as
/// "destroyed", though no object is deleted for them.
#[tokio::test]
async fn data_sources_leave_state_silently_on_destroy() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let spec = r#"
data "test_lookup" "region" { name = "region" }
resource "test_resource" "kept" { name = data.test_lookup.region.value }
"#;
    let engine = engine(spec, &provider);
    let state = apply(&engine, State::new(), &store).await;
    assert!(state.resources.contains_key(&addr("data.test_lookup.region")));

    let destroy = PlanOptions { mode: PlanMode::Destroy, ..PlanOptions::normal() };
    let (plan, _) = engine.plan(&state, &destroy).await;
    let plan = plan.unwrap();
    assert_eq!(plan.summary().destroy, 1);
    let rendered = render_human(&plan, Style::Plain);
    assert!(!rendered.contains("data.test_lookup"), "{rendered}");
    // A destroyed resource lists what it had, as Terraform does.
    assert!(rendered.contains("- name = \"value-of-region\" -> null"), "{rendered}");
    let outcome = engine.apply(&plan, state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert!(outcome.state.resources.is_empty(), "{:?}", outcome.state.resources.keys());
}

#[tokio::test]
async fn force_new_attribute_plans_a_replacement_with_its_reason() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let spec = r#"resource "test_resource" "x" { name = "one" }"#;
    let state = apply(&engine(spec, &provider), State::new(), &store).await;
    let renamed = engine(r#"resource "test_resource" "x" { name = "two" }"#, &provider);
    let plan = plan(&renamed, &state).await;
    let change = plan.change(&addr("test_resource.x")).unwrap();
    assert_eq!(change.action(), Action::DeleteThenCreate);
    assert_eq!(change.reason, Reason::ReplaceBecauseOf { attributes: vec!["name".into()] });
    insta::assert_snapshot!(render_human(&plan, Style::Plain));
}

#[tokio::test]
async fn a_failed_branch_keeps_everything_else_applied_and_recorded() {
    let healed = Arc::new(AtomicBool::new(false));
    let flag = healed.clone();
    let faults = TestProviderConfig::default().fail_matching(
        CallKind::Create,
        move |name| name == "a2" && !flag.load(Ordering::SeqCst),
        ProviderErrorKind::Invalid,
    );
    let provider = TestProvider::new(faults);
    let store = MemoryBackend::new();
    let engine = engine(CHAINS, &provider);
    let plan = plan(&engine, &State::new()).await;
    let outcome = engine.apply(&plan, State::new(), &store).await;
    let errors: Vec<_> = outcome.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "one failure, its dependents skipped silently: {errors:?}");
    assert_eq!(errors[0].address.as_deref(), Some("test_resource.a[2]"));
    let state = outcome.state;
    // a[2] failed, so d[*] (depends_on a) and join (reads a[*]) and last were skipped.
    for skipped in ["test_resource.a[2]", "test_resource.d[0]", "test_resource.join", "trustform_data.last"] {
        assert!(!state.resources.contains_key(&addr(skipped)), "{skipped} should not exist");
    }
    for applied in ["test_resource.root", "test_resource.a[4]", "test_resource.b[\"b3\"]", "trustform_data.c[4]"] {
        assert!(state.resources.contains_key(&addr(applied)), "{applied} should be applied");
    }
    // Every object the cloud has is in state, and the store has what apply returned.
    assert_eq!(provider.objects().len(), state.resources.keys().filter(|a| a.type_name() == "test_resource").count());
    assert_eq!(store.read().await.unwrap().unwrap(), state);

    // Once the fault is gone, apply converges without touching what exists.
    healed.store(true, Ordering::SeqCst);
    provider.reset_calls();
    let state = apply(&engine, state, &store).await;
    assert_eq!(state.resources.len(), 23);
    assert_eq!(provider.count(CallKind::Create), 7, "a[2], d[0..5], join");
    assert!(!self::plan(&engine, &state).await.has_changes());
}

#[tokio::test]
async fn drift_is_detected_and_undone() {
    let provider = TestProvider::default();
    let store = MemoryBackend::new();
    let spec = r#"resource "test_resource" "x" {
      name  = "x"
      input = "wanted"
    }"#;
    let engine = engine(spec, &provider);
    let state = apply(&engine, State::new(), &store).await;
    let id = provider.id_of("x").unwrap();
    provider.set_attribute(&id, "input", Value::from("changed by hand")).unwrap();
    let plan = plan(&engine, &state).await;
    assert_eq!(plan.drift.len(), 1);
    let change = plan.change(&addr("test_resource.x")).unwrap();
    assert_eq!(change.action(), Action::Update);
    assert_eq!(change.attributes[0].name, "input");

    provider.remove(&id);
    let plan = self::plan(&engine, &state).await;
    let change = plan.change(&addr("test_resource.x")).unwrap();
    assert_eq!((change.action(), &change.reason), (Action::Create, &Reason::DeletedOutsideTrustform));
}

#[tokio::test]
async fn import_round_trips() {
    let provider = TestProvider::default();
    let created =
        provider.insert(&Value::object([("name", Value::from("outside")), ("input", Value::from("i"))])).unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap().to_owned();
    let engine = engine(
        r#"resource "test_resource" "x" {
          name  = "outside"
          input = "i"
        }"#,
        &provider,
    );
    let store = MemoryBackend::new();
    let (state, diags) = engine.import(&addr("test_resource.x"), &id, State::new(), &store).await;
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(state.resources[&addr("test_resource.x")].id, id);
    assert!(!plan(&engine, &state).await.has_changes());
    let (_, again) = engine.import(&addr("test_resource.x"), &id, state, &store).await;
    assert_eq!(again.iter().next().unwrap().code, "TF1101");
}

#[tokio::test]
async fn sensitive_values_stay_masked_in_plans() {
    let provider = TestProvider::default();
    let spec = r#"
    variable "token" {
      sensitive = true
      default   = "hunter2-canary"
    }
    resource "test_resource" "x" {
      name   = "x"
      secret = var.token
      input  = "plain"
    }
    output "leak" { value = test_resource.x.secret }
    "#;
    let (config, _) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
    let mut providers = Providers::new();
    providers.register(Arc::new(provider.clone()));
    let variables = BTreeMap::from([("token".into(), Value::from("hunter2-canary").sensitive())]);
    let (engine, _) = Engine::new(config, variables, providers, EngineOptions::default());
    let (plan, diags) = engine.unwrap().plan(&State::new(), &PlanOptions::normal()).await;
    assert!(plan.is_none());
    assert_eq!(diags.iter().next().unwrap().code, "TF0800", "an unmarked output of a secret is refused");
}

#[tokio::test]
async fn progress_events_never_carry_values() {
    let provider = TestProvider::default();
    let hook = Arc::new(RecordingHook::default());
    let (config, _) =
        load_sources([("main.tf".to_owned(), r#"resource "test_resource" "x" { name = "x" }"#.to_owned())]);
    let mut providers = Providers::new();
    providers.register(Arc::new(provider.clone()));
    let options = EngineOptions { hook: hook.clone(), ..EngineOptions::default() };
    let (engine, _) = Engine::new(config, BTreeMap::new(), providers, options);
    let engine = engine.unwrap();
    let store = MemoryBackend::new();
    apply(&engine, State::new(), &store).await;
    let events = hook.0.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_long_create_is_already_in_state_as_tainted() {
    let provider = TestProvider::new(TestProviderConfig::default().latency(std::time::Duration::from_secs(600)));
    let engine = engine(r#"resource "test_resource" "pool" { name = "pool" }"#, &provider);
    let store = MemoryBackend::new();
    let plan = plan(&engine, &State::new()).await;
    // The provider checkpoints as soon as the cloud accepts the create, then waits ten minutes;
    // the process dies one second into that wait.
    tokio::select! {
        _ = engine.apply(&plan, State::new(), &store) => panic!("the create should still be waiting"),
        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
    }
    let persisted = store.read().await.unwrap().expect("the checkpoint was written");
    let recorded = &persisted.resources[&addr("test_resource.pool")];
    assert_eq!(recorded.status, trustform_state::ResourceStatus::Tainted);
    assert_eq!(Some(recorded.id.as_str()), provider.id_of("pool").as_deref());

    // The next plan replaces the possibly incomplete object instead of orphaning it.
    let next = self::plan(&engine, &persisted).await;
    let change = next.change(&addr("test_resource.pool")).unwrap();
    assert_eq!((change.action(), &change.reason), (Action::DeleteThenCreate, &Reason::Tainted));
}

/// The record a run leaves when it is killed after sending a create and before saving the
/// answer: the planned value under the planned id (empty when the cloud chooses it).
fn creating_record(id: &str, name: &str) -> trustform_state::ResourceState {
    let planned = Value::object([
        ("id", if id.is_empty() { Value::Unknown } else { Value::from(id) }),
        ("name", Value::from(name)),
        ("arn", Value::Unknown),
    ]);
    trustform_state::ResourceState::creating("test_resource", "test", &planned, [])
}

#[tokio::test]
async fn an_interrupted_create_found_in_the_cloud_is_adopted_not_created_again() {
    let provider = TestProvider::default();
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let created = provider.insert(&Value::object([("name", Value::from("x"))])).unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap().to_owned();
    let mut state = State::new();
    state.resources.insert(addr("test_resource.x"), creating_record(&id, "x"));

    let plan = plan(&engine, &state).await;
    let change = plan.change(&addr("test_resource.x")).unwrap();
    assert_eq!(change.action(), Action::NoOp, "{}", render_human(&plan, Style::Plain));
    assert!(plan.drift.is_empty(), "reading back what was planned is not drift: {:?}", plan.drift);
    assert_eq!(plan.adopted, [addr("test_resource.x")]);
    assert!(plan.has_changes(), "applying saves it");

    let store = MemoryBackend::new();
    provider.reset_calls();
    let outcome = engine.apply(&plan, state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert_eq!(provider.count(CallKind::Create), 0);
    let adopted = &outcome.state.resources[&addr("test_resource.x")];
    assert_eq!(adopted.status, trustform_state::ResourceStatus::Ready);
    assert_eq!(adopted.attributes["arn"], created.get("arn").unwrap().to_json());
    assert_eq!(store.read().await.unwrap().unwrap(), outcome.state);
    assert!(!self::plan(&engine, &outcome.state).await.has_changes());
}

#[tokio::test]
async fn an_interrupted_create_that_never_happened_is_created_as_new() {
    let provider = TestProvider::default();
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let mut state = State::new();
    state.resources.insert(addr("test_resource.x"), creating_record("tr-999999", "x"));

    let plan = plan(&engine, &state).await;
    let change = plan.change(&addr("test_resource.x")).unwrap();
    assert_eq!((change.action(), &change.reason), (Action::Create, &Reason::None));
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);
    assert!(plan.adopted.is_empty());
    let state = apply(&engine, state, &MemoryBackend::new()).await;
    assert_eq!(state.resources[&addr("test_resource.x")].status, trustform_state::ResourceStatus::Ready);
    assert_eq!(provider.objects().len(), 1);
}

#[tokio::test]
async fn a_creating_record_without_an_id_is_reported_and_created_again() {
    let provider = TestProvider::default();
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let mut state = State::new();
    state.resources.insert(addr("test_resource.x"), creating_record("", "x"));
    // The test provider chooses ids, so the record cannot be looked up: the plan warns and
    // creates again.
    let (next, diags) = engine.plan(&state, &PlanOptions::normal()).await;
    let warning = diags.iter().find(|d| d.code == "TF1006").expect("the interrupted create is reported");
    assert!(warning.detail.contains("trustform import test_resource.x ID"), "{}", warning.detail);
    assert_eq!(next.unwrap().change(&addr("test_resource.x")).unwrap().action(), Action::Create);
    let state = apply(&engine, state, &MemoryBackend::new()).await;
    assert_eq!(state.resources[&addr("test_resource.x")].status, trustform_state::ResourceStatus::Ready);
    assert_eq!(provider.objects().len(), 1);
}

#[tokio::test]
async fn a_create_the_cloud_names_gets_no_record_and_so_no_extra_write() {
    let faults = TestProviderConfig::default().fail_first(CallKind::Create, 1, ProviderErrorKind::Transient);
    let provider = TestProvider::new(faults);
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let store = MemoryBackend::new();
    let first = plan(&engine, &State::new()).await;
    let outcome = engine.apply(&first, State::new(), &store).await;
    assert!(outcome.diagnostics.has_errors());
    assert!(outcome.state.resources.is_empty(), "{:?}", outcome.state.resources);
    let state = apply(&engine, outcome.state, &store).await;
    assert_eq!(provider.objects().len(), 1);
    assert!(!self::plan(&engine, &state).await.has_changes());
}

#[tokio::test]
async fn a_definite_create_failure_leaves_no_record() {
    let faults = TestProviderConfig::default().fail_first(CallKind::Create, 1, ProviderErrorKind::Invalid);
    let provider = TestProvider::new(faults);
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let store = MemoryBackend::new();
    let first = plan(&engine, &State::new()).await;
    let outcome = engine.apply(&first, State::new(), &store).await;
    assert!(outcome.diagnostics.has_errors());
    assert!(outcome.state.resources.is_empty());
    assert!(store.read().await.unwrap().unwrap().resources.is_empty());
}

/// A backend that refuses every write, like a bucket whose lock was taken over.
struct RefusingStore;

#[async_trait::async_trait]
impl StateStore for RefusingStore {
    async fn read(&self) -> Result<Option<State>, trustform_state::StateError> {
        Ok(None)
    }

    async fn write(&self, _: &State) -> Result<(), trustform_state::StateError> {
        Err(trustform_state::StateError::SerialBackwards { target: "the test store".into(), stored: 9, incoming: 1 })
    }

    fn describe(&self) -> String {
        "the test store".into()
    }
}

#[tokio::test]
async fn a_create_whose_record_cannot_be_saved_is_not_sent_and_not_claimed() {
    let provider = TestProvider::new(TestProviderConfig::default().names_as_ids());
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let plan = plan(&engine, &State::new()).await;
    let outcome = engine.apply(&plan, State::new(), &RefusingStore).await;
    assert!(outcome.diagnostics.iter().any(|d| d.code == "TF1010"), "{:?}", outcome.diagnostics);
    assert_eq!(provider.count(CallKind::Create), 0, "nothing is created that could not be recorded");
    assert!(outcome.state.resources.is_empty(), "{:?}", outcome.state.resources);
}

#[tokio::test]
async fn an_ambiguous_failure_of_a_create_with_a_planned_id_leaves_a_record_the_next_plan_resolves() {
    let faults =
        TestProviderConfig::default().names_as_ids().fail_first(CallKind::Create, 1, ProviderErrorKind::Transient);
    let provider = TestProvider::new(faults);
    let engine = engine(r#"resource "test_resource" "x" { name = "x" }"#, &provider);
    let store = MemoryBackend::new();
    let first = plan(&engine, &State::new()).await;
    assert_eq!(first.change(&addr("test_resource.x")).unwrap().after().unwrap().get("id"), Some(&Value::from("tr-x")));
    let outcome = engine.apply(&first, State::new(), &store).await;
    assert!(outcome.diagnostics.has_errors());
    // A timeout may hide a create that happened: the record stays for the next run to look up.
    let persisted = store.read().await.unwrap().unwrap();
    let record = &persisted.resources[&addr("test_resource.x")];
    assert_eq!((record.status, record.id.as_str()), (trustform_state::ResourceStatus::Creating, "tr-x"));
    // This one never reached the cloud: the next plan finds nothing and creates it, once.
    let next = plan(&engine, &persisted).await;
    assert_eq!(next.change(&addr("test_resource.x")).unwrap().action(), Action::Create);
    assert!(next.adopted.is_empty());
    let state = apply(&engine, persisted, &store).await;
    assert_eq!(state.resources[&addr("test_resource.x")].status, trustform_state::ResourceStatus::Ready);
    assert_eq!(provider.objects().len(), 1);
}

/// A store that records the size of each update an apply hands it, and fails update number
/// `fail_at` (from 1) if set, like a disk that was full for a moment.
struct RecordingStore {
    inner: MemoryBackend,
    fail_at: Option<usize>,
    updates: std::sync::Mutex<Vec<usize>>,
}

impl RecordingStore {
    fn new(fail_at: Option<usize>) -> Self {
        RecordingStore { inner: MemoryBackend::new(), fail_at, updates: Default::default() }
    }
}

#[async_trait::async_trait]
impl StateStore for RecordingStore {
    async fn read(&self) -> Result<Option<State>, trustform_state::StateError> {
        self.inner.read().await
    }

    async fn write(&self, state: &State) -> Result<(), trustform_state::StateError> {
        self.inner.write(state).await
    }

    async fn persist(&self, update: &trustform_state::StateUpdate<'_>) -> Result<(), trustform_state::StateError> {
        let number = {
            let mut updates = self.updates.lock().unwrap();
            updates.push(update.changes.len());
            updates.len()
        };
        if self.fail_at == Some(number) {
            return Err(trustform_state::StateError::SerialBackwards {
                target: "the test store".into(),
                stored: 9,
                incoming: 1,
            });
        }
        self.inner.persist(update).await
    }

    fn describe(&self) -> String {
        "the test store".into()
    }
}

/// A failed update fails the visits that waited for it, and its changes are not lost: the next
/// update carries them, in order, before its own.
#[tokio::test]
async fn a_failed_update_fails_its_waiters_and_the_next_one_carries_its_changes() {
    let spec = r#"
resource "test_resource" "x" { name = "x" }
output "o" { value = "v" }
"#;
    // The updates: x's `creating` record, x's result, the outputs.

    // The record fails: the create is not sent, and the record's removal follows it out.
    let provider = TestProvider::new(TestProviderConfig::default().names_as_ids());
    let apply_engine = engine(spec, &provider);
    let store = RecordingStore::new(Some(1));
    let outcome = apply_engine.apply(&plan(&apply_engine, &State::new()).await, State::new(), &store).await;
    assert!(outcome.diagnostics.iter().any(|d| d.code == "TF1010"), "{:?}", outcome.diagnostics);
    assert_eq!(provider.count(CallKind::Create), 0, "a create whose record failed is not sent");
    let stored = store.inner.read().await.unwrap().expect("the next update was written");
    assert!(stored.resources.is_empty(), "{:?}", stored.resources);
    assert_eq!((stored.resources, stored.outputs), (outcome.state.resources, outcome.state.outputs));

    // The result fails: x fails, and the outputs' update records x as the cloud answered.
    let provider = TestProvider::new(TestProviderConfig::default().names_as_ids());
    let apply_engine = engine(spec, &provider);
    let store = RecordingStore::new(Some(2));
    let outcome = apply_engine.apply(&plan(&apply_engine, &State::new()).await, State::new(), &store).await;
    assert!(outcome.diagnostics.iter().any(|d| d.code == "TF1010"), "{:?}", outcome.diagnostics);
    assert_eq!(provider.count(CallKind::Create), 1);
    let stored = store.inner.read().await.unwrap().expect("the next update was written");
    let x = &stored.resources[&addr("test_resource.x")];
    assert_eq!(x.status, trustform_state::ResourceStatus::Ready, "the failed update's change came with the next");
    assert_eq!(stored.outputs.keys().collect::<Vec<_>>(), ["o"]);
    assert_eq!((stored.resources, stored.outputs), (outcome.state.resources, outcome.state.outputs));
}

/// Group commit: resources whose provider calls are answered at the same moment share
/// updates, even with a store that answers at once (which lets nothing else run in between).
/// The writer takes what the walk staged before it got its turn, so a wave may still be split
/// where the walk lets it run in the middle of one.
#[tokio::test(start_paused = true)]
async fn resources_that_finish_together_share_one_update() {
    let provider = TestProvider::new(TestProviderConfig::default().latency(std::time::Duration::from_secs(5)));
    let spec: String = (0..8).map(|i| format!("resource \"test_resource\" \"r{i}\" {{ name = \"r{i}\" }}\n")).collect();
    let engine = engine(&spec, &provider);
    let plan = plan(&engine, &State::new()).await;
    let store = RecordingStore::new(None);
    let outcome = engine.apply(&plan, State::new(), &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert_eq!(store.inner.read().await.unwrap().unwrap().resources.len(), 8);
    // Seventeen changes: the eight create checkpoints, the eight results, the outputs.
    let updates = store.updates.lock().unwrap().clone();
    assert_eq!(updates.iter().sum::<usize>(), 17, "{updates:?}");
    assert!(updates.len() <= 4, "each wave of eight shares updates: {updates:?}");
    assert!(updates.contains(&8), "the eight results that came together share one update: {updates:?}");
}

/// An object deleted behind the state's back (or by a destroy killed before it saved the
/// delete) leaves the state when a plan that does not touch it is applied, as Terraform's apply
/// starts from the refreshed state; until then every destroy would find it again.
#[tokio::test]
async fn applying_drops_the_records_of_objects_refresh_found_gone() {
    let provider = TestProvider::new(TestProviderConfig::default());
    let engine = engine(
        r#"
resource "test_resource" "kept" { name = "kept" }
resource "test_resource" "gone" { name = "gone" }
"#,
        &provider,
    );
    let store = MemoryBackend::new();
    let state = apply(&engine, State::new(), &store).await;
    provider.remove(&provider.id_of("gone").expect("created")).expect("removed");
    let (destroy, diags) = engine.plan(&state, &PlanOptions { mode: PlanMode::Destroy, ..PlanOptions::normal() }).await;
    assert!(!diags.has_errors(), "{diags:?}");
    let destroy = destroy.expect("plan");
    assert_eq!(destroy.gone_objects().collect::<Vec<_>>(), [&addr("test_resource.gone")]);
    let outcome = engine.apply(&destroy, state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert!(outcome.state.resources.is_empty(), "{:?}", outcome.state.resources.keys().collect::<Vec<_>>());
    assert!(provider.objects().is_empty());
}

/// The plan only names what refresh found gone; the cloud decides. A plan (say, an edited plan
/// file) calling a live object gone does not make the state forget it.
#[tokio::test]
async fn a_live_object_the_plan_calls_gone_stays_in_state() {
    let provider = TestProvider::new(TestProviderConfig::default());
    let engine = engine(r#"resource "test_resource" "live" { name = "live" }"#, &provider);
    let store = MemoryBackend::new();
    let state = apply(&engine, State::new(), &store).await;
    let mut plan = plan(&engine, &state).await;
    assert!(plan.drift.is_empty());
    let live = addr("test_resource.live");
    let recorded = state.resources[&live].value();
    plan.changes.retain(|c| c.address != live);
    plan.drift.push(trustform_plan::Change {
        address: live.clone(),
        provider: "test".to_owned(),
        reason: Reason::None,
        values: trustform_plan::ChangeValues::Delete { before: recorded },
        attributes: Vec::new(),
        dependencies: Vec::new(),
    });
    let outcome = engine.apply(&plan, state, &store).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    assert!(outcome.state.resources.contains_key(&live));
}

const DERIVED: &str = r#"
resource "test_resource" "role" { name = "role" }
resource "test_resource" "user" {
  name  = "user"
  input = test_resource.role.arn
}
"#;

/// What a provider derives at plan must be what the cloud makes: the object is recorded as the
/// cloud answered, the resource fails with TF1090 naming both values, and what was planned with
/// the derived value is not applied.
#[tokio::test]
async fn a_derived_value_the_cloud_contradicts_is_caught_not_stored_silently() {
    let provider = TestProvider::new(TestProviderConfig::default().derive_arns_in("111"));
    let engine = engine(DERIVED, &provider);
    let store = MemoryBackend::new();
    let planned = plan(&engine, &State::new()).await;
    let promised = planned.change(&addr("test_resource.user")).unwrap().after().unwrap().get("input").cloned();
    assert_eq!(promised, Some(Value::from("arn:test:111:resource/role")), "the plan shows the derived ARN");
    let outcome = engine.apply(&planned, State::new(), &store).await;
    let mismatch = outcome.diagnostics.iter().find(|d| d.code == "TF1090").expect("TF1090");
    assert_eq!(mismatch.summary, "Provider produced inconsistent result after apply");
    assert!(mismatch.span.is_some(), "points at the resource");
    assert!(mismatch.detail.contains("test_resource.role.arn = \"arn:test:111:resource/role\""), "{}", mismatch.detail);
    assert!(mismatch.detail.contains("answered \"arn:test:::resource/role\""), "{}", mismatch.detail);
    let recorded = &store.read().await.unwrap().unwrap().resources[&addr("test_resource.role")];
    assert_eq!(recorded.attributes["arn"], "arn:test:::resource/role");
    assert_eq!(provider.objects().len(), 1, "the dependent planned with the derived ARN is not created");
    assert!(!outcome.state.resources.contains_key(&addr("test_resource.user")));
}

/// A plan made while the provider derived values for one account is not applied with a
/// provider that derives them for another: TF1091, before any call.
#[tokio::test]
async fn a_derivation_that_changed_since_the_plan_stops_the_resource_before_the_cloud_is_called() {
    let at_plan = TestProvider::new(TestProviderConfig::default().derive_arns_in("111"));
    let planned = plan(&engine(DERIVED, &at_plan), &State::new()).await;
    let at_apply = TestProvider::default();
    let outcome = engine(DERIVED, &at_apply).apply(&planned, State::new(), &MemoryBackend::new()).await;
    let changed = outcome.diagnostics.iter().find(|d| d.code == "TF1091").expect("TF1091");
    assert!(changed.detail.contains("now derives \"arn:test:::resource/role\""), "{}", changed.detail);
    assert!(changed.span.is_some(), "points at the resource");
    assert_eq!(at_apply.count(CallKind::Create), 0);
}
