//! The web dashboard (DESIGN §8): one page at `/` and its script and style sheet under `/assets/`, compiled into
//! the binary so there is nothing to install or build. They are open to everyone because they hold no data: the
//! page asks for a bearer token and reads the same `/v1/*` JSON API as any client, sending the token each time.
//!
//! The page builds every element from API data with `textContent`, never `innerHTML`; the Content-Security-Policy
//! sent with it allows only these files' own script and styles (no inline script, nothing from elsewhere), as a
//! second line of defence against injected markup.

use super::AppState;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("../../assets/dashboard.html");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");
const STYLE: &str = include_str!("../../assets/dashboard.css");

/// What the page may load and where it may connect: its own origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/assets/dashboard.js", get(script))
        .route("/assets/dashboard.css", get(style))
}

async fn page() -> Response {
    let mut response = asset("text/html; charset=utf-8", PAGE);
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP));
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    response
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// A static file with its type. `no-cache` makes browsers revalidate, so an upgraded server's page is seen at
/// once; `nosniff` keeps them from reading a file as anything but its declared type.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("x-content-type-options"), "nosniff"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn header(response: &Response, name: &str) -> String {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    #[tokio::test]
    async fn each_file_is_served_with_its_type() {
        for (response, content_type) in [
            (page().await, "text/html; charset=utf-8"),
            (script().await, "text/javascript; charset=utf-8"),
            (style().await, "text/css; charset=utf-8"),
        ] {
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, "content-type"), content_type);
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        }
        let csp = header(&page().await, "content-security-policy");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn the_page_loads_its_own_files_and_the_script_never_writes_markup() {
        assert!(PAGE.contains(r#"<script src="/assets/dashboard.js""#), "the page loads the script");
        assert!(PAGE.contains(r#"<link rel="stylesheet" href="/assets/dashboard.css">"#), "and the style sheet");
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
            assert!(!SCRIPT.contains(sink), "dashboard.js uses {sink}: build elements with textContent instead");
        }
        for inline in ["<script>", "onclick=", "onload=", "onsubmit=", "style="] {
            assert!(!PAGE.contains(inline), "the page has {inline}: the CSP forbids inline script and styles");
        }
    }
}
