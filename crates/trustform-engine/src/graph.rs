//! The dependency graph of a configuration: resources, locals and outputs, with edges from
//! references and `depends_on`. Built once per run; cycles and references to undeclared names
//! are reported here, before anything is evaluated.

use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_graph::{Dag, NodeId};
use trustform_lang::config::{Config, ModuleCall, Repetition};
use trustform_lang::{
    body_references, closest, references, static_module_path, ModuleStep, Reference, ResourceAddr, ResourceId, Target,
};

/// A resource block in the module tree: the module's call names from the root, and the block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockAddr {
    pub module: Vec<String>,
    pub id: ResourceId,
}

/// By module path, then block (what deriving would give), comparing no paths when both are the
/// root's, the common case in the graph's maps.
impl Ord for BlockAddr {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let module = match (self.module.is_empty(), other.module.is_empty()) {
            (true, true) => std::cmp::Ordering::Equal,
            _ => self.module.cmp(&other.module),
        };
        module.then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for BlockAddr {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl BlockAddr {
    pub fn root(id: ResourceId) -> Self {
        BlockAddr { module: Vec::new(), id }
    }

    /// The block an instance address belongs to.
    pub fn of(addr: &ResourceAddr) -> Self {
        BlockAddr { module: static_module_path(&addr.module), id: addr.resource.clone() }
    }

    /// Whether `addr` is an instance of this block.
    /// The address naming every instance of this block, in every instance of its module (no
    /// keys; see [`ResourceAddr::names`]): how a dependency on it is recorded.
    pub fn address(&self) -> ResourceAddr {
        let module = self.module.iter().map(|name| ModuleStep { name: name.clone(), key: None }).collect();
        self.id.instance(None).in_module(module)
    }

    pub fn contains(&self, addr: &ResourceAddr) -> bool {
        addr.resource == self.id
            && addr.module.len() == self.module.len()
            && addr.module.iter().zip(&self.module).all(|(step, name)| &step.name == name)
    }
}

impl std::fmt::Display for BlockAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", module_prefix(&self.module), self.id)
    }
}

/// `module.a.module.b.` for the path `[a, b]`; empty for the root.
fn module_prefix(path: &[String]) -> String {
    path.iter().map(|name| format!("module.{name}.")).collect()
}

/// A node of the configuration graph. Every node names the module it is in by its call names
/// (`[]` for the root); `Module` is a module call (its path includes its own name): its
/// `count`/`for_each` and the inputs it passes, which everything in the module waits for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Resource(BlockAddr),
    Local(Vec<String>, String),
    Output(Vec<String>, String),
    Module(Vec<String>),
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Resource(block) => write!(f, "{block}"),
            Node::Local(path, name) => write!(f, "{}local.{name}", module_prefix(path)),
            Node::Output(path, name) => write!(f, "{}output.{name}", module_prefix(path)),
            Node::Module(path) => write!(f, "{}", module_prefix(path).trim_end_matches('.')),
        }
    }
}

/// The configuration graph and, for every resource, the resources it depends on directly or
/// through locals, module inputs and outputs.
pub struct ConfigGraph {
    pub dag: Dag<Node>,
    ids: BTreeMap<Node, NodeId>,
    resource_deps: BTreeMap<BlockAddr, BTreeSet<BlockAddr>>,
}

