//! Builds each request's URL and refuses one that URL parsing would change: defence in depth behind the enqueue
//! validation of ids (DESIGN §2), so that no id can turn a message delete into a call on something wider (IMKIT's
//! `…/rooms/r/messages/..` parses as `DELETE /rooms/r`, which deletes the room).

use crate::request::Response;
use reqwest::Url;

/// Why a request URL was refused. The texts name paths and segments (ids), never the host or its userinfo, so no
/// credential in a `base_url` can leak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// The account's `base_url` does not parse (config checks only its scheme).
    #[error("the account's base_url is not a valid URL: {0}")]
    Base(String),
    /// A segment that is empty or holds a `/` would address another path than the one meant.
    #[error("path segment {index} ({segment:?}) is empty or contains '/'")]
    Segment {
        /// Its 0-based position.
        index: usize,
        /// The segment as given.
        segment: String,
    },
    /// Parsing the URL rewrote its path (a dot segment, a backslash, a `?` or `#` in the base…).
    #[error("the request path {built:?} would be sent as {sent:?}")]
    Changed {
        /// The path as built: the base's path, then the segments.
        built: String,
        /// The path the parsed URL holds.
        sent: String,
    },
    /// The URL would carry a query or fragment (from the base): no provider call has one.
    #[error("the request URL would carry a query or fragment")]
    QueryOrFragment,
}

impl From<UrlRefused> for Response {
    fn from(refused: UrlRefused) -> Response {
        Response::failed(None, &format!("configuration error, nothing sent: {refused}"))
    }
}

/// An account's `base_url`, parsed once when its client is built, so that a request costs a path parse and not a
/// whole URL parse (the host's IDNA processing was the larger part of a call's CPU). [`BaseUrl::join`] gives
/// exactly what [`request_url`] gives; a base that is not a plain `scheme://host[:port][/path]` (it does not
/// parse, or carries a query or fragment) takes [`request_url`] itself, which refuses it as before.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    text: String,
    parsed: Option<Url>,
}

impl BaseUrl {
    /// Parses `text` (once).
    pub fn new(text: &str) -> BaseUrl {
        let plain = |url: &Url| url.query().is_none() && url.fragment().is_none() && !url.cannot_be_a_base();
        BaseUrl { text: text.to_string(), parsed: Url::parse(text).ok().filter(plain) }
    }

    /// The request URL of `segments` under this base: [`request_url`]'s result, without parsing the host again.
    pub fn join(&self, segments: &[&str]) -> Result<Url, UrlRefused> {
        let Some(base) = &self.parsed else {
            return request_url(&self.text, segments);
        };
        check_segments(segments)?;
        let built = format!("{}/{}", base.path().trim_end_matches('/'), segments.join("/"));
        let mut url = base.clone();
        url.set_path(&built);
        if url.path() != built {
            return Err(UrlRefused::Changed { built, sent: url.path().to_string() });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(UrlRefused::QueryOrFragment);
        }
        Ok(url)
    }
}

/// Refuses a segment that is empty or holds a `/`.
fn check_segments(segments: &[&str]) -> Result<(), UrlRefused> {
    match segments.iter().enumerate().find(|(_, s)| s.is_empty() || s.contains('/')) {
        Some((index, segment)) => Err(UrlRefused::Segment { index, segment: segment.to_string() }),
        None => Ok(()),
    }
}

