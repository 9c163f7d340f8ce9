//! The `provider "vault"` block, completed from the environment the way the Terraform vault
//! provider and the `vault`/`bao` CLIs complete it: `VAULT_ADDR`, `VAULT_TOKEN`,
//! `VAULT_NAMESPACE`, `VAULT_CACERT`, `VAULT_SKIP_VERIFY`, and last the token helper's file,
//! `~/.vault-token`.

use std::fmt;
use std::path::PathBuf;
use trustform_lang::Value;
use trustform_provider::ProviderError;
use zeroize::Zeroizing;

/// A Vault token: kept out of every `Debug` and error message, wiped from memory when dropped.
#[derive(Clone, PartialEq)]
pub(crate) struct Token(pub(crate) Zeroizing<String>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(trustform_lang::REDACTED)
    }
}

/// Where the token came from, for messages that must not show the token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Block,
    Environment,
    HelperFile,
}

impl TokenSource {
    fn describe(self) -> &'static str {
        match self {
            TokenSource::Block => "the provider block's `token`",
            TokenSource::Environment => "VAULT_TOKEN",
            TokenSource::HelperFile => "the token helper's file ~/.vault-token",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VaultSettings {
    /// The server's address without a trailing slash, e.g. `https://vault.example:8200`.
    pub address: String,
    pub token: Token,
    pub token_source: TokenSource,
    pub namespace: Option<String>,
    pub skip_tls_verify: bool,
    pub ca_cert_file: Option<PathBuf>,
}

impl VaultSettings {
    /// Reads the evaluated block (`null` when there is none), then the environment through
    /// `env`, then the token helper's file under `home`.
    pub(crate) fn from_config(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
        home: Option<PathBuf>,
    ) -> Result<VaultSettings, ProviderError> {
        let text = |name: &str| trustform_provider::attrs::setting(config, "vault", name);
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let address = text("address")?.or_else(|| env("VAULT_ADDR")).ok_or_else(|| {
            ProviderError::invalid(
                "provider \"vault\": no server address; set `address` in the provider block or VAULT_ADDR (for a local dev server: VAULT_ADDR=http://127.0.0.1:8200)",
            )
        })?;
        let address = address.trim().trim_end_matches('/').to_owned();
        trustform_provider::check_endpoint("provider \"vault\": address (or VAULT_ADDR)", &address)
            .map_err(ProviderError::invalid)?;
        let (token, token_source) = match text("token")? {
            Some(token) => (token, TokenSource::Block),
            None => match env("VAULT_TOKEN") {
                Some(token) => (token, TokenSource::Environment),
                None => match helper_token(home) {
                    Some(token) => (token, TokenSource::HelperFile),
                    None => {
                        return Err(ProviderError::invalid(
                            "provider \"vault\": no token; set VAULT_TOKEN, log in with `vault login` or `bao login` (which writes ~/.vault-token), or set `token` in the provider block from a sensitive variable",
                        ))
                    }
                },
            },
        };
        // `echo` and editors add a newline; the CLIs trim it too.
        let token = token.trim().to_owned();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ProviderError::invalid(format!(
                "provider \"vault\": the token from {} holds a character that cannot be sent in an HTTP header (a space or a control character); set the token alone",
                token_source.describe()
            )));
        }
        let skip_tls_verify = match config.get("skip_tls_verify").map(Value::unmarked) {
            Some(Value::Bool(skip)) => *skip,
            _ => {
                env("VAULT_SKIP_VERIFY").is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True" | "t" | "T"))
            }
        };
        Ok(VaultSettings {
            address,
            token: Token(Zeroizing::new(token)),
            token_source,
            namespace: text("namespace")?.or_else(|| env("VAULT_NAMESPACE")).map(|ns| ns.trim_matches('/').to_owned()),
            skip_tls_verify,
            ca_cert_file: text("ca_cert_file")?.or_else(|| env("VAULT_CACERT")).map(PathBuf::from),
        })
    }

    /// Where the token came from, for error messages.
    pub(crate) fn token_origin(&self) -> &'static str {
        self.token_source.describe()
    }
}