impl ConfigGraph {
    /// Builds the graph over the whole module tree; diagnostics report undeclared references,
    /// module calls that do not fit their module, and every cycle.
    pub fn build(config: &Config) -> (ConfigGraph, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut dag = Dag::new();
        let mut ids = BTreeMap::new();
        let modules = config.modules();
        for (path, module) in &modules {
            let nodes = module
                .resources
                .keys()
                .map(|id| Node::Resource(BlockAddr { module: path.clone(), id: id.clone() }))
                .chain(module.locals.keys().map(|name| Node::Local(path.clone(), name.clone())))
                .chain(module.outputs.keys().map(|name| Node::Output(path.clone(), name.clone())))
                .chain(module.module_calls.keys().map(|name| Node::Module(child_path(path, name))));
            for node in nodes {
                let id = dag.add_node(node.clone());
                ids.insert(node, id);
            }
        }

        let mut direct: BTreeMap<Node, Vec<(Node, Option<Span>)>> = BTreeMap::new();
        for (path, module) in &modules {
            let in_module = |mut edges: Vec<(Node, Option<Span>)>| {
                if !path.is_empty() {
                    edges.push((Node::Module(path.clone()), None));
                }
                edges
            };
            let explicit = |resources: &[(ResourceId, Span)], calls: &[(String, Span)]| {
                let mut edges: Vec<(Node, Option<Span>)> = resources
                    .iter()
                    .map(|(dep, span)| {
                        (Node::Resource(BlockAddr { module: path.clone(), id: dep.clone() }), Some(span.clone()))
                    })
                    .collect();
                edges.extend(
                    calls.iter().map(|(call, span)| (Node::Module(child_path(path, call)), Some(span.clone()))),
                );
                edges
            };
            for (id, resource) in &module.resources {
                let mut refs = body_references(&resource.body);
                if let Repetition::Count(e) | Repetition::ForEach(e) = &resource.repetition {
                    refs.extend(references(e));
                }
                // Conditions see what they name as the arguments do: evaluated after it.
                refs.extend(resource.conditions.exprs().flat_map(references));
                let mut edges = resolve(module, path, &refs, &mut diags);
                edges.extend(explicit(&resource.depends_on, &resource.depends_on_modules));
                direct.insert(Node::Resource(BlockAddr { module: path.clone(), id: id.clone() }), in_module(edges));
            }
            for (name, local) in &module.locals {
                let edges = resolve(module, path, &references(&local.expr), &mut diags);
                direct.insert(Node::Local(path.clone(), name.clone()), in_module(edges));
            }
            for (name, output) in &module.outputs {
                let mut refs = references(&output.value);
                refs.extend(
                    output.preconditions.iter().flat_map(|c| [&c.condition, &c.error_message]).flat_map(references),
                );
                let mut edges = resolve(module, path, &refs, &mut diags);
                edges.extend(explicit(&output.depends_on, &output.depends_on_modules));
                direct.insert(Node::Output(path.clone(), name.clone()), in_module(edges));
            }
            for (name, call) in &module.module_calls {
                let mut refs = body_references(&call.arguments);
                if let Repetition::Count(e) | Repetition::ForEach(e) = &call.repetition {
                    refs.extend(references(e));
                }
                let mut edges = resolve(module, path, &refs, &mut diags);
                edges.extend(explicit(&call.depends_on, &call.depends_on_modules));
                diags.extend(check_call(module, call));
                direct.insert(Node::Module(child_path(path, name)), in_module(edges));
            }
            // A called module may configure a provider itself only when it has one instance
            // and nothing waits on it as a whole (Terraform: "Module is incompatible with
            // count, for_each, and depends_on").
            let repeated_call = (1..=path.len()).find_map(|depth| {
                let call = config.module(&path[..depth - 1])?.module_calls.get(&path[depth - 1])?;
                let repeated = !matches!(call.repetition, Repetition::Single)
                    || !call.depends_on.is_empty()
                    || !call.depends_on_modules.is_empty();
                repeated.then_some(call)
            });
            if let Some(call) = repeated_call {
                for provider in module.providers.values() {
                    diags.push(
                        Diagnostic::error(
                            "TF0140",
                            "Module is incompatible with count, for_each, and depends_on",
                            format!(
                                "The module {} configures the provider \"{}\" itself, so it cannot be called with count, for_each or depends_on (module \"{}\" at {} is). Move the provider block to the root module and pass it in with providers = {{ {} = {} }} on the module block.",
                                module_prefix(path).trim_end_matches('.'),
                                provider.name,
                                call.name,
                                call.span,
                                provider.name,
                                trustform_lang::config::provider_key(&provider.name, provider.alias.as_deref())
                            ),
                        )
                        .with_span(provider.span.clone()),
                    );
                }
            }
        }

        for (node, edges) in &direct {
            for (dep, span) in edges {
                // `depends_on = [module.x]` waits for everything in it.
                if let Node::Module(call) = dep {
                    if matches!(node, Node::Resource(_) | Node::Output(..) | Node::Module(_)) && span.is_some() {
                        for (inner, &inner_id) in ids.range(
                            Node::Resource(BlockAddr { module: call.clone(), id: ResourceId::managed("", "") })..,
                        ) {
                            let Node::Resource(block) = inner else { break };
                            if !block.module.starts_with(call) {
                                continue;
                            }
                            if let Some(&to) = ids.get(node) {
                                dag.add_edge(inner_id, to);
                            }
                        }
                    }
                }
                match ids.get(dep) {
                    Some(&dep_id) => dag.add_edge(dep_id, ids[node]),
                    None => {
                        if let Node::Resource(missing) = dep {
                            let module = config.module(&missing.module).unwrap_or(config);
                            diags.push(undeclared_resource(module, &missing.id, span.clone()));
                        }
                    }
                }
            }
        }

        for cycle in dag.cycles() {
            diags.push(cycle_diagnostic(config, &dag, &cycle));
        }

        let mut graph = ConfigGraph { dag, ids, resource_deps: BTreeMap::new() };
        if !diags.has_errors() {
            graph.resource_deps = graph.compute_resource_deps();
        }
        (graph, diags)
    }

