//! A stand-in for whatever may sit at a misconfigured address: a loopback HTTP listener that gives every request the
//! same answer (a redirect, a proxy's 404 page…) and records what reached it, headers included, so a test can show
//! that nothing (no credential) arrived where it must not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request as it arrived: the request line and the raw header lines.
#[derive(Debug, Clone)]
pub struct StubRequest {
    /// `DELETE /path HTTP/1.1`.
    pub line: String,
    /// `name: value` lines as sent.
    pub headers: Vec<String>,
}

/// A running stub; its thread ends with the test process.
pub struct StubServer {
    url: String,
    requests: Arc<Mutex<Vec<StubRequest>>>,
}

impl StubServer {
    /// Answers every request with `status`, the extra `headers` and `body`.
    pub fn start(status: u16, headers: &[(&str, &str)], body: &str) -> StubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let url = format!("http://{}", listener.local_addr().expect("stub addr"));
        let requests: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
        let mut head = format!("HTTP/1.1 {status} Stub\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let answer = format!("{head}\r\n{body}");
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Ok(read_half) = stream.try_clone() else { continue };
                let mut reader = BufReader::new(read_half);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    let header = header.trim_end().to_string();
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    headers.push(header);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                seen.lock().expect("stub log").push(StubRequest { line: line.trim_end().to_string(), headers });
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        StubServer { url, requests }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.requests.lock().expect("stub log").clone()
    }
}
