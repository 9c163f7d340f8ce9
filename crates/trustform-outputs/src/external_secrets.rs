//! External Secrets Operator manifests for the secrets a spec keeps in Vault: one
//! `ClusterSecretStore` per KV v2 mount (the Vault provider with Kubernetes auth: the auth
//! method's mount path, the role, and the service account whose token logs in) and one
//! `ExternalSecret` per secret, copying every key of it into a Kubernetes Secret of the same
//! name. No Vault token appears anywhere: the operator logs in with a service-account token
//! that Vault checks against the cluster (External Secrets' "HashiCorp Vault" provider guide
//! and `ClusterSecretStore` reference, API `external-secrets.io/v1`).
//!
//! Every scalar is written double-quoted, so no value can change the document's structure.

/// A `ClusterSecretStore` reading one KV v2 mount with Kubernetes auth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultStore {
    pub name: String,
    /// The Vault address as the cluster reaches it.
    pub server: String,
    /// Vault Enterprise / OpenBao namespace, when the secrets live in one.
    pub vault_namespace: Option<String>,
    /// The KV v2 mount (`path` of the store).
    pub mount: String,
    /// Where the Kubernetes auth method is mounted (`auth/<this>`).
    pub auth_mount: String,
    pub role: String,
    /// The service account (name, namespace) whose token logs in.
    pub service_account: (String, String),
}

/// An `ExternalSecret` copying one Vault secret into a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedSecret {
    /// The ExternalSecret's and the Kubernetes Secret's name.
    pub name: String,
    /// The namespace of the workload that reads it.
    pub namespace: String,
    pub store: String,
    /// The secret's path inside the mount.
    pub key: String,
}

/// `text` as a YAML double-quoted scalar (the JSON escapes, which YAML reads the same way).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            // Line and paragraph separators end a line for YAML 1.1 readers.
            '\u{2028}' | '\u{2029}' | '\u{85}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Kubernetes object name from a secret path: lowercase letters, digits and `-`, at most 253
/// characters, starting and ending with a letter or digit (RFC 1123 subdomain, without dots).
pub fn kubernetes_name(path: &str) -> String {
    let mut name: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(253);
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        "secret".to_owned()
    } else {
        name
    }
}

/// The stores, then the secrets, as one multi-document YAML stream.
pub fn external_secrets_manifests(stores: &[VaultStore], secrets: &[SyncedSecret]) -> String {
    let mut documents = Vec::new();
    for store in stores {
        let mut doc = format!(
            "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n  name: {}\nspec:\n  provider:\n    vault:\n      server: {}\n      path: {}\n      version: \"v2\"\n",
            quoted(&store.name),
            quoted(&store.server),
            quoted(&store.mount),
        );
        if let Some(namespace) = &store.vault_namespace {
            doc.push_str(&format!("      namespace: {}\n", quoted(namespace)));
        }
        doc.push_str(&format!(
            "      auth:\n        kubernetes:\n          mountPath: {}\n          role: {}\n          serviceAccountRef:\n            name: {}\n            namespace: {}\n",
            quoted(&store.auth_mount),
            quoted(&store.role),
            quoted(&store.service_account.0),
            quoted(&store.service_account.1),
        ));
        documents.push(doc);
    }
    for secret in secrets {
        documents.push(format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: {name}\n  namespace: {}\nspec:\n  refreshInterval: \"1h\"\n  secretStoreRef:\n    kind: ClusterSecretStore\n    name: {}\n  target:\n    name: {name}\n  dataFrom:\n    - extract:\n        key: {}\n",
            quoted(&secret.namespace),
            quoted(&secret.store),
            quoted(&secret.key),
            name = quoted(&secret.name),
        ));
    }
    documents.join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    fn store(server: &str) -> VaultStore {
        VaultStore {
            name: "vault-litellm".into(),
            server: server.into(),
            vault_namespace: None,
            mount: "litellm".into(),
            auth_mount: "eks-litellm".into(),
            role: "external-secrets".into(),
            service_account: ("external-secrets".into(), "external-secrets".into()),
        }
    }

    #[test]
    fn the_manifests_read_back_as_the_operator_expects_them() {
        let secret = SyncedSecret {
            name: "gateway".into(),
            namespace: "litellm".into(),
            store: "vault-litellm".into(),
            key: "gateway".into(),
        };
        let text = external_secrets_manifests(&[store("https://vault.example:8200")], &[secret]);
        let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
        assert_eq!(docs.len(), 2);
        let vault = &docs[0]["spec"]["provider"]["vault"];
        assert_eq!(docs[0]["kind"].as_str(), Some("ClusterSecretStore"));
        assert_eq!(vault["server"].as_str(), Some("https://vault.example:8200"));
        assert_eq!(vault["version"].as_str(), Some("v2"));
        assert_eq!(vault["auth"]["kubernetes"]["mountPath"].as_str(), Some("eks-litellm"));
        assert_eq!(vault["auth"]["kubernetes"]["role"].as_str(), Some("external-secrets"));
        assert!(vault["auth"]["tokenSecretRef"].is_badvalue(), "no token anywhere");
        assert_eq!(docs[1]["kind"].as_str(), Some("ExternalSecret"));
        assert_eq!(docs[1]["metadata"]["namespace"].as_str(), Some("litellm"));
        assert_eq!(docs[1]["spec"]["dataFrom"][0]["extract"]["key"].as_str(), Some("gateway"));
        assert_eq!(docs[1]["spec"]["secretStoreRef"]["name"].as_str(), Some("vault-litellm"));
    }

    #[test]
    fn no_value_can_change_the_documents_structure() {
        let hostile = "x\"\n---\nkind: Secret\n\u{2028}#\\";
        let text = external_secrets_manifests(&[store(hostile)], &[]);
        let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["spec"]["provider"]["vault"]["server"].as_str(), Some(hostile));
    }

    #[test]
    fn secret_paths_become_kubernetes_names() {
        assert_eq!(kubernetes_name("litellm/Gateway_Keys"), "litellm-gateway-keys");
        assert_eq!(kubernetes_name("--a//b--"), "a-b");
        assert_eq!(kubernetes_name("///"), "secret");
    }
}
