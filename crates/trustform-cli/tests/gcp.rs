//! End-to-end tests of the `trustform` binary on `plans/aws-to-vertex` (seed 001): AWS and
//! Google both on the sandbox, reached through the environment a user would set. Apply, an
//! empty re-plan, the credential files loaded by Python's google-auth, then destroy, checked
//! with a client of our own.

mod support;

use std::process::Command;
use std::time::Duration;
use support::clouds::{Clouds, GCP_PROJECT, GCP_PROJECT_NUMBER};
use support::Workdir;
use trustform_gcp::GoogleProvider;
use trustform_lang::Value;
use trustform_provider::Provider;
use trustform_sandbox::SandboxConfig;

/// What google-auth makes of a credential file: its class and audience, or the error.
fn load_with_google_auth(path: &std::path::Path) -> String {
    let script = "import sys, google.auth\n\
                  creds, _ = google.auth.load_credentials_from_file(sys.argv[1])\n\
                  print(type(creds).__module__ + '.' + type(creds).__name__, creds._audience)";
    let output = Command::new(trustform_test_provider::python::python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("the tests' python runs");
    assert!(
        output.status.success(),
        "google-auth refused {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The state's resources of one provider as (type, attributes), for reading them back.
fn resources_of(work: &Workdir, provider: &str) -> Vec<(String, Value)> {
    let state: serde_json::Value = serde_json::from_str(&work.read("state/default.tfstate")).expect("state is JSON");
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|resource| {
            let address = resource["address"].as_str().unwrap_or_default();
            !address.starts_with("data.") && resource["provider"] == provider
        })
        .map(|resource| {
            (resource["type"].as_str().unwrap_or_default().to_owned(), Value::from_json(&resource["attributes"]))
        })
        .collect()
}

#[test]
fn seed_001_applies_converges_loads_in_google_auth_and_destroys() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default().gcp_operation_polls(1));
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 13 added, 0 changed, 0 destroyed."), "{}", apply.stdout);

    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    let audience = format!(
        "//iam.googleapis.com/projects/{GCP_PROJECT_NUMBER}/locations/global/workloadIdentityPools/aws-pool/providers/aws-provider"
    );
    for file in ["gcp_aws_external_account.json", "gcp_aws_external_account.fargate.json"] {
        assert_eq!(load_with_google_auth(&work.file(file)), format!("google.auth.aws.Credentials {audience}"));
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(work.file(file)).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let env = work.read("deployment_outputs.env");
    assert!(env.contains(&format!("VERTEX_PROJECT={GCP_PROJECT}\n")), "{env}");
    assert!(env.contains(&format!("GOOGLE_WORKLOAD_IDENTITY_AUDIENCE={audience}\n")), "{env}");

    let google = resources_of(&work, "google");
    assert_eq!(google.len(), 11, "{google:?}");
    let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 13 destroyed."), "{}", destroy.stdout);
    assert!(!work.file("gcp_aws_external_account.json").exists());

    // Read every Google object back with a provider of our own: gone, or soft-deleted; the
    // APIs the plan enabled stay enabled (`disable_on_destroy` defaults to false).
    clouds.runtime.block_on(async {
        let reader = own_google_client(&clouds).await;
        for (type_name, state) in &google {
            let left = reader.read(type_name, state).await.unwrap_or_else(|e| panic!("read {type_name}: {e}"));
            if type_name == "google_project_service" {
                assert_eq!(left.as_ref(), Some(state), "the API was disabled on destroy");
                continue;
            }
            let soft_deleted = left.as_ref().and_then(|s| s.get("state")) == Some(&Value::from("DELETED"));
            assert!(left.is_none() || soft_deleted, "{type_name} is left behind: {left:?}");
        }
    });
    assert_eq!(clouds.inventory().roles, Vec::<String>::new());
}

/// Seed 001's first apply on a real project: right after `serviceAccounts.create`, and for a
/// while after `get` shows the account, a policy naming it is refused `400 INVALID_ARGUMENT`
/// "Service account X does not exist." The apply rides it out and the policies hold the member.
#[test]
fn seed_001_applies_through_googles_new_service_account_window() {
    let window = SandboxConfig::default()
        .gcp_service_account_visibility_delay(Duration::from_millis(200))
        .gcp_service_account_member_delay(Duration::from_millis(1200))
        .gcp_windows_answer_at_least_once();
    let clouds = Clouds::sandbox_only(window);
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 13 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    // The account's create polled through the hidden window, and each policy that names the
    // account was written more than once: the first writes were refused.
    let routes = clouds.sandbox.requests_by_route();
    assert!(clouds.sandbox.requests_for("GET /v1/projects/{}/serviceAccounts/{}") >= 2, "{routes:?}");
    assert!(clouds.sandbox.requests_for("POST /v3/projects/{}:setIamPolicy") >= 2, "{routes:?}");
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

/// Google answers overload `429 RESOURCE_EXHAUSTED` and passing faults `503 UNAVAILABLE`
/// (<https://cloud.google.com/apis/design/errors#handling_errors>): seed 001's resources still
/// apply, converge and destroy with a fifth of every request refused so.
#[test]
fn seed_001_converges_with_a_fifth_of_all_requests_throttled_or_failing() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default().fault_rate(0.2).seed(5));
    let work = Workdir::plan_with_sandbox_values("aws-to-vertex");
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Apply complete! Resources: 13 added, 0 changed, 0 destroyed."), "{}", apply.stdout);
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Destroy complete! Resources: 13 destroyed."), "{}", destroy.stdout);
}

