//! The subset of the Common Expression Language (CEL, https://github.com/google/cel-spec) that
//! Google's attribute mappings and conditions use
//! (https://cloud.google.com/iam/docs/workload-identity-federation#mapping and
//! #conditions): `assertion.X`, `assertion['X']`, `attribute.X`, `google.X`; string, boolean,
//! integer and list literals; `+` on strings and lists; `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`;
//! `!`, `&&`, `||`; `c ? a : b`; and the string functions `contains`, `startsWith`,
//! `endsWith`, `size`, `lowerAscii`, `upperAscii` and Google's `extract`. No Rust CEL
//! implementation is in the build's package set, so this is the small one the documented
//! mappings need; anything else is a parse error, never a silent `false`.

use serde_json::{Map, Value};

/// What an expression sees: the token's claims (`assertion`), the mapped attributes
/// (`attribute`), the `google.*` attributes.
#[derive(Debug, Default)]
pub(crate) struct Env {
    pub(crate) assertion: Map<String, Value>,
    pub(crate) attribute: Map<String, Value>,
    pub(crate) google: Map<String, Value>,
}

/// Evaluates `source` in `env`.
pub(crate) fn eval(source: &str, env: &Env) -> Result<Value, String> {
    let tokens = lex(source)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.expr()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected {:?} in {source:?}", parser.tokens[parser.at]));
    }
    evaluate(&expr, env)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Punct(&'static str),
}

const PUNCTS: [&str; 20] =
    ["&&", "||", "==", "!=", "<=", ">=", "!", "<", ">", "?", ":", "+", ".", ",", "(", ")", "[", "]", "-", "*"];

