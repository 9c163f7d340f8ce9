//! Strings as the checks read them: known text, or the shape of a partially known one
//! (`trustform_lang::Partial`), written out with each hole as one character of Unicode's
//! supplementary private use area, which no spec writes. The string parsers of the checks then
//! work unchanged on either, a hole standing in one segment of a member, an ARN or a
//! subject; equality and every conclusion that needs the whole text use [`known`] first.
//!
//! A hole whose reference has a form its provider documents is written out in that form (see
//! [`Holes::expand`]), so `${google_iam_workload_identity_pool.aws.name}` reads as
//! `projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/ID` once the pool's ID is
//! known from the spec.

use std::cell::RefCell;
use trustform_lang::{Part, Partial, ResourceAddr, Value};

const FIRST_HOLE: u32 = 0xF0000;
const LAST_HOLE: u32 = 0xFFFFD;

pub(crate) fn is_hole(c: char) -> bool {
    (FIRST_HOLE..=LAST_HOLE).contains(&u32::from(c))
}

/// Whether `text` has no hole: what equality and "all digits" need.
pub(crate) fn known(text: &str) -> Option<&str> {
    (!text.chars().any(is_hole)).then_some(text)
}

/// What stands in a hole, for messages.
#[derive(Clone)]
enum Stand {
    /// `${REFERENCE}`: what the user wrote.
    Reference(String),
    /// A word for the part of a derived form that is unknown (`PROJECT_NUMBER`).
    Placeholder(&'static str),
    /// `${...}`: a function call or a directive.
    Anything,
}

/// The planned value of a resource instance, by address.
type Lookup<'s> = Box<dyn Fn(&ResourceAddr) -> Option<&'s Value> + 's>;

/// The holes of one run of the checks, by character, and the planned values their references
/// are expanded from.
pub(crate) struct Holes<'s> {
    holes: RefCell<Vec<(Stand, Option<String>)>>,
    lookup: Lookup<'s>,
}

