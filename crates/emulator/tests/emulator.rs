//! The emulator over HTTP: routes, auth, faults, counters and the admin endpoints.

use deleteq_emulator::{serve, Credentials, DeletedAs, Emulator, EmulatorConfig, Fault, RecordedRequest};
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
async fn deleting_a_room_takes_its_messages_and_later_calls_find_no_room() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("room_im", Some("r1"), &["m1".into(), "m2".into()]);
    emu.seed("room_im", Some("r2"), &["m1".into()]);
    emu.seed("room_im", Some("r3"), &["m1".into()]);
    let http = reqwest::Client::new();
    let del =
        |path: &str| http.delete(format!("{url}{path}")).header("IM-CLIENT-KEY", "c").header("IM-Authorization", "t");
    assert_eq!(call(http.delete(format!("{url}/rooms/r1"))).await.0, 401, "no credentials, no deletion");
    assert!(emu.conversation_exists("room_im", "r1"));
    assert_eq!(call(del("/rooms/r1")).await, (200, json!({"RC": 0, "RM": "OK"})));
    let (status, body) = call(del("/rooms/r1/messages/m2")).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("ROOM_NOT_FOUND")));
    let (status, body) = call(del("/rooms/r1")).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("ROOM_NOT_FOUND")));
    // What an unchecked `..` message id turns into: reqwest sends `DELETE /rooms/r2/`, and the room is gone.
    let (status, _) = call(del("/rooms/r2/messages/..")).await;
    assert_eq!(status, 200);
    assert!(emu.conversation_deleted("room_im", "r2") && !emu.exists("room_im", Some("r2"), "m1"));
    assert!(emu.exists("room_im", Some("r3"), "m1"), "other rooms stay");
    assert_eq!(
        get(&http, &url, "/_emulator/conversations/room_im/r1").await,
        json!({"exists": false, "deleted": true})
    );
    assert_eq!(
        get(&http, &url, "/_emulator/conversations/room_im/r3").await,
        json!({"exists": true, "deleted": false})
    );
    let stats = get(&http, &url, "/_emulator/stats").await;
    assert_eq!(
        (&stats["conversations_deleted"], &stats["deletions"], &stats["calls"]),
        (&json!(2), &json!(3), &json!(5))
    );
    assert_eq!(emu.deletions("room_im", Some("r1"), "m2"), 1);
}

#[tokio::test]
async fn each_deletion_records_permanent_and_on_behalf_of_as_the_call_sent_them() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("cometchat", None, &["1".into(), "2".into()]);
    emu.seed("quickblox", None, &["a".into(), "b".into(), "c".into()]);
    let http = reqwest::Client::new();
    let cc = |id: &str| http.delete(format!("{url}/v3/messages/{id}")).header("apikey", "k");
    assert_eq!(call(cc("1").header("onBehalfOf", "superhero1").json(&json!({"permanent": true}))).await.0, 200);
    assert_eq!(call(cc("2").json(&json!({"permanent": false}))).await.0, 200);
    let qb = |ids: &str| http.delete(format!("{url}/chat/Message/{ids}.json")).header("QB-Token", "t");
    let forced = qb("a,b")
        .header("On-Behalf-Of", "123")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("force=1");
    assert_eq!(call(forced).await.0, 200);
    assert_eq!(call(qb("c")).await.0, 200);
    let hard = |user: &str| Some(DeletedAs { permanent: true, on_behalf_of: Some(user.into()) });
    assert_eq!(emu.deleted_as("cometchat", None, "1"), hard("superhero1"));
    assert_eq!(emu.deleted_as("cometchat", None, "2"), Some(DeletedAs::default()));
    assert_eq!(
        (emu.deleted_as("quickblox", None, "a"), emu.deleted_as("quickblox", None, "b")),
        (hard("123"), hard("123"))
    );
    assert_eq!(emu.deleted_as("quickblox", None, "c"), Some(DeletedAs::default()));
    let one = get(&http, &url, "/_emulator/messages/cometchat/1").await;
    assert_eq!(one["deleted_as"], json!({"permanent": true, "on_behalf_of": "superhero1"}));
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
    assert_eq!(
        stats,
        json!({"exists": false, "deletions": 1, "calls": 4, "deleted_as": {"permanent": false, "on_behalf_of": null}})
    );
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

