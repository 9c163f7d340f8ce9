//! Command-line arguments. Flags are GNU style (`--auto-approve`); Terraform's single-dash
//! spellings (`-auto-approve`, `-var=x=y`) are rewritten before parsing so scripts carry over.

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use trustform_lang::CliVar;

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
    /// Run against the built-in emulators of AWS, Google Cloud, Azure and Vault instead of the real
    /// clouds: no accounts, no network. The emulated cloud and its state are kept in
    /// .trustform/sandbox/ beside the spec (`trustform sandbox reset` clears them).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Whether Trustform may ask questions (-input=false for CI). It never asks for variables:
    /// a required variable without a value is an error naming --var. With -input=false it does
    /// not ask for approval either, even on a terminal: pass --auto-approve or apply a saved
    /// plan.
    #[arg(long, global = true, value_name = "BOOL", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub input: bool,
    /// How long to keep trying to take a state lock another run holds (0s: fail at once), in
    /// Terraform's duration syntax: 30s, 5m, 1h30m.
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Show warnings that come without errors as one summary line each.
    #[arg(long, global = true)]
    pub compact_warnings: bool,
    /// Report the cross-cloud checks' (TF13xx) findings as warnings, so that plan and apply go
    /// ahead: for a finding you know to be wrong for your deployment, or to see what
    /// `trustform verify` says about a mistake.
    #[arg(long, global = true)]
    pub checks_as_warnings: bool,
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
    /// After apply, exercise every trust chain the state holds (token exchanges, no writes) and
    /// report the link that refuses, and any workload let in that must not be.
    Verify(VerifyArgs),
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
    /// Write resource blocks for the import blocks whose target has none to FILE (a new file).
    #[arg(long, value_name = "FILE")]
    pub generate_config_out: Option<PathBuf>,
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
    #[arg(long, value_name = "FILE", value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
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
pub struct VerifyArgs {
    /// Print the findings as JSON (the diagnostics shape of lint and plan, with the chains).
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
    "compact-warnings",
    "destroy",
    "detailed-exitcode",
    "env-file",
    "force",
    "generate-config-out",
    "input",
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

impl Command {
    /// The command's `--var` and `--var-file`, for the commands that take them.
    pub fn var_args(&self) -> Option<&VarArgs> {
        match self {
            Command::Validate(args) | Command::Lint(args) => Some(&args.vars),
            Command::Plan(args) => Some(&args.flags.vars),
            Command::Apply(args) | Command::Destroy(args) => Some(&args.flags.vars),
            Command::Refresh(args) => Some(&args.flags.vars),
            Command::Import(args) => Some(&args.vars),
            Command::Graph(args) => Some(args),
            _ => None,
        }
    }
}

/// `--var` and `--var-file` of `vars`, in the order given on the command line (their positions
/// are in `matches`, which parsed it), which decides precedence: a later one wins, as in
/// Terraform.
pub fn ordered_vars(vars: &VarArgs, matches: &clap::ArgMatches) -> Vec<CliVar> {
    let mut leaf = matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    let positions = |id: &str| leaf.indices_of(id).map(Iterator::collect::<Vec<usize>>).unwrap_or_default();
    let mut ordered: Vec<(usize, CliVar)> = Vec::new();
    ordered.extend(positions("vars").into_iter().zip(vars.vars.iter().cloned().map(CliVar::Assignment)));
    ordered.extend(positions("var_files").into_iter().zip(vars.var_files.iter().cloned().map(CliVar::File)));
    ordered.sort_by_key(|(index, _)| *index);
    ordered.into_iter().map(|(_, var)| var).collect()
}

/// A duration in Go's `time.ParseDuration` syntax, which Terraform's `-lock-timeout` takes: one
/// or more decimal numbers, each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), like
/// `1h30m` or `1.5s`; a bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("{text:?} is not a duration: write a number and a unit, like 30s, 5m or 1h30m");
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_end..];
        total += number * seconds;
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| invalid())
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

    /// The command's variables, as `main` parses them.
    fn vars_of(args: &[&str]) -> Vec<CliVar> {
        use clap::CommandFactory as _;
        use clap::FromArgMatches as _;
        let matches = Cli::command().try_get_matches_from(normalize_args(args.iter().map(|s| s.to_string()))).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        cli.command.var_args().map(|vars| ordered_vars(vars, &matches)).unwrap_or_default()
    }

    #[test]
    fn var_sources_keep_command_line_order() {
        let order = vars_of(&[
            "trustform",
            "plan",
            "-var-file=a.tfvars",
            "--var",
            "x=1",
            "--var-file",
            "b.tfvars",
            "-var=y=2",
            "--var=x=3",
        ]);
        assert_eq!(
            order,
            [
                CliVar::File("a.tfvars".into()),
                CliVar::Assignment("x=1".into()),
                CliVar::File("b.tfvars".into()),
                CliVar::Assignment("y=2".into()),
                CliVar::Assignment("x=3".into()),
            ]
        );
        assert_eq!(vars_of(&["trustform", "state", "list"]), []);
        assert_eq!(
            vars_of(&["trustform", "--chdir", "d", "lint", "--var-file", "z.tfvars"]),
            [CliVar::File("z.tfvars".into())]
        );
    }

    #[test]
    fn durations_read_as_go_and_terraform_read_them() {
        use std::time::Duration;
        for (text, expected) in [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5s", Duration::from_millis(1500)),
            ("250ms", Duration::from_millis(250)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in ["", "5", "s", "5 m", "-1s", "1d", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ci_flags_parse_anywhere() {
        use clap::Parser as _;
        let cli = Cli::try_parse_from(normalize_args(
            ["trustform", "apply", "-input=false", "-lock-timeout=90s", "-no-color", "-compact-warnings", "-env-file="]
                .iter()
                .map(|s| s.to_string()),
        ))
        .unwrap();
        assert!(!cli.input && cli.no_color && cli.compact_warnings);
        assert_eq!(cli.lock_timeout, std::time::Duration::from_secs(90));
        let Command::Apply(apply) = cli.command else { panic!("expected apply") };
        assert_eq!(apply.env_file, Some(PathBuf::new()));
        let cli = Cli::try_parse_from(["trustform", "plan", "--input"]).unwrap();
        assert!(cli.input);
    }
}
