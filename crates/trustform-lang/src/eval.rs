//! Expression evaluation with unknown and sensitive values.
//!
//! The evaluator walks hcl-edit's syntax tree directly so every error can point at the exact
//! sub-expression. Unknown values propagate: any operation on an unknown yields an unknown.
//! Sensitive marks propagate: any operation on a sensitive value yields a sensitive value.

use crate::addr::{module_path_text, InstanceKey, ModuleStep, ResourceId};
use crate::config::{Body, Config, Expr};
use crate::functions::{self, FunctionContext};
use crate::partial::{Hole, Part, Partial};
use crate::suggest::closest;
use crate::value::{Number, Step, Value};
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span as _;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use trustform_diag::{Diagnostic, FileId};

/// Where resource values come from during one phase: planned values during plan (with
/// unknowns), applied values during apply.
pub trait ResourceValues: Sync {
    /// The value of a whole resource block: an object for a single instance, a list for
    /// `count`, an object keyed by `for_each` key; `None` if nothing is known of it yet.
    fn resource(&self, id: &ResourceId) -> Option<Value>;

    /// The value of resource block `id` of the module instance `module`; the root module's
    /// through [`ResourceValues::resource`] unless the implementation knows modules.
    fn resource_in(&self, module: &[ModuleStep], id: &ResourceId) -> Option<Value> {
        if module.is_empty() {
            self.resource(id)
        } else {
            None
        }
    }

    /// [`ResourceValues::resource_in`] read at the `steps` that follow the reference
    /// (`aws_iam_role.gateway.arn`, `aws_iam_role.each["k"].arn`): the value there and how many
    /// steps were taken (see [`Value::read_at`]). An implementation that holds the values
    /// overrides it to clone only what is read, not the whole block.
    fn resource_at(&self, module: &[ModuleStep], id: &ResourceId, steps: &[Step<'_>]) -> Option<(Value, usize)> {
        self.resource_in(module, id).map(|value| value.read_at(steps))
    }

    /// `module.NAME` seen from the module instance `from`: an object of its outputs, a list of
    /// them for `count`, a map for `for_each`; `None` when not known.
    fn module_call(&self, _from: &[ModuleStep], _name: &str) -> Option<Value> {
        None
    }
}

/// Local values computed once per phase. Valid for a whole phase because a local is only
/// evaluated after every resource it refers to has its value for that phase.
#[derive(Default)]
pub struct LocalsCache(Mutex<HashMap<String, Arc<Value>>>);

/// The instance being evaluated, for `count.index`, `each.key` and `each.value`.
#[derive(Debug, Clone, Default)]
pub enum Instance {
    #[default]
    None,
    Count(u64),
    Each {
        key: String,
        value: Value,
    },
}

impl Instance {
    pub fn key(&self) -> Option<InstanceKey> {
        match self {
            Instance::None => None,
            Instance::Count(i) => Some(InstanceKey::Int(*i)),
            Instance::Each { key, .. } => Some(InstanceKey::Str(key.clone())),
        }
    }
}

/// Everything an expression may refer to.
pub struct Scope<'a> {
    pub config: &'a Config,
    pub variables: &'a BTreeMap<String, Value>,
    pub resources: &'a dyn ResourceValues,
    pub locals: &'a LocalsCache,
    pub instance: Instance,
    /// Whether this evaluates for the apply step, where `timestamp()` is known.
    pub applying: bool,
    /// The module instance evaluated in (`config` is its module's); empty for the root.
    pub module: &'a [ModuleStep],
}

/// What went wrong while evaluating, with where.
pub type EvalResult<T> = Result<T, Box<Diagnostic>>;

impl<'a> Scope<'a> {
    pub fn new(
        config: &'a Config,
        variables: &'a BTreeMap<String, Value>,
        resources: &'a dyn ResourceValues,
        locals: &'a LocalsCache,
    ) -> Self {
        Scope { config, variables, resources, locals, instance: Instance::None, applying: false, module: &[] }
    }

    /// The same scope inside the module instance `module`, whose configuration is `config` and
    /// input variables `variables`.
    pub fn in_module(
        &self,
        module: &'a [ModuleStep],
        config: &'a Config,
        variables: &'a BTreeMap<String, Value>,
    ) -> Scope<'a> {
        Scope { module, config, variables, instance: Instance::None, ..*self }
    }

    /// The locals cache key of `name` in this scope's module instance (the name itself in the
    /// root, without a copy).
    fn local_key<'n>(&self, name: &'n str) -> std::borrow::Cow<'n, str> {
        if self.module.is_empty() {
            std::borrow::Cow::Borrowed(name)
        } else {
            std::borrow::Cow::Owned(format!("{}.{name}", module_path_text(self.module)))
        }
    }

    /// The same scope for the apply step.
    pub fn applying(self) -> Scope<'a> {
        Scope { applying: true, ..self }
    }

    pub fn with_instance(&self, instance: Instance) -> Scope<'a> {
        Scope { instance, ..*self }
    }

    /// Evaluates one expression.
    pub fn eval(&self, expr: &Expr) -> EvalResult<Value> {
        Evaluator { scope: self, file: expr.file, bound: Vec::new(), in_template: false }.expr(&expr.expr)
    }

    /// Evaluates `expr` with `name` bound to `value`: `self` in a postcondition.
    pub fn eval_with(&self, expr: &Expr, name: &str, value: Value) -> EvalResult<Value> {
        Evaluator { scope: self, file: expr.file, bound: vec![(name.to_owned(), value)], in_template: false }
            .expr(&expr.expr)
    }

    /// Evaluates a block body into an object: attributes by name, nested blocks as lists of
    /// objects grouped by block type (the schema's `conform` then shapes them). `dynamic`
    /// blocks are expanded here.
    pub fn eval_body(&self, body: &Body) -> EvalResult<Value> {
        let mut out = BTreeMap::new();
        for (name, attr) in &body.attributes {
            out.insert(name.clone(), self.eval(&attr.expr)?);
        }
        for nested in &body.blocks {
            if nested.kind == "dynamic" {
                let label = nested.labels.first().cloned().unwrap_or_default();
                let items = self.eval_dynamic(&label, &nested.body)?;
                push_block(&mut out, &label, items);
                continue;
            }
            let value = self.eval_body(&nested.body)?;
            push_block(&mut out, &nested.kind, value);
        }
        Ok(Value::Object(out))
    }

    /// `dynamic "statement" { for_each = ...; iterator = s; content { ... } }`
    fn eval_dynamic(&self, label: &str, body: &Body) -> EvalResult<Value> {
        let file = body.file.unwrap_or(FileId(0));
        let error = |detail: &str| {
            Box::new(
                Diagnostic::error(
                    "TF0210",
                    "Invalid dynamic block",
                    format!("{detail} A dynamic block needs for_each = <collection> and a content {{ ... }} block."),
                )
                .with_span(body.file.map(|f| self.config.sources.span(f, body.range.clone()))),
            )
        };
        let for_each = body.attributes.get("for_each").ok_or_else(|| error("The dynamic block has no for_each."))?;
        let content = body
            .blocks
            .iter()
            .find(|b| b.kind == "content")
            .ok_or_else(|| error("The dynamic block has no content block."))?;
        let iterator = match body.attributes.get("iterator") {
            Some(attr) => crate::config::static_traversal(&attr.expr.expr)
                .and_then(|p| p.into_iter().next())
                .ok_or_else(|| error("iterator must be a bare name."))?,
            None => label.to_owned(),
        };
        let collection = self.eval(&for_each.expr)?;
        let (collection, sensitive) = (collection.unmarked().clone(), collection.is_sensitive());
        if collection.is_unknown() {
            return Ok(Value::Unknown);
        }
        let mut items = Vec::new();
        for (key, value) in iterate(&collection).map_err(|msg| error(&msg))? {
            let element = Value::object([("key", key), ("value", value)]).mark_if(sensitive);
            let evaluator =
                Evaluator { scope: self, file, bound: vec![(iterator.clone(), element)], in_template: false };
            items.push(evaluator.body(&content.body)?);
        }
        Ok(Value::List(items))
    }

    /// A local's value, shared with the cache: a reference into it reads in place.
    fn local(&self, name: &str, range: Option<Range<usize>>, file: FileId) -> EvalResult<Arc<Value>> {
        if let Some(value) = self.locals.0.lock().unwrap_or_else(|e| e.into_inner()).get(self.local_key(name).as_ref())
        {
            return Ok(value.clone());
        }
        let Some(local) = self.config.locals.get(name) else {
            return Err(self.error(
                file,
                range,
                "TF0202",
                "Reference to undeclared local value",
                format!("No local value named \"{name}\" is declared. Declare it in a locals block, or fix the name."),
            ));
        };
        // The locals this one needs are evaluated first, deepest first, with an explicit stack:
        // evaluating them by recursion through references overflowed the thread's stack on a
        // chain of some ten thousand locals. Each evaluation below then finds its locals cached.
        for dependency in self.uncached_local_dependencies(name) {
            let Some(local) = self.config.locals.get(&dependency) else { continue };
            // An error is left for the evaluation that needs the value to report (or, under
            // try() or can(), not to report).
            if let Ok(value) = (Scope { instance: Instance::None, ..*self }).eval(&local.expr) {
                self.locals
                    .0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(self.local_key(&dependency).into_owned(), Arc::new(value));
            }
        }
        let value = Arc::new(Scope { instance: Instance::None, ..*self }.eval(&local.expr)?);
        self.locals
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.local_key(name).into_owned(), value.clone());
        Ok(value)
    }

    /// The declared locals that `name` refers to, directly or through other locals, that are not
    /// cached yet, each after the locals it refers to (`name` itself excluded). A cycle, which
    /// the graph reports on its own, is cut where it closes.
    fn uncached_local_dependencies(&self, name: &str) -> Vec<String> {
        let cached =
            |n: &str| self.locals.0.lock().unwrap_or_else(|e| e.into_inner()).contains_key(self.local_key(n).as_ref());
        let local_refs = |n: &str| -> Vec<String> {
            self.config.locals.get(n).map_or_else(Vec::new, |local| {
                crate::refs::references(&local.expr)
                    .into_iter()
                    .filter_map(|r| match r.target {
                        crate::refs::Target::Local(l) if self.config.locals.contains_key(&l) && !cached(&l) => Some(l),
                        _ => None,
                    })
                    .collect()
            })
        };
        let mut order = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::from([name.to_owned()]);
        let mut stack: Vec<(String, std::vec::IntoIter<String>)> =
            vec![(name.to_owned(), local_refs(name).into_iter())];
        while let Some((_, pending)) = stack.last_mut() {
            match pending.next() {
                Some(next) => {
                    if seen.insert(next.clone()) {
                        let refs = local_refs(&next).into_iter();
                        stack.push((next, refs));
                    }
                }
                None => {
                    if let Some((done, _)) = stack.pop() {
                        if done != name {
                            order.push(done);
                        }
                    }
                }
            }
        }
        order
    }

    fn error(
        &self,
        file: FileId,
        range: Option<Range<usize>>,
        code: &'static str,
        summary: &str,
        detail: String,
    ) -> Box<Diagnostic> {
        let span = range.map(|r| self.config.sources.span(file, r));
        Box::new(Diagnostic::error(code, summary, detail).with_span(span))
    }
}