/// A JSON POST to an admin endpoint, answered 200.
async fn admin(http: &reqwest::Client, url: &str, path: &str, body: Value) -> Value {
    let response = http.post(format!("{url}/_emulator/{path}")).json(&body).send().await.expect("admin call");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.expect("admin json")
}

async fn get(http: &reqwest::Client, url: &str, path: &str) -> Value {
    http.get(format!("{url}{path}")).send().await.expect("get").json().await.expect("json")
}

#[tokio::test]
async fn cometchat_success_not_found_auth_and_body() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("cometchat", None, &["69".into(), "70".into()]);
    let http = reqwest::Client::new();
    let del = |id: &str| http.delete(format!("{url}/v3/messages/{id}"));
    let (status, body) = call(del("69").header("apikey", "k").json(&json!({"permanent": true}))).await;
    assert_eq!((status, &body["data"]["id"], &body["data"]["deletedBy"]), (200, &json!("69"), &json!("app_system")));
    assert!(body["data"]["deletedAt"].as_u64().is_some_and(|t| t > 1_600_000_000), "epoch seconds: {body}");
    let (status, body) = call(del("69").header("apikey", "k")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], json!("ERR_MESSAGE_ID_NOT_FOUND"));
    assert_eq!(body["error"]["source"], json!("chat-api"));
    let (status, body) = call(del("70")).await;
    assert_eq!((status, &body["error"]["code"]), (401, &json!("AUTH_ERR_EMPTY_APIKEY")));
    let (status, body) = call(del("70").header("apikey", "k").json(&json!({"permanent": "yes"}))).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!("ERR_BAD_REQUEST")));
    emu.set_credentials("cometchat", Credentials { api_key: Some("right".into()), ..Credentials::default() });
    let (status, body) = call(del("70").header("apikey", "wrong")).await;
    assert_eq!((status, &body["error"]["code"]), (401, &json!("AUTH_ERR_APIKEY_NOT_FOUND")));
    emu.inject(Fault::new("cometchat", None, "70", vec![403]).code("ERR_MESSAGE_NOT_A_SENDER"));
    let (status, body) = call(del("70").header("apikey", "right").header("onBehalfOf", "superhero1")).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("ERR_MESSAGE_NOT_A_SENDER")));
    assert_eq!(call(del("70").header("apikey", "right")).await.0, 200);
    assert_eq!((emu.calls("cometchat", None, "70"), emu.deletions("cometchat", None, "70")), (5, 1));
    assert_eq!(emu.deletions("cometchat", None, "69"), 1);
}

