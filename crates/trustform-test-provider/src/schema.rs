use trustform_lang::Type;
use trustform_schema::{Attribute, Block, Compare, ProviderSchema, ResourceSchema};

/// The provider's local name; its types are named `test_*`.
pub const PROVIDER_NAME: &str = "test";
/// The one resource type.
pub const RESOURCE_TYPE: &str = "test_resource";
/// The one data source.
pub const LOOKUP_TYPE: &str = "test_lookup";

/// The ARN the provider gives an object named `name`; known at plan time.
pub(crate) fn arn_of(name: &str) -> String {
    format!("arn:test:::resource/{name}")
}

/// What a lookup of `name` returns.
pub(crate) fn lookup_value(name: &str) -> String {
    format!("value-of-{name}")
}

pub(crate) fn provider_schema() -> ProviderSchema {
    let provider = Block::new()
        .attr("region", Attribute::optional(Type::String).describe("Recorded by configure; has no other effect."))
        .attr(
            "token",
            Attribute::optional(Type::String).sensitive().describe("Recorded by configure; has no other effect."),
        );
    let resource = Block::new()
        .attr("id", Attribute::computed(Type::String).describe("Generated on create: tr-000001, tr-000002, ..."))
        .attr("arn", Attribute::computed(Type::String).describe("arn:test:::resource/NAME, known at plan time."))
        .attr(
            "name",
            Attribute::required(Type::String).force_new().describe("Unique among live objects; forces replacement."),
        )
        .attr("input", Attribute::optional(Type::Any).describe("Any value; changes in place."))
        .attr("output", Attribute::computed(Type::Any).describe("Equals `input`."))
        .attr("tags", Attribute::optional(Type::map(Type::String)))
        .attr(
            "policy",
            Attribute::optional(Type::String)
                .compare(Compare::JsonDocument)
                .describe("A JSON document, stored reformatted the way IAM reformats policies."),
        )
        .attr("secret", Attribute::optional(Type::String).sensitive())
        .attr(
            "zone",
            Attribute::optional_computed(Type::String)
                .describe("Where the object lives; the provider picks `test-zone-a` when it is unset."),
        );
    let lookup = Block::new()
        .attr("name", Attribute::required(Type::String))
        .attr("value", Attribute::computed(Type::String).describe("value-of-NAME."));
    ProviderSchema {
        provider,
        ..ProviderSchema::default()
            .resource(ResourceSchema::new(RESOURCE_TYPE, resource))
            .data_source(ResourceSchema::new(LOOKUP_TYPE, lookup))
    }
}
