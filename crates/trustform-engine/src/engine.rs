//! The [`Engine`]: one configuration, its variables and providers, ready to plan and apply.

use crate::checks::Check;
use crate::graph::ConfigGraph;
use crate::hook::{Hook, NoHook};
use crate::providers::Providers;
use crate::values::Values;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::Arc;
use tokio::sync::OnceCell;
use trustform_diag::{Diagnostic, Diagnostics};
use trustform_graph::CancellationToken;
use trustform_graph::DEFAULT_PARALLELISM;
use trustform_lang::config::Config;
use trustform_lang::{closest, Instance, LocalsCache, Mode, Scope, Value};
use trustform_state::State;

/// How an engine runs: bounded parallelism, a progress hook, and Ctrl-C.
#[derive(Clone)]
pub struct EngineOptions {
    pub parallelism: NonZeroUsize,
    pub hook: Arc<dyn Hook>,
    /// Cancelled on Ctrl-C: no new work starts, in-flight work finishes, state is saved.
    pub cancel: CancellationToken,
    /// The checks every normal plan and `lint` run (none by default; the CLI gives
    /// `trustform-checks`).
    pub checks: Vec<Arc<dyn Check>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            parallelism: DEFAULT_PARALLELISM,
            hook: Arc::new(NoHook),
            cancel: CancellationToken::new(),
            checks: Vec::new(),
        }
    }
}

/// A loaded configuration with its variables and providers.
pub struct Engine {
    pub(crate) config: Arc<Config>,
    pub(crate) graph: ConfigGraph,
    pub(crate) variables: BTreeMap<String, Value>,
    pub(crate) providers: Providers,
    pub(crate) parallelism: NonZeroUsize,
    pub(crate) hook: Arc<dyn Hook>,
    pub(crate) cancel: CancellationToken,
    pub(crate) checks: Vec<Arc<dyn Check>>,
    configured: OnceCell<Diagnostics>,
}

