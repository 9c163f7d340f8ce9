//! The `external_account` files `google_credential_config` plans, read by Google's own Python
//! library (google-auth's `identity_pool.Credentials`, the oracle nobody here wrote): it must
//! accept each file and read the subject token from where the file says, a projected token file
//! or a URL answered with headers and a JSON field, as GitHub Actions serves it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use trustform_gcp::GoogleProvider;
use trustform_lang::Value;
use trustform_provider::Provider;

const CONFIG: &str = "google_credential_config";
const POOL_PROVIDER: &str = "projects/123456789012/locations/global/workloadIdentityPools/aks-pool/providers/aks-oidc";

/// The planned JSON for a configuration with `source` (`file_source` or `url_source`).
fn planned_content(provider: &dyn Provider, source: &str, block: Value) -> String {
    let body = Value::object([
        ("path", "gcp_credentials.json".into()),
        ("workload_identity_provider", POOL_PROVIDER.into()),
        ("service_account_email", "vertex-caller@litellm-prod.iam.gserviceaccount.com".into()),
        (source, block),
    ]);
    let issues = provider.validate(CONFIG, &body);
    assert!(issues.is_empty(), "{issues:?}");
    let planned = crate::planned(provider, CONFIG, body);
    planned.get("content").and_then(Value::as_str).expect("the content is known at plan time").to_owned()
}

/// What google-auth reads: the credential's class and audience, then the subject token.
fn google_auth_reads(file: &std::path::Path) -> String {
    let script = "import json, sys\n\
                  import google.auth.transport.requests\n\
                  from google.auth import identity_pool\n\
                  info = json.load(open(sys.argv[1]))\n\
                  creds = identity_pool.Credentials.from_info(info)\n\
                  print(type(creds).__name__, creds._audience)\n\
                  print(creds.retrieve_subject_token(google.auth.transport.requests.Request()))";
    let output = Command::new(trustform_test_provider::python::python())
        .args(["-c", script])
        .arg(file)
        .output()
        .expect("the tests' python runs");
    assert!(output.status.success(), "google-auth refused the file:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn google_auth_reads_a_projected_token_file() {
    // A local file: planning it needs no configured clients.
    let provider = GoogleProvider::new();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.projected-token.sig").unwrap();
    let source = Value::object([("path", Value::string(token_file.display().to_string())), ("format", Value::Null)]);
    let content = planned_content(&provider, "file_source", source);
    let credential = dir.path().join("gcp_credentials.json");
    std::fs::write(&credential, content).unwrap();
    assert_eq!(
        google_auth_reads(&credential),
        format!("Credentials //iam.googleapis.com/{POOL_PROVIDER}\neyJhbGciOiJSUzI1NiJ9.projected-token.sig")
    );
}

#[test]
fn google_auth_fetches_the_token_from_a_url_with_headers_and_a_json_field() {
    // A local file: planning it needs no configured clients.
    let provider = GoogleProvider::new();
    // GitHub Actions' ID token endpoint, on loopback: it answers `{"count": 1, "value": JWT}` to
    // a request bearing the job's request token.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/_apis/token?audience=gcp", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).unwrap();
            if read == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..read]);
        }
        let body = r#"{"count": 1, "value": "eyJhbGciOiJSUzI1NiJ9.github-token.sig"}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let source = Value::object([
        ("url", Value::string(&url)),
        ("headers", Value::object([("Authorization", "bearer job-request-token".into())])),
        ("format", Value::object([("type", "json".into()), ("subject_token_field_name", "value".into())])),
    ]);
    let content = planned_content(&provider, "url_source", source);
    let dir = tempfile::tempdir().unwrap();
    let credential = dir.path().join("gcp_credentials.json");
    std::fs::write(&credential, content).unwrap();
    assert_eq!(
        google_auth_reads(&credential),
        format!("Credentials //iam.googleapis.com/{POOL_PROVIDER}\neyJhbGciOiJSUzI1NiJ9.github-token.sig")
    );
    let request = server.join().unwrap();
    assert!(request.starts_with("GET /_apis/token?audience=gcp "), "{request}");
    assert!(request.to_ascii_lowercase().contains("authorization: bearer job-request-token"), "{request}");
}
