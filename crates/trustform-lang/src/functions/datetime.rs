//! Time functions over RFC 3339 timestamps: `timestamp`, `timeadd`, `timecmp` and
//! `formatdate`, as terraform's internal/lang/funcs/datetime.go and go-cty's
//! stdlib/datetime.go define them.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// `timestamp()`: the current time in UTC, to the second; unknown until the apply step.
pub(super) fn timestamp(_: &Args, ctx: &FunctionContext) -> Result<Value, FunctionError> {
    if !ctx.applying {
        return Ok(Value::Unknown);
    }
    plantimestamp(&Args::new(Vec::new(), false), ctx)
}

/// `plantimestamp()`: the current time in UTC, to the second, known at plan too.
pub(super) fn plantimestamp(_: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    write(now).map(Value::String)
}

fn parse(args: &Args, index: usize) -> Result<OffsetDateTime, FunctionError> {
    let text = args.string(index)?;
    OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
        args.error(index, format!("not a valid RFC3339 timestamp: cannot use {} as year", args.show(&text)))
    })
}

fn write(time: OffsetDateTime) -> Result<String, FunctionError> {
    // RFC 3339 as Go writes it: `Z` for UTC, fractional seconds only when there are some.
    time.format(&Rfc3339).map_err(|e| FunctionError::Failed(format!("the time cannot be written: {e}")))
}

/// `timeadd(timestamp, duration)`: the timestamp moved by a Go duration (`"1h30m"`,
/// `"-10s"`), keeping its offset.
pub(super) fn timeadd(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let time = parse(args, 0)?;
    let text = args.string(1)?;
    let duration =
        go_duration(&text).ok_or_else(|| args.error(1, format!("time: invalid duration {}", args.show(&text))))?;
    let moved = time.checked_add(duration).ok_or_else(|| FunctionError::Failed("the time is out of range".into()))?;
    write(moved).map(Value::String)
}

/// `timecmp(a, b)`: -1, 0 or 1 as `a` is before, at or after `b`.
pub(super) fn timecmp(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let a = parse(args, 0)?;
    let b = parse(args, 1)?;
    Ok(Value::from(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }))
}

/// Go's `time.ParseDuration`: a signed sequence of decimal numbers with units.
fn go_duration(text: &str) -> Option<Duration> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_end == 0 {
            return None;
        }
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let nanos = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * nanos;
    }
    let nanos = if negative { -total } else { total };
    Some(Duration::nanoseconds(nanos as i64))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `formatdate(spec, timestamp)`: the timestamp written with the documented tokens
/// (`YYYY`, `MMM`, `DD`, `EEE`, `hh`, `mm`, `ss`, `aa`, `ZZZ`...); text in single quotes is
/// copied, `''` is one quote.
pub(super) fn formatdate(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let spec = args.string(0)?;
    let time = parse(args, 1)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            // A quoted literal, in which `''` is one quote.
            i += 1;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('\''), Some('\'')) => {
                        out.push('\'');
                        i += 2;
                    }
                    (Some('\''), _) => {
                        i += 1;
                        break;
                    }
                    (Some(&c), _) => {
                        out.push(c);
                        i += 1;
                    }
                    (None, _) => return Err(args.error(0, "unterminated literal '")),
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let token: String = chars[i..i + run].iter().collect();
        out.push_str(&format_token(&token, &time).ok_or_else(|| {
            args.error(0, format!("invalid date format verb {}: use a documented token such as YYYY, MM, DD, hh, mm or ss, and put other text in single quotes", args.show(&token)))
        })?);
        i += run;
    }
    Ok(Value::String(out))
}

