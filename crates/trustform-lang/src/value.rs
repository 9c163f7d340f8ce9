//! The dynamic value model of the language.
//!
//! Two things set it apart from a plain JSON value:
//!
//! * [`Value::Unknown`] is a value in its own right: an attribute a cloud computes on create
//!   (an ARN, a project number) is unknown at plan time and renders as `(known after apply)`.
//!   Anything computed from an unknown is unknown, except a template's string, which keeps its
//!   known text around the unknown pieces ([`Value::Partial`]).
//! * [`Value::Sensitive`] marks a value as secret. The mark travels through every operation, and
//!   every `Display` and `Debug` of a sensitive value prints `(sensitive value)`.

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

use crate::partial::Partial;

pub use hcl_edit::Number;

/// What `Display` and `Debug` print instead of a sensitive value.
pub const REDACTED: &str = "(sensitive value)";
/// `text` with every occurrence of one of `secrets` replaced by [`REDACTED`], longest first.
/// Texts shorter than three characters are left alone: they are no secret, and replacing every
/// `1` or `a` would make the message unreadable.
pub fn redact_texts(text: &str, secrets: &[String]) -> String {
    let mut secrets: Vec<&String> = secrets.iter().filter(|s| s.chars().count() >= 3).collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// What `Display` prints for a value that is not known until apply.
pub const UNKNOWN: &str = "(known after apply)";

/// A value of the language. Objects and maps share one variant with sorted keys, so every
/// rendering of a value is deterministic. Sets are lists kept sorted and without duplicates.
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// Known only after apply.
    Unknown,
    /// A string known only after apply whose shape is known: text and holes, as a template
    /// built it (see [`Partial`]). Unknown for every purpose but the checks that read shapes.
    Partial(Box<Partial>),
    /// A secret; redacted in every `Display` and `Debug`.
    Sensitive(Box<Value>),
}