#[tokio::test]
async fn room_im_success_shape_faults_and_credentials() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("room_im", Some("test-room-123"), &["m1".into(), "m2".into()]);
    let http = reqwest::Client::new();
    let del = |id: &str, token: &str| {
        http.delete(format!("{url}/rooms/test-room-123/messages/{id}"))
            .header("IM-CLIENT-KEY", "ck")
            .header("IM-Authorization", token.to_string())
    };
    let (status, body) = call(del("m1", "t")).await;
    assert_eq!(status, 200);
    assert_eq!((&body["RC"], &body["RM"]), (&json!(0), &json!("Message deleted successfully")));
    let result = &body["result"];
    assert_eq!(
        (&result["deletedCount"], &result["roomID"], &result["messageID"]),
        (&json!(1), &json!("test-room-123"), &json!("m1"))
    );
    let at = result["deletedAt"].as_str().expect("deletedAt");
    assert!(at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T', "ISO 8601: {at}");
    emu.inject(Fault::new("room_im", Some("test-room-123"), "m2", vec![429]).retry_after("3"));
    let response = del("m2", "t").send().await.expect("send");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("3"));
    let body: Value = response.json().await.expect("json");
    assert_eq!((&body["error"], &body["retryAfter"]), (&json!("RATE_LIMIT_EXCEEDED"), &json!(3)));
    emu.inject(Fault::new("room_im", Some("test-room-123"), "m2", vec![403]));
    let (status, body) = call(del("m2", "t")).await;
    assert_eq!((status, &body["RC"], &body["error"]["code"]), (403, &json!(403), &json!("INSUFFICIENT_PERMISSION")));
    emu.set_credentials("room_im", Credentials { token: Some("good".into()), ..Credentials::default() });
    let (status, body) = call(del("m2", "bad")).await;
    assert_eq!((status, &body["RC"], &body["error"]["code"]), (401, &json!(401), &json!("INVALID_TOKEN")));
    assert_eq!(call(del("m2", "good")).await.0, 200);
    assert_eq!(emu.calls("room_im", Some("test-room-123"), "m2"), 4);
    // A purge after everything is gone still succeeds, with nothing deleted.
    let (status, body) = call(del("_all", "good")).await;
    assert_eq!(
        (status, &body["result"]["deletedCount"], &body["RM"]),
        (200, &json!(0), &json!("All messages deleted successfully"))
    );
}

#[tokio::test]
async fn quickblox_buckets_wrong_permissions_and_whole_call_faults() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    let ids: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    emu.seed("quickblox", None, &ids);
    let http = reqwest::Client::new();
    let del = |list: &str| http.delete(format!("{url}/chat/Message/{list}.json")).header("Authorization", "ApiKey k");
    // 403 on one id of several: that id goes to WrongPermissions, the rest are deleted.
    emu.inject(Fault::new("quickblox", None, "b", vec![403]));
    let (status, body) = call(del("a,b,x")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"SuccessfullyDeleted": {"ids": ["a"]}, "NotFound": {"ids": ["x"]}, "WrongPermissions": {"ids": ["b"]}})
    );
    // 403 on a single-id call is a 403.
    emu.inject(Fault::new("quickblox", None, "b", vec![403]));
    let (status, body) = call(del("b")).await;
    assert_eq!(status, 403);
    assert!(
        !body.to_string().contains("Need user"),
        "a per-message refusal must not read as a credential refusal: {body}"
    );
    // A 503 on any id fails the whole call; nothing of it is deleted.
    emu.inject(Fault::new("quickblox", None, "d", vec![503]).retry_after("1"));
    let response = del("c,d").send().await.expect("send");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert!(emu.exists("quickblox", None, "c") && emu.exists("quickblox", None, "d"));
    // force=1 as a form body, with On-Behalf-Of; the request is logged as sent.
    let (status, body) = call(
        del("c,d,e")
            .header("On-Behalf-Of", "123")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("force=1"),
    )
    .await;
    assert_eq!((status, &body["SuccessfullyDeleted"]["ids"]), (200, &json!(["c", "d", "e"])));
    assert!(body.get("WrongPermissions").is_none());
    let last = emu.requests().pop().expect("logged");
    assert_eq!((last.path.as_str(), last.body.as_str(), last.status), ("/chat/Message/c,d,e.json", "force=1", 200));
    // Credentials: a wrong ApiKey or token is refused once set; an empty id is a malformed list.
    emu.set_credentials("quickblox", Credentials { api_key: Some("k".into()), ..Credentials::default() });
    let (status, body) =
        call(http.delete(format!("{url}/chat/Message/a.json")).header("Authorization", "ApiKey no")).await;
    assert_eq!((status, body), (401, json!({"errors": ["Token is required"]})));
    assert_eq!(call(del("a,,b")).await.0, 400);
    for id in &ids {
        assert_eq!(emu.deletions("quickblox", None, id), u64::from(id != "b"), "{id}");
    }
    assert_eq!(emu.calls("quickblox", None, "b"), 2, "a malformed list addresses no message");
}

