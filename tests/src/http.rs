//! A minimal HTTP/1.1 client over `TcpStream` for testing `deleteq serve`: one request per connection
//! (`Connection: close`), the whole response read into memory.

use std::io::{Read, Write};
use std::time::Duration;

/// A response: status, headers (names lower-cased) and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// Sends `method path` to `127.0.0.1:port` with `Authorization: Bearer token` when given, and `body` when given.
pub fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Response {
    request_with(port, method, path, token, &[], body)
}

/// [`request`] with extra `headers` (name, value).
pub fn request_with(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    for (name, value) in headers {
        auth.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n",
        body.len()
    );
    parse(&exchange(port, head.as_bytes(), body).expect("an HTTP exchange with deleteq serve"))
}

/// One request's bytes out and the whole answer back; an I/O error (nothing listening yet, a reset) is returned.
fn exchange(port: u16, head: &[u8], body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(head)?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(raw)
}

/// The status of `GET path`, or `None` when the exchange failed: for waiting until a server answers, where a
/// refused or reset connection means "not yet", not a failure.
pub fn try_status(port: u16, path: &str) -> Option<u16> {
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    let raw = exchange(port, head.as_bytes(), &[]).ok()?;
    let whole = raw.starts_with(b"HTTP/") && raw.windows(4).any(|w| w == b"\r\n\r\n");
    whole.then(|| parse(&raw).status)
}

/// [`request`] with a JSON body.
pub fn post_json(port: u16, path: &str, token: Option<&str>, body: &serde_json::Value) -> Response {
    request(port, "POST", path, token, Some(body.to_string().as_bytes()))
}

/// [`request`] without a body.
pub fn get(port: u16, path: &str, token: Option<&str>) -> Response {
    request(port, "GET", path, token, None)
}

fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no header end in {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok());
    let status = status.unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Response { status, headers, body }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    out
}
