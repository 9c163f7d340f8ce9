//! The one rule for endpoint overrides (`endpoints { iam }`, `*_custom_endpoint`,
//! `resource_manager_endpoint`, `AWS_ENDPOINT_URL*`, the S3 backend's `endpoint`): https, or plain
//! http only to this machine. A token or signed request sent over plain http to another host
//! travels in clear text; emulators listen on loopback.

use std::net::{IpAddr, Ipv6Addr};

/// `Ok` for an https URL, or an http URL whose host is a loopback address (127.0.0.0/8, ::1,
/// `localhost`). `Err` is a full sentence naming `setting` and the fix.
pub fn check_endpoint(setting: &str, url: &str) -> Result<(), String> {
    let trimmed = url.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(format!("{setting} = {url:?} is not a URL; write it as https://HOST or, for an emulator on this machine, http://127.0.0.1:PORT."));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if is_loopback_host(host_of(rest)) => Ok(()),
        "http" => Err(format!("{setting} = {url:?} uses plain http to a host that is not this machine, so credentials would travel in clear text. Use https, or http only for a loopback address (127.0.0.1, ::1, localhost).")),
        _ => Err(format!("{setting} = {url:?} uses the scheme {scheme:?}; endpoints are https (or http to a loopback address).")),
    }
}

/// The host of `rest`, the part of a URL after `scheme://`: without userinfo, port or brackets.
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default();
    }
    host_port.split(':').next().unwrap_or_default()
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_loopback() {
        for ok in [
            "https://iam.amazonaws.com",
            "HTTPS://management.azure.com/",
            "http://127.0.0.1:5000",
            "http://127.8.9.10/v1/",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:9000/",
            "http://user:pw@127.0.0.1:1/",
        ] {
            assert_eq!(check_endpoint("endpoints.iam", ok), Ok(()), "{ok}");
        }
        for refused in [
            "http://10.0.0.5:5000",
            "http://iam.example.com",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example",
            "http://127.0.0.1@evil.example/",
            "http://[::2]/",
            "http://0.0.0.0:80",
            "ftp://127.0.0.1/",
            "127.0.0.1:5000",
        ] {
            let err = check_endpoint("endpoints.iam", refused).unwrap_err();
            assert!(err.starts_with("endpoints.iam = "), "{err}");
        }
        assert!(check_endpoint("x", "http://10.0.0.5").unwrap_err().contains("clear text"));
    }
}
