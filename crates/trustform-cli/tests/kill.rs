//! SIGKILL at random moments of a 200-resource apply and destroy across the three clouds (AWS,
//! Google and Azure on the sandbox, which outlives the killed binary as a real cloud would),
//! each followed by a plain re-run: it succeeds with no `force-unlock` and no `import`, the next
//! plan is empty (or, after a destroy, the emulated clouds hold nothing the spec made and the
//! plan creates everything again). Kills alternate between apply and destroy, and between the
//! moment a create or delete starts (a request in flight) and the moment one is saved.
//! Synchronisation is by the child's own progress lines, never by sleeping.
//!
//! CI runs 6 kills. The issue's run is the same test with `TRUSTFORM_KILL_CLOUD_RUNS=100`;
//! `TRUSTFORM_KILL_CLOUD_UNITS` sets the size (20 units of 10 resources by default), and
//! `TRUSTFORM_KILL_SANDBOX_RUNS` the kills of the `--sandbox` variant (4 by default).

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;
use support::clouds::{Clouds, Inventory, CLUSTER, GCP_PROJECT};
use support::{Run, Workdir};
use trustform_sandbox::SandboxConfig;

const SUBSCRIPTION: &str = "24ebb700-ec2f-417f-afad-78fe15dcc91f";
const GROUP: &str = "kill-test";
const PRINCIPAL: &str = "5b0cf6a1-3d4e-4f2a-9c8b-7e6d5c4b3a21";
const POD_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `units` groups of ten resources, four AWS, four Google, two Azure, each with references
/// between them: a role, its inline policy, a pod identity association for it and an OIDC
/// provider; a service account, a project member and a service account member naming it, and a
/// workload identity pool; a custom role definition and its assignment.
fn spec(units: usize) -> String {
    let mut spec = format!(
        "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n\nprovider \"google\" {{\n  project = \"{GCP_PROJECT}\"\n}}\n\nprovider \"azurerm\" {{\n  subscription_id = \"{SUBSCRIPTION}\"\n}}\n\n"
    );
    let group = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}");
    for i in 0..units {
        spec.push_str(&format!(
            r#"resource "aws_iam_role" "r{i}" {{
  name               = "kill-role-{i}"
  assume_role_policy = {POD_TRUST:?}
}}

resource "aws_iam_role_policy" "p{i}" {{
  name   = "invoke"
  role   = aws_iam_role.r{i}.name
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "bedrock:InvokeModel", Resource = "*" }}] }})
}}

resource "aws_eks_pod_identity_association" "a{i}" {{
  cluster_name    = "{CLUSTER}"
  namespace       = "kill-{i}"
  service_account = "gateway"
  role_arn        = aws_iam_role.r{i}.arn
}}

resource "aws_iam_openid_connect_provider" "o{i}" {{
  url            = "https://oidc.kill.example.com/unit/{i}"
  client_id_list = ["sts.amazonaws.com"]
}}

resource "google_service_account" "s{i}" {{
  account_id   = "kill-sa-{i}"
  display_name = "kill test {i}"
}}

resource "google_project_iam_member" "m{i}" {{
  project = "{GCP_PROJECT}"
  role    = "roles/aiplatform.user"
  member  = google_service_account.s{i}.member
}}

resource "google_service_account_iam_member" "w{i}" {{
  service_account_id = google_service_account.s{i}.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "user:kill-{i}@example.com"
}}

resource "google_iam_workload_identity_pool" "pool{i}" {{
  workload_identity_pool_id = "kill-pool-{i}"
  display_name              = "kill {i}"
}}

resource "azurerm_role_definition" "d{i}" {{
  name  = "kill-role-{i}"
  scope = "/subscriptions/{SUBSCRIPTION}"
  permissions {{
    actions = ["Microsoft.CognitiveServices/accounts/read"]
  }}
  assignable_scopes = ["{group}"]
}}

resource "azurerm_role_assignment" "g{i}" {{
  scope              = "{group}"
  role_definition_id = azurerm_role_definition.d{i}.role_definition_resource_id
  principal_id       = "{PRINCIPAL}"
  principal_type     = "ServicePrincipal"
}}

"#
        ));
    }
    spec
}

/// A deterministic spread of kill points, different for every run of the test binary.
struct Points(u64);