fn push_block(out: &mut BTreeMap<String, Value>, kind: &str, value: Value) {
    let slot = out.entry(kind.to_owned()).or_insert_with(|| Value::List(Vec::new()));
    match (slot, value) {
        // A dynamic block over a collection not known yet: how many blocks there will be is
        // not known either, so the whole list of that kind is unknown (Terraform's dynblock
        // expansion gives an unknown value of the block type's list).
        (slot, Value::Unknown) => *slot = Value::Unknown,
        (Value::List(items), Value::List(more)) if kind_is_dynamic_result(&more) => items.extend(more),
        (Value::List(items), value) => items.push(value),
        (slot, _) => *slot = Value::Unknown,
    }
}

/// Dynamic blocks produce a list of bodies; plain blocks produce one body object.
fn kind_is_dynamic_result(items: &[Value]) -> bool {
    items.iter().all(|v| matches!(v, Value::Object(_)))
}

/// Key/value pairs of a collection, as `for` and `for_each` see them.
fn iterate(collection: &Value) -> Result<Vec<(Value, Value)>, String> {
    match collection.unmarked() {
        Value::List(items) => Ok(items.iter().enumerate().map(|(i, v)| (Value::from(i as i64), v.clone())).collect()),
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect()),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("A {} cannot be iterated; a list, set or map is required.", other.type_name())),
    }
}

struct Evaluator<'s, 'a> {
    scope: &'s Scope<'a>,
    file: FileId,
    /// Names bound by enclosing `for` expressions and dynamic blocks, innermost last.
    bound: Vec<(String, Value)>,
    /// Whether this evaluates a `templatefile` template, where `templatefile` may not be
    /// called again (a template that includes itself would never end).
    in_template: bool,
}

impl Evaluator<'_, '_> {
    fn error(
        &self,
        range: Option<Range<usize>>,
        code: &'static str,
        summary: &str,
        detail: impl Into<String>,
    ) -> Box<Diagnostic> {
        self.scope.error(self.file, range, code, summary, detail.into())
    }

    fn body(&self, body: &Body) -> EvalResult<Value> {
        let mut out = BTreeMap::new();
        for (name, attr) in &body.attributes {
            out.insert(name.clone(), self.expr(&attr.expr.expr)?);
        }
        for nested in &body.blocks {
            let value = self.body(&nested.body)?;
            push_block(&mut out, &nested.kind, value);
        }
        Ok(Value::Object(out))
    }

