//! Saved plans are input: a plan file edited in any byte is refused, or applies exactly what the
//! original plan applies. Prior values come from the state (or the cloud), never from the file.

use std::collections::BTreeMap;
use std::sync::Arc;
use trustform_engine::{Engine, EngineOptions, PlanOptions, Providers};
use trustform_lang::config::load_sources;
use trustform_lang::{resolve_variables, Value};
use trustform_plan::{config_digest, state_digest, Action, Plan, SavedPlan, SavedPlanError};
use trustform_state::{MemoryBackend, State};
use trustform_test_provider::TestProvider;

const BEFORE: &str = r#"
variable "owner" { default = "platform" }
resource "test_resource" "keep" { name = "keep" }
resource "test_resource" "change" {
  name  = "change"
  input = "one"
}
resource "test_resource" "gone" { name = "gone" }
resource "test_resource" "replace" { name = "replace-a" }
"#;

const AFTER: &str = r#"
variable "owner" { default = "platform" }
resource "test_resource" "keep" { name = "keep" }
resource "test_resource" "change" {
  name  = "change"
  input = test_resource.keep.arn
  tags  = { owner = var.owner }
}
resource "test_resource" "replace" { name = "replace-b" }
resource "test_resource" "new" {
  name  = "new"
  input = var.owner
}
"#;

fn engine(spec: &str, provider: &TestProvider) -> Engine {
    let (mut config, diags) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
    assert!(!diags.has_errors(), "{diags:?}");
    let (variables, diags) = resolve_variables(&mut config, &[], Vec::new());
    assert!(!diags.has_errors(), "{diags:?}");
    let mut providers = Providers::new();
    providers.register(Arc::new(provider.clone()));
    let (engine, diags) = Engine::new(config, variables, providers, EngineOptions::default());
    assert!(!diags.has_errors(), "{diags:?}");
    engine.expect("engine")
}

/// A cloud holding what `BEFORE` made, and the state recording it; the same every time.
async fn world() -> (TestProvider, State) {
    let provider = TestProvider::default();
    let engine = engine(BEFORE, &provider);
    let empty = State { lineage: "5f0c1d2e-0000-4000-8000-000000000001".to_owned(), ..State::new() };
    let (plan, diags) = engine.plan(&empty, &PlanOptions::normal()).await;
    assert!(!diags.has_errors(), "{diags:?}");
    let outcome = engine.apply(&plan.expect("plan"), empty, &MemoryBackend::new()).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    (provider, outcome.state)
}

enum Outcome {
    /// Refused before anything was applied.
    Refused,
    /// The apply ran and stopped with errors: a planned value the edit changed was refused
    /// (TF1013) when its resource's turn came, after other changes were made.
    Failed {
        objects: BTreeMap<String, Value>,
    },
    Applied {
        objects: BTreeMap<String, Value>,
        state: State,
    },
}

/// What `apply FILE` does with `bytes` against a fresh copy of the world: the checks of the CLI
/// (configuration digest, lineage, serial, state digest) and the engine's.
async fn apply_file(bytes: &[u8]) -> Outcome {
    let Ok(saved) = SavedPlan::from_bytes(bytes) else { return Outcome::Refused };
    let (provider, state) = world().await;
    let stale = saved.config_digest != config_digest([("main.tf", AFTER)])
        || saved.plan.state_serial != state.serial
        || saved.plan.state_lineage != state.lineage
        || saved.state_digest != state_digest(&state);
    if stale {
        return Outcome::Refused;
    }
    let (mut config, _) = load_sources([("main.tf".to_owned(), AFTER.to_owned())]);
    let (_, diags) = resolve_variables(&mut config, &[], Vec::new());
    assert!(!diags.has_errors());
    let mut providers = Providers::new();
    providers.register(Arc::new(provider.clone()));
    let (engine, diags) = Engine::new(config, saved.variables.clone(), providers, EngineOptions::default());
    let Some(engine) = engine.filter(|_| !diags.has_errors()) else { return Outcome::Refused };
    let Ok(plan) = engine.verify_saved_plan(&saved.plan, &state).await else { return Outcome::Refused };
    let before = by_name(&provider);
    let outcome = engine.apply(&plan, state, &MemoryBackend::new()).await;
    let objects = by_name(&provider);
    if outcome.diagnostics.has_errors() {
        if objects == before {
            return Outcome::Refused;
        }
        return Outcome::Failed { objects };
    }
    Outcome::Applied { objects, state: outcome.state }
}