impl Points {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

/// Starts `args` and SIGKILLs it once `count` progress lines containing `marker` went by.
/// Returns whether it was killed (the run may finish first).
fn kill_during(clouds: &Clouds, work: &Workdir, args: &[&str], marker: &str, count: usize) -> bool {
    let env = clouds.env();
    let mut child = work
        .command(args)
        .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
    let mut seen = 0;
    let mut killed = false;
    for line in lines {
        if line.contains(marker) {
            seen += 1;
            if seen == count {
                child.kill().expect("SIGKILL");
                killed = true;
                break;
            }
        }
    }
    child.wait().expect("reaped");
    killed
}

/// A plain re-run after a kill: it must succeed without asking for a human.
fn rerun(clouds: &Clouds, work: &Workdir, args: &[&str], what: &str) -> Run {
    let env = clouds.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let run = work.run_with_env(args, &env);
    assert_eq!(run.code, 0, "{what}: the plain re-run failed:\n{}", run.all());
    for word in ["force-unlock", "trustform import", "TF1006"] {
        assert!(!run.all().contains(word), "{what}: the re-run asks for {word}:\n{}", run.all());
    }
    run
}

/// What is left of the spec's objects in the three emulated clouds, listed or read by name
/// with clients of our own: empty after a destroy.
fn leftovers(clouds: &Clouds, units: usize) -> Vec<String> {
    let mut left = Vec::new();
    let inventory = clouds.inventory();
    if inventory != Inventory::empty() {
        left.push(format!("AWS: {inventory:?}"));
    }
    for i in 0..units {
        let email = format!("kill-sa-{i}@{GCP_PROJECT}.iam.gserviceaccount.com");
        let (status, _) = clouds.http("GET", &format!("/v1/projects/{GCP_PROJECT}/serviceAccounts/{email}"), "");
        if status != 404 {
            left.push(format!("service account {email} ({status})"));
        }
        let pool = format!("/v1/projects/{GCP_PROJECT}/locations/global/workloadIdentityPools/kill-pool-{i}");
        let (status, body) = clouds.http("GET", &pool, "");
        if status != 404 && body["state"] != "DELETED" {
            left.push(format!("pool kill-pool-{i} ({status} {})", body["state"]));
        }
    }
    let (_, policy) = clouds.http("POST", &format!("/v3/projects/{GCP_PROJECT}:getIamPolicy"), "{}");
    for binding in policy["bindings"].as_array().into_iter().flatten() {
        for member in binding["members"].as_array().into_iter().flatten() {
            if member.as_str().is_some_and(|m| m.contains("kill-")) {
                left.push(format!("project member {member} of {}", binding["role"]));
            }
        }
    }
    let definitions = format!(
        "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter=type%20eq%20'CustomRole'"
    );
    let (_, listed) = clouds.http("GET", &definitions, "");
    for definition in listed["value"].as_array().into_iter().flatten() {
        left.push(format!("role definition {}", definition["properties"]["roleName"]));
    }
    let assignments = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
    );
    let (_, listed) = clouds.http("GET", &assignments, "");
    for assignment in listed["value"].as_array().into_iter().flatten() {
        left.push(format!("role assignment {}", assignment["name"]));
    }
    left
}

