//! Which names an expression refers to: the edges of the dependency graph.

use crate::addr::ResourceId;
use crate::config::{Body, Expr};
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span as _;
use std::ops::Range;
use trustform_diag::FileId;

/// Something an expression refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Variable(String),
    Local(String),
    Resource(ResourceId),
    /// `module.NAME.OUTPUT`, or `module.NAME` as a whole (`output` is `None`, also when an
    /// instance key comes first: `module.NAME["k"].OUTPUT`).
    Module {
        name: String,
        output: Option<String>,
    },
}

/// One reference and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub target: Target,
    pub file: FileId,
    pub range: Range<usize>,
}

/// Every reference in `expr`, in source order. Names bound by `for` expressions are not
/// references.
pub fn references(expr: &Expr) -> Vec<Reference> {
    let mut collector = Collector { file: expr.file, bound: Vec::new(), out: Vec::new() };
    collector.expr(&expr.expr);
    collector.out
}

/// Every reference in a body, nested blocks included; a dynamic block's iterator name is bound.
pub fn body_references(body: &Body) -> Vec<Reference> {
    let mut out = Vec::new();
    collect_body(body, &mut Vec::new(), &mut out);
    out
}

fn collect_body(body: &Body, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for attr in body.attributes.values() {
        let mut collector = Collector { file: attr.expr.file, bound: bound.clone(), out: Vec::new() };
        collector.expr(&attr.expr.expr);
        out.extend(collector.out);
    }
    for nested in &body.blocks {
        if nested.kind == "dynamic" {
            let iterator = nested
                .body
                .attributes
                .get("iterator")
                .and_then(|a| crate::config::static_traversal(&a.expr.expr))
                .and_then(|p| p.into_iter().next())
                .or_else(|| nested.labels.first().cloned())
                .unwrap_or_default();
            bound.push(iterator);
            collect_body(&nested.body, bound, out);
            bound.pop();
        } else {
            collect_body(&nested.body, bound, out);
        }
    }
}

struct Collector {
    file: FileId,
    bound: Vec<String>,
    out: Vec<Reference>,
}

impl Collector {
    fn push(&mut self, target: Target, range: Option<Range<usize>>) {
        self.out.push(Reference { target, file: self.file, range: range.unwrap_or(0..0) });
    }

    fn expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
            Expression::Array(array) => array.iter().for_each(|e| self.expr(e)),
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    if let ObjectKey::Expression(e) = key {
                        self.expr(e);
                    }
                    self.expr(value.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(_) => {}
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(call) => call.args.iter().for_each(|a| self.expr(a)),
            Expression::Traversal(t) => {
                self.traversal_root(&t.expr, &t.operators, t.span());
                for op in &t.operators {
                    if let TraversalOperator::Index(e) = op.value() {
                        self.expr(e);
                    }
                }
            }
            Expression::UnaryOp(op) => self.expr(&op.expr),
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr);
                self.expr(&op.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let depth = self.bound.len();
                if let Some(k) = &f.intro.key_var {
                    self.bound.push(k.as_str().to_owned());
                }
                self.bound.push(f.intro.value_var.as_str().to_owned());
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(depth);
            }
        }
    }

    fn traversal_root(
        &mut self,
        root: &Expression,
        ops: &[hcl_edit::Decorated<TraversalOperator>],
        range: Option<Range<usize>>,
    ) {
        let Expression::Variable(name) = root else {
            self.expr(root);
            return;
        };
        let name = name.as_str();
        if self.bound.iter().any(|b| b == name) {
            return;
        }
        let attr = |i: usize| match ops.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(ident)) => Some(ident.as_str().to_owned()),
            _ => None,
        };
        match name {
            "var" => {
                if let Some(v) = attr(0) {
                    self.push(Target::Variable(v), range);
                }
            }
            "local" => {
                if let Some(l) = attr(0) {
                    self.push(Target::Local(l), range);
                }
            }
            "data" => {
                if let (Some(t), Some(n)) = (attr(0), attr(1)) {
                    self.push(Target::Resource(ResourceId::data(t, n)), range);
                }
            }
            "module" => {
                if let Some(name) = attr(0) {
                    self.push(Target::Module { name, output: attr(1) }, range);
                }
            }
            "count" | "each" | "path" | "self" | "terraform" | "trustform" => {}
            type_name => {
                if let Some(n) = attr(0) {
                    self.push(Target::Resource(ResourceId::managed(type_name, n)), range);
                }
            }
        }
    }

    fn template(&mut self, template: &Template) {
        for element in template.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr);
                        self.template(&d.if_expr.template);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(d) => {
                        self.expr(&d.for_expr.collection_expr);
                        let depth = self.bound.len();
                        if let Some(k) = &d.for_expr.key_var {
                            self.bound.push(k.as_str().to_owned());
                        }
                        self.bound.push(d.for_expr.value_var.as_str().to_owned());
                        self.template(&d.for_expr.template);
                        self.bound.truncate(depth);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;

    #[test]
    fn finds_references_but_not_for_variables() {
        let (config, diags) = load_sources([(
            "main.tf".to_owned(),
            r#"locals {
                x = {
                  for r in aws_iam_role.all : r.name => "${var.prefix}-${local.suffix}"
                  if r.arn != data.aws_caller_identity.me.account_id
                }
            }"#
            .to_owned(),
        )]);
        assert!(diags.is_empty());
        let targets: Vec<Target> = references(&config.locals["x"].expr).into_iter().map(|r| r.target).collect();
        assert_eq!(
            targets,
            [
                Target::Resource(ResourceId::managed("aws_iam_role", "all")),
                Target::Variable("prefix".into()),
                Target::Local("suffix".into()),
                Target::Resource(ResourceId::data("aws_caller_identity", "me")),
            ]
        );
    }
}
