use crate::dag::{Dag, NodeId};
use std::collections::BTreeSet;

/// The graph cannot be ordered because some nodes wait, directly or not, for themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", render_cycles(.cycles))]
pub struct CycleError {
    /// Every cycle, as [`Dag::cycles`] lists them.
    pub cycles: Vec<Vec<NodeId>>,
}

fn render_cycles(cycles: &[Vec<NodeId>]) -> String {
    let render_one = |cycle: &Vec<NodeId>| {
        let closed: Vec<String> = cycle.iter().chain(cycle.first()).map(ToString::to_string).collect();
        closed.join(" -> ")
    };
    cycles.iter().map(render_one).collect::<Vec<_>>().join("; ")
}

impl<N> Dag<N> {
    /// Every strongly connected component that has more than one node or a self-loop, so that a
    /// caller can report each as one diagnostic naming all of its nodes.
    ///
    /// Each component is listed once, starting at its smallest id and following edges depth-first
    /// (smallest successor first); for a simple cycle consecutive nodes are joined by an edge
    /// `cycle[i] -> cycle[i + 1]` and the last node leads back to the first. Components are
    /// ordered by their first node. An acyclic graph gives an empty list.
    pub fn cycles(&self) -> Vec<Vec<NodeId>> {
        let mut cycles: Vec<Vec<NodeId>> = self
            .strongly_connected_components()
            .into_iter()
            .filter(|component| match component.as_slice() {
                [single] => self.has_edge(*single, *single),
                _ => true,
            })
            .map(|component| self.follow_edges_within(component.into_iter().collect()))
            .collect();
        cycles.sort_unstable();
        cycles
    }

    /// Every node, each after all of its dependencies. Among nodes whose dependencies are all
    /// placed, the smallest id goes first, so the order depends only on the graph.
    pub fn topological_order(&self) -> Result<Vec<NodeId>, CycleError> {
        let mut waiting_on = self.dependency_counts();
        let mut ready: BTreeSet<NodeId> = self.node_ids().filter(|id| waiting_on[id.index()] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(id) = ready.pop_first() {
            order.push(id);
            for dependent in self.dependents_unordered(id) {
                let count = &mut waiting_on[dependent.index()];
                *count -= 1;
                if *count == 0 {
                    ready.insert(dependent);
                }
            }
        }
        if order.len() == self.len() {
            Ok(order)
        } else {
            Err(CycleError { cycles: self.cycles() })
        }
    }

    fn follow_edges_within(&self, members: BTreeSet<NodeId>) -> Vec<NodeId> {
        let mut order = Vec::with_capacity(members.len());
        let mut visited = BTreeSet::new();
        let mut stack: Vec<NodeId> = members.first().copied().into_iter().collect();
        while let Some(id) = stack.pop() {
            if !visited.insert(id) {
                continue;
            }
            order.push(id);
            // Pushed largest first so that the smallest successor is followed next.
            stack.extend(
                self.dependents(id).into_iter().rev().filter(|next| members.contains(next) && !visited.contains(next)),
            );
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(nodes: usize, edges: &[(usize, usize)]) -> (Dag<usize>, Vec<NodeId>) {
        let mut dag = Dag::new();
        let ids: Vec<NodeId> = (0..nodes).map(|n| dag.add_node(n)).collect();
        for &(from, to) in edges {
            dag.add_edge(ids[from], ids[to]);
        }
        (dag, ids)
    }

    fn pick(ids: &[NodeId], positions: &[usize]) -> Vec<NodeId> {
        positions.iter().map(|&p| ids[p]).collect()
    }

    #[test]
    fn an_acyclic_graph_has_no_cycles() {
        let (dag, _) = graph(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        assert!(dag.cycles().is_empty());
    }

    #[test]
    fn a_three_cycle_is_listed_once_following_its_edges() {
        // 0 -> 2 -> 1 -> 0, with a tail 1 -> 3 that is not part of the cycle.
        let (dag, ids) = graph(4, &[(2, 1), (1, 0), (0, 2), (1, 3)]);
        assert_eq!(dag.cycles(), vec![pick(&ids, &[0, 2, 1])]);
    }

    #[test]
    fn a_self_loop_is_a_cycle() {
        let (dag, ids) = graph(2, &[(0, 1), (1, 1)]);
        assert_eq!(dag.cycles(), vec![pick(&ids, &[1])]);
    }

    #[test]
    fn separate_cycles_are_listed_separately_by_smallest_node() {
        let (dag, ids) = graph(6, &[(4, 5), (5, 3), (3, 4), (1, 2), (2, 1), (0, 1)]);
        assert_eq!(dag.cycles(), vec![pick(&ids, &[1, 2]), pick(&ids, &[3, 4, 5])]);
    }

    #[test]
    fn a_tangled_component_lists_every_node_once() {
        // Two loops through node 0: 0 -> 1 -> 0 and 0 -> 2 -> 3 -> 0.
        let (dag, ids) = graph(4, &[(0, 1), (1, 0), (0, 2), (2, 3), (3, 0)]);
        assert_eq!(dag.cycles(), vec![pick(&ids, &[0, 1, 2, 3])]);
    }

    #[test]
    fn topological_order_breaks_ties_by_id() {
        // 3 and 1 are roots; 0 waits for 3, 2 waits for 0 and 1.
        let (dag, ids) = graph(4, &[(3, 0), (0, 2), (1, 2)]);
        assert_eq!(dag.topological_order(), Ok(pick(&ids, &[1, 3, 0, 2])));
        assert_eq!(dag.reversed().topological_order(), Ok(pick(&ids, &[2, 0, 1, 3])));
    }

    #[test]
    fn topological_order_of_a_cyclic_graph_names_the_cycles() {
        let (dag, ids) = graph(4, &[(0, 1), (1, 2), (2, 1), (3, 3)]);
        let error = dag.topological_order().unwrap_err();
        assert_eq!(error.cycles, vec![pick(&ids, &[1, 2]), pick(&ids, &[3])]);
        assert_eq!(error.to_string(), "dependency cycle: n1 -> n2 -> n1; n3 -> n3");
    }
}