#[test]
fn sigkill_at_random_moments_across_three_clouds_never_needs_a_human() {
    let kills = knob("TRUSTFORM_KILL_CLOUD_RUNS", 6);
    let units = knob("TRUSTFORM_KILL_CLOUD_UNITS", 20);
    let resources = units * 10;
    let clouds = Clouds::sandbox_only(SandboxConfig::default());
    let work = Workdir::new().with_file("main.tf", &spec(units));
    assert!(leftovers(&clouds, units).is_empty(), "the clouds start empty: {:?}", leftovers(&clouds, units));
    let mut points = Points(u64::from(std::process::id()) | 1);
    let started = Instant::now();
    let (mut killed, mut adopted) = (0, 0);
    for kill in 0..kills {
        // Even kills hit an apply, odd ones the destroy after it; half of each at a request's
        // start (one is in flight), half right after a change was saved.
        let destroying = kill % 2 == 1;
        let (args, marker, done): (&[&str], &str, &str) = if destroying {
            let marker = if kill % 4 == 1 { "Destroying..." } else { "Destruction complete" };
            (&["destroy", "--auto-approve"], marker, "Destroy complete!")
        } else {
            let marker = if kill % 4 == 0 { "Creating..." } else { "Creation complete" };
            (&["apply", "--auto-approve"], marker, "Apply complete!")
        };
        let at = 1 + points.next(resources - 1);
        let what = format!("kill {kill} ({} after {at} \"{marker}\")", args[0]);
        killed += usize::from(kill_during(&clouds, &work, args, marker, at));

        let again = rerun(&clouds, &work, args, &what);
        assert!(again.stdout.contains(done), "{what}:\n{}", again.all());
        adopted += usize::from(again.stdout.contains("Objects created by an interrupted apply"));
        if destroying {
            let left = leftovers(&clouds, units);
            assert!(left.is_empty(), "{what}: the destroy left objects behind: {left:#?}");
            let plan = rerun(&clouds, &work, &["plan"], &what);
            assert!(
                plan.stdout.contains(&format!("Plan: {resources} to add, 0 to change, 0 to destroy.")),
                "{what}:\n{}",
                plan.stdout
            );
        } else {
            let plan = work.run_with_env(
                &["plan", "--detailed-exitcode"],
                &clouds.env().iter().map(|(name, value)| (*name, value.as_str())).collect::<Vec<_>>(),
            );
            assert_eq!(plan.code, 0, "{what}: the plan after the re-apply is not empty:\n{}", plan.all());
            // The listing sees what the spec made (so an empty one after a destroy means it):
            // per unit a service account, a pool, a project member, a definition and an
            // assignment, and the AWS objects.
            let present = leftovers(&clouds, units);
            assert_eq!(present.len(), 1 + 5 * units, "{what}: {present:#?}");
        }
    }
    if kills % 2 == 1 {
        rerun(&clouds, &work, &["destroy", "--auto-approve"], "the final destroy");
        let left = leftovers(&clouds, units);
        assert!(left.is_empty(), "the final destroy left objects behind: {left:#?}");
    }
    eprintln!(
        "{kills} kills ({killed} landed before the run ended, {adopted} re-applies adopted interrupted creates) of a {resources}-resource spec in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `--sandbox` runs the emulated clouds inside the binary, behind the spec's sandbox lock (an
/// OS file lock): SIGKILL takes the clouds and the lock down with the process, the journal
/// keeps what the clouds had served, and a plain re-run takes the lock over, with no
/// `force-unlock` and no "in use by another trustform command".
#[test]
fn a_killed_sandbox_run_leaves_no_lock_and_the_next_run_converges() {
    let units = 2;
    let work = Workdir::new().with_file("main.tf", &spec(units));
    let mut points = Points(u64::from(std::process::id()) | 1);
    for kill in 0..knob("TRUSTFORM_KILL_SANDBOX_RUNS", 4) {
        let destroying = kill % 2 == 1;
        let (args, marker): (&[&str], &str) = if destroying {
            (&["destroy", "--sandbox", "--auto-approve"], "Destroying...")
        } else {
            (&["apply", "--sandbox", "--auto-approve"], "Creating...")
        };
        let at = 1 + points.next(units * 10 - 1);
        let mut child = work.command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
        let lines = BufReader::new(child.stderr.take().expect("piped")).lines().map_while(Result::ok);
        let killed = lines.filter(|line| line.contains(marker)).nth(at - 1).is_some();
        if killed {
            child.kill().expect("SIGKILL");
        }
        child.wait().expect("reaped");
        let what = format!("kill {kill} ({} after {at} \"{marker}\")", args[0]);
        let again = work.run(args);
        assert_eq!(again.code, 0, "{what}: the plain re-run failed:\n{}", again.all());
        for word in ["in use by another trustform command", "force-unlock", "trustform import"] {
            assert!(!again.all().contains(word), "{what}: {word}:\n{}", again.all());
        }
        let plan = work.run(&["plan", "--sandbox", "--detailed-exitcode"]);
        let expected = if destroying { 2 } else { 0 };
        assert_eq!(plan.code, expected, "{what}: the next plan:\n{}", plan.all());
        if destroying {
            // The journal replays into a sandbox of our own: no AWS object is left.
            assert_eq!(Clouds::of_sandbox(&work).inventory(), Inventory::empty(), "{what}");
        }
    }
}