impl Engine {
    /// Checks the configuration's structure (graph, cycles, resource types) and returns an
    /// engine when it has no errors. Warnings come back either way.
    pub fn new(
        config: Config,
        variables: BTreeMap<String, Value>,
        providers: Providers,
        options: EngineOptions,
    ) -> (Option<Engine>, Diagnostics) {
        let (graph, mut diags) = ConfigGraph::build(&config);
        diags.extend(check_types(&config, &providers));
        let mut providers = providers;
        diags.extend(check_provider_configurations(&config, &mut providers));
        if diags.has_errors() {
            return (None, diags);
        }
        let engine = Engine {
            config: Arc::new(config),
            graph,
            variables,
            providers,
            parallelism: options.parallelism,
            hook: options.hook,
            cancel: options.cancel,
            checks: options.checks,
            configured: OnceCell::new(),
        };
        (Some(engine), diags)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    pub fn graph(&self) -> &ConfigGraph {
        &self.graph
    }

    /// Configures every provider the configuration (its import blocks' targets included) or the
    /// state uses, once per engine: a
    /// provider whose resources were all removed from the spec still has to delete them.
    pub async fn configure_providers(&self, state: &State) -> Diagnostics {
        self.configured
            .get_or_init(|| async {
                let mut diags = Diagnostics::new();
                let used: BTreeSet<String> = self
                    .config
                    .modules()
                    .into_iter()
                    .flat_map(|(path, module)| {
                        module.resources.values().map(move |r| {
                            resolve_provider_key(&self.config, &path, r.provider_key())
                                .unwrap_or_else(|_| r.provider_name().to_owned())
                        })
                    })
                    .chain(state.resources.values().map(|r| r.provider.clone()))
                    // An import block's target may have no resource block yet (generating one).
                    .chain(self.config.imports.iter().map(|i| i.to.resource.provider_name().to_owned()))
                    .collect();
                let values = Values::default();
                self.seed_expansions(&values);
                let locals = LocalsCache::default();
                let modules = crate::modules::ModuleEval::new(self, &values, &locals, false);
                for name in used {
                    let Some(provider) = self.providers.instance(&name) else { continue };
                    // `module.vertex.aws` is the block of the module called vertex.
                    let (steps, key) = trustform_lang::parse_module_prefix(&name).unwrap_or_default();
                    let block = self.config.module(&steps).and_then(|m| m.providers.get(key));
                    let config = match block {
                        Some(block) => match modules.with_scope(&steps, |scope| scope.eval_body(&block.body)) {
                            Some(Ok(v)) => v,
                            Some(Err(d)) => {
                                diags.push(*d);
                                continue;
                            }
                            None => Value::Unknown,
                        },
                        None => Value::Null,
                    };
                    diags.extend(modules.take_diagnostics());
                    let span = block.map(|p| p.span.clone());
                    if config.contains_unknown() {
                        diags.push(
                            Diagnostic::error("TF0520", "Provider configuration depends on resources", format!("The provider \"{name}\" block refers to values only known after apply. Configure providers from variables and literals only."))
                                .with_span(span),
                        );
                        continue;
                    }
                    if let Err(e) = provider.configure(&config).await {
                        diags.push(Diagnostic::error("TF0521", "Failed to configure provider", format!("Configuring the \"{name}\" provider failed: {e}.")).with_span(span));
                    }
                }
                diags
            })
            .await
            .clone()
    }

    /// The provider configuration (`aws`, `aws.bedrock`) serving a resource block of the module
    /// instance `module`; checked when the engine was built.
    pub(crate) fn provider_key(
        &self,
        resource: &trustform_lang::config::Resource,
        module: &[trustform_lang::ModuleStep],
    ) -> String {
        if module.is_empty() {
            // The root's own or default configuration: what `resolve_provider_key` gives for
            // the root, which `Engine::new` checked.
            return resource.provider_key().to_owned();
        }
        resolve_provider_key(&self.config, module, resource.provider_key())
            .unwrap_or_else(|_| resource.provider_name().to_owned())
    }

    /// Static checks, as `trustform validate` runs them: every resource body is evaluated with
    /// every resource attribute unknown and checked against its schema.
    pub fn validate(&self) -> Diagnostics {
        let mut diags = crate::refactor::validate(&self.config);
        diags.extend(self.undeclared_import_targets());
        let values = Values::default();
        let locals = LocalsCache::default();
        let root = Scope::new(&self.config, &self.variables, &values, &locals);
        let modules = self.config.modules();
        // A module's inputs are whatever its callers pass: unknown here.
        let module_inputs: Vec<(Vec<trustform_lang::ModuleStep>, BTreeMap<String, Value>)> = modules
            .iter()
            .map(|(path, module)| {
                let steps =
                    path.iter().map(|name| trustform_lang::ModuleStep { name: name.clone(), key: None }).collect();
                (steps, module.variables.keys().map(|name| (name.clone(), Value::Unknown)).collect())
            })
            .collect();
        for ((_, module), (steps, inputs)) in modules.iter().zip(&module_inputs) {
            let scope = if steps.is_empty() {
                root.with_instance(Instance::None)
            } else {
                root.in_module(steps, module, inputs)
            };
            self.validate_module(module, &scope, &mut diags);
        }
        for output in self.config.outputs.values() {
            if let Err(d) = root.eval(&output.value) {
                diags.push(*d);
            }
        }
        diags
    }

    fn validate_module(&self, module: &Config, scope: &Scope, diags: &mut Diagnostics) {
        for (id, resource) in &module.resources {
            // count and for_each themselves, when known without the cloud: a count too large or
            // a sensitive for_each is the spec's mistake. What their expressions fail on is the
            // planner's to report, with the values it has.
            if let Err(d) = self.expand(resource, scope) {
                if matches!(d.code, "TF0601" | "TF0602" | "TF0603") {
                    diags.push(*d);
                }
            }
            let instance = match &resource.repetition {
                trustform_lang::config::Repetition::Single => Instance::None,
                trustform_lang::config::Repetition::Count(_) => Instance::Count(0),
                trustform_lang::config::Repetition::ForEach(_) => {
                    Instance::Each { key: "key".into(), value: Value::Unknown }
                }
            };
            let addr = id.instance(instance.key()).in_module(scope.module.to_vec());
            if let Err(more) = self.instance_config(resource, &addr, &scope.with_instance(instance)) {
                diags.extend(more);
            }
        }
    }
}

/// The provider configuration of the root module that a resource of the module at `path` uses
/// when it names `key` (`aws`, `aws.bedrock`): each module call's `providers` map translates
/// it, and a module with no entry for a default (unaliased) configuration inherits its caller's
/// (<https://developer.hashicorp.com/terraform/language/modules/develop/providers>). The error
/// says which module call does not pass an aliased configuration, or that the root has none.
pub(crate) fn resolve_provider_key(config: &Config, path: &[impl AsRef<str>], key: &str) -> Result<String, String> {
    let mut key = key.to_owned();
    for depth in (0..=path.len()).rev() {
        let Some(module) = config.module(&path[..depth]) else { break };
        // A module that configures the provider itself (Terraform's legacy way, allowed for a
        // call without count, for_each or depends_on) uses its own configuration.
        if module.providers.contains_key(&key) {
            let prefix: String = path[..depth].iter().map(|name| format!("module.{}.", name.as_ref())).collect();
            return Ok(format!("{prefix}{key}"));
        }
        if depth == 0 {
            break;
        }
        let (parent, name) = (&path[..depth - 1], path[depth - 1].as_ref());
        let Some(call) = config.module(parent).and_then(|m| m.module_calls.get(name)) else { break };
        match call.providers.iter().find(|(child, _, _)| *child == key) {
            Some((_, passed, _)) => passed.clone_into(&mut key),
            None if key.contains('.') => {
                return Err(format!(
                    "the module \"{name}\" is called without passing the configuration \"{key}\": add providers = {{ {key} = {} }} to its module block",
                    key.split('.').next().unwrap_or_default()
                ))
            }
            None => {}
        }
    }
    if key.contains('.') {
        let name = key.split('.').next().unwrap_or_default();
        let aliases: Vec<&str> =
            config.providers.keys().filter(|k| k.starts_with(&format!("{name}."))).map(String::as_str).collect();
        let hint = closest(&key, aliases.iter().copied()).map(|s| format!(" Did you mean {s}?")).unwrap_or_default();
        return Err(format!(
            "no provider \"{name}\" block has alias = \"{}\" in the root module. Add one, or use one of the configured ones ({}).{hint}",
            key.split_once('.').map(|(_, alias)| alias).unwrap_or_default(),
            std::iter::once(name).chain(aliases.iter().copied()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(key)
}

/// Makes an instance for every aliased provider configuration and checks that every resource
/// and every module call's `providers` map names a configuration that exists.
fn check_provider_configurations(config: &Config, providers: &mut Providers) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let blocks = config.modules().into_iter().flat_map(|(path, module)| {
        let prefix: String = path.iter().map(|name| format!("module.{name}.")).collect();
        module.providers.iter().map(move |(key, block)| (format!("{prefix}{key}"), block))
    });
    for (key, block) in blocks {
        let own_instance = block.alias.is_some() || key.starts_with("module.");
        if own_instance && !providers.add_alias(&key) {
            diags.push(
                Diagnostic::error(
                    "TF0523",
                    "Provider takes no alias",
                    format!("The provider \"{}\" has one configuration only in this build, so alias = \"{}\" cannot be served. Remove the alias and the second block.", block.name, block.alias.as_deref().unwrap_or_default()),
                )
                .with_span(block.span.clone()),
            );
        }
    }
    for (path, module) in config.modules() {
        for resource in module.resources.values() {
            if let Err(why) = resolve_provider_key(config, &path, resource.provider_key()) {
                diags.push(
                    Diagnostic::error(
                        "TF0522",
                        "Reference to undeclared provider configuration",
                        format!("{} uses provider = {}, but {why}", resource.id, resource.provider_key()),
                    )
                    .with_span(resource.span.clone())
                    .with_address(&resource.id),
                );
            }
        }
        for call in module.module_calls.values() {
            for (child, passed, span) in &call.providers {
                if child.split('.').next() != passed.split('.').next() {
                    diags.push(
                        Diagnostic::error(
                            "TF0138",
                            "Invalid providers argument",
                            format!("providers maps \"{child}\" to \"{passed}\", a configuration of another provider. Map each name to a configuration of the same provider, like {child} = {}.ALIAS.", child.split('.').next().unwrap_or_default()),
                        )
                        .with_span(span.clone()),
                    );
                    continue;
                }
                if let Err(why) = resolve_provider_key(config, &path, passed) {
                    diags.push(
                        Diagnostic::error(
                            "TF0522",
                            "Reference to undeclared provider configuration",
                            format!("The module \"{}\" is passed {passed}, but {why}", call.name),
                        )
                        .with_span(span.clone()),
                    );
                }
            }
        }
    }
    diags
}

fn check_types(config: &Config, providers: &Providers) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (id, resource) in config.modules().into_iter().flat_map(|(_, module)| module.resources.iter()) {
        let provider_name = resource.provider_name();
        let Some(provider) = providers.get(provider_name) else {
            let known = providers.names().collect::<Vec<_>>().join(", ");
            diags.push(
                Diagnostic::error(
                    "TF0501",
                    "Provider not available",
                    format!("{id} needs the \"{provider_name}\" provider, which this build does not have. Available providers: {known}."),
                )
                .with_span(resource.span.clone())
                .with_address(id),
            );
            continue;
        };
        let schemas =
            if id.mode == Mode::Data { &provider.schema().data_sources } else { &provider.schema().resources };
        if !schemas.contains_key(&id.type_name) {
            let hint = closest(&id.type_name, schemas.keys().map(String::as_str))
                .map(|s| format!(" Did you mean \"{s}\"?"))
                .unwrap_or_default();
            let kind = if id.mode == Mode::Data { "data source" } else { "resource type" };
            diags.push(
                Diagnostic::error(
                    "TF0500",
                    "Unknown resource type",
                    format!("The \"{provider_name}\" provider has no {kind} \"{}\".{hint}", id.type_name),
                )
                .with_span(resource.span.clone())
                .with_address(id),
            );
        }
    }
    diags
}
