//! `trustform { encryption { ... } }`: key providers, methods, and the `state` and `plan` blocks
//! that choose among them, checked with a diagnostic for every problem and turned into the
//! [`Encryption`] of state and of saved plan files.
//!
//! ```hcl
//! trustform {
//!   encryption {
//!     key_provider "pbkdf2" "main" { passphrase = var.state_passphrase }
//!     method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
//!     state {
//!       method   = method.aes_gcm.main
//!       enforced = true
//!     }
//!     plan { method = method.aes_gcm.main }
//!   }
//! }
//! ```
//!
//! A `pbkdf2` key provider's passphrase is its `passphrase` argument when the spec sets one (it
//! must be sensitive: a sensitive variable), else `TRUSTFORM_STATE_PASSPHRASE`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use trustform_diag::{Diagnostic, Diagnostics, Span};
use trustform_lang::config::{static_traversal, Attr, Body, Config, NestedBody};
use trustform_lang::{LocalsCache, ResourceId, ResourceValues, Scope, Value};
use trustform_state::encryption::{
    HashFunction, Method, Passphrase, Payload, Pbkdf2KeyProvider, Pbkdf2Settings, KEY_LENGTH, PASSPHRASE_ENV,
};
use trustform_state::Encryption;

/// How state and saved plans are stored.
#[derive(Debug, Clone)]
pub struct EncryptionSettings {
    pub state: Encryption,
    pub plan: Encryption,
}

impl EncryptionSettings {
    /// No encryption: a spec without an `encryption` block.
    pub fn plaintext() -> Self {
        EncryptionSettings { state: Encryption::plaintext(Payload::State), plan: Encryption::plaintext(Payload::Plan) }
    }
}

/// Reads the spec's `encryption` block. `variables` are what `var.NAME` in a passphrase sees;
/// `env_passphrase` is `TRUSTFORM_STATE_PASSPHRASE`. With any error among the diagnostics, the
/// settings are not to be used.
pub fn interpret(
    config: &Config,
    variables: &BTreeMap<String, Value>,
    env_passphrase: Option<&str>,
) -> (EncryptionSettings, Diagnostics) {
    let mut reader = Reader { config, variables, env_passphrase, diags: Diagnostics::new() };
    let settings = match &config.settings.encryption {
        None => EncryptionSettings::plaintext(),
        Some(body) => reader.encryption(body),
    };
    (settings, reader.diags)
}

/// The variables a `pbkdf2` key provider takes its passphrase from (`passphrase = var.NAME`).
/// A saved plan leaves them out: a plan file must not carry the key to the state, least of all
/// when plans are not encrypted. `apply FILE` takes them from the environment again.
pub fn passphrase_variables(config: &Config) -> BTreeSet<String> {
    let Some(body) = &config.settings.encryption else { return BTreeSet::new() };
    body.blocks
        .iter()
        .filter(|b| b.kind == "key_provider")
        .filter_map(|b| b.body.attributes.get("passphrase"))
        .filter_map(|attr| match static_traversal(&attr.expr.expr).as_deref() {
            Some([root, name]) if root == "var" => Some(name.clone()),
            _ => None,
        })
        .collect()
}

struct Reader<'a> {
    config: &'a Config,
    variables: &'a BTreeMap<String, Value>,
    env_passphrase: Option<&'a str>,
    diags: Diagnostics,
}

struct NoResources;

impl ResourceValues for NoResources {
    fn resource(&self, _: &ResourceId) -> Option<Value> {
        None
    }
}