/// The cloud's objects by name, without their ids: the test provider numbers objects in the
/// order it creates them, which the walk does not fix.
fn by_name(provider: &TestProvider) -> BTreeMap<String, Value> {
    provider
        .objects()
        .into_values()
        .map(|object| {
            let mut fields = object.as_object().cloned().unwrap_or_default();
            fields.remove("id");
            let name = fields.get("name").map(Value::render).unwrap_or_default();
            (name, Value::Object(fields))
        })
        .collect()
}

async fn saved_plan() -> Vec<u8> {
    let (provider, state) = world().await;
    let engine = engine(AFTER, &provider);
    let (plan, diags) = engine.plan(&state, &PlanOptions::normal()).await;
    assert!(!diags.has_errors(), "{diags:?}");
    let plan: Plan = plan.expect("plan");
    let actions: Vec<Action> = plan.changes.iter().map(|c| c.action()).collect();
    assert!(
        [Action::NoOp, Action::Update, Action::Delete, Action::DeleteThenCreate, Action::Create]
            .iter()
            .all(|a| actions.contains(a)),
        "{actions:?}"
    );
    let variables = BTreeMap::from([("owner".to_owned(), Value::from("platform"))]);
    SavedPlan::new(plan, variables, config_digest([("main.tf", AFTER)]), &state).to_bytes()
}

#[tokio::test]
async fn a_plan_file_edited_in_any_byte_is_refused_or_applies_exactly_the_original() {
    let original = saved_plan().await;
    let Outcome::Applied { objects: reference, state: reference_state } = apply_file(&original).await else {
        panic!("the unedited plan must apply");
    };
    let (start, _) = world().await;
    let start = by_name(&start);
    let (mut refused, mut partial, mut same) = (0, 0, 0);
    // Each byte replaced by a neighbour (`"` -> `#`, `a` -> `` ` ``, `1` -> `0`, ...): keys, values,
    // numbers, punctuation and whitespace all get edited.
    for at in 0..original.len() {
        let mut edited = original.clone();
        edited[at] ^= 1;
        let place = || {
            let from = at.saturating_sub(30);
            let to = (at + 30).min(original.len());
            format!("byte {at}: ...{}...", String::from_utf8_lossy(&edited[from..to]))
        };
        match apply_file(&edited).await {
            Outcome::Refused => refused += 1,
            Outcome::Applied { objects, state } => {
                assert_eq!(objects, reference, "an edited plan applied something else; {}", place());
                let names = |s: &State| s.resources.keys().map(ToString::to_string).collect::<Vec<_>>();
                assert_eq!(names(&state), names(&reference_state), "{}", place());
                same += 1;
            }
            Outcome::Failed { objects, .. } => {
                // A change the edit touched was refused during the apply; the others ran. Nothing
                // the original plan would not have done happened.
                for (name, object) in &objects {
                    assert!(
                        start.get(name) == Some(object) || reference.get(name) == Some(object),
                        "{name} became {object:?}, which no plan made; {}",
                        place()
                    );
                }
                partial += 1;
            }
        }
    }
    println!(
        "{} edits: {refused} refused, {partial} refused during apply, {same} applied the original",
        original.len()
    );
    assert!(refused > original.len() / 2, "{refused} of {}", original.len());
}

#[tokio::test]
async fn a_delete_of_an_object_the_state_does_not_record_is_refused() {
    // The review's case: a replace whose prior value names `prod-admin`, which the state does
    // not manage, would delete it.
    let (provider, state) = world().await;
    let outsider = provider.insert(&Value::object([("name", Value::from("prod-admin"))])).unwrap();
    let engine = engine(AFTER, &provider);
    let (plan, _) = engine.plan(&state, &PlanOptions::normal()).await;
    let mut plan = plan.unwrap();
    let replace = plan.changes.iter_mut().find(|c| c.action() == Action::DeleteThenCreate).unwrap();
    *replace.values.before_mut().unwrap() = outsider.clone();
    let diags = engine.verify_saved_plan(&plan, &state).await.unwrap_err();
    let message = format!("{diags:?}");
    assert!(message.contains("TF1036") && message.contains("test_resource.replace"), "{message}");
    assert!(message.contains("Make a new plan"), "{message}");
    assert_eq!(provider.objects().len(), 5, "nothing was deleted");
}

