//! Terraform's sequence and set functions: `range`, `slice`, `sort`, `zipmap`, `setproduct`,
//! `setunion` and the rest. Behaviour and error texts follow go-cty's `cty/function/stdlib`
//! (collection.go, sequence.go, set.go) and terraform's `internal/lang/funcs/collection.go`.

use super::args::{kind, to_bool, to_string, Args};
use super::conversion::unify;
use super::{FunctionContext, FunctionError};
use crate::types::normalize_set;
use crate::value::{Number, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The most elements `range` generates (go-cty's stdlib/sequence.go).
const RANGE_LIMIT: usize = 1024;

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`.
pub(super) fn range(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let zero = Number::from(0);
    let numbers: Vec<Number> = (0..args.all().len()).map(|i| args.number(i)).collect::<Result<_, _>>()?;
    let (start, end, step) = match numbers.as_slice() {
        [end] => (zero, *end, Number::from(if *end < zero { -1 } else { 1 })),
        [start, end] => (*start, *end, Number::from(if end < start { -1 } else { 1 })),
        [start, end, step] => (*start, *end, *step),
        _ => return Err(FunctionError::Failed("must have one, two, or three arguments".into())),
    };
    if as_f64(&step) == 0.0 {
        return Err(args.error(2, "step must not be zero"));
    }
    let down = step < zero;
    if down && end > start {
        return Err(args.error(1, "end must be less than start when step is negative"));
    }
    if !down && end < start {
        return Err(args.error(1, "end must be greater than start when step is positive"));
    }
    let mut out = Vec::new();
    let mut n = start;
    loop {
        if (down && n <= end) || (!down && n >= end) {
            break;
        }
        if out.len() >= RANGE_LIMIT {
            return Err(FunctionError::Failed(
                "more than 1024 values were generated; either decrease the difference between start and end or use a smaller step".into(),
            ));
        }
        out.push(Value::Number(n));
        n = crate::functions::numeric::add(&n, &step);
    }
    Ok(Value::List(out))
}

fn as_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// `slice(list, start, end)`: elements from `start` up to but not including `end`.
pub(super) fn slice(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let list = args.list(0)?;
    let start = args.integer(1)?;
    let end = args.integer(2)?;
    if start < 0 {
        return Err(args.error(1, "start index must not be less than zero"));
    }
    if end > list.len() as i64 {
        return Err(args.error(2, "end index must not be greater than the length of the list"));
    }
    if start > end {
        return Err(args.error(1, "start index must not be greater than end index"));
    }
    Ok(Value::List(list[start as usize..end as usize].to_vec()))
}

/// `index(list, value)`: the position of the first element equal to `value`.
pub(super) fn index(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let list = args.list(0)?;
    let wanted = args.get(1);
    list.iter()
        .position(|element| equal(element, wanted))
        .map(|i| Value::from(i as i64))
        .ok_or_else(|| FunctionError::Failed("item not found".into()))
}

/// `sort(list)`: strings in lexicographic (byte) order; numbers and bools are converted to
/// strings first, as Terraform's `list(string)` parameter converts them.
pub(super) fn sort(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut strings = Vec::new();
    for (position, item) in args.list(0)?.iter().enumerate() {
        if item.is_null() {
            return Err(args.error(0, format!("given list element {position} is null; a null string cannot be sorted")));
        }
        let text = to_string(item).ok_or_else(|| {
            args.error(0, format!("list of string required, but element {position} is {}", kind(item)))
        })?;
        strings.push(text.into_owned());
    }
    strings.sort();
    Ok(Value::List(strings.into_iter().map(Value::String).collect()))
}

pub(super) fn reverse(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut items = args.list(0)?.to_vec();
    items.reverse();
    Ok(Value::List(items))
}

/// `zipmap(keys, values)`: a map from the keys to the values at the same positions.
pub(super) fn zipmap(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let keys = args.list(0)?;
    let values = args.list(1)?;
    if keys.len() != values.len() {
        return Err(FunctionError::Failed(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (position, (key, value)) in keys.iter().zip(values).enumerate() {
        let key = to_string(key)
            .ok_or_else(|| args.error(0, format!("element {position}: string required, but got {}", kind(key))))?;
        out.insert(key.into_owned(), value.clone());
    }
    Ok(Value::Object(out))
}

/// `coalescelist(lists...)`: the first list that is not empty.
pub(super) fn coalescelist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    for index in 0..args.all().len() {
        if args.get(index).is_null() {
            continue;
        }
        let list = args
            .get(index)
            .as_list()
            .ok_or_else(|| FunctionError::Failed("coalescelist arguments must be lists or tuples".into()))?;
        if !list.is_empty() {
            return Ok(Value::List(list.to_vec()));
        }
    }
    Err(FunctionError::Failed("no non-null arguments".into()))
}

/// `one(list)`: null for an empty collection, the element of a one-element collection.
pub(super) fn one(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    match args.get(0).as_list() {
        Some([]) => Ok(Value::Null),
        Some([only]) => Ok(only.clone()),
        _ => Err(args.error(0, "must be a list, set, or tuple value with either zero or one elements")),
    }
}

/// `sum(list)`: the total of a non-empty list of numbers.
pub(super) fn sum(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let list = args.get(0).as_list().ok_or_else(|| {
        args.error(0, format!("argument must be list, set, or tuple. Received {}", kind(args.get(0))))
    })?;
    let Some((first, rest)) = list.split_first() else {
        return Err(args.error(0, "cannot sum an empty list"));
    };
    let number = |value: &Value| -> Result<Number, FunctionError> {
        match value {
            Value::Number(n) => Ok(*n),
            Value::String(s) => super::args::parse_number(s).ok_or_else(|| {
                args.error(
                    0,
                    format!(
                        "argument must be list, set, or tuple of number values, but {} is not a number",
                        args.show(s)
                    ),
                )
            }),
            other => Err(args.error(
                0,
                format!("argument must be list, set, or tuple of number values, but an element is {}", kind(other)),
            )),
        }
    };
    let mut total = number(first)?;
    for item in rest {
        total = crate::functions::numeric::add(&total, &number(item)?);
    }
    Ok(Value::Number(total))
}

/// `alltrue(list)`: true if every element is true (and for an empty list).
pub(super) fn alltrue(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    bools(args).map(|items| Value::Bool(items.iter().all(|b| *b == Some(true))))
}

/// `anytrue(list)`: true if any element is true (false for an empty list).
pub(super) fn anytrue(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    bools(args).map(|items| Value::Bool(items.contains(&Some(true))))
}

/// The elements of a `list(bool)` argument; a null element is `None`.
fn bools(args: &Args) -> Result<Vec<Option<bool>>, FunctionError> {
    args.list(0)?
        .iter()
        .enumerate()
        .map(|(position, item)| match item {
            Value::Null => Ok(None),
            other => to_bool(other).map(Some).ok_or_else(|| {
                args.error(0, format!("list of bool required, but element {position} is {}", kind(item)))
            }),
        })
        .collect()
}

/// `chunklist(list, size)`: the list cut into lists of at most `size` elements.
pub(super) fn chunklist(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let list = args.list(0)?;
    let size = args.integer(1)?;
    if list.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    if size < 0 {
        return Err(FunctionError::Failed("the size argument must be positive".into()));
    }
    if size == 0 {
        return Ok(Value::List(vec![Value::List(list.to_vec())]));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::List(list.chunks(size).map(|chunk| Value::List(chunk.to_vec())).collect()))
}

/// `transpose(map)`: swaps the keys and the list elements of a `map(list(string))`.
pub(super) fn transpose(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (key, list) in args.object(0)? {
        let items = list.as_list().ok_or_else(|| {
            args.error(0, format!("map of list of string required, but element \"{key}\" is {}", kind(list)))
        })?;
        for item in items {
            let value = to_string(item).ok_or_else(|| {
                args.error(0, format!("map of list of string required, but an element of \"{key}\" is {}", kind(item)))
            })?;
            out.entry(value.into_owned()).or_default().push(Value::from(key.as_str()));
        }
    }
    Ok(Value::Object(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}

/// `matchkeys(values, keys, searchset)`: the elements of `values` whose key at the same
/// position is in `searchset`.
pub(super) fn matchkeys(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let values = args.list(0)?;
    let keys = args.list(1)?;
    let search = args.list(2)?;
    if values.len() != keys.len() {
        return Err(FunctionError::Failed("length of keys and values should be equal".into()));
    }
    Ok(Value::List(
        values
            .iter()
            .zip(keys)
            .filter(|(_, key)| search.iter().any(|s| equal(s, key)))
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

/// `setproduct(sets...)`: every combination of one element from each argument, the first
/// argument varying slowest. An empty argument makes the product empty.
pub(super) fn setproduct(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    if args.all().is_empty() {
        return Err(FunctionError::Failed("at least two arguments are required".into()));
    }
    let mut product: Vec<Vec<Value>> = vec![Vec::new()];
    for index in 0..args.all().len() {
        let items = args.list(index)?;
        let mut next = Vec::with_capacity(product.len() * items.len());
        for prefix in &product {
            for item in items {
                let mut combination = prefix.clone();
                combination.push(item.clone());
                next.push(combination);
            }
        }
        product = next;
    }
    Ok(Value::List(product.into_iter().map(Value::List).collect()))
}

/// `setunion(sets...)`: every element of any argument, as a set.
pub(super) fn setunion(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let mut all = Vec::new();
    for index in 0..args.all().len() {
        all.extend_from_slice(args.list(index)?);
    }
    set_of(all)
}

/// `setintersection(sets...)`: the elements every argument has.
pub(super) fn setintersection(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let first = set_elements(args, 0)?;
    let mut others = Vec::new();
    for index in 1..args.all().len() {
        others.push(set_elements(args, index)?);
    }
    set_of(first.into_iter().filter(|item| others.iter().all(|set| set.iter().any(|x| equal(x, item)))).collect())
}

/// `setsubtract(a, b)`: the elements of `a` that `b` does not have.
pub(super) fn setsubtract(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let a = set_elements(args, 0)?;
    let b = set_elements(args, 1)?;
    set_of(a.into_iter().filter(|item| !b.iter().any(|x| equal(x, item))).collect())
}

fn set_elements(args: &Args, index: usize) -> Result<Vec<Value>, FunctionError> {
    unify(args.list(index)?).map_err(|e| args.error(index, format!("the elements {e}.")))
}

fn set_of(items: Vec<Value>) -> Result<Value, FunctionError> {
    let items = unify(&items).map_err(|e| {
        FunctionError::Failed(format!("given sets must all have compatible element types: the elements {e}"))
    })?;
    Ok(Value::List(normalize_set(items)))
}

/// Equality as cty's `Equals`: numbers by value, collections element by element.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => crate::functions::numeric::compare(x, y) == Ordering::Equal,
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && equal(va, vb))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;
    use crate::Value;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }
    fn strs(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }
    fn nums(items: &[i64]) -> Value {
        Value::List(items.iter().map(|n| Value::from(*n)).collect())
    }
    fn f(x: f64) -> Value {
        Value::from_json(&serde_json::json!(x))
    }

    /// The examples of developer.hashicorp.com/terraform/language/functions/range and the
    /// errors of go-cty's stdlib/sequence.go.
    #[test]
    fn range_follows_the_documented_examples() {
        check(&[
            ("range", vec![3.into()], "[0, 1, 2]"),
            ("range", vec![1.into(), 4.into()], "[1, 2, 3]"),
            ("range", vec![1.into(), 8.into(), 2.into()], "[1, 3, 5, 7]"),
            ("range", vec![1.into(), 4.into(), f(0.5)], "[1, 1.5, 2, 2.5, 3, 3.5]"),
            ("range", vec![4.into(), 1.into()], "[4, 3, 2]"),
            ("range", vec![10.into(), 5.into(), (-2).into()], "[10, 8, 6]"),
            ("range", vec![(-3).into()], "[0, -1, -2]"),
            ("range", vec![0.into()], "[]"),
            ("range", vec![1.into(), 2.into(), 0.into()], "error: Invalid value for argument 3: step must not be zero"),
            (
                "range",
                vec![1.into(), 5.into(), (-1).into()],
                "error: Invalid value for argument 2: end must be less than start when step is negative",
            ),
            (
                "range",
                vec![5.into(), 1.into(), 1.into()],
                "error: Invalid value for argument 2: end must be greater than start when step is positive",
            ),
            ("range", vec![1025.into()], "error: more than 1024 values were generated; either decrease the difference between start and end or use a smaller step"),
        ]);
    }

    #[test]
    fn slice_index_sort_reverse_zipmap() {
        check(&[
            ("slice", vec![strs(&["a", "b", "c", "d"]), 1.into(), 3.into()], r#"["b", "c"]"#),
            (
                "slice",
                vec![strs(&["a"]), 0.into(), 2.into()],
                "error: Invalid value for argument 3: end index must not be greater than the length of the list",
            ),
            (
                "slice",
                vec![strs(&["a", "b"]), 2.into(), 1.into()],
                "error: Invalid value for argument 2: start index must not be greater than end index",
            ),
            ("index", vec![strs(&["a", "b", "c"]), "b".into()], "1"),
            ("index", vec![strs(&["a"]), "z".into()], "error: item not found"),
            ("sort", vec![strs(&["e", "d", "a", "x"])], r#"["a", "d", "e", "x"]"#),
            ("sort", vec![nums(&[10, 9, 1])], r#"["1", "10", "9"]"#),
            ("reverse", vec![nums(&[1, 2, 3])], "[3, 2, 1]"),
            ("zipmap", vec![strs(&["a", "b"]), nums(&[1, 2])], "{a = 1, b = 2}"),
            ("zipmap", vec![strs(&["a"]), nums(&[])], "error: number of keys (1) does not match number of values (0)"),
        ]);
    }

    #[test]
    fn one_sum_alltrue_anytrue_chunklist() {
        check(&[
            ("one", vec![list(vec![])], "null"),
            ("one", vec![strs(&["hello"])], r#""hello""#),
            ("one", vec![strs(&["a", "b"])], "error: Invalid value for argument 1: must be a list, set, or tuple value with either zero or one elements"),
            ("sum", vec![nums(&[10, 13, 6, 4])], "33"),
            ("sum", vec![list(vec![f(10.5), f(0.25)])], "10.75"),
            ("sum", vec![list(vec![])], "error: Invalid value for argument 1: cannot sum an empty list"),
            ("alltrue", vec![list(vec!["true".into(), true.into()])], "true"),
            ("alltrue", vec![list(vec![true.into(), false.into()])], "false"),
            ("alltrue", vec![list(vec![])], "true"),
            ("anytrue", vec![list(vec!["true".into()])], "true"),
            ("anytrue", vec![list(vec![])], "false"),
            ("chunklist", vec![strs(&["a", "b", "c", "d", "e"]), 2.into()], r#"[["a", "b"], ["c", "d"], ["e"]]"#),
            ("chunklist", vec![strs(&["a", "b"]), 1.into()], r#"[["a"], ["b"]]"#),
            ("chunklist", vec![strs(&["a", "b"]), 0.into()], r#"[["a", "b"]]"#),
        ]);
    }

    #[test]
    fn transpose_matchkeys_coalescelist_setproduct() {
        let m = Value::object([("a", strs(&["1", "2"])), ("b", strs(&["2", "3"]))]);
        check(&[
            ("transpose", vec![m], r#"{1 = ["a"], 2 = ["a", "b"], 3 = ["b"]}"#),
            (
                "matchkeys",
                vec![strs(&["i-123", "i-abc", "i-def"]), strs(&["us-west", "us-east", "us-east"]), strs(&["us-east"])],
                r#"["i-abc", "i-def"]"#,
            ),
            ("coalescelist", vec![strs(&[]), strs(&["c", "d"])], r#"["c", "d"]"#),
            ("coalescelist", vec![strs(&["a", "b"]), strs(&["c", "d"])], r#"["a", "b"]"#),
            (
                "setproduct",
                vec![strs(&["development", "staging"]), strs(&["app1", "app2"])],
                r#"[["development", "app1"], ["development", "app2"], ["staging", "app1"], ["staging", "app2"]]"#,
            ),
            ("setproduct", vec![strs(&["a"]), strs(&[])], "[]"),
        ]);
    }

    #[test]
    fn set_functions_return_sorted_sets() {
        check(&[
            ("setunion", vec![strs(&["a", "b"]), strs(&["b", "c"]), strs(&["d"])], r#"["a", "b", "c", "d"]"#),
            ("setintersection", vec![strs(&["a", "b"]), strs(&["b", "c"]), strs(&["b", "d"])], r#"["b"]"#),
            ("setsubtract", vec![strs(&["a", "b", "c"]), strs(&["a", "c"])], r#"["b"]"#),
            ("setunion", vec![nums(&[10, 2]), nums(&[1])], "[1, 2, 10]"),
        ]);
    }
}