impl Reader<'_> {
    fn encryption(&mut self, body: &Body) -> EncryptionSettings {
        self.no_arguments(body, "The encryption block takes key_provider, method, state and plan blocks");
        let mut keys: BTreeMap<String, Arc<Pbkdf2KeyProvider>> = BTreeMap::new();
        let mut methods: BTreeMap<String, Option<Method>> = BTreeMap::new();
        let mut targets: BTreeMap<&str, &NestedBody> = BTreeMap::new();
        // Key providers first, then methods, then what uses them: order in HCL means nothing.
        for nested in body.blocks.iter().filter(|b| b.kind == "key_provider") {
            if let Some((name, provider)) = self.key_provider(body, nested) {
                if keys.contains_key(&name) {
                    self.duplicate(body, nested, &format!("key_provider.pbkdf2.{name}"));
                }
                keys.insert(name, Arc::new(provider));
            }
        }
        for nested in body.blocks.iter().filter(|b| b.kind == "method") {
            let method = self.method(body, nested, &keys);
            // A method that failed its own checks is reported once, there; what refers to it
            // finds it declared and says nothing more.
            if let [kind, name] = nested.labels.as_slice() {
                let reference = format!("method.{kind}.{name}");
                if methods.contains_key(&reference) {
                    self.duplicate(body, nested, &reference);
                }
                methods.insert(reference, method);
            }
        }
        for nested in &body.blocks {
            match (nested.kind.as_str(), nested.labels.as_slice()) {
                ("key_provider" | "method", _) => {}
                (kind @ ("state" | "plan"), []) => {
                    if targets.insert(kind, nested).is_some() {
                        self.duplicate(body, nested, kind);
                    }
                }
                (kind, _) => self.invalid(
                    self.header(body, nested),
                    format!(
                        "The encryption block takes key_provider \"pbkdf2\" \"NAME\", method \"TYPE\" \"NAME\", state {{ ... }} and plan {{ ... }} blocks; \"{kind}\" with {} label(s) is not one of them. Remove it or fix its labels.",
                        nested.labels.len()
                    ),
                ),
            }
        }
        let mut target = |payload: Payload, kind: &str| match targets.get(kind) {
            None => Encryption::plaintext(payload),
            Some(nested) => self.target(nested, payload, &methods).unwrap_or_else(|| Encryption::plaintext(payload)),
        };
        EncryptionSettings { state: target(Payload::State, "state"), plan: target(Payload::Plan, "plan") }
    }

    fn key_provider(&mut self, parent: &Body, nested: &NestedBody) -> Option<(String, Pbkdf2KeyProvider)> {
        let header = self.header(parent, nested);
        let (kind, name) = match nested.labels.as_slice() {
            [kind, name] => (kind, name),
            _ => {
                self.invalid(
                    header,
                    "A key_provider block takes two labels: key_provider \"pbkdf2\" \"NAME\" { ... }.".to_owned(),
                );
                return None;
            }
        };
        if kind != "pbkdf2" {
            self.diags.push(
                Diagnostic::error(
                    "TF0125",
                    "Unsupported key provider",
                    format!("This build has the key provider \"pbkdf2\" only; \"{kind}\" is not available. Use key_provider \"pbkdf2\" \"{name}\" {{ passphrase = var.NAME }}."),
                )
                .with_span(header),
            );
            return None;
        }
        let body = &nested.body;
        self.no_blocks(body, "A pbkdf2 key provider takes only arguments");
        let mut settings = Pbkdf2Settings::default();
        let mut passphrase = None;
        let mut ok = true;
        for (arg, attr) in &body.attributes {
            let span = self.config.attr_span(body, attr);
            match arg.as_str() {
                "passphrase" => passphrase = self.passphrase(attr),
                "iterations" => match self.whole_number(attr) {
                    Some(n) => settings.iterations = u32::try_from(n).unwrap_or(u32::MAX),
                    None => ok = false,
                },
                "salt_length" => match self.whole_number(attr) {
                    Some(n) => settings.salt_length = usize::try_from(n).unwrap_or(usize::MAX),
                    None => ok = false,
                },
                "key_length" => match self.whole_number(attr) {
                    Some(n) if n == KEY_LENGTH as u64 => {}
                    Some(n) => {
                        self.setting(span, format!("key_length is {n}, but aes_gcm takes {KEY_LENGTH}-byte keys. Set key_length = {KEY_LENGTH}, or leave it out."));
                        ok = false;
                    }
                    None => ok = false,
                },
                "hash_function" => match self.eval(attr).map(|v| v.as_str().map(str::parse::<HashFunction>)) {
                    Some(Some(Ok(hash))) => settings.hash_function = hash,
                    Some(Some(Err(e))) => {
                        self.setting(span, format!("{e}."));
                        ok = false;
                    }
                    Some(None) => {
                        self.setting(span, "hash_function must be a string: \"sha512\" or \"sha256\".".to_owned());
                        ok = false;
                    }
                    None => ok = false,
                },
                other => {
                    self.invalid(span, format!("A pbkdf2 key provider takes passphrase, iterations, salt_length, hash_function and key_length; \"{other}\" is not one of them. Remove it."));
                    ok = false;
                }
            }
        }
        let passphrase = match (body.attributes.contains_key("passphrase"), passphrase, self.env_passphrase) {
            (true, Some(passphrase), _) => passphrase,
            (true, None, _) => return None,
            (false, _, Some(text)) => Passphrase::new(text),
            (false, _, None) => {
                self.diags.push(
                    Diagnostic::error(
                        "TF0127",
                        "Missing passphrase",
                        format!("key_provider \"pbkdf2\" \"{name}\" sets no passphrase, and {PASSPHRASE_ENV} is not set. Set {PASSPHRASE_ENV}, or add passphrase = var.NAME with a variable declared sensitive = true."),
                    )
                    .with_span(header),
                );
                return None;
            }
        };
        if !ok {
            return None;
        }
        match Pbkdf2KeyProvider::new(name.clone(), passphrase, settings) {
            Ok(provider) => Some((name.clone(), provider)),
            Err(e) => {
                self.setting(header, format!("key_provider \"pbkdf2\" \"{name}\": {e}."));
                None
            }
        }
    }

    /// The passphrase argument: a string, and sensitive, so that it is never shown.
    fn passphrase(&mut self, attr: &Attr) -> Option<Passphrase> {
        let span = self.config.span(&attr.expr);
        if let Some([root, name]) = static_traversal(&attr.expr.expr).as_deref() {
            if root == "var" && self.config.variables.contains_key(name) && !self.variables.contains_key(name) {
                self.diags.push(
                    Diagnostic::error(
                        "TF0127",
                        "Missing passphrase",
                        format!("The passphrase comes from var.{name}, which has no value in this command. Set TRUSTFORM_VAR_{name} or put it in trustform.tfvars (commands that read state without planning take no --var), or leave passphrase out and set {PASSPHRASE_ENV}."),
                    )
                    .with_span(span),
                );
                return None;
            }
        }
        let value = self.eval(attr)?;
        if value.is_unknown() {
            // `validate`, where inputs have no values yet: nothing to check.
            return None;
        }
        match value.as_str() {
            Some(text) if value.is_sensitive() => Some(Passphrase::new(text)),
            Some(_) => {
                self.setting(span, format!("A passphrase must be sensitive, so that nothing shows it: give it through a variable declared sensitive = true (passphrase = var.NAME), or leave passphrase out and set {PASSPHRASE_ENV}. Never write it in the spec."));
                None
            }
            None => {
                self.setting(span, format!("The passphrase must be a string, like passphrase = var.NAME, or leave it out and set {PASSPHRASE_ENV}."));
                None
            }
        }
    }

    fn method(
        &mut self,
        parent: &Body,
        nested: &NestedBody,
        keys: &BTreeMap<String, Arc<Pbkdf2KeyProvider>>,
    ) -> Option<Method> {
        let header = self.header(parent, nested);
        let (kind, name) = match nested.labels.as_slice() {
            [kind, name] => (kind.as_str(), name.clone()),
            _ => {
                self.invalid(
                    header,
                    "A method block takes two labels: method \"aes_gcm\" \"NAME\" { keys = key_provider.pbkdf2.NAME }."
                        .to_owned(),
                );
                return None;
            }
        };
        let body = &nested.body;
        self.no_blocks(body, "A method block takes only arguments");
        match kind {
            "aes_gcm" => {
                for (arg, attr) in &body.attributes {
                    if arg != "keys" {
                        let span = self.config.attr_span(body, attr);
                        self.invalid(
                            span,
                            format!(
                                "An aes_gcm method takes keys only; \"{arg}\" is not one of its arguments. Remove it."
                            ),
                        );
                    }
                }
                let Some(attr) = body.attributes.get("keys") else {
                    self.invalid(
                        header,
                        format!("method \"aes_gcm\" \"{name}\" needs its keys: add keys = key_provider.pbkdf2.NAME."),
                    );
                    return None;
                };
                let span = self.config.span(&attr.expr);
                match static_traversal(&attr.expr.expr).as_deref() {
                    Some([root, kind, key]) if root == "key_provider" && kind == "pbkdf2" => match keys.get(key) {
                        Some(provider) => Some(Method::AesGcm { name, keys: provider.clone() }),
                        None => {
                            // A provider that failed its own checks is already reported.
                            let defined =
                                parent.blocks.iter().any(|b| b.kind == "key_provider" && b.labels.get(1) == Some(key));
                            if !defined {
                                self.unknown(
                                    span,
                                    format!("key_provider.pbkdf2.{key}"),
                                    "key_provider \"pbkdf2\"",
                                    keys.keys().map(|k| format!("key_provider.pbkdf2.{k}")),
                                );
                            }
                            None
                        }
                    },
                    _ => {
                        self.unknown(
                            span,
                            "this expression".to_owned(),
                            "key_provider \"pbkdf2\"",
                            keys.keys().map(|k| format!("key_provider.pbkdf2.{k}")),
                        );
                        None
                    }
                }
            }
            "unencrypted" => {
                for (arg, attr) in &body.attributes {
                    let span = self.config.attr_span(body, attr);
                    self.invalid(span, format!("An unencrypted method takes no arguments; remove \"{arg}\"."));
                }
                Some(Method::Unencrypted { name })
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        "TF0125",
                        "Unsupported encryption method",
                        format!("This build has the methods \"aes_gcm\" and \"unencrypted\"; \"{other}\" is not available. Use method \"aes_gcm\" \"{name}\" {{ keys = key_provider.pbkdf2.NAME }}."),
                    )
                    .with_span(header),
                );
                None
            }
        }
    }

    /// A `state` or `plan` block.
    fn target(
        &mut self,
        nested: &NestedBody,
        payload: Payload,
        methods: &BTreeMap<String, Option<Method>>,
    ) -> Option<Encryption> {
        let kind = nested.kind.as_str();
        let header = nested.body.file.map(|f| self.config.sources.span(f, nested.range.clone()));
        let body = &nested.body;
        let mut enforced = false;
        for (arg, attr) in &body.attributes {
            match arg.as_str() {
                "method" => {}
                "enforced" => match self.eval(attr).map(|v| v.as_bool()) {
                    Some(Some(yes)) => enforced = yes,
                    Some(None) => {
                        let span = self.config.span(&attr.expr);
                        self.invalid(span, "enforced must be true or false.".to_owned());
                    }
                    None => {}
                },
                other => {
                    let span = self.config.attr_span(body, attr);
                    self.invalid(span, format!("A {kind} block takes method, enforced and a fallback block; \"{other}\" is not one of them. Remove it."));
                }
            }
        }
        let primary = match body.attributes.get("method") {
            Some(attr) => self.method_ref(attr, methods),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "TF0129",
                        "Missing encryption method",
                        format!("The {kind} block names no method. Add method = method.aes_gcm.NAME, or remove the block to leave the {kind} unencrypted."),
                    )
                    .with_span(header.clone()),
                );
                None
            }
        };
        let mut fallback = None;
        let mut fallbacks = 0;
        for block in &body.blocks {
            let span = body.file.map(|f| self.config.sources.span(f, block.range.clone()));
            if block.kind != "fallback" || !block.labels.is_empty() {
                self.invalid(span, format!("A {kind} block takes one nested block, fallback {{ method = ... }}; \"{}\" is not it. Remove it.", block.kind));
                continue;
            }
            fallbacks += 1;
            if fallbacks > 1 {
                self.invalid(
                    span,
                    format!("A {kind} block takes at most one fallback. Keep the one holding the previous method."),
                );
                continue;
            }
            self.no_blocks(&block.body, "A fallback block takes only method");
            for (arg, attr) in &block.body.attributes {
                if arg != "method" {
                    let span = self.config.attr_span(&block.body, attr);
                    self.invalid(span, format!("A fallback block takes method only; remove \"{arg}\"."));
                }
            }
            match block.body.attributes.get("method") {
                Some(attr) => fallback = self.method_ref(attr, methods),
                None => self.diags.push(
                    Diagnostic::error("TF0129", "Missing encryption method", "The fallback block names no method. Add method = method.aes_gcm.OLD, the method the stored data was written with.")
                        .with_span(span),
                ),
            }
        }
        match Encryption::new(payload, primary?, fallback, enforced) {
            Ok(encryption) => Some(encryption),
            Err(e) => {
                self.diags.push(Diagnostic::error("TF0130", "Plaintext refused", format!("{e}.")).with_span(header));
                None
            }
        }
    }

    fn method_ref(&mut self, attr: &Attr, methods: &BTreeMap<String, Option<Method>>) -> Option<Method> {
        let span = self.config.span(&attr.expr);
        let reference = static_traversal(&attr.expr.expr).map(|parts| parts.join("."));
        match reference.as_ref().and_then(|r| methods.get(r)) {
            Some(method) => method.clone(),
            None => {
                let shown = reference.unwrap_or_else(|| "this expression".to_owned());
                self.unknown(span, shown, "method", methods.keys().cloned());
                None
            }
        }
    }

    fn eval(&mut self, attr: &Attr) -> Option<Value> {
        let locals = LocalsCache::default();
        let scope = Scope::new(self.config, self.variables, &NoResources, &locals);
        match scope.eval(&attr.expr) {
            Ok(value) => Some(value),
            Err(d) => {
                self.diags.push(*d);
                None
            }
        }
    }

    fn whole_number(&mut self, attr: &Attr) -> Option<u64> {
        let span = self.config.span(&attr.expr);
        let value = self.eval(attr)?;
        match value.as_number().and_then(|n| n.as_u64()) {
            Some(n) => Some(n),
            None => {
                self.setting(span, format!("{} must be a whole number, like {} = 600000.", attr.name, attr.name));
                None
            }
        }
    }

    fn header(&self, parent: &Body, nested: &NestedBody) -> Option<Span> {
        parent.file.or(nested.body.file).map(|f| self.config.sources.span(f, nested.range.clone()))
    }

    fn no_arguments(&mut self, body: &Body, what: &str) {
        for (arg, attr) in &body.attributes {
            let span = self.config.attr_span(body, attr);
            self.invalid(span, format!("{what}; \"{arg}\" is an argument. Remove it."));
        }
    }

    fn no_blocks(&mut self, body: &Body, what: &str) {
        for nested in &body.blocks {
            let span = body.file.map(|f| self.config.sources.span(f, nested.range.clone()));
            self.invalid(span, format!("{what}; \"{}\" is a block. Remove it.", nested.kind));
        }
    }

    fn duplicate(&mut self, parent: &Body, nested: &NestedBody, what: &str) {
        let span = self.header(parent, nested);
        self.invalid(span, format!("{what} is defined more than once in the encryption block. Keep one of them."));
    }

    fn invalid(&mut self, span: Option<Span>, detail: String) {
        self.diags.push(Diagnostic::error("TF0124", "Invalid encryption block", detail).with_span(span));
    }

    fn setting(&mut self, span: Option<Span>, detail: String) {
        self.diags.push(Diagnostic::error("TF0128", "Invalid key provider setting", detail).with_span(span));
    }

    fn unknown(&mut self, span: Option<Span>, shown: String, what: &str, defined: impl Iterator<Item = String>) {
        let defined: Vec<String> = defined.collect();
        let choice = if defined.is_empty() {
            format!("Define a {what} block in the encryption block and refer to it")
        } else {
            format!("Use one of: {}", defined.join(", "))
        };
        self.diags.push(
            Diagnostic::error(
                "TF0126",
                "Unknown encryption reference",
                format!("{shown} does not name a {what} block of the encryption block. {choice}."),
            )
            .with_span(span),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::config::load_sources;

    const PASS: &str = "a sixteen+ character passphrase";

    fn read(spec: &str, env: Option<&str>) -> (EncryptionSettings, Vec<String>) {
        let (config, diags) = load_sources([("main.tf".to_owned(), spec.to_owned())]);
        assert!(diags.is_empty(), "{diags:?}");
        let variables = BTreeMap::from([
            ("pass".to_owned(), Value::from(PASS).sensitive()),
            ("plain".to_owned(), Value::from(PASS)),
        ]);
        let (settings, diags) = interpret(&config, &variables, env);
        let shown = diags
            .iter()
            .map(|d| {
                format!("{} {} {}", d.code, d.span.as_ref().map(ToString::to_string).unwrap_or_default(), d.detail)
            })
            .collect();
        (settings, shown)
    }

    #[test]
    fn a_full_block_encrypts_state_and_plans() {
        let (settings, diags) = read(
            r#"
trustform {
  encryption {
    key_provider "pbkdf2" "main" {
      passphrase    = var.pass
      iterations    = 200000
      hash_function = "sha256"
    }
    key_provider "pbkdf2" "old" {}
    method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
    method "aes_gcm" "old" { keys = key_provider.pbkdf2.old }
    state {
      method   = method.aes_gcm.main
      enforced = true
      fallback { method = method.aes_gcm.old }
    }
    plan { method = method.aes_gcm.main }
  }
}
"#,
            Some("the old passphrase from the environment"),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            format!("{:?}", settings.state),
            "Encryption { payload: State, primary: \"method.aes_gcm.main\", fallback: Some(\"method.aes_gcm.old\"), enforced: true }"
        );
        assert!(settings.plan.encrypts());
        let shown = format!("{settings:?}");
        assert!(!shown.contains(PASS) && !shown.contains("environment"), "{shown}");
    }

    #[test]
    fn no_block_means_plaintext_and_no_state_block_leaves_state_plaintext() {
        let (settings, diags) = read("resource \"trustform_data\" \"a\" {}\n", None);
        assert!(diags.is_empty() && !settings.state.encrypts() && !settings.plan.encrypts());
        let (settings, diags) = read(
            "trustform {\n  encryption {\n    key_provider \"pbkdf2\" \"k\" {}\n    method \"aes_gcm\" \"m\" { keys = key_provider.pbkdf2.k }\n    plan { method = method.aes_gcm.m }\n  }\n}\n",
            Some(PASS),
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert!(!settings.state.encrypts() && settings.plan.encrypts());
    }

    #[test]
    fn every_problem_is_reported_at_its_place_with_the_fix() {
        let (_, diags) = read(
            r#"
trustform {
  encryption {
    key_provider "pbkdf2" "literal" { passphrase = "written in the spec itself" }
    key_provider "pbkdf2" "weak" {
      passphrase = var.pass
      iterations = 1000
    }
    key_provider "kms" "aws" {}
    key_provider "pbkdf2" "missing" {}
    method "aes_gcm" "m" { keys = key_provider.pbkdf2.nope }
    method "rot13" "r" {}
    method "unencrypted" "migrate" {}
    state {
      method   = method.unencrypted.migrate
      enforced = true
    }
    plan { enforced = true }
    keys = 1
  }
}
"#,
            None,
        );
        let expected = [
            "TF0124 main.tf:19:5 The encryption block takes key_provider, method, state and plan blocks; \"keys\" is an argument. Remove it.",
            "TF0128 main.tf:4:52 A passphrase must be sensitive",
            "TF0128 main.tf:5:5 key_provider \"pbkdf2\" \"weak\": 1000 iterations are too few: a pbkdf2 key provider needs at least 200000.",
            "TF0125 main.tf:9:5 This build has the key provider \"pbkdf2\" only; \"kms\" is not available.",
            "TF0127 main.tf:10:5 key_provider \"pbkdf2\" \"missing\" sets no passphrase, and TRUSTFORM_STATE_PASSPHRASE is not set.",
            "TF0126 main.tf:11:35 key_provider.pbkdf2.nope does not name a key_provider \"pbkdf2\" block of the encryption block.",
            "TF0125 main.tf:12:5 This build has the methods \"aes_gcm\" and \"unencrypted\"; \"rot13\" is not available.",
            "TF0130 main.tf:14:5 enforced = true refuses to write plaintext, but the primary method method.unencrypted.migrate is unencrypted.",
            "TF0129 main.tf:18:5 The plan block names no method.",
        ];
        assert_eq!(diags.len(), expected.len(), "{diags:#?}");
        for (found, want) in diags.iter().zip(expected) {
            assert!(found.starts_with(want), "\n found: {found}\n want:  {want}");
        }
        assert!(diags.iter().all(|d| !d.contains("written in the spec itself")), "{diags:#?}");
    }

    #[test]
    fn the_spec_passphrase_wins_over_the_environment() {
        use trustform_state::State;
        let spec = |passphrase: &str| {
            format!("trustform {{\n  encryption {{\n    key_provider \"pbkdf2\" \"k\" {{\n      {passphrase}\n      iterations = 200000\n    }}\n    method \"aes_gcm\" \"m\" {{ keys = key_provider.pbkdf2.k }}\n    state {{ method = method.aes_gcm.m }}\n  }}\n}}\n")
        };
        let (from_spec, diags) = read(&spec("passphrase = var.pass"), Some("an environment passphrase"));
        assert!(diags.is_empty(), "{diags:?}");
        let bytes = from_spec.state.encode("t", &State::new()).unwrap();
        let (from_env_same, _) = read(&spec(""), Some(PASS));
        assert!(from_env_same.state.decode("t", &bytes).is_ok(), "the spec's passphrase was used");
        let (from_env_other, _) = read(&spec(""), Some("an environment passphrase"));
        assert!(from_env_other.state.decode("t", &bytes).is_err());
    }
}
