//! The emulator over HTTP: routes, auth, faults, counters and the admin endpoints.

use deleteq_emulator::{serve, Emulator, EmulatorConfig, Fault};
use serde_json::{json, Value};

async fn start(config: EmulatorConfig) -> (Emulator, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let emulator = Emulator::new(config);
    tokio::spawn(serve(listener, emulator.clone(), std::future::pending()));
    (emulator, url)
}

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let response = req.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn quickblox_splits_on_literal_commas_only() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("quickblox", None, &["a".into(), "b".into(), "a,b".into()]);
    let http = reqwest::Client::new();
    let (status, body) = call(http.delete(format!("{url}/chat/Message/a,b,zz.json")).header("QB-Token", "t")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"SuccessfullyDeleted": {"ids": ["a", "b"]}, "NotFound": {"ids": ["zz"]}}));
    // An encoded comma is one id: it names the message "a,b", never two messages.
    let (status, body) = call(http.delete(format!("{url}/chat/Message/a%2Cb.json")).header("QB-Token", "t")).await;
    assert_eq!((status, &body["SuccessfullyDeleted"]["ids"]), (200, &json!(["a,b"])));
    let (status, body) = call(http.delete(format!("{url}/chat/Message/a,b.json")).header("QB-Token", "t")).await;
    assert_eq!((status, body), (404, json!({"errors": ["The resource wasn't found"]})));
    let (status, _) = call(http.delete(format!("{url}/chat/Message/x.json"))).await;
    assert_eq!(status, 401);
    assert_eq!(emu.deletions("quickblox", None, "a"), 1);
}

#[tokio::test]
async fn room_purge_counts_and_unknown_rooms_are_404() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("room_im", Some("r1"), &["m1".into(), "m2".into()]);
    let http = reqwest::Client::new();
    let del =
        |path: String| http.delete(format!("{url}{path}")).header("IM-CLIENT-KEY", "c").header("IM-Authorization", "t");
    let (status, body) = call(del("/rooms/r1/messages/_all".into())).await;
    assert_eq!((status, &body["RC"], &body["result"]["deletedCount"]), (200, &json!(0), &json!(2)));
    let (status, body) = call(del("/rooms/r1/messages/m1".into())).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("MESSAGE_NOT_FOUND")));
    let (status, body) = call(del("/rooms/nope/messages/m1".into())).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("ROOM_NOT_FOUND")));
    let (status, _) = call(http.delete(format!("{url}/rooms/r1/messages/m2"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn faults_answer_in_order_then_normal_behaviour_resumes() {
    let (emu, url) = start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() }).await;
    let fault = Fault::new("cometchat", None, "7", vec![503, 429]).retry_after("2");
    let http = reqwest::Client::new();
    http.post(format!("{url}/_emulator/faults")).json(&fault).send().await.expect("inject");
    let del = || http.delete(format!("{url}/v3/messages/7")).header("apikey", "k");
    let first = del().send().await.expect("first");
    assert_eq!(first.status().as_u16(), 503);
    assert_eq!(first.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("2"));
    let (status, body) = call(del()).await;
    assert_eq!((status, &body["error"]["code"]), (429, &json!("ERR_TOO_MANY_REQUESTS")));
    assert_eq!(call(del()).await.0, 200);
    assert_eq!(call(del()).await.0, 404, "deleted once, then gone");
    let stats: Value = http
        .get(format!("{url}/_emulator/messages/cometchat/7"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stats, json!({"exists": false, "deletions": 1, "calls": 4}));
    assert_eq!(emu.total_calls(), 4);
}

#[tokio::test]
async fn twochat_and_ofauth_shapes() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("twochat", Some("WW@c.us"), &["MSG1".into()]);
    emu.seed("ofauth", Some("12"), &["34".into()]);
    let http = reqwest::Client::new();
    let wa = |path: &str| http.delete(format!("{url}/open/whatsapp/message/{path}")).header("X-User-API-Key", "k");
    assert_eq!(call(wa("WW@c.us/MSG1")).await.1["success"], json!(true));
    assert_eq!(call(wa("WW@c.us/MSG1")).await.1["message"], json!("message not found"));
    assert_eq!(call(wa("other@c.us/MSG1")).await.1["message"], json!("session not found"));
    let of = |path: &str| {
        http.delete(format!("{url}{path}"))
            .header("apiKey", "k")
            .header("x-connection-id", "c")
            .json(&json!({"withUserId": "12"}))
    };
    let (status, body) = call(of("/v2/access/chats/12/messages/34")).await;
    assert_eq!((status, &body["success"]), (200, &json!(true)));
    assert_eq!(call(of("/v2/access/chats/12/messages/34")).await.1["type"], json!("RESOURCE_NOT_FOUND"));
    assert_eq!(call(of("/v2/access/chat/12/messages/34")).await.1["type"], json!("ROUTE_NOT_FOUND"));
}