    pub fn node_id(&self, node: &Node) -> Option<NodeId> {
        self.ids.get(node).copied()
    }

    /// Resources `block` depends on, directly or through locals, module inputs and outputs
    /// (not through other resources).
    pub fn resource_dependencies(&self, block: &BlockAddr) -> &BTreeSet<BlockAddr> {
        static EMPTY: BTreeSet<BlockAddr> = BTreeSet::new();
        self.resource_deps.get(block).unwrap_or(&EMPTY)
    }

    /// Resource blocks of the whole tree in dependency order.
    pub fn resource_order(&self) -> Vec<BlockAddr> {
        self.dag
            .topological_order()
            .map(|order| {
                order
                    .into_iter()
                    .filter_map(|id| match self.dag.node(id) {
                        Node::Resource(r) => Some(r.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn compute_resource_deps(&self) -> BTreeMap<BlockAddr, BTreeSet<BlockAddr>> {
        let mut out = BTreeMap::new();
        for (node, &id) in &self.ids {
            let Node::Resource(resource) = node else { continue };
            let mut deps = BTreeSet::new();
            let mut stack = self.dag.dependencies(id);
            let mut seen = BTreeSet::new();
            while let Some(next) = stack.pop() {
                if !seen.insert(next) {
                    continue;
                }
                match self.dag.node(next) {
                    Node::Resource(dep) => {
                        deps.insert(dep.clone());
                    }
                    Node::Local(..) | Node::Module(_) => stack.extend(self.dag.dependencies(next)),
                    // A module's output passes on what it refers to; a root output is a sink.
                    Node::Output(path, _) if !path.is_empty() => stack.extend(self.dag.dependencies(next)),
                    Node::Output(..) => {}
                }
            }
            out.insert(resource.clone(), deps);
        }
        out
    }

    /// Resource blocks `targets` need: the targets and everything they depend on.
    pub fn with_dependencies(&self, targets: &BTreeSet<BlockAddr>) -> BTreeSet<BlockAddr> {
        let ids: Vec<NodeId> = targets.iter().filter_map(|t| self.node_id(&Node::Resource(t.clone()))).collect();
        self.dag
            .ancestors(ids.iter().copied())
            .into_iter()
            .chain(ids.iter().copied())
            .filter_map(|id| match self.dag.node(id) {
                Node::Resource(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every resource block in the module tree, for targeting a module.
    pub fn blocks(&self) -> impl Iterator<Item = &BlockAddr> {
        self.ids.keys().filter_map(|node| match node {
            Node::Resource(block) => Some(block),
            _ => None,
        })
    }

    /// Graphviz DOT of the resource graph (locals folded away), for `trustform graph`.
    pub fn to_dot(&self) -> String {
        let mut dag = Dag::new();
        let mut ids = BTreeMap::new();
        for resource in self.resource_deps.keys() {
            ids.insert(resource.clone(), dag.add_node(resource.to_string()));
        }
        for (resource, deps) in &self.resource_deps {
            for dep in deps {
                if let (Some(&from), Some(&to)) = (ids.get(dep), ids.get(resource)) {
                    dag.add_edge(from, to);
                }
            }
        }
        dag.to_dot(|label| label.clone())
    }
}

fn child_path(path: &[String], name: &str) -> Vec<String> {
    let mut child = path.to_vec();
    child.push(name.to_owned());
    child
}

/// A module call's arguments against the called module's variables: each argument must be a
/// declared variable, and every variable without a default must be passed (Terraform's
/// "Unsupported argument" and "Missing required argument" for module calls).
fn check_call(caller: &Config, call: &ModuleCall) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let module = &call.module;
    for (name, attr) in &call.arguments.attributes {
        if module.variables.contains_key(name) {
            continue;
        }
        let hint = closest(name, module.variables.keys().map(String::as_str))
            .map(|s| format!(" Did you mean \"{s}\"?"))
            .unwrap_or_default();
        diags.push(
            Diagnostic::error(
                "TF0136",
                "Unsupported argument",
                format!(
                    "The module \"{}\" ({}) declares no variable \"{name}\", so it cannot be passed. Remove the argument, or declare variable \"{name}\" in the module.{hint}",
                    call.name, call.source
                ),
            )
            .with_span(caller.attr_span(&call.arguments, attr)),
        );
    }
    let missing: Vec<&str> = module
        .variables
        .values()
        .filter(|v| v.default.is_none() && !call.arguments.attributes.contains_key(&v.name))
        .map(|v| v.name.as_str())
        .collect();
    if !missing.is_empty() {
        let plural = if missing.len() == 1 { "" } else { "s" };
        diags.push(
            Diagnostic::error(
                "TF0137",
                "Missing required argument",
                format!(
                    "The module \"{}\" ({}) needs the input variable{plural} {}, which have no default. Add {} to the module block.",
                    call.name,
                    call.source,
                    missing.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", "),
                    missing.iter().map(|m| format!("{m} = ...")).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_span(call.span.clone()),
        );
    }
    diags
}

fn resolve(config: &Config, path: &[String], refs: &[Reference], diags: &mut Diagnostics) -> Vec<(Node, Option<Span>)> {
    let mut out = Vec::new();
    for r in refs {
        let span = Some(config.sources.span(r.file, r.range.clone()));
        match &r.target {
            Target::Variable(name) => {
                if !config.variables.contains_key(name) {
                    let hint = closest(name, config.variables.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean var.{s}?"))
                        .unwrap_or_default();
                    diags.push(
                        Diagnostic::error(
                            "TF0200",
                            "Reference to undeclared input variable",
                            format!("An input variable named \"{name}\" is not declared. Declare it with variable \"{name}\" {{ ... }}, or fix the name.{hint}"),
                        )
                        .with_span(span),
                    );
                }
            }
            Target::Local(name) => {
                if config.locals.contains_key(name) {
                    out.push((Node::Local(path.to_vec(), name.clone()), span));
                } else {
                    let hint = closest(name, config.locals.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean local.{s}?"))
                        .unwrap_or_default();
                    diags.push(
                        Diagnostic::error(
                            "TF0202",
                            "Reference to undeclared local value",
                            format!("No local value named \"{name}\" is declared. Declare it in a locals block, or fix the name.{hint}"),
                        )
                        .with_span(span),
                    );
                }
            }
            Target::Resource(id) => {
                out.push((Node::Resource(BlockAddr { module: path.to_vec(), id: id.clone() }), span))
            }
            Target::Module { name, output } => {
                let Some(call) = config.module_calls.get(name) else {
                    let hint = closest(name, config.module_calls.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean module.{s}?"))
                        .unwrap_or_default();
                    diags.push(
                        Diagnostic::error(
                            "TF0219",
                            "Reference to undeclared module",
                            format!("No module call named \"{name}\" is declared in this module. Declare it with module \"{name}\" {{ source = \"./path\" }}, or fix the name.{hint}"),
                        )
                        .with_span(span),
                    );
                    continue;
                };
                let child = child_path(path, name);
                match output {
                    // `module.x.y` is an output, unless `module.x` is repeated and `y` is
                    // meant as an attribute of the list or map (an error either way).
                    Some(output) if !call.module.outputs.contains_key(output) => {
                        let hint = closest(output, call.module.outputs.keys().map(String::as_str))
                            .map(|s| format!(" Did you mean module.{name}.{s}?"))
                            .unwrap_or_default();
                        diags.push(
                            Diagnostic::error(
                                "TF0218",
                                "Unsupported attribute",
                                format!("The module \"{name}\" ({}) has no output named \"{output}\". Declare output \"{output}\" {{ value = ... }} in the module, or fix the name.{hint}", call.source),
                            )
                            .with_span(span),
                        );
                    }
                    Some(output) => out.push((Node::Output(child, output.clone()), span)),
                    None => {
                        for output in call.module.outputs.keys() {
                            out.push((Node::Output(child.clone(), output.clone()), span.clone()));
                        }
                    }
                }
            }
        }
    }
    out
}

fn undeclared_resource(config: &Config, missing: &ResourceId, span: Option<Span>) -> Diagnostic {
    let kind = if missing.mode == trustform_lang::Mode::Data { "data source" } else { "managed resource" };
    let same_kind =
        config.resources.keys().filter(|r| r.mode == missing.mode).map(ToString::to_string).collect::<Vec<_>>();
    let hint = closest(&missing.to_string(), same_kind.iter().map(String::as_str))
        .map(|s| format!(" Did you mean {s}?"))
        .unwrap_or_default();
    Diagnostic::error(
        "TF0201",
        "Reference to undeclared resource",
        format!(
            "A {kind} \"{}\" \"{}\" has not been declared. Declare it, or fix the reference.{hint}",
            missing.type_name, missing.name
        ),
    )
    .with_span(span)
    .with_address(missing)
}

fn cycle_diagnostic(config: &Config, dag: &Dag<Node>, cycle: &[NodeId]) -> Diagnostic {
    let mut names = Vec::new();
    let mut spans = Vec::new();
    for &id in cycle {
        let node = dag.node(id);
        let span = match node {
            Node::Resource(r) => config.resource_in(&r.module, &r.id).map(|r| r.span.clone()),
            Node::Local(path, l) => config.module(path).and_then(|m| m.locals.get(l)).map(|l| l.span.clone()),
            Node::Output(path, o) => config.module(path).and_then(|m| m.outputs.get(o)).map(|o| o.span.clone()),
            Node::Module(path) => match path.split_last() {
                Some((name, parent)) => {
                    config.module(parent).and_then(|m| m.module_calls.get(name)).map(|c| c.span.clone())
                }
                None => None,
            },
        };
        match &span {
            Some(s) => names.push(format!("{node} ({s})")),
            None => names.push(node.to_string()),
        }
        spans.extend(span);
    }
    let first = names.first().cloned().unwrap_or_default();
    let loop_text =
        names.iter().map(String::as_str).chain(std::iter::once(first.as_str())).collect::<Vec<_>>().join("\n  -> ");
    let primary = spans.first().cloned();
    Diagnostic::error(
        "TF0400",
        "Cycle in dependencies",
        format!(
            "These objects depend on each other in a loop, so none of them can be planned first:\n  {loop_text}\nBreak the loop: remove one of the references or depends_on entries, or compute the value another way (a local, or a known name instead of a computed attribute)."
        ),
    )
    .with_span(primary)
    .with_related(spans.into_iter().skip(1))
}
