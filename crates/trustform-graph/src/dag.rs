use petgraph::algo::tarjan_scc;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences, NodeIndexable};
use petgraph::Direction;
use std::collections::BTreeSet;
use std::fmt;

/// A node's identity within one [`Dag`].
///
/// Ids are handed out in insertion order and order every listing this crate produces. They stay
/// valid across [`Dag::reversed`] and [`Dag::filter`], so a caller can keep its own tables keyed
/// by `NodeId` and use them with the derived graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(NodeIndex);

impl NodeId {
    /// Dense position of the node, for per-node tables inside this crate.
    pub(crate) fn index(self) -> usize {
        self.0.index()
    }
}

/// Renders as `n<index>`, the identifier the node also has in [`Dag::to_dot`].
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0.index())
    }
}

/// A directed graph whose edge `dependency -> dependent` means "the dependent waits for the
/// dependency".
///
/// The graph accepts any edge, cycles included, so that every cycle in a spec can be reported at
/// once through [`Dag::cycles`]; [`Dag::topological_order`] and [`crate::walk`] are meaningful
/// only once there are none.
#[derive(Debug, Clone)]
pub struct Dag<N> {
    // A stable graph keeps node indices unchanged when nodes are dropped, which is what lets
    // `filter` return a graph whose ids still mean the same nodes.
    graph: StableDiGraph<N, ()>,
}

impl<N> Default for Dag<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N> Dag<N> {
    pub fn new() -> Self {
        Self { graph: StableDiGraph::default() }
    }

    pub fn add_node(&mut self, node: N) -> NodeId {
        NodeId(self.graph.add_node(node))
    }

    /// Records that `dependent` waits for `dependency`. Adding the same edge twice is harmless.
    ///
    /// # Panics
    ///
    /// If either id is not a node of this graph.
    pub fn add_edge(&mut self, dependency: NodeId, dependent: NodeId) {
        self.graph.update_edge(dependency.0, dependent.0, ());
    }

    /// [`Dag::add_edge`] for an edge the caller knows is new, in constant time: `add_edge`
    /// looks through the dependency's edges first, which costs a node with n dependents n² to
    /// build. An edge added twice this way is counted twice, and still walks correctly.
    ///
    /// # Panics
    ///
    /// If either id is not a node of this graph.
    pub fn add_new_edge(&mut self, dependency: NodeId, dependent: NodeId) {
        self.graph.add_edge(dependency.0, dependent.0, ());
    }

    /// # Panics
    ///
    /// If `id` is not a node of this graph (it came from another graph, or [`Dag::filter`]
    /// dropped it).
    pub fn node(&self, id: NodeId) -> &N {
        &self.graph[id.0]
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.graph.contains_node(id.0)
    }

    /// Every node id, in ascending order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.graph.node_indices().map(NodeId)
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// The nodes `id` waits for directly, in ascending order.
    pub fn dependencies(&self, id: NodeId) -> Vec<NodeId> {
        self.neighbors_sorted(id, Direction::Incoming)
    }

    /// The nodes that wait for `id` directly, in ascending order.
    pub fn dependents(&self, id: NodeId) -> Vec<NodeId> {
        self.neighbors_sorted(id, Direction::Outgoing)
    }

    /// The given nodes and everything they depend on, directly or not: what `-target` selects.
    pub fn ancestors(&self, ids: impl IntoIterator<Item = NodeId>) -> BTreeSet<NodeId> {
        self.reachable(ids, Direction::Incoming)
    }

    /// The given nodes and everything that depends on them, directly or not: what a failure
    /// skips, and what a targeted destroy must remove first.
    pub fn descendants(&self, ids: impl IntoIterator<Item = NodeId>) -> BTreeSet<NodeId> {
        self.reachable(ids, Direction::Outgoing)
    }

    /// The same nodes under the same ids with every edge flipped: the destroy order, in which a
    /// resource goes only after everything that depended on it.
    pub fn reversed(&self) -> Dag<N>
    where
        N: Clone,
    {
        let mut graph = self.graph.clone();
        graph.reverse();
        Dag { graph }
    }

    /// The subgraph induced by the nodes `keep` accepts: those nodes under their original ids,
    /// and every edge between two of them.
    ///
    /// Ids are preserved rather than renumbered so that tables the caller keyed by [`NodeId`]
    /// (addresses, planned changes) still apply. Ordering that only ran through a dropped node is
    /// lost, so keep a set closed under [`Dag::ancestors`] (plan and apply with `-target`) or
    /// [`Dag::descendants`] (targeted destroy). Nodes added to the result later may reuse the ids
    /// of dropped nodes.
    pub fn filter(&self, keep: impl Fn(NodeId) -> bool) -> Dag<N>
    where
        N: Clone,
    {
        let graph = self.graph.filter_map(|index, node| keep(NodeId(index)).then(|| node.clone()), |_, &()| Some(()));
        Dag { graph }
    }