/// One step of a traversal read in place ([`Value::read_at`]): an attribute, or an index whose
/// value is known (a string for a map, a whole number for a list).
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'a> {
    Attr(&'a str),
    Key(Value),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Marks this value as sensitive (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// Marks the value sensitive when `yes` is true.
    pub fn mark_if(self, yes: bool) -> Value {
        if yes {
            self.sensitive()
        } else {
            self
        }
    }

    /// The value without its top-level mark, and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark().0, true),
            other => (other, false),
        }
    }

    /// The value without its top-level mark.
    pub fn unmarked(&self) -> &Value {
        self.unmark().0
    }

    /// [`Value::unmark`], taking the value.
    pub fn into_unmarked(self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.into_unmarked().0, true),
            other => (other, false),
        }
    }

    /// The value at `steps` (outermost first), as reading them one after the other in an
    /// expression gives it, cloning only that value: marked sensitive when anything on the way
    /// is, unknown when anything on the way is. Also how many steps were taken: it stops (with
    /// the value reached) at a step the value there cannot take (no such attribute, key or
    /// element, or not a collection), for the expression to report.
    pub fn read_at(&self, steps: &[Step<'_>]) -> (Value, usize) {
        let mut current = self;
        let mut sensitive = false;
        for (taken, step) in steps.iter().enumerate() {
            let (inner, marked) = current.unmark();
            if inner.is_unknown() {
                return (Value::Unknown, steps.len());
            }
            let next = match (step, inner) {
                (Step::Attr(name), Value::Object(map)) => map.get(*name),
                (Step::Key(Value::String(key)), Value::Object(map)) => map.get(key),
                (Step::Key(Value::Number(n)), Value::List(items)) => {
                    n.as_i64().and_then(|i| usize::try_from(i).ok()).and_then(|i| items.get(i))
                }
                _ => None,
            };
            match next {
                Some(next) => {
                    sensitive |= marked;
                    current = next;
                }
                None => return (current.clone().mark_if(sensitive), taken),
            }
        }
        (current.clone().mark_if(sensitive), steps.len())
    }

    /// Removes every sensitive mark at any depth.
    pub fn deep_unmark(&self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.deep_unmark(),
            Value::List(items) => Value::List(items.iter().map(Value::deep_unmark).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), v.deep_unmark())).collect()),
            other => other.clone(),
        }
    }

    /// Equality that ignores sensitive marks at any depth, without copying either value.
    pub fn eq_ignoring_marks(&self, other: &Value) -> bool {
        match (self.unmarked(), other.unmarked()) {
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignoring_marks(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && va.eq_ignoring_marks(vb))
            }
            (a, b) => a == b,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True if this value or anything inside it is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::contains_sensitive),
            Value::Object(map) => map.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// Every string, number and key inside a sensitive part of this value: what a message that
    /// quotes values (a provider's validation, a cross-cloud check) must not show.
    pub fn sensitive_texts(&self) -> Vec<String> {
        fn walk(value: &Value, inside: bool, out: &mut Vec<String>) {
            match value {
                Value::Sensitive(inner) => walk(inner, true, out),
                Value::String(s) if inside => out.push(s.clone()),
                Value::Number(n) if inside => out.push(n.to_string()),
                // The known text of a sensitive template's shape is as secret as its value.
                Value::Partial(shape) if inside => out.extend(shape.parts().iter().filter_map(|part| match part {
                    crate::partial::Part::Text(text) => Some(text.clone()),
                    crate::partial::Part::Hole(_) => None,
                })),
                Value::List(items) => items.iter().for_each(|item| walk(item, inside, out)),
                Value::Object(map) => {
                    for (key, item) in map {
                        if inside {
                            out.push(key.clone());
                        }
                        walk(item, inside, out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, false, &mut out);
        out
    }

    /// True if this value itself is unknown (possibly behind a sensitive mark).
    pub fn is_unknown(&self) -> bool {
        matches!(self.unmarked(), Value::Unknown | Value::Partial(_))
    }

    /// The shape of a partially known string (possibly behind a sensitive mark).
    pub fn as_partial(&self) -> Option<&Partial> {
        match self.unmarked() {
            Value::Partial(shape) => Some(shape),
            _ => None,
        }
    }

    /// This value with every partially known string made plain unknown (what a function or a
    /// conversion that cannot keep a shape makes of it).
    pub fn forget_shapes(self) -> Value {
        match self {
            Value::Partial(_) => Value::Unknown,
            Value::Sensitive(inner) => inner.forget_shapes().sensitive(),
            Value::List(items) => Value::List(items.into_iter().map(Value::forget_shapes).collect()),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, v.forget_shapes())).collect()),
            other => other,
        }
    }

    /// True if this value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown | Value::Partial(_) => true,
            Value::Sensitive(inner) => inner.contains_unknown(),
            Value::List(items) => items.iter().any(Value::contains_unknown),
            Value::Object(map) => map.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmarked(), Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unmarked() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unmarked() {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmarked() {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// Looks up an object attribute; `None` for non-objects and missing keys.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|map| map.get(key))
    }

    /// A short name of the value's kind, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.unmarked() {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Object(_) => "object",
            Value::Unknown => "unknown",
            Value::Partial(_) => "string",
            Value::Sensitive(_) => unreachable!("unmarked() strips every mark"),
        }
    }

    /// Converts to JSON, dropping sensitive marks. Unknown values become `null`; callers that
    /// must never see unknowns (providers, state) check [`Value::contains_unknown`] first.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null | Value::Unknown | Value::Partial(_) => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => number_to_json(n),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(number_from_json(n)),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect()),
        }
    }

    /// Paths (`a.b[0]`-style, see [`Path`]) of every sensitive value inside this one.
    pub fn sensitive_paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        // Most values hold no secret: one walk that allocates nothing says so.
        if self.contains_sensitive() {
            collect_sensitive(self, &mut Path::root(), &mut out);
        }
        out
    }

    /// Marks the values at `paths` sensitive; paths that do not exist are ignored.
    pub fn mark_paths(mut self, paths: &[Path]) -> Value {
        for path in paths {
            if let Some(slot) = self.get_path_mut(path) {
                *slot = std::mem::take(slot).sensitive();
            }
        }
        self
    }

    pub fn get_path(&self, path: &Path) -> Option<&Value> {
        let mut current = self;
        for step in &path.0 {
            current = match (step, current.unmarked()) {
                (PathStep::Key(k), Value::Object(map)) => map.get(k)?,
                (PathStep::Index(i), Value::List(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }

    fn get_path_mut(&mut self, path: &Path) -> Option<&mut Value> {
        let mut current = self;
        for step in &path.0 {
            let node = match current {
                Value::Sensitive(inner) => inner.as_mut(),
                other => other,
            };
            current = match (step, node) {
                (PathStep::Key(k), Value::Object(map)) => map.get_mut(k)?,
                (PathStep::Index(i), Value::List(items)) => items.get_mut(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Renders the value as HCL-ish literal text for plans: strings quoted, unknown and
    /// sensitive values replaced by their placeholders.
    pub fn render(&self) -> String {
        let mut out = String::new();
        render_into(self, &mut out);
        out
    }
}

fn collect_sensitive(value: &Value, path: &mut Path, out: &mut Vec<Path>) {
    match value {
        Value::Sensitive(_) => out.push(path.clone()),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                path.0.push(PathStep::Index(i));
                collect_sensitive(item, path, out);
                path.0.pop();
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                path.0.push(PathStep::Key(k.clone()));
                collect_sensitive(v, path, out);
                path.0.pop();
            }
        }
        _ => {}
    }
}

fn render_into(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&crate::functions::number_to_string(n)),
        Value::String(s) => out.push_str(&Json::String(s.clone()).to_string()),
        Value::Unknown | Value::Partial(_) => out.push_str(UNKNOWN),
        Value::Sensitive(_) => out.push_str(REDACTED),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(" = ");
                render_into(v, out);
            }
            out.push('}');
        }
    }
}

pub(crate) fn number_to_json(n: &Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::from(i)
    } else if let Some(u) = n.as_u64() {
        Json::from(u)
    } else {
        n.as_f64().and_then(serde_json::Number::from_f64).map_or(Json::Null, Json::Number)
    }
}