/// `bytes` with `edit` applied to the change of `address` in the file's JSON.
fn edit_change(bytes: &[u8], address: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let changes = json["plan"]["changes"].as_array_mut().unwrap();
    edit(changes.iter_mut().find(|c| c["address"] == address).unwrap());
    serde_json::to_vec_pretty(&json).unwrap()
}

#[tokio::test]
async fn a_change_whose_action_and_values_disagree_is_refused_when_read() {
    // A delete without the object to delete panicked in the apply; no `Change` can hold one now,
    // so the file is refused when it is read, and says which change is wrong.
    let bytes = saved_plan().await;
    let outsider = serde_json::json!({ "id": "prod-admin", "name": "prod-admin" });
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "test_resource.gone",
            Box::new(|c| c["before"] = serde_json::Value::Null),
            "the Delete of test_resource.gone lacks a prior value and lacks a planned one",
        ),
        (
            "test_resource.gone",
            Box::new(|c| c["after"] = c["before"].clone()),
            "the Delete of test_resource.gone has a prior value and has a planned one",
        ),
        (
            "test_resource.new",
            Box::new(move |c| c["before"] = outsider),
            "the Create of test_resource.new has a prior value and has a planned one",
        ),
        (
            "test_resource.change",
            Box::new(|c| c["after"] = serde_json::Value::Null),
            "the Update of test_resource.change has a prior value and lacks a planned one",
        ),
        (
            "test_resource.replace",
            Box::new(|c| c["before"] = serde_json::Value::Null),
            "the DeleteThenCreate of test_resource.replace lacks a prior value and has a planned one",
        ),
        // What only the plan knows: a no-op without a planned value belongs to a refresh-only
        // plan, and only a data source is left as it is without a prior value.
        (
            "test_resource.keep",
            Box::new(|c| c["after"] = serde_json::Value::Null),
            "the NoOp of test_resource.keep has a prior value and lacks a planned one",
        ),
        (
            "test_resource.keep",
            Box::new(|c| c["before"] = serde_json::Value::Null),
            "the NoOp of test_resource.keep lacks a prior value and has a planned one",
        ),
        (
            "test_resource.keep",
            Box::new(|c| {
                c["action"] = "read".into();
                c["before"] = serde_json::Value::Null;
            }),
            "test_resource.keep cannot be planned as Read",
        ),
    ];
    for (address, edit, expected) in cases {
        let edited = edit_change(&bytes, address, edit);
        match SavedPlan::from_bytes(&edited) {
            Err(SavedPlanError::Inconsistent(problem)) => assert_eq!(problem, expected),
            other => panic!("{address}: expected {expected:?}, got {other:?}"),
        }
    }
    let saved = SavedPlan::from_bytes(&bytes).expect("the unedited file is consistent");
    assert_eq!(saved.to_bytes(), bytes, "decoding and encoding keep every byte");
}

#[tokio::test]
async fn a_plan_made_after_drift_is_checked_against_the_cloud_and_applies() {
    let (provider, state) = world().await;
    let id = provider.id_of("change").unwrap();
    provider.set_attribute(&id, "input", Value::from("changed by hand")).unwrap();
    let engine = engine(AFTER, &provider);
    let (plan, diags) = engine.plan(&state, &PlanOptions::normal()).await;
    assert!(!diags.has_errors(), "{diags:?}");
    let plan = plan.unwrap();
    let verified =
        engine.verify_saved_plan(&plan, &state).await.expect("the drifted prior value is what the cloud holds");
    let outcome = engine.apply(&verified, state.clone(), &MemoryBackend::new()).await;
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);

    // Drift the plan did not see: the prior value is neither the state's nor the cloud's.
    let (provider, state) = world().await;
    let engine = self::engine(AFTER, &provider);
    let (plan, _) = engine.plan(&state, &PlanOptions::normal()).await;
    let id = provider.id_of("change").unwrap();
    provider.set_attribute(&id, "input", Value::from("changed after the plan")).unwrap();
    let mut plan = plan.unwrap();
    let update = plan.changes.iter_mut().find(|c| c.action() == Action::Update).unwrap();
    let mut edited = update.before().and_then(Value::as_object).cloned().unwrap();
    edited.insert("input".to_owned(), Value::from("edited"));
    *update.values.before_mut().unwrap() = Value::Object(edited);
    let diags = engine.verify_saved_plan(&plan, &state).await.unwrap_err();
    assert!(format!("{diags:?}").contains("neither the state's record nor what the cloud holds now"), "{diags:?}");
}