    fn expr(&self, expr: &Expression) -> EvalResult<Value> {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => Ok(Value::Number(*n.value())),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(array) => {
                let mut items = Vec::with_capacity(array.len());
                for item in array.iter() {
                    items.push(self.expr(item)?);
                }
                Ok(Value::List(items))
            }
            Expression::Object(object) => {
                let mut map = BTreeMap::new();
                let mut unknown_key = false;
                // A sensitive key marks the whole object, as HCL's ObjectConsExpr does
                // (hclsyntax/expression.go): a key is never shown, so the object is not either.
                let mut sensitive_key = false;
                for (key, value) in object.iter() {
                    let key = match key {
                        ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                        ObjectKey::Expression(e) => {
                            let k = self.expr(e)?;
                            if k.is_unknown() {
                                unknown_key = true;
                                continue;
                            }
                            sensitive_key |= k.is_sensitive();
                            self.to_string(&k, e.span())?
                        }
                    };
                    map.insert(key, self.expr(value.expr())?);
                }
                Ok(if unknown_key { Value::Unknown } else { Value::Object(map) }.mark_if(sensitive_key))
            }
            Expression::StringTemplate(template) => {
                // A template that is a single interpolation, "${x}", is x itself, of whatever
                // type: HCL's TemplateWrapExpr (hclsyntax/expression_template.go).
                let elements: Vec<&Element> = template.iter().collect();
                if let [Element::Interpolation(only)] = elements.as_slice() {
                    return self.expr(&only.expr);
                }
                self.template_with(template, Literals::Quoted)
            }
            Expression::HeredocTemplate(heredoc) => self.template_with(&heredoc.template, Literals::Raw),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => match self.lookup_bound(v.as_str()) {
                Some(value) => Ok(value),
                None => Err(self.bare_reference(v.as_str(), v.span())),
            },
            Expression::Conditional(c) => {
                let cond = self.expr(&c.cond_expr)?;
                let (cond_inner, sensitive) = (cond.unmarked(), cond.is_sensitive());
                let (chosen, other, chose_true) = match as_condition(cond_inner) {
                    Some(Value::Unknown) => return Ok(Value::Unknown),
                    Some(Value::Bool(true)) => (&c.true_expr, &c.false_expr, true),
                    Some(_) => (&c.false_expr, &c.true_expr, false),
                    None => {
                        return Err(self.error(
                            c.cond_expr.span(),
                            "TF0203",
                            "Incorrect condition type",
                            format!("The condition expression must be a bool, but it is a {}. Compare it explicitly, e.g. x != \"\".", cond_inner.type_name()),
                        ))
                    }
                };
                let value = self.expr(chosen)?;
                // Both results are converted to one type, as HCL's ConditionalExpr unifies
                // them: `true ? 1 : "x"` is the string "1". Errors of the other result are
                // not reported, as HCL reports only the chosen result's.
                let value = match self.expr(other) {
                    Ok(other) => {
                        if let Some((a, b)) = inconsistent_results(&value, &other) {
                            let (t, f) = if chose_true { (a, b) } else { (b, a) };
                            return Err(self.error(
                                expr.span(),
                                "TF0203",
                                "Inconsistent conditional result types",
                                format!("The true and false result expressions must have consistent types. The 'true' value is {t}, but the 'false' value is {f}."),
                            ));
                        }
                        unify_results(value, &other)
                    }
                    Err(_) => value,
                };
                Ok(value.mark_if(sensitive))
            }
            Expression::FuncCall(call) => self.call(call),
            Expression::Traversal(traversal) => self.traversal(traversal),
            Expression::UnaryOp(op) => {
                let value = self.expr(&op.expr)?;
                let (inner, sensitive) = (value.unmarked().clone(), value.is_sensitive());
                let result = match (op.operator.value(), inner) {
                    (_, Value::Unknown | Value::Partial(_)) => Value::Unknown,
                    (UnaryOperator::Neg, Value::Number(n)) => Value::Number(-n),
                    (UnaryOperator::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOperator::Not, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s != "true"),
                    (operator, other) => {
                        return Err(self.error(
                            op.expr.span(),
                            "TF0204",
                            "Invalid operand",
                            format!("The {operator:?} operator cannot be applied to a {}.", other.type_name()),
                        ))
                    }
                };
                Ok(result.mark_if(sensitive))
            }
            Expression::BinaryOp(op) => self.binary(op),
            Expression::ForExpr(for_expr) => self.for_expr(for_expr),
        }
    }

    fn lookup_bound(&self, name: &str) -> Option<Value> {
        self.bound.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn bare_reference(&self, name: &str, range: Option<Range<usize>>) -> Box<Diagnostic> {
        let detail = match name {
            "var" | "local" | "data" | "count" | "each" | "path" | "module" => {
                format!("\"{name}\" must be followed by an attribute, like {name}.NAME.")
            }
            _ => format!(
                "There is no variable named \"{name}\". Refer to input variables as var.NAME, local values as local.NAME and resources as TYPE.NAME."
            ),
        };
        self.error(range, "TF0201", "Invalid reference", detail)
    }

    fn to_string(&self, value: &Value, range: Option<Range<usize>>) -> EvalResult<String> {
        match value.unmarked() {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(functions::number_to_string(n)),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(self.error(
                range,
                "TF0205",
                "Invalid template interpolation value",
                format!(
                    "A {} cannot be converted to a string. Use jsonencode() for collections, or pick one element.",
                    other.type_name()
                ),
            )),
        }
    }

    fn template(&self, template: &Template) -> EvalResult<Value> {
        self.template_with(template, Literals::Raw)
    }

    fn template_with(&self, template: &Template, literals: Literals) -> EvalResult<Value> {
        let mut out = String::new();
        let mut state = TemplateState { parts: Vec::new(), sensitive: false, literals };
        self.template_into(template, &mut out, &mut state, Strips::default(), false)?;
        let value = if state.parts.is_empty() {
            Value::String(out)
        } else {
            state.parts.push(Part::Text(out));
            Partial::new(state.parts).map_or(Value::Unknown, |shape| Value::Partial(Box::new(shape)))
        };
        Ok(value.mark_if(state.sensitive))
    }

    /// Renders `template` into `out`. `strips` says whether the template's first and last
    /// literal lose their white space to a `~` of the directive around it; `nested` whether
    /// this is the body of a directive, whose literals a quoted string leaves escaped.
    fn template_into(
        &self,
        template: &Template,
        out: &mut String,
        state: &mut TemplateState,
        strips: Strips,
        nested: bool,
    ) -> EvalResult<()> {
        let elements: Vec<&Element> = template.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(literal) => {
                    // hcl-edit leaves the escapes of a quoted string's directive bodies as
                    // written; HCL reads them as in the rest of the string.
                    let unescaped;
                    let mut text: &str = literal.value();
                    if nested && state.literals == Literals::Quoted {
                        unescaped = unescape(text);
                        text = &unescaped;
                    }
                    if (i == 0 && strips.first) || (i > 0 && strips_after(elements[i - 1])) {
                        text = text.trim_start();
                    }
                    if (i + 1 == elements.len() && strips.last)
                        || elements.get(i + 1).is_some_and(|next| strips_before(next))
                    {
                        text = text.trim_end();
                    }
                    out.push_str(text);
                }
                Element::Interpolation(interp) => {
                    let value = self.expr(&interp.expr)?;
                    state.sensitive |= value.contains_sensitive();
                    if let Some(shape) = value.as_partial() {
                        state.hole_parts(out, shape.parts().iter().cloned());
                    } else if value.is_unknown() {
                        let hole = Hole { reference: reference_text(&interp.expr), not_null: true };
                        state.hole_parts(out, [Part::Hole(hole)]);
                    } else if value.is_null() {
                        return Err(self.error(
                            interp.expr.span(),
                            "TF0206",
                            "Invalid template interpolation value",
                            "The expression evaluates to null, which cannot be interpolated. Give it a value, or use coalesce(x, \"\").",
                        ));
                    } else {
                        out.push_str(&self.to_string(&value, interp.expr.span())?);
                    }
                }
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(d) => {
                        let cond = self.expr(&d.if_expr.cond_expr)?;
                        state.sensitive |= cond.is_sensitive();
                        let endif_strips = d.endif_expr.strip.strip_start();
                        let then_strips = Strips {
                            first: d.if_expr.strip.strip_end(),
                            last: d.else_expr.as_ref().map_or(endif_strips, |e| e.strip.strip_start()),
                        };
                        match as_condition(cond.unmarked()) {
                            Some(Value::Unknown) => state.hole_parts(out, [Part::Hole(Hole::maybe_empty())]),
                            Some(Value::Bool(true)) => {
                                self.template_into(&d.if_expr.template, out, state, then_strips, true)?
                            }
                            Some(_) => {
                                if let Some(else_expr) = &d.else_expr {
                                    let else_strips = Strips { first: else_expr.strip.strip_end(), last: endif_strips };
                                    self.template_into(&else_expr.template, out, state, else_strips, true)?;
                                }
                            }
                            None => {
                                return Err(self.error(
                                    d.if_expr.cond_expr.span(),
                                    "TF0203",
                                    "Incorrect condition type",
                                    format!("The %{{if}} condition must be a bool, but it is a {}.", cond.type_name()),
                                ))
                            }
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        let collection = self.expr(&f.collection_expr)?;
                        state.sensitive |= collection.is_sensitive();
                        if collection.is_unknown() {
                            state.hole_parts(out, [Part::Hole(Hole::maybe_empty())]);
                            continue;
                        }
                        let pairs = iterate(&collection)
                            .map_err(|m| self.error(f.collection_expr.span(), "TF0207", "Invalid for collection", m))?;
                        let body_strips =
                            Strips { first: f.strip.strip_end(), last: d.endfor_expr.strip.strip_start() };
                        for (key, value) in pairs {
                            let mut inner = Evaluator {
                                scope: self.scope,
                                file: self.file,
                                bound: self.bound.clone(),
                                in_template: self.in_template,
                            };
                            if let Some(k) = &f.key_var {
                                inner.bound.push((k.as_str().to_owned(), key));
                            }
                            inner.bound.push((f.value_var.as_str().to_owned(), value));
                            inner.template_into(&f.template, out, state, body_strips, true)?;
                        }
                    }
                },
            }
        }
        Ok(())
    }

    fn call(&self, call: &hcl_edit::expr::FuncCall) -> EvalResult<Value> {
        let name = call.name.name.as_str();
        let range = call.span();
        match name {
            "try" => {
                let mut last = None;
                for arg in call.args.iter() {
                    match self.expr(arg) {
                        Ok(v) => return Ok(v),
                        Err(e) => last = Some(e),
                    }
                }
                return Err(last.unwrap_or_else(|| {
                    self.error(range, "TF0208", "Invalid function call", "try() needs at least one argument.")
                }));
            }
            "can" => {
                let arg = call.args.iter().next().ok_or_else(|| {
                    self.error(range.clone(), "TF0208", "Invalid function call", "can() takes exactly one argument.")
                })?;
                return Ok(match self.expr(arg) {
                    Ok(v) if v.is_unknown() => Value::Unknown,
                    Ok(_) => Value::Bool(true),
                    Err(_) => Value::Bool(false),
                });
            }
            "templatefile" => return self.templatefile(call),
            _ => {}
        }
        if !functions::exists(name) {
            let names = functions::names().iter().copied().chain(["try", "can", "templatefile"]);
            let hint = closest(name, names).map(|s| format!(" Did you mean {s}()?")).unwrap_or_default();
            return Err(self.error(
                range,
                "TF0209",
                "Call to unknown function",
                format!("There is no function named \"{name}\".{hint}"),
            ));
        }
        let mut args = Vec::with_capacity(call.args.len());
        let count = call.args.len();
        for (i, arg) in call.args.iter().enumerate() {
            let value = self.expr(arg)?;
            if call.args.expand_final() && i + 1 == count {
                match value.unmarked() {
                    Value::List(items) => args.extend(items.iter().map(|v| v.clone().mark_if(value.is_sensitive()))),
                    Value::Unknown => return Ok(Value::Unknown),
                    other => {
                        return Err(self.error(
                            arg.span(),
                            "TF0208",
                            "Invalid expanding argument",
                            format!(
                                "The final argument is expanded with ..., so it must be a list, not a {}.",
                                other.type_name()
                            ),
                        ))
                    }
                }
            } else {
                args.push(value);
            }
        }
        let base_dir = self.scope.config.dir.clone();
        functions::call(name, args, &FunctionContext { base_dir: &base_dir, applying: self.scope.applying }).map_err(
            |e| {
                // Terraform's two summaries: an argument its parameter refuses, and a call that
                // fails as a whole.
                let summary = match e {
                    functions::FunctionError::Argument { .. } => "Invalid function argument",
                    _ => "Error in function call",
                };
                self.error(range, "TF0208", summary, format!("Call to function \"{name}\" failed: {e}"))
            },
        )
    }

    fn templatefile(&self, call: &hcl_edit::expr::FuncCall) -> EvalResult<Value> {
        let range = call.span();
        if self.in_template {
            // As Terraform's templatefile (lang/funcs/filesystem.go), which gives templates every
            // function but this one.
            return Err(self.error(
                range,
                "TF0208",
                "Error in function call",
                "Call to function \"templatefile\" failed: cannot recursively call templatefile from inside templatefile call. Render the inner template separately and pass its result in as a variable.",
            ));
        }
        let args: Vec<&Expression> = call.args.iter().collect();
        let [path_expr, vars_expr] = args.as_slice() else {
            return Err(self.error(
                range,
                "TF0208",
                "Invalid function call",
                "templatefile(path, vars) takes exactly two arguments.",
            ));
        };
        let path = self.expr(path_expr)?;
        let vars = self.expr(vars_expr)?;
        if path.is_unknown() || vars.contains_unknown() {
            return Ok(Value::Unknown);
        }
        let sensitive = path.contains_sensitive() || vars.contains_sensitive();
        let path = self.to_string(&path, path_expr.span())?;
        let full = self.scope.config.dir.join(&path);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            self.error(
                path_expr.span(),
                "TF0208",
                "Error in function call",
                format!(
                    "templatefile cannot read {}: {e}. Paths are relative to the spec's directory.",
                    full.display()
                ),
            )
        })?;
        let template = hcl_edit::parser::parse_template(&text).map_err(|e| {
            self.error(
                path_expr.span(),
                "TF0208",
                "Error in function call",
                format!(
                    "The template {path} is not valid at line {}, column {}: {}.",
                    e.location().line(),
                    e.location().column(),
                    e.message()
                ),
            )
        })?;
        let Some(vars) = vars.as_object() else {
            return Err(self.error(
                vars_expr.span(),
                "TF0208",
                "Error in function call",
                "templatefile's second argument must be an object of variables.",
            ));
        };
        let inner = Evaluator {
            scope: self.scope,
            file: self.file,
            bound: vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            in_template: true,
        };
        inner.template(&template).map(|v| v.mark_if(sensitive)).map_err(|mut e| {
            e.detail = format!("In template {path}: {}", e.detail);
            // The inner error's offsets are the template file's, not the spec's: point at the call.
            e.span = range.map(|r| self.scope.config.sources.span(self.file, r));
            e
        })
    }

    fn traversal(&self, traversal: &hcl_edit::expr::Traversal) -> EvalResult<Value> {
        let ops: Vec<&TraversalOperator> = traversal.operators.iter().map(|o| o.value()).collect();
        let (root, consumed) = self.root(&traversal.expr, &ops, traversal.span())?;
        self.apply_ops(root, &traversal.operators[consumed..])
    }

    /// Resolves the start of a traversal (`var.x`, `aws_iam_role.r`, `each.value`...) and how
    /// many operators that consumed.
    fn root(
        &self,
        expr: &Expression,
        ops: &[&TraversalOperator],
        range: Option<Range<usize>>,
    ) -> EvalResult<(Value, usize)> {
        let Expression::Variable(root) = expr else {
            return Ok((self.expr(expr)?, 0));
        };
        let name = root.as_str();
        if let Some(value) = self.lookup_bound(name) {
            return Ok((value, 0));
        }
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(ident)) => Some(ident.as_str()),
            _ => None,
        };
        let scope = self.scope;
        match name {
            "var" => {
                let var = attr(0).ok_or_else(|| self.bare_reference(name, range.clone()))?;
                match scope.variables.get(var) {
                    Some(value) => Ok(self.read_in_place(value, &ops[1..], 1)),
                    None => Err(self.error(
                        range,
                        "TF0200",
                        "Reference to undeclared input variable",
                        format!("An input variable named \"{var}\" is not declared. Declare it with variable \"{var}\" {{ ... }}, or fix the name."),
                    )),
                }
            }
            "local" => {
                let local = attr(0).ok_or_else(|| self.bare_reference(name, range.clone()))?;
                let value = scope.local(local, range, self.file)?;
                Ok(self.read_in_place(&value, &ops[1..], 1))
            }
            "count" => match (attr(0), &scope.instance) {
                (Some("index"), Instance::Count(i)) => Ok((Value::from(*i as i64), 1)),
                _ => Err(self.error(
                    range,
                    "TF0211",
                    "Invalid count reference",
                    "count.index can only be used in a resource that sets count.",
                )),
            },
            "each" => match (attr(0), &scope.instance) {
                (Some("key"), Instance::Each { key, .. }) => Ok((Value::from(key.as_str()), 1)),
                (Some("value"), Instance::Each { value, .. }) => Ok(self.read_in_place(value, &ops[1..], 1)),
                _ => Err(self.error(
                    range,
                    "TF0212",
                    "Invalid each reference",
                    "each.key and each.value can only be used in a resource that sets for_each.",
                )),
            },
            "path" => match attr(0) {
                Some("module" | "root") => Ok((Value::from(scope.config.dir.display().to_string()), 1)),
                Some("cwd") => {
                    Ok((Value::from(std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()), 1))
                }
                _ => Err(self.error(
                    range,
                    "TF0213",
                    "Invalid path reference",
                    "Use path.module, path.root or path.cwd.",
                )),
            },
            "module" => {
                let call = attr(0).ok_or_else(|| self.bare_reference(name, range.clone()))?;
                if !scope.config.module_calls.contains_key(call) {
                    let hint = closest(call, scope.config.module_calls.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean module.{s}?"))
                        .unwrap_or_default();
                    return Err(self.error(
                        range,
                        "TF0219",
                        "Reference to undeclared module",
                        format!("No module call named \"{call}\" is declared in this module. Declare it with module \"{call}\" {{ source = \"./path\" }}, or fix the name.{hint}"),
                    ));
                }
                Ok((scope.resources.module_call(scope.module, call).unwrap_or(Value::Unknown), 1))
            }
            "data" => match (attr(0), attr(1)) {
                (Some(t), Some(n)) => {
                    let (value, followed) = self.resource(&ResourceId::data(t, n), &ops[2..], range)?;
                    Ok((value, 2 + followed))
                }
                _ => Err(self.error(
                    range,
                    "TF0201",
                    "Invalid reference",
                    "A data source is referred to as data.TYPE.NAME.",
                )),
            },
            type_name => match attr(0) {
                Some(n) => {
                    let (value, followed) = self.resource(&ResourceId::managed(type_name, n), &ops[1..], range)?;
                    Ok((value, 1 + followed))
                }
                None => Err(self.bare_reference(name, range)),
            },
        }
    }

    /// The steps that start `ops` and can be read in place: attributes, and indexes whose value
    /// is a known string or number. An index is evaluated here, and again by `apply_ops` when
    /// the read stops before it (evaluation has no side effects; its errors are reported there).
    fn steps<'o>(&self, ops: &[&'o TraversalOperator]) -> Vec<Step<'o>> {
        let mut steps = Vec::new();
        for op in ops {
            match op {
                TraversalOperator::GetAttr(ident) => steps.push(Step::Attr(ident.as_str())),
                TraversalOperator::Index(index) => match self.expr(index) {
                    Ok(key @ (Value::String(_) | Value::Number(_))) => steps.push(Step::Key(key)),
                    _ => break,
                },
                TraversalOperator::LegacyIndex(n) => steps.push(Step::Key(Value::from(*n.value() as i64))),
                _ => break,
            }
        }
        steps
    }

    /// `value` read at the steps that start `ops` (see [`Value::read_at`]), cloning only what is
    /// read, and how many operators the root and the steps took (`consumed` for the root).
    fn read_in_place(&self, value: &Value, ops: &[&TraversalOperator], consumed: usize) -> (Value, usize) {
        let (value, taken) = value.read_at(&self.steps(ops));
        (value, consumed + taken)
    }

    /// The value of resource block `id`, read at the steps that start `ops`, and how many of
    /// `ops` that took.
    fn resource(
        &self,
        id: &ResourceId,
        ops: &[&TraversalOperator],
        range: Option<Range<usize>>,
    ) -> EvalResult<(Value, usize)> {
        if !self.scope.config.resources.contains_key(id) {
            let kind = if id.mode == crate::addr::Mode::Data { "data source" } else { "managed resource" };
            return Err(self.error(
                range,
                "TF0201",
                "Reference to undeclared resource",
                format!(
                    "A {kind} \"{}\" \"{}\" has not been declared. Declare it, or fix the reference.",
                    id.type_name, id.name
                ),
            ));
        }
        let steps = self.steps(ops);
        Ok(self.scope.resources.resource_at(self.scope.module, id, &steps).unwrap_or((Value::Unknown, steps.len())))
    }

    fn apply_ops(&self, mut value: Value, ops: &[hcl_edit::Decorated<TraversalOperator>]) -> EvalResult<Value> {
        for (i, op) in ops.iter().enumerate() {
            let (inner, sensitive) = value.into_unmarked();
            if inner.is_unknown() {
                return Ok(Value::Unknown);
            }
            value = match op.value() {
                TraversalOperator::GetAttr(ident) => self.take_attr(inner, ident.as_str(), op.span())?,
                TraversalOperator::Index(index_expr) => {
                    let index = self.expr(index_expr)?;
                    if index.is_unknown() {
                        return Ok(Value::Unknown);
                    }
                    self.index(&inner, &index, index_expr.span())?
                }
                TraversalOperator::LegacyIndex(n) => self.index(&inner, &Value::from(*n.value() as i64), op.span())?,
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let items = match inner {
                        Value::Null => Vec::new(),
                        Value::List(items) => items,
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.apply_ops(item, rest)?);
                    }
                    return Ok(Value::List(out).mark_if(sensitive));
                }
            }
            .mark_if(sensitive);
        }
        Ok(value)
    }

    /// Attribute `name` of `value`, moved out of it.
    fn take_attr(&self, value: Value, name: &str, range: Option<Range<usize>>) -> EvalResult<Value> {
        match value {
            Value::Object(mut map) => match map.remove(name) {
                Some(attribute) => Ok(attribute),
                None => self.get_attr(&Value::Object(map), name, range),
            },
            other => self.get_attr(&other, name, range),
        }
    }

    fn get_attr(&self, value: &Value, name: &str, range: Option<Range<usize>>) -> EvalResult<Value> {
        match value {
            Value::Object(map) => map.get(name).cloned().ok_or_else(|| {
                let hint = closest(name, map.keys().map(String::as_str)).map(|s| format!(" Did you mean \"{s}\"?")).unwrap_or_default();
                self.error(range, "TF0214", "Unsupported attribute", format!("This object does not have an attribute named \"{name}\".{hint}"))
            }),
            Value::List(_) => Err(self.error(
                range,
                "TF0214",
                "Unsupported attribute",
                format!("This value is a list (a resource with count or a list attribute), so it has no attribute \"{name}\". Pick one element with [INDEX], or use [*].{name} for all of them."),
            )),
            other => Err(self.error(range, "TF0214", "Unsupported attribute", format!("A {} has no attributes; \"{name}\" cannot be read from it.", other.type_name()))),
        }
    }

    fn index(&self, value: &Value, index: &Value, range: Option<Range<usize>>) -> EvalResult<Value> {
        let sensitive = index.is_sensitive();
        let result = match (value, index.unmarked()) {
            (Value::List(items), key) => {
                let n = match key {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if n >= 0 && (n as usize) < items.len() => items[n as usize].clone(),
                    Some(n) => {
                        // As Terraform, a sensitive index is never quoted.
                        let index = if sensitive { "(sensitive value)".to_owned() } else { n.to_string() };
                        return Err(self.error(
                            range,
                            "TF0215",
                            "Invalid index",
                            format!("The index {index} is out of range: the list has {} element(s).", items.len()),
                        ));
                    }
                    None => {
                        return Err(self.error(
                            range,
                            "TF0215",
                            "Invalid index",
                            "A list can only be indexed by a whole number.",
                        ))
                    }
                }
            }
            (Value::Object(map), key) => {
                let key = self.to_string(key, range.clone())?;
                match map.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(self.error(
                            range,
                            "TF0215",
                            "Invalid index",
                            match sensitive {
                                true => "The map has no element with the given key (the key is not shown because it is sensitive).".to_owned(),
                                false => format!("The map has no element with the key \"{key}\"."),
                            },
                        ))
                    }
                }
            }
            (other, _) => {
                return Err(self.error(
                    range,
                    "TF0215",
                    "Invalid index",
                    format!("A {} cannot be indexed.", other.type_name()),
                ))
            }
        };
        Ok(result.mark_if(sensitive))
    }

    fn binary(&self, op: &hcl_edit::expr::BinaryOp) -> EvalResult<Value> {
        use BinaryOperator::*;
        let operator = *op.operator.value();
        let lhs = self.expr(&op.lhs_expr)?;
        // `&&` and `||` short-circuit on a known left side, as Terraform does.
        if let (And | Or, Some(Value::Bool(b))) = (operator, as_condition(lhs.unmarked())) {
            if (operator == And && !b) || (operator == Or && b) {
                return Ok(Value::Bool(b).mark_if(lhs.is_sensitive()));
            }
        }
        let rhs = self.expr(&op.rhs_expr)?;
        let sensitive = lhs.contains_sensitive() || rhs.contains_sensitive();
        let (l, r) = (lhs.deep_unmark(), rhs.deep_unmark());
        if matches!(operator, Eq | NotEq) {
            if l.contains_unknown() || r.contains_unknown() {
                return Ok(Value::Unknown);
            }
            // Values of different types are never equal: a list is not a tuple, a map is not
            // an object (`tolist(["a"]) == ["a"]` is false in Terraform).
            let kinds = (
                crate::kinds::static_kind(self.scope.config, &op.lhs_expr),
                crate::kinds::static_kind(self.scope.config, &op.rhs_expr),
            );
            let different_types = matches!(kinds, (Some(a), Some(b)) if a != b) && !l.is_null() && !r.is_null();
            let equal = !different_types && values_equal_loosely(&l, &r);
            return Ok(Value::Bool(if operator == Eq { equal } else { !equal }).mark_if(sensitive));
        }
        if l.is_unknown() || r.is_unknown() {
            return Ok(Value::Unknown);
        }
        let type_error = |expected: &str| {
            self.error(
                op.span(),
                "TF0204",
                "Invalid operand",
                format!(
                    "The operator {} needs {expected} operands, but got a {} and a {}.",
                    operator_text(operator),
                    l.type_name(),
                    r.type_name()
                ),
            )
        };
        let result = match operator {
            And | Or => match (as_condition(&l), as_condition(&r)) {
                (Some(Value::Bool(a)), Some(Value::Bool(b))) => {
                    Value::Bool(if operator == And { a && b } else { a || b })
                }
                _ => return Err(type_error("bool")),
            },
            _ => {
                let (Some(a), Some(b)) = (to_number(&l), to_number(&r)) else {
                    return Err(type_error("number"));
                };
                match operator {
                    Plus => Value::Number(functions::numeric::add(&a, &b)),
                    Minus => Value::Number(functions::numeric::sub(&a, &b)),
                    Mul => Value::Number(functions::numeric::mul(&a, &b)),
                    Div | Mod if b.as_f64() == Some(0.0) => {
                        return Err(self.error(
                            op.span(),
                            "TF0216",
                            "Division by zero",
                            "The right side of / or % is zero.",
                        ))
                    }
                    Div => Value::Number(a / b),
                    Mod => Value::Number(a % b),
                    Less | LessEq | Greater | GreaterEq => {
                        let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
                        Value::Bool(match operator {
                            Less => x < y,
                            LessEq => x <= y,
                            Greater => x > y,
                            _ => x >= y,
                        })
                    }
                    Eq | NotEq | And | Or => unreachable!("handled above"),
                }
            }
        };
        Ok(result.mark_if(sensitive))
    }

    fn for_expr(&self, f: &hcl_edit::expr::ForExpr) -> EvalResult<Value> {
        let intro = &f.intro;
        let collection = self.expr(&intro.collection_expr)?;
        // Marks of the collection, of a sensitive key and of a sensitive filter mark the result,
        // as HCL's ForExpr does (hclsyntax/expression.go).
        let mut sensitive = collection.is_sensitive();
        if collection.is_unknown() {
            return Ok(Value::Unknown);
        }
        let pairs = iterate(&collection)
            .map_err(|m| self.error(intro.collection_expr.span(), "TF0207", "Invalid for collection", m))?;
        let mut list = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        for (key, value) in pairs {
            let mut inner = Evaluator {
                scope: self.scope,
                file: self.file,
                bound: self.bound.clone(),
                in_template: self.in_template,
            };
            if let Some(k) = &intro.key_var {
                inner.bound.push((k.as_str().to_owned(), key));
            }
            inner.bound.push((intro.value_var.as_str().to_owned(), value));
            if let Some(cond) = &f.cond {
                let keep = inner.expr(&cond.expr)?;
                sensitive |= keep.is_sensitive();
                let keep = as_condition(keep.unmarked()).unwrap_or_else(|| keep.unmarked().clone());
                match &keep {
                    Value::Bool(true) => {}
                    Value::Bool(false) => continue,
                    Value::Unknown => {
                        unknown = true;
                        continue;
                    }
                    other => {
                        return Err(self.error(
                            cond.expr.span(),
                            "TF0203",
                            "Incorrect condition type",
                            format!("The for filter must be a bool, but it is a {}.", other.type_name()),
                        ))
                    }
                }
            }
            let value = inner.expr(&f.value_expr)?;
            match &f.key_expr {
                None => list.push(value),
                Some(key_expr) => {
                    let key = inner.expr(key_expr)?;
                    if key.is_unknown() {
                        unknown = true;
                        continue;
                    }
                    let key_sensitive = key.is_sensitive();
                    sensitive |= key_sensitive;
                    let key = inner.to_string(&key, key_expr.span())?;
                    if f.grouping {
                        grouped.entry(key).or_default().push(value);
                    } else if object.insert(key.clone(), value).is_some() {
                        let shown = if key_sensitive { "(sensitive value)".to_owned() } else { format!("\"{key}\"") };
                        return Err(self.error(
                            key_expr.span(),
                            "TF0217",
                            "Duplicate object key",
                            format!("Two elements produced the key {shown}. Make the keys unique, or add ... after the value to group them."),
                        ));
                    }
                }
            }
        }
        if unknown {
            return Ok(Value::Unknown);
        }
        let result = match &f.key_expr {
            None => Value::List(list),
            Some(_) if f.grouping => Value::Object(grouped.into_iter().map(|(k, v)| (k, Value::List(v))).collect()),
            Some(_) => Value::Object(object),
        };
        Ok(result.mark_if(sensitive))
    }
}