/// `{base_url}/{segments joined by '/'}` as the URL reqwest will send, if its path is, byte for byte, the base's path
/// followed by the segments as given. Segments must already be encoded (`http::segment`, or QuickBlox's literal
/// commas); the base's own path is the operator's and is taken as parsed.
pub fn request_url(base_url: &str, segments: &[&str]) -> Result<Url, UrlRefused> {
    let base = Url::parse(base_url).map_err(|e| UrlRefused::Base(e.to_string()))?;
    check_segments(segments)?;
    let joined = segments.join("/");
    let base_path = base.path().trim_end_matches('/');
    let built = format!("{base_path}/{joined}");
    let url = Url::parse(&format!("{}/{joined}", base_url.trim_end_matches('/')))
        .map_err(|e| UrlRefused::Base(e.to_string()))?;
    if url.path() != built {
        return Err(UrlRefused::Changed { built, sent: url.path().to_string() });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlRefused::QueryOrFragment);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::segment;

    #[test]
    fn a_base_url_with_a_path_prefix_keeps_it() {
        let url = request_url("http://h/api/v1", &["v3", "messages", "69"]).expect("valid");
        assert_eq!(url.as_str(), "http://h/api/v1/v3/messages/69");
        let url = request_url("http://h", &["chat", "Message", "a,b.json"]).expect("valid");
        assert_eq!(url.path(), "/chat/Message/a,b.json");
        let url = request_url("https://user:pw@h:8443/x/", &["rooms", "r", "messages", "_all"]).expect("valid");
        assert_eq!(url.path(), "/x/rooms/r/messages/_all");
    }

    #[test]
    fn a_hand_built_dot_segment_is_refused() {
        // What reqwest would send is `DELETE /rooms/r/`: IMKIT's room deletion, under non-strict routing.
        let climb = request_url("http://h", &["rooms", "r", "messages", ".."]);
        assert_eq!(climb, Err(UrlRefused::Changed { built: "/rooms/r/messages/..".into(), sent: "/rooms/r/".into() }));
        let under_prefix = request_url("http://h/api", &["rooms", ".", "messages", "m"]);
        assert!(matches!(under_prefix, Err(UrlRefused::Changed { .. })), "{under_prefix:?}");
        assert!(matches!(request_url("http://h", &["v3", "messages", "a\\b"]), Err(UrlRefused::Changed { .. })));
        assert!(matches!(request_url("http://h", &["rooms", "a/b"]), Err(UrlRefused::Segment { index: 1, .. })));
        assert!(matches!(request_url("http://h", &["rooms", ""]), Err(UrlRefused::Segment { index: 1, .. })));
    }

    #[test]
    fn a_base_url_with_a_query_or_fragment_is_refused() {
        assert!(matches!(request_url("http://h/api?x=1", &["v3", "messages", "1"]), Err(UrlRefused::Changed { .. })));
        assert!(matches!(request_url("http://h/api#top", &["v3", "messages", "1"]), Err(UrlRefused::Changed { .. })));
        assert!(matches!(request_url("not a url", &["v3"]), Err(UrlRefused::Base(_))));
    }

    #[test]
    fn a_base_parsed_once_joins_as_request_url_does() {
        let cases: [(&str, &[&str]); 8] = [
            ("http://h/api/v1", &["v3", "messages", "69"]),
            ("http://h", &["chat", "Message", "a,b.json"]),
            ("https://user:pw@h:8443/x/", &["rooms", "r", "messages", "_all"]),
            ("http://h", &["rooms", "r", "messages", ".."]),
            ("http://h", &["v3", "messages", "a\\b"]),
            ("http://h/api?x=1", &["v3", "messages", "1"]),
            ("http://h/api#top", &["v3", "messages", "1"]),
            ("not a url", &["v3"]),
        ];
        for (base, segments) in cases {
            assert_eq!(BaseUrl::new(base).join(segments), request_url(base, segments), "{base} {segments:?}");
        }
        assert!(matches!(BaseUrl::new("http://h").join(&["rooms", ""]), Err(UrlRefused::Segment { index: 1, .. })));
    }

    #[test]
    fn refusals_name_the_path_but_not_the_host_or_its_credentials() {
        let refused = request_url("http://user:secret@h/api", &["rooms", "r", "messages", ".."]).expect_err("refused");
        let response = Response::from(refused);
        let crate::Disposition::Failed { reason } = response.disposition else { panic!("failed") };
        assert!(reason.contains("/api/rooms/r/messages/..") && !reason.contains("secret"), "{reason}");
        assert_eq!(response.http_status, None);
    }

    /// Tricky ids, one per line of this list: only `.` and `..` (what `deleteq_core::validate::is_dot_segment`
    /// refuses at enqueue) fail to survive `segment` and the WHATWG parsing reqwest does; all others, every one- and
    /// two-character ASCII id included, reach the provider as built.
    #[test]
    fn segment_survives_url_parsing_for_every_id_but_dot_segments() {
        let mut ids: Vec<String> = [
            ".",
            "..",
            "...",
            ".a",
            "a.",
            "\\",
            "a\\..",
            "@",
            ";",
            ":",
            "é",
            "日本",
            "\t",
            "\n",
            "\r",
            " ",
            "%2e",
            "%2E",
            ".%2e",
            "%2e%2e",
            "a b",
            "<>",
            "`",
            "{}",
            "|",
            "^",
            "\"",
            "'",
            "[]",
            "?",
            "#",
            "/",
            "//",
            "\u{0}",
            "\u{7f}",
            "\u{feff}",
            "\u{200b}",
            "\u{ff0e}",
            "\u{ff0e}\u{ff0e}",
            "WW-1@c.us",
            "_all",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let ascii: Vec<char> = (0u8..128).map(char::from).collect();
        ids.extend(ascii.iter().map(|c| c.to_string()));
        ids.extend(ascii.iter().flat_map(|a| ascii.iter().map(move |b| format!("{a}{b}"))));
        for room in ["r", "..", "é"] {
            for id in &ids {
                let built = format!("/rooms/{}/messages/{}", segment(room), segment(id));
                let parsed = Url::parse(&format!("http://h{built}")).expect("parses");
                let dots = deleteq_core::validate::is_dot_segment(room) || deleteq_core::validate::is_dot_segment(id);
                assert_eq!(parsed.path() != built, dots, "room {room:?}, id {id:?}: {built} -> {}", parsed.path());
                let segments = ["rooms", &segment(room), "messages", &segment(id)];
                assert_eq!(request_url("http://h", &segments).is_err(), dots);
                for base in ["http://h", "http://h/api/", "https://u:p@h:8443/x"] {
                    assert_eq!(BaseUrl::new(base).join(&segments), request_url(base, &segments), "{base} {segments:?}");
                }
            }
        }
    }
}
