//! `random_password` and `random_id`, with Terraform's attribute names. Every argument forces
//! replacement (a new value); a password's result is sensitive, an id's encodings are not (they
//! are identifiers, and Terraform's `random_id` does not mark them).

use trustform_lang::Type;
use trustform_schema::{Attribute, Block, ResourceSchema};

pub(crate) const PASSWORD: &str = "random_password";
pub(crate) const ID: &str = "random_id";

fn keepers() -> Attribute {
    Attribute::optional(Type::map(Type::String))
        .force_new()
        .describe("Arbitrary values that, when changed, generate a new result.")
}

fn flag(default: bool, description: &'static str) -> Attribute {
    Attribute::optional(Type::Bool).force_new().default(default).describe(description)
}

fn minimum(description: &'static str) -> Attribute {
    Attribute::optional(Type::Number).force_new().default(0).describe(description)
}

fn result(description: &'static str) -> Attribute {
    Attribute::computed(Type::String).sensitive().describe(description)
}

/// An encoding of a `random_id`: not sensitive, as in hashicorp/terraform-provider-random
/// (`internal/provider/resource_id.go`), where the resource makes unique names, not secrets.
fn encoding(description: &'static str) -> Attribute {
    Attribute::computed(Type::String).describe(description)
}

pub(crate) fn password() -> ResourceSchema {
    ResourceSchema::new(
        PASSWORD,
        Block::new()
            .attr("length", Attribute::required(Type::Number).force_new().describe("The number of characters."))
            .attr("keepers", keepers())
            .attr("upper", flag(true, "Include A-Z."))
            .attr("lower", flag(true, "Include a-z."))
            .attr("numeric", flag(true, "Include 0-9."))
            .attr("special", flag(true, "Include the special characters !@#$%&*()-_=+[]{}<>:?"))
            .attr(
                "override_special",
                Attribute::optional(Type::String)
                    .force_new()
                    .describe("The special characters to use instead of the default set."),
            )
            .attr("min_upper", minimum("At least this many of A-Z."))
            .attr("min_lower", minimum("At least this many of a-z."))
            .attr("min_numeric", minimum("At least this many of 0-9."))
            .attr("min_special", minimum("At least this many special characters."))
            .attr("result", result("The generated password."))
            .attr(
                "id",
                Attribute::computed(Type::String).describe("Always `none`: the id is printed, the result never."),
            ),
    )
    .import_id("not importable: the import id would be the secret itself")
}

pub(crate) fn id() -> ResourceSchema {
    ResourceSchema::new(
        ID,
        Block::new()
            .attr(
                "byte_length",
                Attribute::required(Type::Number).force_new().describe("The number of random bytes, at least 1."),
            )
            .attr("keepers", keepers())
            .attr(
                "prefix",
                Attribute::optional(Type::String).force_new().describe("Put before every encoding, as given."),
            )
            .attr("b64_url", encoding("Base64 with the URL-safe alphabet, unpadded."))
            .attr("b64_std", encoding("Base64 with the standard alphabet, padded."))
            .attr("hex", encoding("Hexadecimal, two digits a byte."))
            .attr("dec", encoding("The bytes as one big-endian unsigned decimal number."))
            .attr(
                "id",
                Attribute::computed(Type::String)
                    .describe("The bytes in base64 with the URL-safe alphabet, unpadded, without the prefix."),
            ),
    )
    .import_id("the id (URL-safe base64), or PREFIX,ID for an id with a prefix")
}