fn number_from_json(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        Number::from(i)
    } else if let Some(u) = n.as_u64() {
        Number::from(u)
    } else {
        n.as_f64().and_then(Number::from_f64).unwrap_or(Number::from(0))
    }
}

impl fmt::Display for Value {
    /// Strings print bare (as in a template); everything else as [`Value::render`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(s),
            other => f.write_str(&other.render()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(Number::from(n))
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Value::Object(map)
    }
}

/// One step of a [`Path`] into a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A path into a value, written `a.b[0].c`; round-trips through `Display`/`FromStr`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    pub fn key(key: impl Into<String>) -> Path {
        Path(vec![PathStep::Key(key.into())])
    }

    pub fn first_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathStep::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Key(k) if is_identifier(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathStep::Key(k) => write!(f, "[{}]", Json::String(k.clone()))?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Path {
    type Err = String;

    fn from_str(s: &str) -> Result<Path, String> {
        let mut steps = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let close = find_closing_bracket(after).ok_or_else(|| format!("unclosed '[' in path {s:?}"))?;
                let inner = &after[..close];
                if inner.starts_with('"') {
                    let key: String = serde_json::from_str(inner).map_err(|e| format!("bad key in path {s:?}: {e}"))?;
                    steps.push(PathStep::Key(key));
                } else {
                    let index = inner.parse().map_err(|_| format!("bad index {inner:?} in path {s:?}"))?;
                    steps.push(PathStep::Index(index));
                }
                rest = &after[close + 1..];
            } else {
                let body = rest.strip_prefix('.').unwrap_or(rest);
                let end = body.find(['.', '[']).unwrap_or(body.len());
                if end == 0 {
                    return Err(format!("empty step in path {s:?}"));
                }
                steps.push(PathStep::Key(body[..end].to_owned()));
                rest = &body[end..];
            }
        }
        Ok(Path(steps))
    }
}

