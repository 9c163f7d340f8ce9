use crate::dag::Dag;
use std::fmt::Write as _;

impl<N> Dag<N> {
    /// Graphviz DOT for `trustform graph`. Each node is declared as `n<id>` with the quoted
    /// `label` of its weight; an arrow runs from a dependency to its dependent, the order in which
    /// they are walked. Nodes and edges are sorted by id, so the text depends only on the graph.
    pub fn to_dot(&self, label: impl Fn(&N) -> String) -> String {
        let mut dot = String::from("digraph {\n");
        // Writing to a String cannot fail, so the fmt::Results below carry nothing.
        for id in self.node_ids() {
            let _ = writeln!(dot, "  {id} [label={}];", quote(&label(self.node(id))));
        }
        let mut edges: Vec<_> = self.edges().collect();
        edges.sort_unstable();
        for (dependency, dependent) in edges {
            let _ = writeln!(dot, "  {dependency} -> {dependent};");
        }
        dot.push_str("}\n");
        dot
    }
}

/// A DOT quoted string that Graphviz renders as exactly `text`. Inside labels Graphviz treats a
/// backslash as the start of an escape (`\n`, `\l`, `\N`...), so backslashes are doubled too.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            // DOT has no escape for other control characters; make them visible, not silent.
            c if c.is_control() => quoted.push(char::REPLACEMENT_CHARACTER),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use insta::assert_snapshot;

    #[test]
    fn dot_is_sorted_and_escaped() {
        let mut dag = Dag::new();
        let role = dag.add_node("aws_iam_role.gateway");
        let policy = dag.add_node("aws_iam_role_policy.gateway");
        let keyed = dag.add_node(r#"google_service_account.sa["a\b"]"#);
        let binding = dag.add_node("google_project_iam_member.user\nline two\r");
        // Edges added out of order must still come out sorted.
        dag.add_edge(keyed, binding);
        dag.add_edge(role, policy);
        dag.add_edge(role, binding);
        assert_snapshot!(dag.to_dot(|name| name.to_string()));
    }

    #[test]
    fn empty_graph_is_an_empty_digraph() {
        assert_eq!(Dag::<()>::new().to_dot(|_| String::new()), "digraph {\n}\n");
    }
}