/// Two teams' applies add members to one project policy at the same moment. Google guards the
/// policy with its etag and answers a stale write `409 ABORTED`
/// (<https://cloud.google.com/iam/docs/policies#etag>); each apply retries from a fresh read, so
/// both members land and neither run removes the other's.
#[test]
fn concurrent_applies_to_one_project_policy_both_land() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let spec = |who: &str| {
        format!(
            "provider \"google\" {{\n  project = \"{GCP_PROJECT}\"\n}}\n\nresource \"google_project_iam_member\" \"{who}\" {{\n  project = \"{GCP_PROJECT}\"\n  role    = \"roles/aiplatform.user\"\n  member  = \"user:{who}@example.com\"\n}}\n"
        )
    };
    let teams: Vec<Workdir> =
        ["ana", "bo", "cy", "dee"].iter().map(|who| Workdir::new().with_file("main.tf", &spec(who))).collect();
    std::thread::scope(|scope| {
        for work in &teams {
            scope.spawn(|| clouds.run(work, &["apply", "--auto-approve"], 0));
        }
    });
    for work in &teams {
        let plan = clouds.run(work, &["plan", "--detailed-exitcode"], 0);
        assert!(plan.stdout.contains("No changes."), "a member was lost: {}", plan.stdout);
    }
    assert!(clouds.sandbox.requests_for("POST /v3/projects/{}:setIamPolicy") >= 4);
}

/// A Google provider of the test's own, configured against the clouds the binary uses.
async fn own_google_client(clouds: &Clouds) -> GoogleProvider {
    let env = clouds.env();
    let setting = |name: &str| env.iter().find(|(key, _)| *key == name).map(|(_, value)| Value::string(value));
    let block = Value::object([
        ("project", Value::from(GCP_PROJECT)),
        ("iam_custom_endpoint", setting("GOOGLE_IAM_CUSTOM_ENDPOINT").unwrap_or_default()),
        ("resource_manager_custom_endpoint", setting("GOOGLE_RESOURCE_MANAGER_CUSTOM_ENDPOINT").unwrap_or_default()),
        ("service_usage_custom_endpoint", setting("GOOGLE_SERVICE_USAGE_CUSTOM_ENDPOINT").unwrap_or_default()),
        ("access_token", Value::from("sandbox-token")),
    ]);
    let provider = GoogleProvider::new();
    provider.configure(&block).await.expect("configure");
    provider
}

