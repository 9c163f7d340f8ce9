//! What kind of collection an expression produces, as far as the spec's text tells.
//!
//! Values do not record whether a sequence is a tuple, a list or a set, nor whether a mapping
//! is an object or a map; Terraform's types do, and two of its rules depend on it:
//! `for_each` refuses a list or tuple (internal/lang/evalchecks), and `==` is false between
//! values of different types (`tolist(["a"]) == ["a"]`). The kind is read from the
//! expression: a `[...]` literal is a tuple, `toset(...)` a set, `var.x` has its declared
//! type, a local has the kind of its expression. `None` when the text does not tell.

use crate::config::Config;
use crate::types::Type;
use hcl_edit::expr::{Expression, TraversalOperator};

/// The kind of a collection value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tuple,
    List,
    Set,
    Object,
    Map,
}

impl Kind {
    /// The name Terraform's messages use for a value of this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tuple => "tuple",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::Object => "object",
            Kind::Map => "map",
        }
    }

    fn of_type(ty: &Type) -> Option<Kind> {
        match ty {
            Type::List(_) => Some(Kind::List),
            Type::Set(_) => Some(Kind::Set),
            Type::Map(_) => Some(Kind::Map),
            Type::Object(..) => Some(Kind::Object),
            Type::Tuple(_) => Some(Kind::Tuple),
            Type::WithDefault(inner, _) => Kind::of_type(inner),
            _ => None,
        }
    }
}

/// How deep locals may refer to locals before the answer is "unknown" (a cycle, which the
/// graph reports on its own, or a very long chain).
const MAX_DEPTH: usize = 64;

/// The kind of collection `expr` evaluates to, if its text tells.
pub fn static_kind(config: &Config, expr: &Expression) -> Option<Kind> {
    kind(config, expr, 0)
}

/// The kind of `value`, the result of `expr`: what the text tells, else, for a variable
/// without a type constraint (or `any`), the kind its value was written as: a list given to
/// such a variable is a tuple, a map an object, since nothing converted them.
pub fn value_kind(config: &Config, expr: &Expression, value: &crate::Value) -> Option<Kind> {
    if let Some(kind) = static_kind(config, expr) {
        return Some(kind);
    }
    let Expression::Traversal(traversal) = expr else { return None };
    let Expression::Variable(root) = &traversal.expr else { return None };
    let ops: Vec<&TraversalOperator> = traversal.operators.iter().map(|o| o.value()).collect();
    let (true, [TraversalOperator::GetAttr(name)]) = (root.as_str() == "var", ops.as_slice()) else { return None };
    let variable = config.variables.get(name.as_str())?;
    if !matches!(variable.ty, None | Some(Type::Any)) {
        return None;
    }
    match value.unmarked() {
        crate::Value::List(_) => Some(Kind::Tuple),
        crate::Value::Object(_) => Some(Kind::Object),
        _ => None,
    }
}

fn kind(config: &Config, expr: &Expression, depth: usize) -> Option<Kind> {
    if depth > MAX_DEPTH {
        return None;
    }
    match expr {
        Expression::Array(_) => Some(Kind::Tuple),
        Expression::Object(_) => Some(Kind::Object),
        Expression::ForExpr(f) => Some(if f.key_expr.is_some() { Kind::Object } else { Kind::Tuple }),
        Expression::Parenthesis(p) => kind(config, p.inner(), depth + 1),
        Expression::Conditional(c) => {
            let (a, b) = (kind(config, &c.true_expr, depth + 1), kind(config, &c.false_expr, depth + 1));
            if a == b {
                a
            } else {
                None
            }
        }
        Expression::FuncCall(call) => {
            let args: Vec<&Expression> = call.args.iter().collect();
            match call.name.name.as_str() {
                "tolist" | "sort" | "compact" | "distinct" | "split" | "range" | "formatlist" | "regexall"
                | "cidrsubnets" | "chunklist" => Some(Kind::List),
                "toset" | "setunion" | "setintersection" | "setsubtract" => Some(Kind::Set),
                "tomap" | "zipmap" | "transpose" => Some(Kind::Map),
                "flatten" => Some(Kind::Tuple),
                "concat" | "reverse" | "slice" | "coalescelist" => {
                    let kinds: Vec<Option<Kind>> = args.iter().map(|a| kind(config, a, depth + 1)).collect();
                    match kinds.first() {
                        Some(Some(first)) if kinds.iter().all(|k| *k == Some(*first)) => Some(*first),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        Expression::Traversal(traversal) => {
            let Expression::Variable(root) = &traversal.expr else { return None };
            let ops: Vec<&TraversalOperator> = traversal.operators.iter().map(|o| o.value()).collect();
            let [TraversalOperator::GetAttr(name)] = ops.as_slice() else { return None };
            match root.as_str() {
                "var" => config.variables.get(name.as_str()).and_then(|v| v.ty.as_ref()).and_then(Kind::of_type),
                "local" => config.locals.get(name.as_str()).and_then(|l| kind(config, &l.expr.expr, depth + 1)),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;

    fn kind_of(local: &str) -> Option<Kind> {
        let spec = format!(
            "variable \"l\" {{ type = list(string) }}\nvariable \"s\" {{ type = set(string) }}\nvariable \"any\" {{}}\nlocals {{\n  t = [\"a\"]\n  out = {local}\n}}\n"
        );
        let (config, diags) = load_sources([("main.tf".to_owned(), spec)]);
        assert!(diags.is_empty(), "{diags:?}");
        static_kind(&config, &config.locals["out"].expr.expr)
    }

    #[test]
    fn kinds_come_from_literals_functions_and_declarations() {
        assert_eq!(kind_of(r#"["a"]"#), Some(Kind::Tuple));
        assert_eq!(kind_of(r#"tolist(["a"])"#), Some(Kind::List));
        assert_eq!(kind_of(r#"toset(["a"])"#), Some(Kind::Set));
        assert_eq!(kind_of("{ a = 1 }"), Some(Kind::Object));
        assert_eq!(kind_of("{ for x in var.l : x => x }"), Some(Kind::Object));
        assert_eq!(kind_of("[for x in var.l : x]"), Some(Kind::Tuple));
        assert_eq!(kind_of("var.l"), Some(Kind::List));
        assert_eq!(kind_of("var.s"), Some(Kind::Set));
        assert_eq!(kind_of("local.t"), Some(Kind::Tuple));
        assert_eq!(kind_of("var.any"), None);
        assert_eq!(kind_of("true ? var.s : toset([])"), Some(Kind::Set));
        assert_eq!(kind_of("true ? var.s : []"), None);
    }

    #[test]
    fn an_untyped_variable_has_the_kind_its_value_was_written_as() {
        let spec =
            "variable \"any\" {}\nvariable \"l\" { type = list(string) }\nlocals {\n  a = var.any\n  l = var.l\n}\n";
        let (config, diags) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
        assert!(diags.is_empty(), "{diags:?}");
        let any = &config.locals["a"].expr.expr;
        let list = crate::Value::List(vec!["x".into()]);
        assert_eq!(value_kind(&config, any, &list), Some(Kind::Tuple));
        assert_eq!(value_kind(&config, any, &crate::Value::object([("k", list.clone())])), Some(Kind::Object));
        assert_eq!(value_kind(&config, any, &crate::Value::from("s")), None);
        assert_eq!(value_kind(&config, &config.locals["l"].expr.expr, &list), Some(Kind::List));
    }
}