fn strips_after(element: &Element) -> bool {
    match element {
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
        Element::Literal(_) => false,
    }
}

fn strips_before(element: &Element) -> bool {
    match element {
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
        Element::Literal(_) => false,
    }
}

/// How a template's literals were written: in a quoted string, whose directive bodies
/// hcl-edit leaves escaped, or raw (heredocs, template files).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literals {
    Quoted,
    Raw,
}

struct TemplateState {
    /// The text and holes before the text being written, once a hole was met.
    parts: Vec<Part>,
    sensitive: bool,
    literals: Literals,
}

impl TemplateState {
    /// Ends the text written so far and adds `parts` (holes, or a spliced shape) after it.
    fn hole_parts(&mut self, out: &mut String, parts: impl IntoIterator<Item = Part>) {
        self.parts.push(Part::Text(std::mem::take(out)));
        self.parts.extend(parts);
    }
}

/// The expression a hole's value comes from, as written (`aws_iam_role.gateway.name`, or
/// `replace(aws_eks_cluster.x.identity[0].oidc[0].issuer, "https://", "")`), so a hole can say
/// where its value will come from and two holes of one expression are known to be equal.
fn reference_text(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Parenthesis(inner) => reference_text(inner.inner()),
        _ => Some(expr.to_string().trim().to_owned()).filter(|text| !text.is_empty()),
    }
}

