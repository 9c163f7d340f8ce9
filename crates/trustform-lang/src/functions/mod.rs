//! The built-in functions: the subset of Terraform's library that IAM code uses.
//!
//! Every function is a plain Rust function over known, unmarked [`Value`]s. The two marks are
//! handled once, in [`call`], so no function has to think about them:
//!
//! * an argument that is or contains [`Value::Unknown`] makes the result unknown (except for
//!   `length`, which can count a list whose elements are not known yet);
//! * an argument that is or contains a sensitive value has every mark stripped before the call,
//!   and the result is marked sensitive. Error messages never quote a sensitive argument.
//!
//! Arguments are converted the way Terraform converts them to a parameter's type: a function
//! that takes a string accepts a number or a bool, a function that takes a number accepts a
//! numeric string. `try`, `can` and `templatefile` are not here: they need the evaluator.

mod args;
mod collections;
mod conversion;
mod datetime;
mod encoding;
mod error;
mod format;
mod json;
mod lists;
mod network;
pub(crate) mod numeric;
mod strings;
mod yaml;

pub use error::FunctionError;
pub use json::{encode_string as write_json_string, number_to_string};
pub use numeric::compare as compare_numbers;

use crate::Value;
use args::Args;
use std::path::Path;
use std::sync::LazyLock;

/// What functions may know about where they are called from.
pub struct FunctionContext<'a> {
    /// The directory of the spec; `file()` resolves relative paths here.
    pub base_dir: &'a Path,
    /// Whether this is the apply step: `timestamp()` is known only then, as in Terraform
    /// ("the timestamp will be taken only once the plan is being applied").
    pub applying: bool,
}

/// Calls the built-in function `name`.
pub fn call(name: &str, args: Vec<Value>, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    let function = lookup(name).ok_or_else(|| FunctionError::Unknown(name.to_owned()))?;
    function.arity.check(function.name, args.len())?;
    // The three functions about the mark itself see it (terraform's internal/lang/funcs/
    // sensitive.go): they work on unknown values too, keeping them unknown.
    match (name, args.as_slice()) {
        ("sensitive", [value]) => return Ok(value.clone().sensitive()),
        ("nonsensitive", [value]) => return Ok(value.unmarked().clone()),
        ("issensitive", [value]) if value.is_unknown() && !value.is_sensitive() => return Ok(Value::Unknown),
        ("issensitive", [value]) => return Ok(Value::Bool(value.is_sensitive())),
        _ => {}
    }
    let sensitive = args.iter().any(Value::contains_sensitive);
    // A document with unknowns inside keeps its shape (see `crate::partial`); a wholly unknown
    // argument is a wholly unknown document.
    if let ("jsonencode", [value]) = (name, args.as_slice()) {
        if value.contains_unknown() && !matches!(value.unmarked(), Value::Unknown) {
            return Ok(json::encode_shape(value).mark_if(sensitive));
        }
    }
    let unknown = if function.counts_unknown_elements {
        args.iter().any(Value::is_unknown)
    } else {
        args.iter().any(Value::contains_unknown)
    };
    if unknown {
        return Ok(Value::Unknown.mark_if(sensitive));
    }
    let args = Args::new(args.iter().map(Value::deep_unmark).collect(), sensitive);
    (function.body)(&args, ctx).map(|result| result.mark_if(sensitive)).map_err(|error| match (sensitive, error) {
        // Messages quote the arguments they refuse ("\"hunter2\" is not a number").
        (true, FunctionError::Argument { index, .. }) => FunctionError::Argument {
            index,
            message: "the value is not acceptable here (the reason is not shown because an argument is sensitive)."
                .into(),
        },
        (true, FunctionError::Failed(_)) => {
            FunctionError::Failed("The call failed (the reason is not shown because an argument is sensitive).".into())
        }
        (_, error) => error,
    })
}

/// True if `name` is a built-in function.
pub fn exists(name: &str) -> bool {
    lookup(name).is_some()
}

/// The names of every built-in function, sorted, for "did you mean" suggestions.
pub fn names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| FUNCTIONS.iter().map(|f| f.name).collect());
    &NAMES
}

type Body = fn(&Args, &FunctionContext) -> Result<Value, FunctionError>;

