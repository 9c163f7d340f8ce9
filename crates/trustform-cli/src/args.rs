//! Command-line arguments. Flags are GNU style (`--auto-approve`); Terraform's single-dash
//! spellings (`-auto-approve`, `-var=x=y`) are rewritten before parsing so scripts carry over.

use clap::{Args, Parser, Subcommand};
use std::num::NonZeroUsize;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "trustform",
    version,
    about = "Plan and apply keyless cross-cloud identity (AWS, Google Cloud, Azure) from one HCL spec."
)]
pub struct Cli {
    /// Run in DIR: the spec, its state and its outputs are found there, and relative paths
    /// given on the command line are read from there.
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    pub chdir: PathBuf,
    /// Never colour the output (NO_COLOR and non-terminal output do the same).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Run against the built-in emulators of AWS, Google Cloud and Azure instead of the real
    /// clouds: no accounts, no network. The emulated cloud and its state are kept in
    /// .trustform/sandbox/ beside the spec (`trustform sandbox reset` clears them).
    #[arg(long, global = true)]
    pub sandbox: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the working directory: spec files, providers and state backend; move state to a
    /// newly configured backend with --migrate-state.
    Init(InitArgs),
    /// Check the spec for errors without touching any cloud.
    Validate(ValidateArgs),
    /// Validate and run every cross-cloud check, without any cloud call.
    Lint(ValidateArgs),
    /// Rewrite spec files in the canonical format.
    Fmt(FmtArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the changes: create, update and delete cloud objects.
    Apply(ApplyArgs),
    /// Delete every object the state manages.
    Destroy(ApplyArgs),
    /// Update state to match the cloud, without changing any object.
    Refresh(RefreshArgs),
    /// Bring an existing cloud object under management.
    Import(ImportArgs),
    /// Show the state, or a saved plan.
    Show(ShowArgs),
    /// Show output values from the state.
    Output(OutputArgs),
    /// Fill the %%NAME%% placeholders of a Helm values file with outputs, quoted for YAML.
    Render(RenderArgs),
    /// Print the dependency graph in Graphviz DOT.
    Graph(VarArgs),
    /// Inspect and change the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Release a state lock left behind by a run that did not finish.
    ForceUnlock(ForceUnlockArgs),
    /// List, create, select and delete workspaces: separate states of one spec.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Manage the emulated clouds that --sandbox runs against.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Copy the state (every workspace, lineage and serial kept) from the backend it is in to
    /// the one the spec now configures.
    #[arg(long)]
    pub migrate_state: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// List the workspaces; the selected one is marked with `*`.
    List,
    /// Print the selected workspace.
    Show,
    /// Create a workspace with an empty state and select it.
    New(WorkspaceNameArgs),
    /// Select a workspace (TRUSTFORM_WORKSPACE overrides the selection).
    Select(WorkspaceNameArgs),
    /// Delete a workspace's state; refuses one that still manages resources unless --force.
    Delete(WorkspaceDeleteArgs),
}

#[derive(Debug, Args)]
pub struct WorkspaceNameArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct WorkspaceDeleteArgs {
    pub name: String,
    /// Delete even a state that still records resources (the cloud objects are left alone).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Delete the emulated cloud and the sandbox state of this directory.
    Reset,
    /// Keep the emulated clouds listening, for --sandbox commands and other clients (aws, curl).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4566)]
    pub port: u16,
}

#[derive(Debug, Args, Default, Clone)]
pub struct VarArgs {
    /// Set a variable: --var 'name=value' (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a .tfvars file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct PlanFlags {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Only plan these resources and what they depend on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Replace this resource even if nothing changed (repeatable).
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Read every resource before planning (--refresh=false skips it).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub refresh: bool,
    /// Only update state from the cloud; change no object.
    #[arg(long)]
    pub refresh_only: bool,
    /// How many cloud operations may run at once.
    #[arg(long, default_value = "10", value_name = "N")]
    pub parallelism: NonZeroUsize,
    /// Use this local state file instead of the configured backend.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Print diagnostics as JSON (the shape is documented in the README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check; exit 3 when a file would change.
    #[arg(long)]
    pub check: bool,
    /// Files to format (default: every *.tf, *.hcl and *.tfvars of the directory).
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec's directory (the same as --chdir).
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Plan to delete everything.
    #[arg(long)]
    pub destroy: bool,
    /// Save the plan so `apply FILE` applies exactly it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 with no changes, 1 on error, 2 with changes.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`, or the spec's directory (the same as --chdir).
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Where to write the outputs as NAME=value lines (default from the spec, or
    /// deployment_outputs.env); --env-file '' writes none.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Print the plan and the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub flags: PlanFlags,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The resource address in the spec, e.g. aws_iam_role.gateway.
    pub address: String,
    /// The cloud object's id, in the format the resource type documents.
    pub id: String,
    #[command(flatten)]
    pub vars: VarArgs,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A saved plan to show instead of the state.
    pub plan_file: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// One output to show.
    pub name: Option<String>,
    /// All outputs as JSON (sensitive values included: it is meant for pipes).
    #[arg(long)]
    pub json: bool,
    /// The bare value of NAME, sensitive or not, for scripts.
    #[arg(long, requires = "name")]
    pub raw: bool,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The template, e.g. values-aws.yaml.tpl with `role-arn: '%%EKS_AWS_ROLE_ARN%%'`.
    #[arg(required_unless_present = "external_secrets")]
    pub template: Option<PathBuf>,
    /// Instead of a template: the External Secrets `ClusterSecretStore` and `ExternalSecret`
    /// manifests for the state's `vault_kv_secret_v2` secrets, logging in by Kubernetes auth.
    #[arg(long, conflicts_with = "template")]
    pub external_secrets: bool,
    /// With --external-secrets: the namespace of the workload reading the secrets.
    #[arg(long, value_name = "NAMESPACE", default_value = "default", requires = "external_secrets")]
    pub namespace: String,
    /// With --external-secrets: Vault's address as the cluster reaches it (default: VAULT_ADDR).
    #[arg(long, value_name = "URL", requires = "external_secrets")]
    pub vault_server: Option<String>,
    /// With --external-secrets: the `vault_kubernetes_auth_backend_role` to log in with, by
    /// role name, when the state has several.
    #[arg(long, value_name = "ROLE", requires = "external_secrets")]
    pub role: Option<String>,
    /// Write the result here (mode 0600, atomically) instead of standard output; required when
    /// a sensitive output is used.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in state.
    List(StateArgs),
    /// Show one resource's attributes (sensitive ones masked).
    Show(StateAddrArgs),
    /// Forget resources without deleting the objects.
    Rm(StateAddrsArgs),
    /// Move a resource to another address.
    Mv(StateMvArgs),
    /// Print the raw state JSON.
    Pull(StateArgs),
    /// Replace the state with a file (refuses another lineage or an older serial).
    Push(StatePushArgs),
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateAddrArgs {
    pub address: String,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateAddrsArgs {
    #[arg(required = true)]
    pub addresses: Vec<String>,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateMvArgs {
    pub source: String,
    pub destination: String,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatePushArgs {
    pub file: PathBuf,
    /// Push even another lineage or an older serial.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    pub lock_id: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// Long options that Terraform users write with one dash.
const LONG_OPTIONS: &[&str] = &[
    "auto-approve",
    "chdir",
    "check",
    "destroy",
    "detailed-exitcode",
    "env-file",
    "force",
    "json",
    "lock-timeout",
    "migrate-state",
    "no-color",
    "out",
    "parallelism",
    "raw",
    "refresh",
    "refresh-only",
    "replace",
    "sandbox",
    "state",
    "target",
    "var",
    "var-file",
];

/// Rewrites `-name` and `-name=value` for known long options to `--name...`.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_double_dash = false;
    for arg in args {
        if after_double_dash {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            after_double_dash = true;
            out.push(arg);
            continue;
        }
        let rewritten = arg
            .strip_prefix('-')
            .filter(|rest| !rest.starts_with('-'))
            .filter(|rest| LONG_OPTIONS.contains(&rest.split('=').next().unwrap_or_default()))
            .map(|rest| format!("--{rest}"));
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_dash_spellings_carry_over() {
        let args = [
            "trustform",
            "-chdir=x",
            "apply",
            "-auto-approve",
            "-var",
            "a=-b",
            "-var=c=d",
            "-refresh=false",
            "-x",
            "--",
            "-json",
        ];
        let normalized = normalize_args(args.iter().map(|s| s.to_string()));
        assert_eq!(
            normalized,
            [
                "trustform",
                "--chdir=x",
                "apply",
                "--auto-approve",
                "--var",
                "a=-b",
                "--var=c=d",
                "--refresh=false",
                "-x",
                "--",
                "-json"
            ]
        );
        let cli = Cli::try_parse_from(normalize_args(
            ["trustform", "plan", "-refresh=false", "-target", "a.b"].iter().map(|s| s.to_string()),
        ))
        .unwrap();
        let Command::Plan(plan) = cli.command else { panic!("expected plan") };
        assert!(!plan.flags.refresh);
        assert_eq!(plan.flags.targets, ["a.b"]);
    }
}