fn find_closing_bracket(s: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// True for HCL identifiers: a letter or `_` followed by letters, digits, `_` or `-`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_never_print() {
        let secret = Value::string("hunter2").sensitive();
        let wrapped = Value::object([("password", secret.clone()), ("user", "bob".into())]);
        for text in [format!("{secret}"), format!("{secret:?}"), format!("{wrapped}"), format!("{wrapped:?}")] {
            assert!(!text.contains("hunter2"), "leaked in {text}");
        }
        assert_eq!(wrapped.render(), r#"{password = (sensitive value), user = "bob"}"#);
    }

    #[test]
    fn equality_can_ignore_marks() {
        let marked = Value::object([("a", Value::List(vec![Value::from("x").sensitive()]))]);
        let plain = Value::object([("a", Value::List(vec![Value::from("x")]))]);
        assert!(marked.eq_ignoring_marks(&plain) && plain.eq_ignoring_marks(&marked));
        assert_ne!(marked, plain);
        assert!(!plain.eq_ignoring_marks(&Value::object([("a", Value::List(vec![]))])));
    }

    #[test]
    fn unknown_renders_known_after_apply() {
        assert_eq!(Value::Unknown.to_string(), "(known after apply)");
        assert!(Value::List(vec![Value::Unknown]).contains_unknown());
        let shape = crate::partial::Partial::new([
            crate::partial::Part::Text("hunter2/".into()),
            crate::partial::Part::Hole(crate::partial::Hole::reference("aws_iam_role.r.arn")),
        ])
        .unwrap();
        let secret = Value::Partial(Box::new(shape)).sensitive();
        assert_eq!(secret.sensitive_texts(), ["hunter2/"], "a sensitive shape's known text is secret");
        assert!(secret.is_unknown() && secret.contains_unknown() && secret.to_json().is_null());
        assert!(!Value::from("x").contains_unknown());
    }

    #[test]
    fn sensitive_paths_round_trip() {
        let v = Value::object([
            ("a", Value::List(vec!["x".into(), Value::from("s").sensitive()])),
            ("weird key", Value::from("t").sensitive()),
        ]);
        let paths = v.sensitive_paths();
        let rendered: Vec<String> = paths.iter().map(ToString::to_string).collect();
        assert_eq!(rendered, ["a[1]", "[\"weird key\"]"]);
        let reparsed: Vec<Path> = rendered.iter().map(|p| p.parse().unwrap()).collect();
        assert_eq!(reparsed, paths);
        assert_eq!(v.deep_unmark().mark_paths(&reparsed), v);
    }

    #[test]
    fn reading_in_place_marks_and_stops_as_reading_step_by_step() {
        use Step::{Attr, Key};
        let role = Value::object([
            ("arn", Value::from("arn:aws:iam::1:role/r")),
            (
                "creds",
                Value::object([("key", Value::from("k")), ("more", Value::object([("x", "y".into())]))]).sensitive(),
            ),
            ("later", Value::Unknown),
            ("list", Value::List(vec!["a".into(), Value::from("b").sensitive()])),
            ("name", Value::from("r")),
        ]);
        assert_eq!(role.read_at(&[]), (role.clone(), 0));
        assert_eq!(role.read_at(&[Attr("arn")]), (Value::from("arn:aws:iam::1:role/r"), 1));
        assert_eq!(role.read_at(&[Key("arn".into())]), (Value::from("arn:aws:iam::1:role/r"), 1));
        // A mark on the way marks what is read under it.
        assert_eq!(role.read_at(&[Attr("creds"), Attr("key")]), (Value::from("k").sensitive(), 2));
        assert_eq!(role.read_at(&[Attr("creds"), Attr("more"), Attr("x")]), (Value::from("y").sensitive(), 3));
        assert_eq!(role.read_at(&[Attr("list"), Key(Value::from(0))]), (Value::from("a"), 2));
        assert_eq!(role.read_at(&[Attr("list"), Key(Value::from(1))]), (Value::from("b").sensitive(), 2));
        // Unknown on the way: unknown, every step taken.
        assert_eq!(role.read_at(&[Attr("later"), Attr("a"), Key(Value::from(3))]), (Value::Unknown, 3));
        // A step the value cannot take stops there, for the expression to report.
        assert_eq!(role.read_at(&[Attr("nope"), Attr("x")]), (role.clone(), 0));
        assert_eq!(role.read_at(&[Attr("name"), Attr("x")]), (Value::from("r"), 1));
        assert_eq!(role.read_at(&[Attr("list"), Key(Value::from(2))]).1, 1);
        assert_eq!(role.read_at(&[Attr("list"), Key(Value::from(-1))]).1, 1);
        assert_eq!(role.read_at(&[Attr("list"), Key("0".into())]).1, 1, "the expression converts, not this");
        assert_eq!(role.read_at(&[Attr("creds"), Attr("nope")]).1, 1);
        assert!(role.read_at(&[Attr("creds"), Attr("nope")]).0.is_sensitive());
        assert_eq!(Value::from("s").sensitive().into_unmarked(), (Value::from("s"), true));
        assert_eq!(Value::from("s").into_unmarked(), (Value::from("s"), false));
    }

    #[test]
    fn json_round_trip_keeps_numbers() {
        let json: Json = serde_json::json!({"n": 3, "f": 1.5, "l": [true, null, "s"]});
        assert_eq!(Value::from_json(&json).to_json(), json);
    }
}
