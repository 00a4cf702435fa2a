//! Ids that slipped past enqueue validation (a job written straight into Redis, a bug in a door) never reach the
//! provider: every module builds its URL through `url::request_url` and answers a configuration failure instead.
//!
//! The base URL is a loopback port with nothing listening, so a call that is sent ends in a connection error
//! (`Retry`), and one refused before sending in `Failed` with no HTTP status: no timing involved.

use deleteq_core::config::{QuickBloxAuth, Secret};
use deleteq_providers::cometchat::CometChat;
use deleteq_providers::ofauth::OfAuth;
use deleteq_providers::quickblox::QuickBlox;
use deleteq_providers::room_im::RoomIm;
use deleteq_providers::twochat::TwoChat;
use deleteq_providers::{DeleteRequest, Disposition, Response};
use std::time::Duration;

/// `http://127.0.0.1:PORT` plus `prefix`, where nothing listens on PORT.
fn closed_base(prefix: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}{prefix}")
}

fn request<'a>(conversation: Option<&'a str>, ids: &'a [String]) -> DeleteRequest<'a> {
    DeleteRequest { conversation, messages: ids, purge: false, permanent: true, on_behalf_of: None }
}

/// Refused before sending: failed, no status, the reason naming the rewritten path.
fn assert_unsent(response: &Response, path: &str) {
    assert_eq!(response.http_status, None);
    match &response.disposition {
        Disposition::Failed { reason } => {
            assert!(reason.contains("nothing sent") && reason.contains(path), "{reason}")
        }
        other => panic!("expected a refusal before sending, got {other:?}"),
    }
}

/// Sent: the closed port answers with a connection error, which is retried.
fn assert_sent(response: &Response) {
    assert!(matches!(response.disposition, Disposition::Retry { .. }), "{response:?}");
}

fn secret() -> Secret {
    Secret::new("k")
}

#[tokio::test]
async fn room_im_never_sends_a_dot_segment_or_a_message_named_all() {
    let http = reqwest::Client::new();
    let base = closed_base("/api/v1");
    let im = RoomIm::new(&base, secret(), secret(), Duration::from_secs(5));
    let climb = ["..".to_string()];
    assert_unsent(&im.delete(&http, &request(Some("r"), &climb)).await, "/api/v1/rooms/r/messages/..");
    let dot = [".".to_string()];
    assert_unsent(&im.delete(&http, &request(Some("r"), &dot)).await, "/api/v1/rooms/r/messages/.");
    let m = ["m".to_string()];
    assert_unsent(&im.delete(&http, &request(Some(".."), &m)).await, "/api/v1/rooms/../messages/m");
    let all = ["_all".to_string()];
    let refused = im.delete(&http, &request(Some("r"), &all)).await;
    assert!(matches!(refused.disposition, Disposition::Failed { ref reason } if reason.contains("_all")));
    assert_eq!(refused.http_status, None);
    // The same account with a plain id and with a purge does send (under its path prefix).
    assert_sent(&im.delete(&http, &request(Some("r"), &m)).await);
    let purge = DeleteRequest { purge: true, ..request(Some("r"), &[]) };
    assert_sent(&im.delete(&http, &purge).await);
}

#[tokio::test]
async fn every_other_provider_refuses_a_dot_segment_before_sending() {
    let http = reqwest::Client::new();
    let base = closed_base("");
    let timeout = Duration::from_secs(5);
    let climb = ["..".to_string()];
    let fine = ["m".to_string()];

    let cc = CometChat::new(&base, secret(), timeout);
    assert_unsent(&cc.delete(&http, &request(None, &climb)).await, "/v3/messages/..");
    assert_sent(&cc.delete(&http, &request(None, &fine)).await);

    let qb = QuickBlox::new(&base, QuickBloxAuth::Token(secret()), timeout);
    let dot = [".".to_string()];
    let qb_dot = qb.delete(&http, &request(None, &dot)).await;
    // `..json` is not a dot segment: QuickBlox's suffix keeps a lone dot id in place, so it is sent as named.
    assert_sent(&qb_dot);
    assert_sent(&qb.delete(&http, &request(None, &fine)).await);

    let wa = TwoChat::new(&base, secret(), timeout);
    assert_unsent(&wa.delete(&http, &request(Some("s"), &climb)).await, "/open/whatsapp/message/s/..");
    assert_unsent(&wa.delete(&http, &request(Some(".."), &fine)).await, "/open/whatsapp/message/../m");
    assert_sent(&wa.delete(&http, &request(Some("s"), &fine)).await);

    let of = OfAuth::new(&base, secret(), secret(), timeout);
    assert_unsent(&of.delete(&http, &request(Some("1"), &climb)).await, "/v2/access/chats/1/messages/..");
    assert_unsent(&of.delete(&http, &request(Some("."), &fine)).await, "/v2/access/chats/./messages/m");
    assert_sent(&of.delete(&http, &request(Some("1"), &fine)).await);
}

#[tokio::test]
async fn a_header_http_cannot_carry_fails_instead_of_being_retried() {
    let http = deleteq_providers::http::client(1).expect("client");
    let ids = ["69".to_string()];
    let cc = CometChat::new(&closed_base(""), secret(), Duration::from_secs(1));
    let req = DeleteRequest { on_behalf_of: Some("a\nb"), ..request(None, &ids) };
    let response = cc.delete(&http, &req).await;
    assert!(
        matches!(&response.disposition, Disposition::Failed { reason } if reason.contains("could not be built")),
        "{response:?}"
    );
}
