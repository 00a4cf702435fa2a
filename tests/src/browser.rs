//! A headless Chromium driven over WebDriver, for the dashboard's real-browser test: Debian's `chromium` and
//! `chromium-driver` (`make deps` installs them), spoken to with the W3C WebDriver protocol (JSON over HTTP) by a
//! few lines here. Enough to open a page, find elements by CSS selector, type, click, read text and attributes, run
//! a script and take a screenshot; nothing is downloaded.
//!
//! Chromium runs with `--no-sandbox`: tests run as root in containers, where its sandbox cannot start, and it only
//! ever loads the test's own server on the loopback address.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The viewport: a common laptop screen.
pub const VIEWPORT: (u32, u32) = (1366, 768);

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// A chromedriver process with one browser session; both end when dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// Starts chromedriver (`$CHROMEDRIVER`, else `chromedriver` on the `PATH`) on a free port and a headless
    /// Chromium session whose viewport is [`VIEWPORT`].
    pub fn start() -> Browser {
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = crate::free_port();
        // Its own process group, so that dropping it also ends every Chromium process it started.
        let driver = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} ({e}): install chromium and chromium-driver (make deps)")
            });
        let mut browser = Browser { driver, port, session: String::new() };
        let ready = crate::wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && browser.call("GET", "/status", None).1["ready"] == true
        });
        assert!(ready, "chromedriver did not become ready on port {port}");
        let (width, height) = VIEWPORT;
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--force-device-scale-factor=1", "--lang=en-US", format!("--window-size={width},{height}"),
            ]},
        }}});
        let (status, value) = browser.call("POST", "/session", Some(&capabilities));
        assert_eq!(status, 200, "no browser session: {value}");
        browser.session = value["sessionId"].as_str().expect("a session id").to_string();
        // The window size includes no browser chrome in headless mode, but set the viewport exactly all the same.
        let metrics = json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}});
        browser.session_call("POST", "/goog/cdp/execute", Some(&metrics));
        browser
    }

    /// Sends one WebDriver command; answers the HTTP status and the reply's `value`.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, text) = exchange(self.port, method, path, body.map(|b| b.to_string()).unwrap_or_default());
        let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, reply["value"].clone())
    }

    /// A command of this session that must succeed.
    fn session_call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, value) = self.call(method, &format!("/session/{}{path}", self.session), body);
        assert_eq!(status, 200, "{method} {path}: {value}");
        value
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(&json!({"url": url})));
    }

    /// The first element matching the CSS `selector`, if there is one.
    pub fn find(&self, selector: &str) -> Option<Element> {
        let path = format!("/session/{}/element", self.session);
        let (status, value) = self.call("POST", &path, Some(&json!({"using": "css selector", "value": selector})));
        match status {
            200 => Some(Element(value[ELEMENT].as_str().expect("an element reference").to_string())),
            404 if value["error"] == "no such element" => None,
            _ => panic!("finding {selector:?}: {status} {value}"),
        }
    }

    /// Waits up to `timeout` for an element matching `selector` that is displayed.
    pub fn wait_for(&self, selector: &str, timeout: Duration) -> Element {
        let mut found = None;
        crate::wait_until(timeout, || {
            found = self.find(selector).filter(|e| self.displayed(e));
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no displayed {selector:?} after {timeout:?}; the page: {}", self.body_text()))
    }

    /// Whether `element` is displayed.
    pub fn displayed(&self, element: &Element) -> bool {
        let (status, value) =
            self.call("GET", &format!("/session/{}/element/{}/displayed", self.session, element.0), None);
        status == 200 && value == true
    }

    /// Clicks `element` as a person would (scrolled into view, at its centre).
    pub fn click(&self, element: &Element) {
        self.session_call("POST", &format!("/element/{}/click", element.0), Some(&json!({})));
    }

    /// Types `text` into `element`.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.session_call("POST", &format!("/element/{}/value", element.0), Some(&json!({"text": text})));
    }

    /// The rendered text of the first element matching `selector` ("" when there is none).
    pub fn text(&self, selector: &str) -> String {
        let Some(element) = self.find(selector) else { return String::new() };
        let (status, value) = self.call("GET", &format!("/session/{}/element/{}/text", self.session, element.0), None);
        if status == 200 {
            value.as_str().unwrap_or_default().to_string()
        } else {
            String::new() // replaced by the page between the two calls
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and answers what it returns.
    pub fn script(&self, script: &str, args: &[Value]) -> Value {
        self.session_call("POST", "/execute/sync", Some(&json!({"script": script, "args": args})))
    }

    /// The whole page's text, for failure messages.
    pub fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : '';", &[]).as_str().unwrap_or("").to_string()
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.session_call("GET", "/screenshot", None);
        decode_base64(encoded.as_str().expect("base64 text"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        // The negative id names the process group: chromedriver and whatever Chromium it left.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// One request to chromedriver and its answer (status, body). chromedriver keeps connections open whatever the
/// client asks, so the body is read by its `Content-Length` rather than to the end of the stream.
fn exchange(port: u16, method: &str, path: &str, body: String) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    stream.set_read_timeout(Some(Duration::from_secs(120))).expect("read timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).expect("send to chromedriver");
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            let body_start = end + 4;
            match length {
                Some(n) if raw.len() >= body_start + n => {
                    return (status, String::from_utf8_lossy(&raw[body_start..body_start + n]).to_string())
                }
                _ => {}
            }
        }
        let n = stream.read(&mut buf).expect("read from chromedriver");
        if n == 0 {
            let text = String::from_utf8_lossy(&raw).to_string();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            return (status, body.to_string());
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

/// Standard base64 (RFC 4648, with padding), as WebDriver sends screenshots.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(super::decode_base64("aGVsbG8="), b"hello");
        assert_eq!(super::decode_base64("aGVsbG8hIQ=="), b"hello!!");
        assert_eq!(super::decode_base64("aGVs\nbG8h"), b"hello!");
    }
}