struct Function {
    name: &'static str,
    arity: Arity,
    /// `length` of a list of unknowns is known; every other function needs known arguments.
    counts_unknown_elements: bool,
    body: Body,
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    Between(usize, usize),
    AtLeast(usize),
}

impl Arity {
    fn check(self, function: &'static str, given: usize) -> Result<(), FunctionError> {
        let ok = match self {
            Arity::Exactly(n) => given == n,
            Arity::Between(min, max) => (min..=max).contains(&given),
            Arity::AtLeast(min) => given >= min,
        };
        if ok {
            Ok(())
        } else {
            Err(FunctionError::Arity { function, expected: self, given })
        }
    }
}

const fn function(name: &'static str, arity: Arity, body: Body) -> Function {
    Function { name, arity, counts_unknown_elements: false, body }
}

use Arity::{AtLeast, Between, Exactly};

/// Sorted by name: [`lookup`] searches it by bisection.
static FUNCTIONS: &[Function] = &[
    function("abs", Exactly(1), numeric::abs),
    function("abspath", Exactly(1), encoding::abspath),
    function("alltrue", Exactly(1), lists::alltrue),
    function("anytrue", Exactly(1), lists::anytrue),
    function("base64decode", Exactly(1), encoding::base64decode),
    function("base64encode", Exactly(1), encoding::base64encode),
    function("base64sha256", Exactly(1), encoding::base64sha256),
    function("base64sha512", Exactly(1), encoding::base64sha512),
    function("basename", Exactly(1), encoding::basename),
    function("ceil", Exactly(1), numeric::ceil),
    function("chomp", Exactly(1), strings::chomp),
    function("chunklist", Exactly(2), lists::chunklist),
    function("cidrhost", Exactly(2), network::cidrhost),
    function("cidrnetmask", Exactly(1), network::cidrnetmask),
    function("cidrsubnet", Exactly(3), network::cidrsubnet),
    function("cidrsubnets", AtLeast(1), network::cidrsubnets),
    function("coalesce", AtLeast(1), collections::coalesce),
    function("coalescelist", AtLeast(1), lists::coalescelist),
    function("compact", Exactly(1), collections::compact),
    function("concat", AtLeast(0), collections::concat),
    function("contains", Exactly(2), collections::contains),
    function("csvdecode", Exactly(1), encoding::csvdecode),
    function("dirname", Exactly(1), encoding::dirname),
    function("distinct", Exactly(1), collections::distinct),
    function("element", Exactly(2), collections::element),
    function("endswith", Exactly(2), strings::endswith),
    function("file", Exactly(1), encoding::file),
    function("filebase64", Exactly(1), encoding::filebase64),
    function("filebase64sha256", Exactly(1), encoding::filebase64sha256),
    function("filebase64sha512", Exactly(1), encoding::filebase64sha512),
    function("fileexists", Exactly(1), encoding::fileexists),
    function("filemd5", Exactly(1), encoding::filemd5),
    function("filesha1", Exactly(1), encoding::filesha1),
    function("filesha256", Exactly(1), encoding::filesha256),
    function("filesha512", Exactly(1), encoding::filesha512),
    function("flatten", Exactly(1), collections::flatten),
    function("floor", Exactly(1), numeric::floor),
    function("format", AtLeast(1), format::format),
    function("formatdate", Exactly(2), datetime::formatdate),
    function("formatlist", AtLeast(1), format::formatlist),
    function("indent", Exactly(2), strings::indent),
    function("index", Exactly(2), lists::index),
    function("issensitive", Exactly(1), unreachable_body),
    function("join", AtLeast(2), strings::join),
    function("jsondecode", Exactly(1), json::jsondecode),
    function("jsonencode", Exactly(1), json::jsonencode),
    // A known map of unknown values has known keys, and its values are those unknowns: go-cty
    // `function/stdlib/collection.go` (KeysFunc, ValuesFunc) only need the map itself known.
    Function { name: "keys", arity: Exactly(1), counts_unknown_elements: true, body: collections::keys },
    Function { name: "length", arity: Exactly(1), counts_unknown_elements: true, body: collections::length },
    function("log", Exactly(2), numeric::log),
    function("lookup", Between(2, 3), collections::lookup),
    function("lower", Exactly(1), strings::lower),
    function("matchkeys", Exactly(3), lists::matchkeys),
    function("max", AtLeast(1), numeric::max),
    function("md5", Exactly(1), encoding::md5),
    function("merge", AtLeast(0), collections::merge),
    function("min", AtLeast(1), numeric::min),
    function("nonsensitive", Exactly(1), unreachable_body),
    function("one", Exactly(1), lists::one),
    function("parseint", Exactly(2), numeric::parseint),
    function("pathexpand", Exactly(1), encoding::pathexpand),
    function("plantimestamp", Exactly(0), datetime::plantimestamp),
    function("pow", Exactly(2), numeric::pow),
    function("range", Between(1, 3), lists::range),
    function("regex", Exactly(2), strings::regex),
    function("regexall", Exactly(2), strings::regexall),
    function("replace", Exactly(3), strings::replace),
    function("reverse", Exactly(1), lists::reverse),
    function("sensitive", Exactly(1), unreachable_body),
    function("setintersection", AtLeast(1), lists::setintersection),
    function("setproduct", AtLeast(1), lists::setproduct),
    function("setsubtract", Exactly(2), lists::setsubtract),
    function("setunion", AtLeast(1), lists::setunion),
    function("sha1", Exactly(1), encoding::sha1),
    function("sha256", Exactly(1), encoding::sha256),
    function("sha512", Exactly(1), encoding::sha512),
    function("signum", Exactly(1), numeric::signum),
    function("slice", Exactly(3), lists::slice),
    function("sort", Exactly(1), lists::sort),
    function("split", Exactly(2), strings::split),
    function("startswith", Exactly(2), strings::startswith),
    function("strcontains", Exactly(2), strings::strcontains),
    function("strrev", Exactly(1), strings::strrev),
    function("substr", Exactly(3), strings::substr),
    function("sum", Exactly(1), lists::sum),
    function("timeadd", Exactly(2), datetime::timeadd),
    function("timecmp", Exactly(2), datetime::timecmp),
    function("timestamp", Exactly(0), datetime::timestamp),
    function("title", Exactly(1), strings::title),
    function("tobool", Exactly(1), conversion::tobool),
    function("tolist", Exactly(1), conversion::tolist),
    function("tomap", Exactly(1), conversion::tomap),
    function("tonumber", Exactly(1), conversion::tonumber),
    function("toset", Exactly(1), conversion::toset),
    function("tostring", Exactly(1), conversion::tostring),
    function("transpose", Exactly(1), lists::transpose),
    function("trim", Exactly(2), strings::trim),
    function("trimprefix", Exactly(2), strings::trimprefix),
    function("trimspace", Exactly(1), strings::trimspace),
    function("trimsuffix", Exactly(2), strings::trimsuffix),
    function("upper", Exactly(1), strings::upper),
    function("urlencode", Exactly(1), encoding::urlencode),
    function("uuid", Exactly(0), encoding::uuid),
    function("uuidv5", Exactly(2), encoding::uuidv5),
    Function { name: "values", arity: Exactly(1), counts_unknown_elements: true, body: collections::values },
    function("yamldecode", Exactly(1), yaml::yamldecode),
    function("yamlencode", Exactly(1), yaml::yamlencode),
    function("zipmap", Exactly(2), lists::zipmap),
];