/// Grants `member` the role with a `google_project_iam_member` of our own, through the same
/// Google client the binary uses: a grant made outside the spec.
fn grant_outside_the_spec(clouds: &Clouds, role: &str, member: &str) {
    clouds.runtime.block_on(async {
        let granter = own_google_client(clouds).await;
        let grant = Value::object([
            ("project", Value::from(GCP_PROJECT)),
            ("role", Value::from(role)),
            ("member", Value::from(member)),
            ("condition", Value::Null),
        ]);
        let grant = granter.plan("google_project_iam_member", None, grant).expect("plan");
        granter
            .create("google_project_iam_member", &grant, &trustform_provider::NoCheckpoint)
            .await
            .expect("the grant outside the spec");
    });
}

/// Issue 13, item 3: the first create of an authoritative binding replaces the role's members,
/// so a member granted outside the spec is lost (for `roles/owner`, a lock-out). The plan reads
/// the role's members now and shows the removal, on create as on update, with a warning that
/// names who is removed and suggests `google_project_iam_member`.
#[test]
fn an_authoritative_binding_shows_and_warns_about_the_members_it_removes() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    grant_outside_the_spec(&clouds, "roles/owner", "user:alice@example.com");
    let spec = format!(
        "provider \"google\" {{\n  project = \"{GCP_PROJECT}\"\n}}\n\nresource \"google_project_iam_binding\" \"owners\" {{\n  project = \"{GCP_PROJECT}\"\n  role    = \"roles/owner\"\n  members = [\"user:bob@example.com\"]\n}}\n"
    );
    let work = Workdir::new().with_file("main.tf", &spec);

    let plan = clouds.run(&work, &["plan"], 0);
    insta::assert_snapshot!("binding_create_removes_a_member", plan.stdout);
    assert!(plan.stderr.contains("Authoritative binding removes members"), "{}", plan.stderr);
    assert!(plan.stderr.contains("creating it removes user:alice@example.com"), "{}", plan.stderr);
    assert!(plan.stderr.contains("google_project_iam_member"), "{}", plan.stderr);

    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("- \"user:alice@example.com\""), "{}", apply.stdout);
    assert!(apply.stderr.contains("Authoritative binding removes members"), "{}", apply.stderr);
    assert!(apply.stdout.contains("Apply complete! Resources: 1 added"), "{}", apply.stdout);
    let converged = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(!converged.stderr.contains("Authoritative"), "{}", converged.stderr);

    // A grant made outside the spec after the create: drift, and an update that removes it.
    grant_outside_the_spec(&clouds, "roles/owner", "user:carol@example.com");
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("- \"user:carol@example.com\""), "{}", plan.stdout);
    assert!(plan.stderr.contains("updating it removes user:carol@example.com"), "{}", plan.stderr);
}

/// A run killed while creating a service account, re-run at once: Google shows a new account
/// to `get` only after a while (`NOT_FOUND` first), so refresh cannot find it and the plan
/// creates it again, which Google refuses `ALREADY_EXISTS`. Since the state recorded that
/// create, the apply looks the account up again until it shows and adopts it: no import, no
/// second account, and the next plan is empty.
#[test]
fn a_service_account_created_by_a_killed_run_and_not_yet_visible_is_adopted() {
    let clouds = Clouds::sandbox_only(
        SandboxConfig::default().gcp_service_account_visibility_delay(Duration::from_millis(1500)),
    );
    let spec = format!(
        "provider \"google\" {{\n  project = \"{GCP_PROJECT}\"\n}}\n\nresource \"google_service_account\" \"gateway\" {{\n  account_id   = \"late-gateway\"\n  display_name = \"shows late\"\n}}\n"
    );
    let work = Workdir::new().with_file("main.tf", &spec);
    clouds.run(&work, &["apply", "--auto-approve"], 0);

    // What the killed run leaves: its `creating` record, and an account Google made moments ago.
    let email = format!("late-gateway@{GCP_PROJECT}.iam.gserviceaccount.com");
    let account = format!("/v1/projects/{GCP_PROJECT}/serviceAccounts/{email}");
    assert_eq!(clouds.http("DELETE", &account, "").0, 200);
    let body = r#"{"accountId": "late-gateway", "serviceAccount": {"displayName": "shows late"}}"#;
    assert_eq!(clouds.http("POST", &format!("/v1/projects/{GCP_PROJECT}/serviceAccounts"), body).0, 200);
    // Google answers 403 for an account it does not show (it may not exist).
    assert_ne!(clouds.http("GET", &account, "").0, 200, "the new account is not visible yet");
    let path = "state/default.tfstate";
    let mut state: serde_json::Value = serde_json::from_str(&work.read(path)).expect("state is JSON");
    state["resources"][0]["status"] = "creating".into();
    work.write(path, &serde_json::to_string(&state).unwrap());

    let again = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(!again.all().contains("import"), "{}", again.all());
    let plan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let (status, live) = clouds.http("GET", &account, "");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&work.read(path)).expect("state is JSON");
    assert_eq!(state["resources"][0]["status"], "ready", "{state}");
    assert_eq!(
        state["resources"][0]["attributes"]["unique_id"], live["uniqueId"],
        "the account made last is the one kept"
    );
}