#[tokio::test]
async fn quickblox_encoded_comma_is_logged_raw() {
    let (emu, url) = start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() }).await;
    let http = reqwest::Client::new();
    let (status, body) = call(http.delete(format!("{url}/chat/Message/p%2Cq.json")).header("QB-Token", "t")).await;
    assert_eq!((status, &body["SuccessfullyDeleted"]["ids"]), (200, &json!(["p,q"])));
    assert_eq!(emu.requests()[0].path, "/chat/Message/p%2Cq.json");
    assert_eq!((emu.deletions("quickblox", None, "p"), emu.deletions("quickblox", None, "q")), (0, 0));
}

#[tokio::test]
async fn twochat_auth_and_account_faults() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    let session = "WW-WPN66037eca-9ad1-4c96-9eff-526a90a48c77-5215511112222@c.us";
    emu.seed("twochat", Some(session), &["MSG205dec10".into()]);
    let http = reqwest::Client::new();
    let del = || http.delete(format!("{url}/open/whatsapp/message/{session}/MSG205dec10"));
    let (status, body) = call(del()).await;
    assert_eq!((status, body), (401, json!({"success": false, "message": "Invalid API key"})));
    emu.inject(Fault::new("twochat", Some(session), "MSG205dec10", vec![402, 410]));
    let (status, body) = call(del().header("X-User-API-Key", "k")).await;
    assert_eq!((status, &body["success"]), (402, &json!(false)));
    assert_eq!(call(del().header("X-User-API-Key", "k")).await.0, 410);
    emu.set_credentials("twochat", Credentials { api_key: Some("k2".into()), ..Credentials::default() });
    assert_eq!(call(del().header("X-User-API-Key", "k")).await.0, 401);
    let (status, body) = call(del().header("X-User-API-Key", "k2")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"success": true, "message_uuid": "MSG205dec10", "whatsapp_message_id": "3EB0AFC0D8DFCFAB08A4FB"})
    );
    assert_eq!(
        (emu.calls("twochat", Some(session), "MSG205dec10"), emu.deletions("twochat", Some(session), "MSG205dec10")),
        (5, 1)
    );
}

#[tokio::test]
async fn ofauth_auth_session_and_body_checks() {
    let (emu, url) = start(EmulatorConfig::default()).await;
    emu.seed("ofauth", Some("12345"), &["67890".into()]);
    let http = reqwest::Client::new();
    let del = |with: &str| {
        http.delete(format!("{url}/v2/access/chats/12345/messages/67890")).json(&json!({"withUserId": with}))
    };
    let (status, body) = call(del("12345").header("x-connection-id", "conn_1")).await;
    assert_eq!((status, &body["type"]), (401, &json!("UNAUTHORIZED")));
    assert!(body["requestId"].as_str().is_some_and(|r| r.starts_with("req_")));
    let (status, body) = call(del("12345").header("apiKey", "k")).await;
    assert_eq!((status, &body["type"]), (401, &json!("SESSION_NOT_PROVIDED")));
    let ok = |with: &str| del(with).header("apiKey", "k").header("x-connection-id", "conn_1");
    assert_eq!(call(ok("999")).await.0, 400, "withUserId must be the chat's user");
    emu.inject(Fault::new("ofauth", Some("12345"), "67890", vec![401]));
    let (status, body) = call(ok("12345")).await;
    assert_eq!(
        (status, &body["type"], &body["actionRequired"]),
        (401, &json!("SESSION_EXPIRED"), &json!("refresh_session"))
    );
    emu.inject(Fault::new("ofauth", Some("12345"), "67890", vec![401]).code("RULES_OUTDATED"));
    let (status, body) = call(ok("12345")).await;
    assert_eq!((status, &body["type"]), (401, &json!("RULES_OUTDATED")));
    assert!(body.get("actionRequired").is_none());
    let (status, body) = call(ok("12345")).await;
    assert_eq!((status, &body["success"], &body["queue"]["id"]), (200, &json!(true), &json!(67890)));
    assert!(body["queue"].get("canUnsend").is_some() && body["queue"].get("unsendSeconds").is_some());
    let (status, body) = call(ok("12345")).await;
    assert_eq!(
        (status, &body["type"], &body["error"]),
        (404, &json!("RESOURCE_NOT_FOUND"), &json!("Resource not found"))
    );
}