/// Whether the first and the last literal of a directive's body are stripped by the `~` of
/// the directive markers around the body.
#[derive(Clone, Copy, Default)]
struct Strips {
    first: bool,
    last: bool,
}

/// The escapes of a quoted HCL string: `\n`, `\r`, `\t`, `\"`, `\\`, `\uNNNN`,
/// `\UNNNNNNNN`. Anything else is left as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(u @ ('u' | 'U')) => {
                let width = if u == 'u' { 4 } else { 8 };
                let digits: String = (0..width).filter_map(|_| chars.next_if(char::is_ascii_hexdigit)).collect();
                match u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if digits.len() == width => out.push(decoded),
                    _ => {
                        out.push('\\');
                        out.push(u);
                        out.push_str(&digits);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A condition's value as a bool: a bool, or the strings "true" and "false", which HCL
/// converts where a bool is expected. `Some(Unknown)` for an unknown; `None` for anything else.
fn as_condition(value: &Value) -> Option<Value> {
    match value {
        Value::Bool(b) => Some(Value::Bool(*b)),
        Value::String(s) if s == "true" => Some(Value::Bool(true)),
        Value::String(s) if s == "false" => Some(Value::Bool(false)),
        Value::Unknown | Value::Partial(_) => Some(Value::Unknown),
        _ => None,
    }
}

/// The types of two conditional results that no conversion unifies: a number and a bool
/// (a string unifies with either; null, unknown and collections are left to conversion).
fn inconsistent_results(a: &Value, b: &Value) -> Option<(&'static str, &'static str)> {
    match (a.unmarked(), b.unmarked()) {
        (Value::Number(_), Value::Bool(_)) | (Value::Bool(_), Value::Number(_)) => Some((a.type_name(), b.type_name())),
        _ => None,
    }
}

/// The chosen result of a conditional converted to the type both results unify to: a
/// number or bool becomes a string when the other result is a string (cty's convert.Unify).
fn unify_results(chosen: Value, other: &Value) -> Value {
    let sensitive = chosen.is_sensitive();
    let converted = match (chosen.unmarked(), other.unmarked()) {
        (Value::Number(n), Value::String(_)) => Value::String(functions::number_to_string(n)),
        (Value::Bool(b), Value::String(_)) => Value::String(b.to_string()),
        _ => return chosen,
    };
    converted.mark_if(sensitive)
}

fn to_number(value: &Value) -> Option<Number> {
    match value {
        Value::Number(n) => Some(*n),
        Value::String(s) => crate::types::parse_number(s),
        _ => None,
    }
}

/// `==` as Terraform's: values of different types are unequal, numbers compare by value, sets
/// compare without order.
fn values_equal_loosely(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal_loosely(p, q))
        }
        _ => a == b,
    }
}

