//! The dependency graph of a configuration: resources, locals and outputs, with edges from
//! references and `depends_on`. Built once per run; cycles and references to undeclared names
//! are reported here, before anything is evaluated.

use std::collections::{BTreeMap, BTreeSet};
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_graph::{Dag, NodeId};
use trustform_lang::config::{Config, Repetition};
use trustform_lang::{body_references, closest, references, Reference, ResourceId, Target};

/// A node of the configuration graph.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Resource(ResourceId),
    Local(String),
    Output(String),
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Resource(id) => write!(f, "{id}"),
            Node::Local(name) => write!(f, "local.{name}"),
            Node::Output(name) => write!(f, "output.{name}"),
        }
    }
}

/// The configuration graph and, for every resource, the resources it depends on directly or
/// through locals.
pub struct ConfigGraph {
    pub dag: Dag<Node>,
    ids: BTreeMap<Node, NodeId>,
    resource_deps: BTreeMap<ResourceId, BTreeSet<ResourceId>>,
}

impl ConfigGraph {
    /// Builds the graph; diagnostics report undeclared references and every cycle.
    pub fn build(config: &Config) -> (ConfigGraph, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut dag = Dag::new();
        let mut ids = BTreeMap::new();
        let nodes = config
            .resources
            .keys()
            .cloned()
            .map(Node::Resource)
            .chain(config.locals.keys().cloned().map(Node::Local))
            .chain(config.outputs.keys().cloned().map(Node::Output));
        for node in nodes {
            let id = dag.add_node(node.clone());
            ids.insert(node, id);
        }

        let mut direct: BTreeMap<Node, Vec<(Node, Option<Span>)>> = BTreeMap::new();
        for (id, resource) in &config.resources {
            let mut refs = body_references(&resource.body);
            if let Repetition::Count(e) | Repetition::ForEach(e) = &resource.repetition {
                refs.extend(references(e));
            }
            // Conditions see what they name as the arguments do: evaluated after it.
            refs.extend(resource.conditions.exprs().flat_map(references));
            let mut edges = resolve(config, &refs, &mut diags);
            edges.extend(
                resource.depends_on.iter().map(|(dep, span)| (Node::Resource(dep.clone()), Some(span.clone()))),
            );
            direct.insert(Node::Resource(id.clone()), edges);
        }
        for (name, local) in &config.locals {
            direct.insert(Node::Local(name.clone()), resolve(config, &references(&local.expr), &mut diags));
        }
        for (name, output) in &config.outputs {
            let mut refs = references(&output.value);
            refs.extend(
                output.preconditions.iter().flat_map(|c| [&c.condition, &c.error_message]).flat_map(references),
            );
            let mut edges = resolve(config, &refs, &mut diags);
            edges.extend(output.depends_on.iter().map(|(dep, span)| (Node::Resource(dep.clone()), Some(span.clone()))));
            direct.insert(Node::Output(name.clone()), edges);
        }

        for (node, edges) in &direct {
            for (dep, span) in edges {
                match ids.get(dep) {
                    Some(&dep_id) => dag.add_edge(dep_id, ids[node]),
                    None => {
                        if let Node::Resource(missing) = dep {
                            diags.push(undeclared_resource(config, missing, span.clone()));
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

    /// Resources `id` depends on, directly or through locals (not through other resources).
    pub fn resource_dependencies(&self, id: &ResourceId) -> &BTreeSet<ResourceId> {
        static EMPTY: BTreeSet<ResourceId> = BTreeSet::new();
        self.resource_deps.get(id).unwrap_or(&EMPTY)
    }

    /// Resource blocks in dependency order.
    pub fn resource_order(&self) -> Vec<ResourceId> {
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

    fn compute_resource_deps(&self) -> BTreeMap<ResourceId, BTreeSet<ResourceId>> {
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
                    Node::Local(_) => stack.extend(self.dag.dependencies(next)),
                    Node::Output(_) => {}
                }
            }
            out.insert(resource.clone(), deps);
        }
        out
    }

    /// Resource blocks `targets` need: the targets and everything they depend on.
    pub fn with_dependencies(&self, targets: &BTreeSet<ResourceId>) -> BTreeSet<ResourceId> {
        let ids = targets.iter().filter_map(|t| self.node_id(&Node::Resource(t.clone())));
        self.dag
            .ancestors(ids)
            .into_iter()
            .chain(targets.iter().filter_map(|t| self.node_id(&Node::Resource(t.clone()))))
            .filter_map(|id| match self.dag.node(id) {
                Node::Resource(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
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

fn resolve(config: &Config, refs: &[Reference], diags: &mut Diagnostics) -> Vec<(Node, Option<Span>)> {
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
                    out.push((Node::Local(name.clone()), span));
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
            Target::Resource(id) => out.push((Node::Resource(id.clone()), span)),
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
            Node::Resource(r) => config.resources.get(r).map(|r| r.span.clone()),
            Node::Local(l) => config.locals.get(l).map(|l| l.span.clone()),
            Node::Output(o) => config.outputs.get(o).map(|o| o.span.clone()),
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