    /// Every edge as `(dependency, dependent)`, in no particular order.
    pub(crate) fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.graph.edge_references().map(|edge| (NodeId(edge.source()), NodeId(edge.target())))
    }

    /// Direct dependents of `id`, unordered: for hot loops that impose their own order.
    pub(crate) fn dependents_unordered(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.graph.neighbors_directed(id.0, Direction::Outgoing).map(NodeId)
    }

    pub(crate) fn has_edge(&self, from: NodeId, to: NodeId) -> bool {
        self.graph.contains_edge(from.0, to.0)
    }

    /// The strongly connected components, each in no particular order.
    pub(crate) fn strongly_connected_components(&self) -> Vec<Vec<NodeId>> {
        tarjan_scc(&self.graph).into_iter().map(|component| component.into_iter().map(NodeId).collect()).collect()
    }

    /// Length of a table indexed by [`NodeId::index`] that has room for every node.
    pub(crate) fn index_bound(&self) -> usize {
        self.graph.node_bound()
    }

    /// How many dependencies each node waits for, indexed by [`NodeId::index`].
    pub(crate) fn dependency_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.index_bound()];
        for (_, dependent) in self.edges() {
            counts[dependent.index()] += 1;
        }
        counts
    }

    fn neighbors_sorted(&self, id: NodeId, direction: Direction) -> Vec<NodeId> {
        let mut neighbors: Vec<NodeId> = self.graph.neighbors_directed(id.0, direction).map(NodeId).collect();
        neighbors.sort_unstable();
        neighbors
    }

    fn reachable(&self, ids: impl IntoIterator<Item = NodeId>, direction: Direction) -> BTreeSet<NodeId> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeId> = ids.into_iter().collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.graph.neighbors_directed(id.0, direction).map(NodeId));
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a -> b -> d`, `a -> c -> d`, plus an unrelated `e`.
    fn diamond() -> (Dag<&'static str>, [NodeId; 5]) {
        let mut dag = Dag::new();
        let ids = ["a", "b", "c", "d", "e"].map(|name| dag.add_node(name));
        let [a, b, c, d, _] = ids;
        dag.add_edge(a, b);
        dag.add_edge(a, c);
        dag.add_edge(c, d);
        dag.add_edge(b, d);
        (dag, ids)
    }

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn nodes_keep_their_ids_and_weights() {
        let (dag, [a, b, c, d, e]) = diamond();
        assert_eq!(dag.len(), 5);
        assert!(!dag.is_empty());
        assert!(Dag::<()>::new().is_empty());
        assert_eq!(dag.node_ids().collect::<Vec<_>>(), vec![a, b, c, d, e]);
        assert_eq!(*dag.node(c), "c");
        assert_eq!(d.to_string(), "n3");
    }

    #[test]
    fn direct_neighbors_are_sorted() {
        let (dag, [a, b, c, d, e]) = diamond();
        assert_eq!(dag.dependencies(d), vec![b, c]);
        assert_eq!(dag.dependents(a), vec![b, c]);
        assert!(dag.dependencies(a).is_empty());
        assert!(dag.dependents(e).is_empty());
    }

    #[test]
    fn duplicate_edges_are_harmless() {
        let (mut dag, [a, b, c, ..]) = diamond();
        dag.add_edge(a, b);
        dag.add_edge(a, b);
        assert_eq!(dag.dependents(a), vec![b, c]);
        assert_eq!(dag.dependency_counts()[b.index()], 1);
    }

    #[test]
    fn ancestors_and_descendants_are_transitive_and_inclusive() {
        let (dag, [a, b, c, d, e]) = diamond();
        assert_eq!(dag.ancestors([d]), set(&[a, b, c, d]));
        assert_eq!(dag.ancestors([b, e]), set(&[a, b, e]));
        assert_eq!(dag.descendants([a]), set(&[a, b, c, d]));
        assert_eq!(dag.descendants([c]), set(&[c, d]));
    }

    #[test]
    fn reversed_flips_every_edge_and_keeps_ids() {
        let (dag, [a, b, c, d, e]) = diamond();
        let reversed = dag.reversed();
        assert_eq!(reversed.node_ids().collect::<Vec<_>>(), vec![a, b, c, d, e]);
        assert_eq!(*reversed.node(a), "a");
        assert_eq!(reversed.dependencies(a), vec![b, c]);
        assert_eq!(reversed.dependents(d), vec![b, c]);
        assert_eq!(reversed.descendants([d]), set(&[a, b, c, d]));
    }

    #[test]
    fn filter_keeps_ids_and_the_edges_between_kept_nodes() {
        let (dag, [a, b, c, d, e]) = diamond();
        let targeted = dag.ancestors([b]);
        let filtered = dag.filter(|id| targeted.contains(&id));
        assert_eq!(filtered.node_ids().collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(*filtered.node(b), "b");
        assert_eq!(filtered.dependents(a), vec![b]);
        for dropped in [c, d, e] {
            assert!(!filtered.contains(dropped));
        }
    }
}
