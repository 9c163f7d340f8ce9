//! The sandbox's request parsing and handlers: the input is one or more requests separated by a
//! line `~~~`, each written as `METHOD URI`, header lines `Name: value`, an empty line and the
//! body, served in order by one emulated world (so a create can be followed by its read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trustform_sandbox::{Offline, SandboxConfig};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime"))
}

fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.windows(separator.len()).position(|w| w == separator) {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = SandboxConfig::default()
        .cluster("litellm", "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE")
        .gcp_project("litellm-prod", 210987654321)
        .azure_subscription("24ebb700-ec2f-417f-afad-78fe15dcc91f");
    let offline = Offline::new(world);
    for request in split(data, b"\n~~~\n").take(16) {
        let (head, body) = match request.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&request[..at], request[at + 2..].to_vec()),
            None => (request, Vec::new()),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let Some((method, uri)) = lines.next().and_then(|line| line.split_once(' ')) else { continue };
        let headers: Vec<(&str, &str)> =
            lines.filter_map(|line| line.split_once(':')).map(|(name, value)| (name.trim(), value.trim())).collect();
        let _ = runtime().block_on(offline.send(method, uri, &headers, body));
    }
});
