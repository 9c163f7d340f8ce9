//! Partially known strings: what a template builds from known text and values known only after
//! apply. Terraform 1.6 keeps a little of this as "refinements" of an unknown value (go-cty's
//! `cty/unknown_refinement.go`: not-null and a known string prefix, which HCL's `TemplateExpr`
//! sets from the literal text before the first unknown, `hclsyntax/expression_template.go`).
//! Trustform keeps the whole shape: every known piece of text, and for each unknown piece (a
//! hole) the reference it came from, so a check can judge
//! `"arn:aws:iam::${data.aws_caller_identity.me.account_id}:role/${aws_iam_role.gateway.name}"`
//! before the account or the role exists.
//!
//! A hole is always a string: HCL converts every interpolated value to one, and an interpolated
//! null is an error, so a hole made by `${...}` is also known not to be null. A `%{if}` on an
//! unknown condition or a `%{for}` over an unknown collection is a hole with no reference that
//! may be empty. Functions and conversions other than to string cannot keep a shape: their
//! result is a plain [`Value::Unknown`](crate::Value::Unknown).

use serde::{Deserialize, Serialize};
use std::fmt;

/// An unknown string of known shape: text and holes, in order, adjacent texts merged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    parts: Vec<Part>,
}

/// One piece of a [`Partial`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Text(String),
    Hole(Hole),
}

/// What is known of an unknown piece of a template.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hole {
    /// The expression the value came from, as written: a reference (`aws_iam_role.gateway.name`)
    /// or any other expression (`replace(aws_eks_cluster.x.identity[0].oidc[0].issuer, ...)`).
    pub reference: Option<String>,
    /// Whether the piece is known not to be null (an interpolation) rather than text that may
    /// be absent (an unknown directive).
    pub not_null: bool,
}

impl Hole {
    pub fn reference(reference: impl Into<String>) -> Hole {
        Hole { reference: Some(reference.into()), not_null: true }
    }

    /// Text a directive on an unknown writes: anything, possibly nothing.
    pub fn maybe_empty() -> Hole {
        Hole { reference: None, not_null: false }
    }
}

impl Partial {
    /// The shape of `parts`, or `None` when it has no hole (it is then a known string).
    pub fn new(parts: impl IntoIterator<Item = Part>) -> Option<Partial> {
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (_, Part::Text(text)) if text.is_empty() => {}
                (Some(Part::Text(last)), Part::Text(text)) => last.push_str(&text),
                (_, part) => merged.push(part),
            }
        }
        merged.iter().any(|part| matches!(part, Part::Hole(_))).then_some(Partial { parts: merged })
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub fn holes(&self) -> impl Iterator<Item = &Hole> {
        self.parts.iter().filter_map(|part| match part {
            Part::Hole(hole) => Some(hole),
            Part::Text(_) => None,
        })
    }

    /// The text known before the first hole: Terraform's string-prefix refinement.
    pub fn prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Text(text)) => text,
            _ => "",
        }
    }

    /// Whether `text` has this shape: its known texts in order, each hole standing for any text
    /// (possibly empty). What a value that was planned with this shape must satisfy once known,
    /// as Terraform holds a final value to its unknown's refinements.
    pub fn admits(&self, text: &str) -> bool {
        let mut rest = text;
        let last = self.parts.len().saturating_sub(1);
        for (index, part) in self.parts.iter().enumerate() {
            let Part::Text(known) = part else { continue };
            let after_hole = index > 0;
            match (after_hole, index == last) {
                (false, true) => return rest == known,
                (false, false) => match rest.strip_prefix(known.as_str()) {
                    Some(after) => rest = after,
                    None => return false,
                },
                (true, true) => return rest.ends_with(known.as_str()),
                (true, false) => match rest.find(known.as_str()) {
                    Some(at) => rest = &rest[at + known.len()..],
                    None => return false,
                },
            }
        }
        true
    }

    /// The shape written as a template, each hole as `${REFERENCE}` (or `${...}`): how checks
    /// quote it to the user.
    pub fn to_template(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(&text.replace("${", "$${").replace("%{", "%%{")),
                Part::Hole(hole) => {
                    out.push_str("${");
                    out.push_str(hole.reference.as_deref().unwrap_or("..."));
                    out.push('}');
                }
            }
        }
        out
    }
}

impl fmt::Debug for Partial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Partial({:?})", self.to_template())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_merge_and_a_shape_needs_a_hole() {
        let text = |t: &str| Part::Text(t.to_owned());
        assert!(Partial::new([text("a"), text("b")]).is_none(), "no hole: a known string");
        let shape = Partial::new([
            text("arn:aws:iam::"),
            Part::Hole(Hole::reference("data.aws_caller_identity.me.account_id")),
            text(""),
            text(":role/"),
            Part::Hole(Hole::reference("aws_iam_role.gateway.name")),
        ])
        .unwrap();
        assert_eq!(shape.parts().len(), 4);
        assert_eq!(shape.prefix(), "arn:aws:iam::");
        assert_eq!(
            shape.to_template(),
            "arn:aws:iam::${data.aws_caller_identity.me.account_id}:role/${aws_iam_role.gateway.name}"
        );
        assert_eq!(shape.holes().count(), 2);
    }

    #[test]
    fn a_known_text_is_admitted_when_it_has_the_shape() {
        let text = |t: &str| Part::Text(t.to_owned());
        let hole = || Part::Hole(Hole { reference: None, not_null: true });
        let arn = Partial::new([text("arn:aws:iam::1:role/gen-"), hole()]).unwrap();
        assert!(arn.admits("arn:aws:iam::1:role/gen-2026"));
        assert!(arn.admits("arn:aws:iam::1:role/gen-"), "a hole may be empty");
        assert!(!arn.admits("arn:aws:iam::2:role/gen-2026"));
        let framed = Partial::new([hole(), text("/x/"), hole(), text(".end")]).unwrap();
        assert!(framed.admits("a/x/b.end") && framed.admits("/x/.end"));
        assert!(!framed.admits("a/x/b.end!") && !framed.admits("a/y/b.end"));
        let middle = Partial::new([text("p/"), hole(), text("/s")]).unwrap();
        assert!(middle.admits("p/a/b/s") && !middle.admits("p/s"), "the texts may not overlap");
    }

    #[test]
    fn quoted_text_stays_literal_in_the_template() {
        let shape =
            Partial::new([Part::Text("${not}".to_owned()), Part::Hole(Hole { reference: None, not_null: false })])
                .unwrap();
        assert_eq!(shape.to_template(), "$${not}${...}");
        assert_eq!(shape.prefix(), "${not}");
    }
}