fn format_token(token: &str, t: &OffsetDateTime) -> Option<String> {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let offset = t.offset();
    Some(match token {
        "YYYY" => format!("{:04}", t.year()),
        "YY" => format!("{:02}", t.year().rem_euclid(100)),
        "MMMM" => MONTHS[usize::from(u8::from(t.month())) - 1].to_owned(),
        "MMM" => MONTHS[usize::from(u8::from(t.month())) - 1][..3].to_owned(),
        "MM" => format!("{:02}", u8::from(t.month())),
        "M" => u8::from(t.month()).to_string(),
        "DD" => format!("{:02}", t.day()),
        "D" => t.day().to_string(),
        "EEEE" => DAYS[usize::from(t.weekday().number_days_from_monday())].to_owned(),
        "EEE" => DAYS[usize::from(t.weekday().number_days_from_monday())][..3].to_owned(),
        "hh" => format!("{:02}", t.hour()),
        "h" => t.hour().to_string(),
        "HH" => format!("{hour12:02}"),
        "H" => hour12.to_string(),
        "AA" => if t.hour() < 12 { "AM" } else { "PM" }.to_owned(),
        "aa" => if t.hour() < 12 { "am" } else { "pm" }.to_owned(),
        "mm" => format!("{:02}", t.minute()),
        "m" => t.minute().to_string(),
        "ss" => format!("{:02}", t.second()),
        "s" => t.second().to_string(),
        "ZZZZZ" => offset_text(offset, true),
        "ZZZZ" => offset_text(offset, false),
        "ZZZ" if offset.is_utc() => "UTC".to_owned(),
        "ZZZ" => offset_text(offset, false),
        "Z" if offset.is_utc() => "Z".to_owned(),
        "Z" => offset_text(offset, true),
        _ => return None,
    })
}

fn offset_text(offset: UtcOffset, colon: bool) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let (h, m) = (h.unsigned_abs(), m.unsigned_abs());
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;

    /// The examples of developer.hashicorp.com/terraform/language/functions/{formatdate,
    /// timeadd,timecmp}.
    #[test]
    fn timestamp_is_unknown_until_apply() {
        use super::super::{call, FunctionContext};
        let at =
            |applying| call("timestamp", vec![], &FunctionContext { base_dir: std::path::Path::new("."), applying });
        assert_eq!(at(false).unwrap(), crate::Value::Unknown);
        assert_eq!(at(true).unwrap().as_str().map(str::len), Some(20));
        let plan =
            call("plantimestamp", vec![], &FunctionContext { base_dir: std::path::Path::new("."), applying: false });
        assert_eq!(plan.unwrap().as_str().map(str::len), Some(20));
    }

    #[test]
    fn documented_examples() {
        check(&[
            (
                "formatdate",
                vec!["DD MMM YYYY hh:mm ZZZ".into(), "2018-01-02T23:12:01Z".into()],
                r#""02 Jan 2018 23:12 UTC""#,
            ),
            (
                "formatdate",
                vec!["EEEE, DD-MMM-YY hh:mm:ss ZZZ".into(), "2018-01-02T23:12:01Z".into()],
                r#""Tuesday, 02-Jan-18 23:12:01 UTC""#,
            ),
            (
                "formatdate",
                vec!["EEE, DD MMM YYYY hh:mm:ss ZZZ".into(), "2018-01-02T23:12:01-08:00".into()],
                r#""Tue, 02 Jan 2018 23:12:01 -0800""#,
            ),
            ("formatdate", vec!["MMM DD, YYYY".into(), "2018-01-02T23:12:01Z".into()], r#""Jan 02, 2018""#),
            ("formatdate", vec!["HH:mmaa".into(), "2018-01-02T23:12:01Z".into()], r#""11:12pm""#),
            ("formatdate", vec!["h 'o''clock'".into(), "2018-01-02T07:12:01Z".into()], r#""7 o'clock""#),
            ("timeadd", vec!["2017-11-22T00:00:00Z".into(), "10m".into()], r#""2017-11-22T00:10:00Z""#),
            ("timeadd", vec!["2017-11-22T00:00:00Z".into(), "-1h30m".into()], r#""2017-11-21T22:30:00Z""#),
            ("timecmp", vec!["2017-11-22T00:00:00Z".into(), "2017-11-22T00:00:00Z".into()], "0"),
            ("timecmp", vec!["2017-11-22T00:00:00Z".into(), "2017-11-22T01:00:00Z".into()], "-1"),
            ("timecmp", vec!["2017-11-22T01:00:00Z".into(), "2017-11-22T00:00:00Z".into()], "1"),
            ("timecmp", vec!["2017-11-22T01:00:00Z".into(), "2017-11-22T00:00:00-01:00".into()], "0"),
        ]);
    }
}
