//! A loopback HTTP endpoint that answers every request the same broken way, for the adapters'
//! tests of answers they cannot decode: a success whose body is not the API's, a body cut off
//! mid-answer, or an error body far too large to echo. It counts the requests it received, so a
//! test can prove how often a client tried.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// How the endpoint answers.
#[derive(Debug, Clone)]
pub enum BadAnswer {
    /// `200 OK` with this body and content type.
    Garbage { content_type: &'static str, body: Vec<u8> },
    /// `200 OK` announcing `announced` bytes of this content type, then only `sent`, then the
    /// connection closes.
    CutOff { content_type: &'static str, sent: Vec<u8>, announced: usize },
    /// This status with this body and content type (an error body, huge or not).
    Status { status: u16, content_type: &'static str, body: Vec<u8> },
}

pub struct BadEndpoint {
    endpoint: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl BadEndpoint {
    /// Listens on a free loopback port and answers every request with `answer`.
    pub fn start(answer: BadAnswer) -> BadEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopped) = (requests.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (counter, answer) = (counter.clone(), answer.clone());
                thread::spawn(move || serve(stream, &answer, &counter));
            }
        });
        BadEndpoint { endpoint: format!("http://127.0.0.1:{port}"), requests, stop, port }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How many requests were answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for BadEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads requests off one connection (keep-alive included) and answers each with `answer`.
fn serve(stream: TcpStream, answer: &BadAnswer, requests: &AtomicUsize) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let mut content_length = 0usize;
        let mut first = true;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            if first {
                first = false;
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let (head, payload, keep_open) = match answer {
            BadAnswer::Garbage { content_type, body } => (response_head(200, content_type, body.len()), body, true),
            BadAnswer::CutOff { content_type, sent, announced } => {
                (response_head(200, content_type, *announced), sent, false)
            }
            BadAnswer::Status { status, content_type, body } => {
                (response_head(*status, content_type, body.len()), body, true)
            }
        };
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(payload)).is_err() || !keep_open {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

fn response_head(status: u16, content_type: &str, length: usize) -> String {
    format!("HTTP/1.1 {status} Whatever\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\n\r\n")
}