/// A spec of its own enables APIs on a project the plans never name: the apply waits for each
/// enable operation, re-plans empty, keeps the APIs it was not told to disable on destroy and
/// disables the one it was, imports by `PROJECT/SERVICE`, and a misspelt API fails with
/// Google's own answer while a malformed name never leaves the machine.
#[test]
fn apis_are_enabled_before_use_and_kept_on_destroy_unless_asked() {
    let clouds = Clouds::sandbox_only(SandboxConfig::default().gcp_project("orchard-genai-dev", 470_118_293_551));
    let spec = r#"
resource "google_project_service" "token_exchange" {
  for_each = toset(["sts.googleapis.com", "iamcredentials.googleapis.com"])
  project  = "orchard-genai-dev"
  service  = each.value
}

resource "google_project_service" "scratch" {
  project            = "orchard-genai-dev"
  service            = "secretmanager.googleapis.com"
  disable_on_destroy = true
}

resource "google_iam_workload_identity_pool" "orchard" {
  depends_on                = [google_project_service.token_exchange]
  project                   = "orchard-genai-dev"
  workload_identity_pool_id = "orchard-ci"
}
"#;
    let work = Workdir::new().with_file("main.tf", spec);
    let plan = clouds.run(&work, &["plan"], 0);
    assert!(plan.stdout.contains("+ disable_on_destroy                    = false"), "{}", plan.stdout);
    let apply = clouds.run(&work, &["apply", "--auto-approve"], 0);
    assert!(apply.stdout.contains("Resources: 4 added"), "{}", apply.stdout);
    let state = |service: &str| {
        let path = format!("/v1/projects/orchard-genai-dev/services/{service}");
        clouds.http("GET", &path, "").1["state"].as_str().unwrap_or_default().to_owned()
    };
    for service in ["sts.googleapis.com", "iamcredentials.googleapis.com", "secretmanager.googleapis.com"] {
        assert_eq!(state(service), "ENABLED", "{service}");
    }
    assert_eq!(clouds.sandbox.requests_for("POST /v1/projects/{}/services/{}:enable"), 3);
    let replan = clouds.run(&work, &["plan", "--detailed-exitcode"], 0);
    assert!(replan.stdout.contains("No changes."), "{}", replan.stdout);

    let destroy = clouds.run(&work, &["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("Resources: 4 destroyed."), "{}", destroy.stdout);
    assert_eq!(state("sts.googleapis.com"), "ENABLED", "kept: disable_on_destroy defaults to false");
    assert_eq!(state("secretmanager.googleapis.com"), "DISABLED");

    // Adopting what is already enabled: import by PROJECT/SERVICE.
    let import = clouds.run(
        &work,
        &[
            "import",
            "google_project_service.token_exchange[\"sts.googleapis.com\"]",
            "orchard-genai-dev/sts.googleapis.com",
        ],
        0,
    );
    assert!(import.stdout.contains("Import successful"), "{}", import.all());

    let misspelt = Workdir::new().with_file(
        "main.tf",
        "resource \"google_project_service\" \"vertex\" {\n  project = \"orchard-genai-dev\"\n  service = \"vertexai.googleapis.com\"\n}\n",
    );
    let failed = clouds.run(&misspelt, &["apply", "--auto-approve"], 1);
    assert!(
        failed.all().contains("Not found or permission denied for service(s): vertexai.googleapis.com"),
        "{}",
        failed.all()
    );

    let malformed = Workdir::new().with_file(
        "main.tf",
        "resource \"google_project_service\" \"vertex\" {\n  project = \"orchard-genai-dev\"\n  service = \"aiplatform\"\n}\n",
    );
    let before = clouds.sandbox.request_count();
    let invalid = clouds.run(&malformed, &["validate"], 1);
    assert!(invalid.all().contains("Invalid service name"), "{}", invalid.all());
    assert!(invalid.all().contains("main.tf:3:"), "the diagnostic points at the argument: {}", invalid.all());
    assert_eq!(clouds.sandbox.request_count(), before);
}

/// Seed 000's table, Vertex AI column (`examples/vertex-from-any-host`): under `--sandbox` the
/// example writes one keyless credential file per host, EKS (AWS source), AKS and GKE (projected
/// token files) and GitHub Actions (token URL). Google's own google-auth loads each one; the
/// GitHub file, its `${...}` placeholders filled as the workflow's `envsubst` fills them, fetches
/// its token from a loopback stand-in for the job's token URL with the job's request token.
#[test]
fn every_host_in_seed_000s_table_gets_a_keyless_credential_file() {
    let work = Workdir::example("vertex-from-any-host");
    let applied = work.expect(&["apply", "--sandbox", "--auto-approve"], 0);
    assert!(applied.stdout.contains("Resources: 18 added"), "{}", applied.all());
    let replanned = work.expect(&["plan", "--sandbox", "--detailed-exitcode"], 0);
    assert!(replanned.stdout.contains("No changes."), "{}", replanned.all());

    let credentials = work.path().join(".trustform/sandbox/outputs/credentials");
    for (host, class) in [
        ("eks", "google.auth.aws.Credentials"),
        ("aks", "google.auth.identity_pool.Credentials"),
        ("gke", "google.auth.identity_pool.Credentials"),
        ("github", "google.auth.identity_pool.Credentials"),
    ] {
        let loaded = load_with_google_auth(&credentials.join(format!("{host}.json")));
        assert!(loaded.starts_with(&format!("{class} //iam.googleapis.com/projects/")), "{host}: {loaded}");
        let text = std::fs::read_to_string(credentials.join(format!("{host}.json"))).unwrap();
        assert!(!text.contains("private_key"), "{host} holds a key");
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let token_url = format!("http://{}/_apis/oidctoken?api-version=2.0", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 2048];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).unwrap() {
                0 => break,
                read => request.extend_from_slice(&buffer[..read]),
            }
        }
        let body = r#"{"count": 1, "value": "eyJhbGciOiJSUzI1NiJ9.workflow.sig"}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let script = "import json, os, sys\n\
                  import google.auth.transport.requests\n\
                  from google.auth import identity_pool\n\
                  info = json.loads(os.path.expandvars(open(sys.argv[1]).read()))\n\
                  creds = identity_pool.Credentials.from_info(info)\n\
                  print(creds.retrieve_subject_token(google.auth.transport.requests.Request()))";
    let output = Command::new(trustform_test_provider::python::python())
        .args(["-c", script])
        .arg(credentials.join("github.json"))
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &token_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "job-request-token")
        .output()
        .expect("the tests' python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "eyJhbGciOiJSUzI1NiJ9.workflow.sig");
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /_apis/oidctoken?api-version=2.0&audience=https://iam.googleapis.com/projects/"),
        "{request}"
    );
    assert!(request.to_ascii_lowercase().contains("authorization: bearer job-request-token"), "{request}");

    let destroyed = work.expect(&["destroy", "--sandbox", "--auto-approve"], 0);
    assert!(destroyed.stdout.contains("Resources: 18 destroyed."), "{}", destroyed.all());
    assert!(!credentials.join("aks.json").exists());
}