fn lex(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in {source:?}")),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        i += 1;
                        match chars.get(i) {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(&other) => text.push(other),
                            None => return Err(format!("unterminated string in {source:?}")),
                        }
                    }
                    Some(&other) => text.push(other),
                }
                i += 1;
            }
            i += 1;
            tokens.push(Token::Str(text));
        } else if c.is_ascii_digit() {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Int(text.parse().map_err(|_| format!("integer {text} out of range"))?));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let punct = PUNCTS
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| format!("unexpected character {c:?} in {source:?}"))?;
            i += punct.chars().count();
            tokens.push(Token::Punct(punct));
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone)]
enum Expr {
    Literal(Value),
    Ident(String),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    List(Vec<Expr>),
    Not(Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_punct(&self, punct: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Punct(p)) if *p == punct)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.peek_punct(punct);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, punct: &str) -> Result<(), String> {
        if self.eat(punct) {
            Ok(())
        } else {
            Err(format!("expected {punct:?}, found {:?}", self.tokens.get(self.at)))
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let condition = self.binary(0)?;
        if self.eat("?") {
            let then = self.expr()?;
            self.expect(":")?;
            let otherwise = self.expr()?;
            return Ok(Expr::Cond(Box::new(condition), Box::new(then), Box::new(otherwise)));
        }
        Ok(condition)
    }

    /// Binary operators by CEL's precedence: `||`, `&&`, relations, `+`.
    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        const LEVELS: [&[&str]; 4] = [&["||"], &["&&"], &["==", "!=", "<", "<=", ">", ">=", "in"], &["+"]];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = LEVELS[level].iter().find(|op| match self.tokens.get(self.at) {
                Some(Token::Punct(p)) => p == *op,
                Some(Token::Ident(word)) => word == *op,
                _ => false,
            });
            let Some(op) = op else { return Ok(left) };
            self.at += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        let mut expr = self.primary()?;
        loop {
            if self.eat(".") {
                let Some(Token::Ident(name)) = self.tokens.get(self.at).cloned() else {
                    return Err("expected a name after '.'".to_owned());
                };
                self.at += 1;
                expr = if self.eat("(") {
                    Expr::Call(Some(Box::new(expr)), name, self.arguments()?)
                } else {
                    Expr::Member(Box::new(expr), name)
                };
            } else if self.eat("[") {
                let index = self.expr()?;
                self.expect("]")?;
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, String> {
        let mut arguments = Vec::new();
        if self.eat(")") {
            return Ok(arguments);
        }
        loop {
            arguments.push(self.expr()?);
            if self.eat(")") {
                return Ok(arguments);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let token = self.tokens.get(self.at).cloned().ok_or("unexpected end of expression")?;
        self.at += 1;
        Ok(match token {
            Token::Str(text) => Expr::Literal(Value::String(text)),
            Token::Int(n) => Expr::Literal(Value::from(n)),
            Token::Ident(word) => match word.as_str() {
                "true" => Expr::Literal(Value::Bool(true)),
                "false" => Expr::Literal(Value::Bool(false)),
                "null" => Expr::Literal(Value::Null),
                _ if self.eat("(") => Expr::Call(None, word, self.arguments()?),
                _ => Expr::Ident(word),
            },
            Token::Punct("(") => {
                let inner = self.expr()?;
                self.expect(")")?;
                inner
            }
            Token::Punct("[") => {
                let mut items = Vec::new();
                if !self.eat("]") {
                    loop {
                        items.push(self.expr()?);
                        if self.eat("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Expr::List(items)
            }
            other => return Err(format!("unexpected {other:?}")),
        })
    }
}

fn evaluate(expr: &Expr, env: &Env) -> Result<Value, String> {
    match expr {
        Expr::Literal(value) => Ok(value.clone()),
        Expr::Ident(name) => match name.as_str() {
            "assertion" => Ok(Value::Object(env.assertion.clone())),
            "attribute" => Ok(Value::Object(env.attribute.clone())),
            "google" => Ok(Value::Object(env.google.clone())),
            _ => Err(format!("undeclared reference to '{name}'")),
        },
        Expr::Member(object, name) => field(&evaluate(object, env)?, name),
        Expr::Index(object, index) => match (evaluate(object, env)?, evaluate(index, env)?) {
            (object @ Value::Object(_), Value::String(name)) => field(&object, &name),
            (Value::Array(items), Value::Number(n)) => {
                n.as_u64().and_then(|n| items.get(n as usize).cloned()).ok_or_else(|| "index out of range".to_owned())
            }
            _ => Err("invalid index".to_owned()),
        },
        Expr::List(items) => Ok(Value::Array(items.iter().map(|item| evaluate(item, env)).collect::<Result<_, _>>()?)),
        Expr::Not(inner) => Ok(Value::Bool(!boolean(&evaluate(inner, env)?)?)),
        Expr::Cond(condition, then, otherwise) => {
            if boolean(&evaluate(condition, env)?)? {
                evaluate(then, env)
            } else {
                evaluate(otherwise, env)
            }
        }
        Expr::Binary(op, left, right) => binary(op, left, right, env),
        Expr::Call(target, name, arguments) => {
            let target = target.as_ref().map(|target| evaluate(target, env)).transpose()?;
            let arguments = arguments.iter().map(|argument| evaluate(argument, env)).collect::<Result<Vec<_>, _>>()?;
            call(target, name, &arguments)
        }
    }
}

/// A field of a map; a missing one is CEL's "no such key" error, which a condition reports.
fn field(object: &Value, name: &str) -> Result<Value, String> {
    match object {
        Value::Object(map) => map.get(name).cloned().ok_or_else(|| format!("no such key: {name}")),
        _ => Err(format!("no such key: {name}")),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| format!("expected a bool, found {value}"))
}

fn string(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| format!("expected a string, found {value}"))
}

fn binary(op: &str, left: &Expr, right: &Expr, env: &Env) -> Result<Value, String> {
    // `&&` and `||` are commutative in CEL: an error on one side is absorbed when the other
    // side decides.
    if op == "&&" || op == "||" {
        let decisive = op == "||";
        let l = evaluate(left, env).and_then(|v| boolean(&v));
        if l == Ok(decisive) {
            return Ok(Value::Bool(decisive));
        }
        let r = evaluate(right, env).and_then(|v| boolean(&v));
        return match (l, r) {
            (_, Ok(r)) if r == decisive => Ok(Value::Bool(decisive)),
            (Ok(_), Ok(r)) => Ok(Value::Bool(r)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
    }
    let (l, r) = (evaluate(left, env)?, evaluate(right, env)?);
    Ok(match op {
        "==" => Value::Bool(l == r),
        "!=" => Value::Bool(l != r),
        "in" => match &r {
            Value::Array(items) => Value::Bool(items.contains(&l)),
            Value::Object(map) => Value::Bool(map.contains_key(string(&l)?)),
            _ => return Err("'in' needs a list or map".to_owned()),
        },
        "+" => match (l, r) {
            (Value::String(a), Value::String(b)) => Value::String(a + &b),
            (Value::Array(mut a), Value::Array(b)) => {
                a.extend(b);
                Value::Array(a)
            }
            (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => Value::from(a.checked_add(b).ok_or("integer overflow")?),
                _ => return Err("only integers add".to_owned()),
            },
            (a, b) => return Err(format!("no matching overload for {a} + {b}")),
        },
        "<" | "<=" | ">" | ">=" => {
            let ordering = match (&l, &r) {
                (Value::String(a), Value::String(b)) => a.cmp(b),
                (Value::Number(a), Value::Number(b)) => a.as_i64().cmp(&b.as_i64()),
                _ => return Err(format!("no matching overload for {l} {op} {r}")),
            };
            Value::Bool(match op {
                "<" => ordering.is_lt(),
                "<=" => ordering.is_le(),
                ">" => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        _ => return Err(format!("unsupported operator {op}")),
    })
}

fn call(target: Option<Value>, name: &str, arguments: &[Value]) -> Result<Value, String> {
    let one = |arguments: &[Value]| match arguments {
        [argument] => string(argument).map(str::to_owned),
        _ => Err(format!("{name} takes one string")),
    };
    match (target, name) {
        (Some(Value::String(text)), "contains") => Ok(Value::Bool(text.contains(&one(arguments)?))),
        (Some(Value::String(text)), "startsWith") => Ok(Value::Bool(text.starts_with(&one(arguments)?))),
        (Some(Value::String(text)), "endsWith") => Ok(Value::Bool(text.ends_with(&one(arguments)?))),
        (Some(Value::String(text)), "lowerAscii") => Ok(Value::String(text.to_ascii_lowercase())),
        (Some(Value::String(text)), "upperAscii") => Ok(Value::String(text.to_ascii_uppercase())),
        (Some(Value::String(text)), "extract") => Ok(Value::String(extract(&text, &one(arguments)?)?)),
        (Some(value), "size") if arguments.is_empty() => size(&value),
        (None, "size") => size(arguments.first().ok_or("size takes one argument")?),
        (_, other) => Err(format!("unsupported function {other}")),
    }
}

fn size(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(text) => Ok(Value::from(text.chars().count() as i64)),
        Value::Array(items) => Ok(Value::from(items.len() as i64)),
        Value::Object(map) => Ok(Value::from(map.len() as i64)),
        other => Err(format!("no size for {other}")),
    }
}

/// Google's `extract(template)`: the part of the text that the template's one `{name}`
/// placeholder stands for, the text around it matched literally (the suffix's first occurrence
/// after the prefix); an empty string when the template does not match
/// (https://cloud.google.com/iam/docs/workload-identity-federation#mapping).
fn extract(text: &str, template: &str) -> Result<String, String> {
    let open = template.find('{').ok_or("extract needs a {placeholder}")?;
    let close = template[open..].find('}').map(|at| open + at).ok_or("extract needs a {placeholder}")?;
    let (prefix, suffix) = (&template[..open], &template[close + 1..]);
    let Some(start) = text.find(prefix).map(|at| at + prefix.len()) else { return Ok(String::new()) };
    let rest = &text[start..];
    if suffix.is_empty() {
        return Ok(rest.to_owned());
    }
    Ok(rest.find(suffix).map(|end| rest[..end].to_owned()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(assertion: Value) -> Env {
        let Value::Object(assertion) = assertion else { panic!("an object") };
        Env { assertion, ..Env::default() }
    }

    /// Google's default AWS mapping, from the reference page cited above.
    const DEFAULT_AWS_ROLE: &str = "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn";

    #[test]
    fn the_default_aws_mapping_drops_the_session_name() {
        let session = env(json!({ "arn": "arn:aws:sts::123456789012:assumed-role/gateway/eks-litellm-pod" }));
        assert_eq!(eval(DEFAULT_AWS_ROLE, &session).unwrap(), "arn:aws:sts::123456789012:assumed-role/gateway");
        let user = env(json!({ "arn": "arn:aws:iam::123456789012:user/sandbox" }));
        assert_eq!(eval(DEFAULT_AWS_ROLE, &user).unwrap(), "arn:aws:iam::123456789012:user/sandbox");
    }

    #[test]
    fn conditions_combine_comparisons_and_functions() {
        let claims = env(json!({ "repository": "acme/gateway", "ref": "refs/heads/main", "aud": ["a", "b"] }));
        let cases = [
            ("assertion.repository == 'acme/gateway' && assertion.ref == 'refs/heads/main'", true),
            ("assertion.repository == 'acme/gateway' && assertion.ref == \"refs/heads/dev\"", false),
            ("assertion['ref'].startsWith('refs/heads/') || false", true),
            ("!(assertion.repository in ['acme/other'])", true),
            ("'a' in assertion.aud && assertion.aud.size() == 2", true),
            ("assertion.missing == 'x' || true", true),
        ];
        for (source, expected) in cases {
            assert_eq!(eval(source, &claims).unwrap(), Value::Bool(expected), "{source}");
        }
    }

    #[test]
    fn what_is_not_cel_of_this_subset_is_an_error() {
        let claims = env(json!({ "sub": "x" }));
        for source in ["assertion.sub.matches('x')", "assertion.missing == 'x'", "request.time", "'open", "a $ b"] {
            assert!(eval(source, &claims).is_err(), "{source}");
        }
    }

    #[test]
    fn extract_follows_googles_examples() {
        assert_eq!(
            extract("arn:aws:sts::1:assumed-role/r/s", "{account_arn}assumed-role/").unwrap(),
            "arn:aws:sts::1:"
        );
        assert_eq!(extract("arn:aws:sts::1:assumed-role/r/s", "assumed-role/{role_name}/").unwrap(), "r");
        assert_eq!(extract("projects/p/x", "projects/{project}/").unwrap(), "p");
        assert_eq!(extract("nothing", "projects/{project}/").unwrap(), "");
    }
}
