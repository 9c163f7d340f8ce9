//! Starts moto's server on a free loopback port for one test and stops it when dropped.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// moto imports a few hundred modules on start; a loaded CI machine can take a while.
const START_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Starts `python -m moto.server` (the tests' own Python environment, see
    /// [`crate::python`]) and returns once it says it is listening.
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let mut child = Command::new(crate::python::python())
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run the tests' python ({e})"));
        let stderr = child.stderr.take().expect("moto's stderr is piped");
        let (lines, received) = mpsc::channel();
        // Keeps draining stderr after start-up too: a full pipe would stall moto mid-request.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let ready = format!("Running on http://127.0.0.1:{port}");
        let deadline = Instant::now() + START_TIMEOUT;
        let mut output = Vec::new();
        loop {
            match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(&ready) => break,
                Ok(line) => output.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("moto did not start within {START_TIMEOUT:?}; it said:\n{}", output.join("\n"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("moto exited before listening. It said:\n{}", output.join("\n"))
                }
            }
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
