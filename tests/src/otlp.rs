//! A tiny OTLP/HTTP receiver for tests: accepts `POST /v1/traces` (protobuf, as the exporter sends it) on a free
//! loopback port, answers 200, and keeps every span it decoded.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One received span, its ids in lowercase hex (the parent empty for a root span).
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The `service.name` of its resource.
    pub service: String,
    /// The span's name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, or empty.
    pub parent_span_id: String,
    /// Its attributes, values as text.
    pub attributes: BTreeMap<String, String>,
}

/// The receiver; it stops with the test process.
pub struct OtlpReceiver {
    port: u16,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    /// Request paths that were not `POST /v1/traces`.
    pub strays: Arc<Mutex<Vec<String>>>,
}

impl OtlpReceiver {
    /// Binds a free port and serves on a thread of its own.
    pub fn start() -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the OTLP receiver");
        let port = listener.local_addr().expect("receiver addr").port();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let strays = Arc::new(Mutex::new(Vec::new()));
        let (kept, stray) = (spans.clone(), strays.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (kept, stray) = (kept.clone(), stray.clone());
                std::thread::spawn(move || serve(stream, &kept, &stray));
            }
        });
        OtlpReceiver { port, spans, strays }
    }

    /// The endpoint to configure (`[telemetry] otlp_endpoint`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().expect("spans").clone()
    }
}

/// Serves requests on one connection until the client closes it.
fn serve(stream: TcpStream, kept: &Mutex<Vec<ReceivedSpan>>, stray: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.starts_with("POST /v1/traces ") {
            match ExportTraceServiceRequest::decode(body.as_slice()) {
                Ok(request) => kept.lock().expect("spans").extend(spans_of(request)),
                Err(e) => stray.lock().expect("strays").push(format!("undecodable body: {e}")),
            }
        } else {
            stray.lock().expect("strays").push(request_line.trim_end().to_string());
        }
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.map(|r| attributes(r.attributes)).unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(span.attributes),
                });
            }
        }
    }
    out
}

fn attributes(list: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>) -> BTreeMap<String, String> {
    list.into_iter()
        .map(|kv| {
            let value = match kv.value.and_then(|v| v.value) {
                Some(AnyValue::StringValue(s)) => s,
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key, value)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