#[tokio::test]
async fn accept_unknown_serves_every_provider_without_seeding() {
    let (emu, url) = start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() }).await;
    let http = reqwest::Client::new();
    let requests = [
        http.delete(format!("{url}/v3/messages/1")).header("apikey", "k"),
        http.delete(format!("{url}/rooms/any-room/messages/1"))
            .header("IM-CLIENT-KEY", "c")
            .header("IM-Authorization", "t"),
        http.delete(format!("{url}/chat/Message/1,2.json")).header("QB-Token", "t"),
        http.delete(format!("{url}/open/whatsapp/message/s@c.us/1")).header("X-User-API-Key", "k"),
        http.delete(format!("{url}/v2/access/chats/5/messages/1"))
            .header("apiKey", "k")
            .header("x-connection-id", "c")
            .json(&json!({"withUserId": "5"})),
    ];
    for request in requests {
        let again = request.try_clone().expect("clone");
        assert_eq!(call(request).await.0, 200);
        assert_eq!(call(again).await.0, 404, "deleted once, then gone");
    }
    assert_eq!(emu.deletions("room_im", Some("any-room"), "1"), 1);
    assert_eq!(emu.deletions("quickblox", None, "2"), 1);
    assert_eq!((emu.total_requests(), emu.total_calls(), emu.total_deletions()), (10, 12, 6));
}

#[tokio::test]
async fn latency_delays_provider_calls_not_admin_calls() {
    let config = EmulatorConfig { accept_unknown: true, latency: std::time::Duration::from_millis(150) };
    let (_emu, url) = start(config).await;
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    get(&http, &url, "/_emulator/stats").await;
    assert!(started.elapsed() < std::time::Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(call(http.delete(format!("{url}/v3/messages/1")).header("apikey", "k")).await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
}

#[tokio::test]
async fn fault_latency_applies_before_answering() {
    let (emu, url) = start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() }).await;
    emu.inject(Fault::new("cometchat", None, "slow", vec![504]).latency_ms(200));
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    assert_eq!(call(http.delete(format!("{url}/v3/messages/slow")).header("apikey", "k")).await.0, 504);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
}

#[tokio::test]
async fn admin_endpoints_drive_a_separate_process() {
    let (_emu, url) = start(EmulatorConfig::default()).await;
    let http = reqwest::Client::new();
    admin(&http, &url, "seed", json!({"provider": "room_im", "conversation": "r", "ids": ["m1", "m2"]})).await;
    admin(
        &http,
        &url,
        "faults",
        json!({"provider": "room_im", "conversation": "r", "message": "m1", "statuses": [500]}),
    )
    .await;
    admin(&http, &url, "credentials", json!({"provider": "room_im", "client_key": "ck", "token": "tk"})).await;
    let del = |id: &str, token: &str| {
        http.delete(format!("{url}/rooms/r/messages/{id}"))
            .header("IM-CLIENT-KEY", "ck")
            .header("IM-Authorization", token.to_string())
    };
    assert_eq!(call(del("m1", "wrong")).await.0, 401);
    assert_eq!(call(del("m1", "tk")).await.0, 500);
    assert_eq!(call(del("m1", "tk")).await.0, 200);
    let m1 = get(&http, &url, "/_emulator/messages/room_im/m1?conversation=r").await;
    assert_eq!(
        m1,
        json!({"exists": false, "deletions": 1, "calls": 3, "deleted_as": {"permanent": false, "on_behalf_of": null}})
    );
    let m2 = get(&http, &url, "/_emulator/messages/room_im/m2?conversation=r").await;
    assert_eq!(m2, json!({"exists": true, "deletions": 0, "calls": 0, "deleted_as": null}));
    let stats = get(&http, &url, "/_emulator/stats").await;
    assert_eq!((&stats["calls"], &stats["deletions"], &stats["requests"]), (&json!(3), &json!(1), &json!(3)));
    let log: Vec<RecordedRequest> =
        serde_json::from_value(get(&http, &url, "/_emulator/requests").await).expect("ring");
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 500, 200]);
    assert_eq!((log[2].method.as_str(), log[2].path.as_str()), ("DELETE", "/rooms/r/messages/m1"));
    assert!(log[2].headers.iter().any(|(k, v)| k == "im-authorization" && v == "tk"));
    admin(&http, &url, "reset", json!({})).await;
    let stats = get(&http, &url, "/_emulator/stats").await;
    assert_eq!((&stats["calls"], &stats["deletions"]), (&json!(0), &json!(0)));
    assert_eq!(get(&http, &url, "/_emulator/requests").await, json!([]));
    // After a reset the room is unknown again and the credentials are forgotten.
    let (status, body) = call(del("m2", "any")).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("ROOM_NOT_FOUND")));
}