/// The body of `sensitive`, `nonsensitive` and `issensitive`, which [`call`] answers before
/// marks are stripped.
fn unreachable_body(_: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    Err(FunctionError::Failed("this function is evaluated before its arguments are unmarked".into()))
}

fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &FUNCTIONS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn ctx() -> FunctionContext<'static> {
        FunctionContext { base_dir: Path::new("."), applying: true }
    }

    /// Calls `name` and renders the result, or the error message prefixed with `error: `.
    pub(super) fn run(name: &str, args: Vec<Value>) -> String {
        match call(name, args, &ctx()) {
            Ok(value) => value.render(),
            Err(e) => format!("error: {e}"),
        }
    }

    /// Table-driven check: each row is a function name, its arguments and the expected
    /// rendering of the result (or `error: ...`).
    pub(super) fn check(rows: &[(&str, Vec<Value>, &str)]) {
        for (name, args, expected) in rows {
            let got = run(name, args.clone());
            assert_eq!(&got, expected, "{name}({})", args.iter().map(Value::render).collect::<Vec<_>>().join(", "));
        }
    }

    #[test]
    fn table_is_sorted_and_unique_so_lookup_finds_everything() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].name < w[1].name), "FUNCTIONS must stay sorted");
        for f in FUNCTIONS {
            assert!(exists(f.name), "{} not found", f.name);
        }
        assert_eq!(names().len(), FUNCTIONS.len());
        assert!(!exists("try") && !exists("can") && !exists("templatefile") && !exists("nope"));
    }

    #[test]
    fn unknown_function_and_arity_errors_say_what_was_expected() {
        check(&[
            ("nope", vec![], "error: There is no function named \"nope\"."),
            ("upper", vec![], "error: upper() takes exactly 1 argument, but none were given."),
            ("upper", vec!["a".into(), "b".into()], "error: upper() takes exactly 1 argument, but 2 were given."),
            (
                "lookup",
                vec![Value::object([("a", Value::Null)])],
                "error: lookup() takes 2 or 3 arguments, but 1 was given.",
            ),
            ("format", vec![], "error: format() takes at least 1 argument, but none were given."),
            ("join", vec![",".into()], "error: join() takes at least 2 arguments, but 1 was given."),
        ]);
    }

    #[test]
    fn any_unknown_argument_makes_the_result_unknown() {
        let nested = Value::List(vec!["a".into(), Value::Unknown]);
        check(&[
            ("upper", vec![Value::Unknown], "(known after apply)"),
            ("join", vec![",".into(), nested.clone()], "(known after apply)"),
            ("jsonencode", vec![Value::object([("k", nested.clone())])], "(known after apply)"),
            ("format", vec!["%s-%s".into(), "a".into(), Value::Unknown], "(known after apply)"),
            // Unknown wins over an error the known arguments would cause.
            ("tonumber", vec![Value::Unknown], "(known after apply)"),
        ]);
    }

    #[test]
    fn length_counts_a_list_whose_elements_are_unknown() {
        check(&[
            ("length", vec![Value::List(vec![Value::Unknown, Value::Unknown])], "2"),
            ("length", vec![Value::object([("a", Value::Unknown)])], "1"),
            ("length", vec![Value::Unknown], "(known after apply)"),
        ]);
    }

    #[test]
    fn sensitive_arguments_make_a_sensitive_result() {
        let secret = Value::from("hunter2").sensitive();
        let result = call("upper", vec![secret.clone()], &ctx()).unwrap();
        assert_eq!(result, Value::from("HUNTER2").sensitive());

        let nested = Value::object([("password", secret.clone()), ("user", "bob".into())]);
        let encoded = call("jsonencode", vec![nested], &ctx()).unwrap();
        assert!(encoded.is_sensitive());
        assert_eq!(encoded.unmarked(), &Value::from(r#"{"password":"hunter2","user":"bob"}"#));

        let unknown = call("join", vec![secret, Value::Unknown], &ctx()).unwrap();
        assert_eq!(unknown, Value::Unknown.sensitive());

        let plain = call("upper", vec!["x".into()], &ctx()).unwrap();
        assert!(!plain.is_sensitive());
    }

    #[test]
    fn errors_never_quote_a_sensitive_argument() {
        let secret = |s: &str| Value::from(s).sensitive();
        let calls: Vec<(&str, Vec<Value>)> = vec![
            ("tonumber", vec![secret("hunter2")]),
            ("tobool", vec![secret("hunter2")]),
            ("base64decode", vec![secret("hunter2$")]),
            ("jsondecode", vec![secret("hunter2")]),
            ("regex", vec![secret("(hunter2"), "x".into()]),
            ("regex", vec!["^nomatch".into(), secret("hunter2")]),
            ("replace", vec!["x".into(), secret("/(hunter2/"), "y".into()]),
            ("file", vec![secret("hunter2.txt")]),
            ("uuidv5", vec![secret("hunter2"), "x".into()]),
            ("format", vec![secret("%z hunter2")]),
            ("format", vec!["%d".into(), secret("hunter2")]),
            ("lookup", vec![Value::object([("a", Value::from(1))]), secret("hunter2")]),
            ("startswith", vec![Value::List(vec![secret("hunter2")]), "x".into()]),
        ];
        for (name, args) in calls {
            let err = call(name, args, &ctx()).expect_err(name).to_string();
            assert!(!err.contains("hunter2"), "{name} leaked the secret: {err}");
        }
    }
}