fn operator_text(op: BinaryOperator) -> &'static str {
    op.as_str()
}

/// Evaluates an expression that needs no scope (a `-var` value, a tfvars file).
pub fn eval_constant(config: &Config, expr: &Expr) -> EvalResult<Value> {
    struct NoResources;
    impl ResourceValues for NoResources {
        fn resource(&self, _: &ResourceId) -> Option<Value> {
            None
        }
    }
    let variables = BTreeMap::new();
    let locals = LocalsCache::default();
    let scope = Scope::new(config, &variables, &NoResources, &locals);
    scope.eval(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;

    struct Fixed(BTreeMap<ResourceId, Value>);
    impl ResourceValues for Fixed {
        fn resource(&self, id: &ResourceId) -> Option<Value> {
            self.0.get(id).cloned()
        }
    }

    /// Evaluates `local.out` of a spec with a role whose arn is unknown and a secret variable.
    fn eval_local(spec: &str) -> EvalResult<Value> {
        let (config, diags) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
        assert!(diags.is_empty(), "{diags:?}");
        let variables = BTreeMap::from([
            ("names".to_owned(), Value::List(vec!["a".into(), "b".into()])),
            ("secret".to_owned(), Value::from("hunter2").sensitive()),
            ("n".to_owned(), Value::from(3)),
        ]);
        let role = Value::object([("name", Value::from("gw")), ("arn", Value::Unknown)]);
        let resources = Fixed(BTreeMap::from([(ResourceId::managed("aws_iam_role", "r"), role)]));
        let locals = LocalsCache::default();
        let scope = Scope::new(&config, &variables, &resources, &locals);
        scope.eval(&config.locals["out"].expr)
    }

    fn ok(expr: &str) -> String {
        let spec = format!("resource \"aws_iam_role\" \"r\" {{}}\nlocals {{\n  out = {expr}\n}}\n");
        eval_local(&spec).map(|v| v.render()).unwrap_or_else(|e| panic!("{expr}: {e:?}"))
    }

    fn err(expr: &str) -> (String, String) {
        let spec = format!("resource \"aws_iam_role\" \"r\" {{}}\nlocals {{\n  out = {expr}\n}}\n");
        let e = eval_local(&spec).expect_err(expr);
        (e.span.map(|s| s.to_string()).unwrap_or_default(), e.summary)
    }

    #[test]
    fn evaluates_expressions() {
        assert_eq!(ok(r#""role-${aws_iam_role.r.name}""#), r#""role-gw""#);
        assert_eq!(
            ok("[for n in var.names : upper_${n}]".replace("upper_${n}", "\"x-${n}\"").as_str()),
            r#"["x-a", "x-b"]"#
        );
        assert_eq!(ok(r#"{ for i, n in var.names : n => i if n != "b" }"#), "{a = 0}");
        assert_eq!(ok("var.n > 2 ? \"big\" : \"small\""), r#""big""#);
        assert_eq!(ok("(var.n + 1) * 2 % 5"), "3");
        assert_eq!(ok("!(var.n == 3) || false"), "false");
        assert_eq!(ok("[{a = 1}, {a = 2}][*].a"), "[1, 2]");
        assert_eq!(ok(r#"{ "k" = var.names[1] }["k"]"#), r#""b""#);
        assert_eq!(ok("\"%{for n in var.names}${n};%{endfor}\""), r#""a;b;""#);
        assert_eq!(ok("\"%{if var.n == 3}three%{else}other%{endif}\""), r#""three""#);
        assert_eq!(ok("<<-EOT\n    line ${var.n}\n    EOT"), "\"line 3\\n\"");
    }

    fn shape(expr: &str) -> Option<String> {
        let spec = format!("resource \"aws_iam_role\" \"r\" {{}}\nlocals {{\n  out = {expr}\n  pre = \"arn:${{aws_iam_role.r.arn}}\"\n}}\n");
        eval_local(&spec).unwrap_or_else(|e| panic!("{expr}: {e:?}")).as_partial().map(|p| p.to_template())
    }

    #[test]
    fn templates_keep_the_shape_of_unknown_strings() {
        assert_eq!(
            shape(r#""member/${aws_iam_role.r.name}/${aws_iam_role.r.arn}:x""#).as_deref(),
            Some("member/gw/${aws_iam_role.r.arn}:x"),
            "known text, known values and the unknown's reference"
        );
        assert_eq!(
            shape(r#""${local.pre}/${ aws_iam_role.r.arn }""#).as_deref(),
            Some("arn:${aws_iam_role.r.arn}/${aws_iam_role.r.arn}"),
            "a shape interpolated into another is spliced"
        );
        assert_eq!(
            shape(r#""a${upper(aws_iam_role.r.arn)}""#).as_deref(),
            Some("a${upper(aws_iam_role.r.arn)}"),
            "a function call is a hole with the call as written"
        );
        assert_eq!(shape(r#""a%{if aws_iam_role.r.arn == "x"}y%{endif}b""#).as_deref(), Some("a${...}b"));
        assert_eq!(shape(r#"upper("a${aws_iam_role.r.arn}")"#), None, "functions drop the shape");
        assert_eq!(shape(r#"tonumber("1${aws_iam_role.r.arn}")"#), None);
        assert_eq!(shape(r#""${aws_iam_role.r.arn}""#), None, "a single interpolation is the value itself");
        assert_eq!(
            shape(r#"jsonencode({ a = "x${aws_iam_role.r.arn}", b = aws_iam_role.r.arn, c = ["<&>"] })"#).as_deref(),
            Some(r#"{"a":"x${aws_iam_role.r.arn}","b":${...},"c":["\u003c\u0026\u003e"]}"#),
            "jsonencode keeps a document's shape, escaping its known text as Terraform does"
        );
        assert_eq!(shape("jsonencode(aws_iam_role.r.arn)"), None, "a wholly unknown document is unknown");
        let secret = eval_local(
            "resource \"aws_iam_role\" \"r\" {}\nlocals {\n  out = \"${var.secret}/${aws_iam_role.r.arn}\"\n}\n",
        )
        .unwrap();
        assert!(secret.is_sensitive() && secret.as_partial().is_some(), "the mark wraps the shape");
        assert_eq!(secret.to_string(), "(sensitive value)");
        let hole = eval_local("resource \"aws_iam_role\" \"r\" {}\nlocals {\n  out = \"x/${aws_iam_role.r.arn}\"\n}\n")
            .unwrap();
        let holes: Vec<&Hole> = hole.as_partial().unwrap().holes().collect();
        assert_eq!(holes.len(), 1);
        assert!(holes[0].not_null, "an interpolated null is an error, so a hole is not null");
        assert_eq!(hole.to_string(), "(known after apply)", "rendered as before");
    }

    #[test]
    fn keys_of_a_map_of_partly_unknown_objects_are_known() {
        // `[for k in sort(keys(google_service_account.gw)) : google_service_account.gw[k].email]`
        // with every email known and another attribute unknown: the emails stay known.
        let (config, diags) = load_sources([(
            "main.tf".to_owned(),
            "resource \"google_service_account\" \"gw\" {}\nlocals {\n  out = [for k in sort(keys(google_service_account.gw)) : google_service_account.gw[k].email]\n}\n".to_owned(),
        )]);
        assert!(diags.is_empty(), "{diags:?}");
        let account = |email: &str| Value::object([("email", Value::from(email)), ("unique_id", Value::Unknown)]);
        let instances = Value::object([
            ("b", account("b@p.iam.gserviceaccount.com")),
            ("a", account("a@p.iam.gserviceaccount.com")),
        ]);
        let resources = Fixed(BTreeMap::from([(ResourceId::managed("google_service_account", "gw"), instances)]));
        let (variables, locals) = (BTreeMap::new(), LocalsCache::default());
        let scope = Scope::new(&config, &variables, &resources, &locals);
        let out = scope.eval(&config.locals["out"].expr).unwrap();
        assert_eq!(out.render(), r#"["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"]"#);
    }

    #[test]
    fn unknown_and_sensitive_propagate() {
        assert_eq!(ok(r#""arn=${aws_iam_role.r.arn}""#), "(known after apply)");
        assert_eq!(ok("aws_iam_role.r.arn == \"x\""), "(known after apply)");
        assert_eq!(ok("[aws_iam_role.r.arn, \"x\"]"), r#"[(known after apply), "x"]"#);
        assert_eq!(ok(r#""pw=${var.secret}""#), "(sensitive value)");
        assert_eq!(ok("var.secret == \"x\""), "(sensitive value)");
        assert_eq!(ok("{ a = var.secret }"), "{a = (sensitive value)}");
    }

    #[test]
    fn errors_point_at_the_expression() {
        assert_eq!(err("var.nope"), ("main.tf:3:9".into(), "Reference to undeclared input variable".into()));
        assert_eq!(err("aws_iam_role.missing.arn"), ("main.tf:3:9".into(), "Reference to undeclared resource".into()));
        assert_eq!(err("local.nothing"), ("main.tf:3:9".into(), "Reference to undeclared local value".into()));
        assert_eq!(err("aws_iam_role.r.nmae"), ("main.tf:3:23".into(), "Unsupported attribute".into()));
        assert_eq!(err("var.names[5]"), ("main.tf:3:19".into(), "Invalid index".into()));
        assert_eq!(err("1 + \"x\""), ("main.tf:3:9".into(), "Invalid operand".into()));
        assert_eq!(err("nosuchfn(1)"), ("main.tf:3:9".into(), "Call to unknown function".into()));
        assert_eq!(err("var.n ? 1 : 2"), ("main.tf:3:9".into(), "Incorrect condition type".into()));
    }

    /// hashicorp/hcl's hclsyntax/spec.md, "Template Interpolation Unwrapping" and "Template
    /// Strip Markers", and its ConditionalExpr's type unification.
    #[test]
    fn templates_and_conditionals_follow_hcl() {
        // "${x}" alone is x itself.
        assert_eq!(ok(r#""${var.n}""#), "3");
        assert_eq!(ok(r#""${var.names}""#), r#"["a", "b"]"#);
        assert_eq!(ok(r#""${true}""#), "true");
        assert_eq!(ok(r#"" ${var.n}""#), r#"" 3""#);
        // Strip markers, in strings, heredocs and directive bodies.
        assert_eq!(ok(r#""a ${~ "b" ~} c""#), r#""abc""#);
        assert_eq!(ok("<<EOT\nhello\n%{ for n in var.names ~}\n  ${n}\n%{ endfor ~}\nEOT"), r#""hello\na\nb\n""#);
        assert_eq!(ok("<<EOT\n%{~ if true ~}\n  yes\n%{~ endif ~}\nEOT"), r#""yes""#);
        assert_eq!(ok(r#""%{ if true }\n  yes\n%{ endif }""#), r#""\n  yes\n""#);
        assert_eq!(ok(r#""[%{ for n in var.names ~} ${n} %{~ endfor }]""#), r#""[ab]""#);
        assert_eq!(ok(r#""%{ if false }x%{ else ~}  y  %{~ endif }""#), r#""y""#);
        // Both results of a conditional unify to one type.
        assert_eq!(ok(r#"true ? 1 : "x""#), r#""1""#);
        assert_eq!(ok(r#"false ? "x" : true"#), r#""true""#);
        assert_eq!(ok("true ? 1 : 2"), "1");
        assert_eq!(ok("true ? var.n : var.names[5]"), "3");
        assert_eq!(err("true ? 1 : false").1, "Inconsistent conditional result types");
        // The strings "true" and "false" are bools where a bool is expected.
        assert_eq!(ok(r#""true" ? "yes" : "no""#), r#""yes""#);
        assert_eq!(ok(r#"!"false""#), "true");
        assert_eq!(ok(r#""true" && "false""#), "false");
        assert_eq!(ok(r#"[for n in var.names : n if "true"]"#), r#"["a", "b"]"#);
        assert_eq!(err(r#""yes" ? 1 : 2"#).1, "Incorrect condition type");
        // == compares types too: a list is not a tuple.
        assert_eq!(ok(r#"tolist(["a"]) == ["a"]"#), "false");
        assert_eq!(ok(r#"tolist(["a"]) == tolist(["a"])"#), "true");
        assert_eq!(ok(r#"["a"] == ["a"]"#), "true");
        assert_eq!(ok(r#"toset(["a"]) != ["a"]"#), "true");
        assert_eq!(ok("0.1 + 0.2 == 0.3"), "true");
    }

    #[test]
    fn bodies_expand_dynamic_blocks() {
        let (config, diags) = load_sources([(
            "main.tf".to_owned(),
            r#"
            variable "actions" { default = ["a", "b"] }
            resource "x_policy" "p" {
              name = "p"
              dynamic "statement" {
                for_each = var.actions
                content {
                  action = statement.value
                }
              }
              statement { action = "c" }
            }
            "#
            .to_owned(),
        )]);
        assert!(diags.is_empty());
        let variables = BTreeMap::from([("actions".to_owned(), Value::List(vec!["a".into(), "b".into()]))]);
        let locals = LocalsCache::default();
        let resources = Fixed(BTreeMap::new());
        let scope = Scope::new(&config, &variables, &resources, &locals);
        let body = scope.eval_body(&config.resources[&ResourceId::managed("x_policy", "p")].body).unwrap();
        assert_eq!(body.render(), r#"{name = "p", statement = [{action = "a"}, {action = "b"}, {action = "c"}]}"#);
    }

    #[test]
    fn a_dynamic_block_over_an_unknown_collection_leaves_its_blocks_unknown() {
        // Not one block with no arguments (which the schema would call incomplete): the
        // number of blocks is not known either.
        let (config, diags) = load_sources([(
            "main.tf".to_owned(),
            r#"
            variable "roles" {}
            resource "x_app" "a" {
              dynamic "role" {
                for_each = var.roles
                content {
                  value = role.key
                }
              }
            }
            "#
            .to_owned(),
        )]);
        assert!(diags.is_empty());
        let variables = BTreeMap::from([("roles".to_owned(), Value::Unknown)]);
        let locals = LocalsCache::default();
        let resources = Fixed(BTreeMap::new());
        let scope = Scope::new(&config, &variables, &resources, &locals);
        let body = scope.eval_body(&config.resources[&ResourceId::managed("x_app", "a")].body).unwrap();
        assert_eq!(body.get("role"), Some(&Value::Unknown));
    }
}