/// The default token helper's token: the file `~/.vault-token`, as `vault login` writes it.
fn helper_token(home: Option<PathBuf>) -> Option<String> {
    let path = home?.join(".vault-token");
    let token = Zeroizing::new(std::fs::read_to_string(path).ok()?);
    let trimmed = token.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(block: Value, env: &[(&str, &str)], home: Option<PathBuf>) -> Result<VaultSettings, ProviderError> {
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        VaultSettings::from_config(&block, |name| env.get(name).cloned(), home)
    }

    #[test]
    fn the_block_wins_over_the_environment_which_wins_over_the_helper_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".vault-token"), "s.helper-token\n").unwrap();
        let home = dir.path().to_path_buf();
        let block = Value::object([
            ("address", "https://vault.example:8200/".into()),
            ("token", Value::from("s.block-token").sensitive()),
            ("namespace", "/team/".into()),
        ]);
        let all =
            settings(block, &[("VAULT_ADDR", "https://other"), ("VAULT_TOKEN", "s.env")], Some(home.clone())).unwrap();
        assert_eq!(all.address, "https://vault.example:8200");
        assert_eq!(all.token.0.as_str(), "s.block-token");
        assert_eq!(all.namespace.as_deref(), Some("team"));
        let env = settings(
            Value::Null,
            &[("VAULT_ADDR", "http://127.0.0.1:8200"), ("VAULT_TOKEN", "s.env\n")],
            Some(home.clone()),
        )
        .unwrap();
        assert_eq!((env.token.0.as_str(), env.token_source), ("s.env", TokenSource::Environment));
        let helper = settings(Value::Null, &[("VAULT_ADDR", "http://127.0.0.1:8200")], Some(home)).unwrap();
        assert_eq!((helper.token.0.as_str(), helper.token_source), ("s.helper-token", TokenSource::HelperFile));
    }

    #[test]
    fn missing_settings_and_clear_text_addresses_are_refused_with_the_fix() {
        let error = settings(Value::Null, &[("VAULT_TOKEN", "t")], None).unwrap_err();
        assert!(error.message.contains("VAULT_ADDR"), "{error}");
        let error = settings(Value::Null, &[("VAULT_ADDR", "http://127.0.0.1:8200")], None).unwrap_err();
        assert!(error.message.contains("bao login"), "{error}");
        let error = settings(Value::Null, &[("VAULT_ADDR", "http://vault.internal:8200"), ("VAULT_TOKEN", "t")], None)
            .unwrap_err();
        assert!(error.message.contains("clear text"), "{error}");
    }

    #[test]
    fn the_token_never_appears_in_debug_or_errors() {
        let ok = settings(Value::Null, &[("VAULT_ADDR", "http://127.0.0.1:1"), ("VAULT_TOKEN", "s.canary-5c1e")], None)
            .unwrap();
        assert!(!format!("{ok:?}").contains("canary-5c1e"));
        let bad =
            settings(Value::Null, &[("VAULT_ADDR", "http://127.0.0.1:1"), ("VAULT_TOKEN", "s.canary 5c1e")], None)
                .unwrap_err();
        assert!(!bad.message.contains("canary"), "{bad}");
        assert!(bad.message.contains("VAULT_TOKEN"), "{bad}");
    }

    #[test]
    fn skip_verify_and_ca_file_come_from_the_block_or_the_environment() {
        let env = [
            ("VAULT_ADDR", "https://v"),
            ("VAULT_TOKEN", "t"),
            ("VAULT_SKIP_VERIFY", "true"),
            ("VAULT_CACERT", "/ca.pem"),
        ];
        let read = settings(Value::Null, &env, None).unwrap();
        assert!(read.skip_tls_verify);
        assert_eq!(read.ca_cert_file, Some(PathBuf::from("/ca.pem")));
        let block = Value::object([("skip_tls_verify", Value::Bool(false))]);
        assert!(!settings(block, &env, None).unwrap().skip_tls_verify);
    }
}