/// Sleeps until early in a wall-clock second, so that a few requests land in one plan window.
async fn start_of_a_second() {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_millis();
    if ms > 200 {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(1000 - ms) + 10)).await;
    }
}

#[tokio::test]
async fn a_plan_limit_answers_the_providers_429_with_its_headers_once_the_second_is_spent() {
    let (emu, url) = start(EmulatorConfig { accept_unknown: true, ..EmulatorConfig::default() }).await;
    let http = reqwest::Client::new();
    admin(&http, &url, "plans", json!({"provider": "cometchat", "per_second": 2})).await;
    admin(&http, &url, "plans", json!({"provider": "quickblox", "per_second": 1})).await;
    assert_eq!(emu.plan("cometchat"), Some(2));
    start_of_a_second().await;
    let del = |id: &str| http.delete(format!("{url}/v3/messages/{id}")).header("apikey", "k");
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string).unwrap_or_default()
    };
    let first = del("1").send().await.expect("send");
    assert_eq!((first.status().as_u16(), header(&first, "x-rate-limit").as_str()), (200, "2"));
    assert_eq!(header(&first, "x-rate-limit-remaining"), "1");
    let reset: u64 = header(&first, "x-rate-limit-reset").parse().expect("an epoch");
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert_eq!(reset, now_s + 1, "the next second");
    assert_eq!(header(&del("2").send().await.expect("send"), "x-rate-limit-remaining"), "0");
    let refused = del("3").send().await.expect("send");
    assert_eq!((refused.status().as_u16(), header(&refused, "retry-after").as_str()), (429, "1"));
    assert_eq!(header(&refused, "x-rate-limit-reset"), reset.to_string());
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ERR_TOO_MANY_REQUESTS");
    assert!(emu.exists("cometchat", None, "3"), "a limited request never reaches the message");
    // QuickBlox documents no rate-limit headers: none are sent, and its 429 is its `errors` shape.
    let qb = |id: &str| http.delete(format!("{url}/chat/Message/{id}.json")).header("QB-Token", "t");
    let ok = qb("a").send().await.expect("send");
    assert!(ok.headers().keys().all(|k| !k.as_str().contains("rate")), "{:?}", ok.headers());
    let (status, body) = call(qb("b")).await;
    assert_eq!((status, body), (429, json!({"errors": ["Too Many Requests"]})));
    // Removing the plan lifts the limit; every request is in the log with its status.
    admin(&http, &url, "plans", json!({"provider": "cometchat", "per_second": null})).await;
    assert_eq!(call(del("3")).await.0, 200);
    let statuses: Vec<u16> = emu.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 429, 200, 429, 200]);
}