impl<'s> Holes<'s> {
    pub(crate) fn new(lookup: impl Fn(&ResourceAddr) -> Option<&'s Value> + 's) -> Holes<'s> {
        Holes { holes: RefCell::new(Vec::new()), lookup: Box::new(lookup) }
    }

    fn hole(&self, stand: Stand, reference: Option<String>) -> Option<char> {
        let mut holes = self.holes.borrow_mut();
        // One expression is one value: the same reference is the same hole.
        if let Stand::Reference(written) = &stand {
            let same = holes.iter().position(|(s, _)| matches!(s, Stand::Reference(r) if r == written));
            if let Some(index) = same {
                return char::from_u32(FIRST_HOLE + u32::try_from(index).ok()?);
            }
        }
        let c = char::from_u32(FIRST_HOLE + u32::try_from(holes.len()).ok()?).filter(|c| is_hole(*c))?;
        holes.push((stand, reference));
        Some(c)
    }

    /// The reference a hole came from.
    pub(crate) fn reference(&self, hole: char) -> Option<String> {
        let index = usize::try_from(u32::from(hole).checked_sub(FIRST_HOLE)?).ok()?;
        self.holes.borrow().get(index).and_then(|(_, reference)| reference.clone())
    }

    /// The text of a known string, or of a partially known one with its holes; `None` for
    /// anything else (a plain unknown, a number, null).
    pub(crate) fn text(&self, value: &Value) -> Option<String> {
        if let Some(text) = value.as_str() {
            return Some(text.to_owned());
        }
        let shape: &Partial = value.as_partial()?;
        let mut out = String::new();
        for part in shape.parts() {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Hole(hole) => match &hole.reference {
                    Some(reference) => match self.expand(reference) {
                        Some(form) => out.push_str(&form),
                        None => out.push(self.hole(Stand::Reference(reference.clone()), Some(reference.clone()))?),
                    },
                    None => out.push(self.hole(Stand::Anything, None)?),
                },
            }
        }
        Some(out)
    }

    /// The text written for the user: each hole as the reference it came from.
    pub(crate) fn show(&self, text: &str) -> String {
        let holes = self.holes.borrow();
        let mut out = String::new();
        for c in text.chars() {
            let index = u32::from(c).checked_sub(FIRST_HOLE).and_then(|i| usize::try_from(i).ok());
            match index.and_then(|i| holes.get(i)).filter(|_| is_hole(c)) {
                Some((Stand::Reference(reference), _)) => {
                    out.push_str("${");
                    out.push_str(reference);
                    out.push('}');
                }
                Some((Stand::Placeholder(word), _)) => out.push_str(word),
                Some((Stand::Anything, _)) => out.push_str("${...}"),
                None => out.push(c),
            }
        }
        out
    }

    /// The documented form of a reference whose value the cloud assigns, with what the spec
    /// already fixes filled in:
    ///
    /// * a workload identity pool's `name` is
    ///   `projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID` and a pool
    ///   provider's adds `/providers/PROVIDER_ID` (Google IAM REST reference,
    ///   <https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools>
    ///   and `.../workloadIdentityPools.providers`, field `name`);
    /// * an IAM role's `arn` is `arn:aws:iam::ACCOUNT:role/PATH/NAME` (path `/` unless set;
    ///   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>),
    ///   the name partially known or made from `name_prefix` as the AWS provider's plan makes it.
    fn expand(&self, reference: &str) -> Option<String> {
        let (address, attribute) = reference.rsplit_once('.')?;
        let address: ResourceAddr = address.parse().ok()?;
        let after = (self.lookup)(&address)?;
        let planned = |name: &str| after.get(name).and_then(Value::as_str);
        match (address.type_name(), attribute) {
            ("google_iam_workload_identity_pool", "name") => {
                let pool = planned("workload_identity_pool_id")?;
                let number = self.hole(Stand::Placeholder("PROJECT_NUMBER"), Some(reference.to_owned()))?;
                Some(format!("projects/{number}/locations/global/workloadIdentityPools/{pool}"))
            }
            ("google_iam_workload_identity_pool_provider", "name") => {
                let pool = planned("workload_identity_pool_id")?;
                let provider = planned("workload_identity_pool_provider_id")?;
                let number = self.hole(Stand::Placeholder("PROJECT_NUMBER"), Some(reference.to_owned()))?;
                Some(format!("projects/{number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}"))
            }
            ("aws_iam_role", "arn") => {
                let name = match after.get("name").and_then(|name| self.text(name)) {
                    Some(name) => name,
                    // IAM is given a name made from the prefix (`terraform-` unless set) at
                    // create, as the provider's plan derives it.
                    None => {
                        let prefix = match after.get("name_prefix") {
                            None | Some(Value::Null) => "terraform-".to_owned(),
                            Some(prefix) => self.text(prefix)?,
                        };
                        let suffix = self.hole(Stand::Placeholder("GENERATED"), Some(reference.to_owned()))?;
                        format!("{prefix}{suffix}")
                    }
                };
                let path = after.get("path").and_then(Value::as_str).unwrap_or("/");
                let account = self.hole(Stand::Placeholder("ACCOUNT"), Some(reference.to_owned()))?;
                Some(format!("arn:aws:iam::{account}:role{path}{name}"))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Hole;

    fn partial(parts: Vec<Part>) -> Value {
        Value::Partial(Box::new(Partial::new(parts).unwrap()))
    }

    #[test]
    fn shapes_read_as_text_with_holes_and_show_as_templates() {
        let pool = Value::object([("workload_identity_pool_id", Value::from("aws-pool"))]);
        let pool_address: ResourceAddr = "google_iam_workload_identity_pool.aws".parse().unwrap();
        let holes = Holes::new(|address| (*address == pool_address).then_some(&pool));
        let member = partial(vec![
            Part::Text("principalSet://iam.googleapis.com/".into()),
            Part::Hole(Hole::reference("google_iam_workload_identity_pool.aws.name")),
            Part::Text("/attribute.aws_role/arn:aws:iam::".into()),
            Part::Hole(Hole::reference("data.aws_caller_identity.me.account_id")),
            Part::Text(":role/gw".into()),
        ]);
        let text = holes.text(&member).unwrap();
        assert!(text.contains("/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/"), "{text}");
        assert_eq!(known(&text), None);
        assert_eq!(known("plain"), Some("plain"));
        assert_eq!(
            holes.show(&text),
            "principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/aws-pool/attribute.aws_role/arn:aws:iam::${data.aws_caller_identity.me.account_id}:role/gw"
        );
        let account = text.chars().find(|c| is_hole(*c) && holes.show(&c.to_string()).starts_with("${")).unwrap();
        assert_eq!(holes.reference(account).as_deref(), Some("data.aws_caller_identity.me.account_id"));
        let again = partial(vec![
            Part::Text("acct ".into()),
            Part::Hole(Hole::reference("data.aws_caller_identity.me.account_id")),
        ]);
        assert_eq!(holes.text(&again).unwrap(), format!("acct {account}"), "one expression, one hole");
        assert_eq!(holes.text(&Value::Unknown), None);
        assert_eq!(holes.text(&Value::from("x")).as_deref(), Some("x"));
    }

    #[test]
    fn a_role_named_from_a_prefix_reads_as_its_documented_form() {
        let role = Value::object([("name", Value::Unknown), ("name_prefix", "relay-".into()), ("path", "/".into())]);
        let unset = Value::object([("name", Value::Unknown), ("path", "/edge/".into())]);
        let (relay, plain): (ResourceAddr, ResourceAddr) =
            ("aws_iam_role.relay".parse().unwrap(), "aws_iam_role.plain".parse().unwrap());
        let holes = Holes::new(|address| match address {
            a if *a == relay => Some(&role),
            a if *a == plain => Some(&unset),
            _ => None,
        });
        let arn = |reference: &str| {
            let member = partial(vec![Part::Text("x/".into()), Part::Hole(Hole::reference(reference))]);
            holes.show(&holes.text(&member).unwrap())
        };
        assert_eq!(arn("aws_iam_role.relay.arn"), "x/arn:aws:iam::ACCOUNT:role/relay-GENERATED");
        assert_eq!(arn("aws_iam_role.plain.arn"), "x/arn:aws:iam::ACCOUNT:role/edge/terraform-GENERATED");
    }
}
