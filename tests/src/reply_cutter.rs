//! A TCP proxy in front of a redis-server that, when armed, lets the next script call or transaction through to
//! Redis (so it runs) and then drops the connection before the reply reaches the client: the "reply lost after
//! the request was sent" case a client cannot tell from "not run".

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The proxy; it stops accepting when dropped (connections already open run on until either side closes).
pub struct ReplyCutter {
    port: u16,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

impl ReplyCutter {
    /// Listens on a free loopback port and forwards to `127.0.0.1:redis_port`.
    pub fn start(redis_port: u16) -> ReplyCutter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let armed = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (a, c) = (armed.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)) else { continue };
                relay(client, server, a.clone(), c.clone());
            }
        });
        ReplyCutter { port, armed, cuts }
    }

    /// `redis://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Cuts the reply of the next `EVALSHA`, `EVAL` or `EXEC` that passes.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// How many replies were cut.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, server: TcpStream, armed: Arc<AtomicBool>, cuts: Arc<AtomicUsize>) {
    let muted = Arc::new(AtomicBool::new(false));
    let (mut from_client, mut to_server) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
    let (mut from_server, mut to_client) = (server, client);
    let mute = muted.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = from_client.read(&mut buf) {
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            let call = [&b"EVALSHA"[..], b"EVAL", b"EXEC"].iter().any(|w| chunk.windows(w.len()).any(|x| x == *w));
            let cut = call && armed.swap(false, Ordering::SeqCst);
            if cut {
                // No reply passes from now on; the request itself reaches Redis and runs.
                mute.store(true, Ordering::SeqCst);
                cuts.fetch_add(1, Ordering::SeqCst);
            }
            if to_server.write_all(chunk).is_err() {
                break;
            }
            if cut {
                std::thread::sleep(Duration::from_millis(300));
                let _ = to_server.shutdown(Shutdown::Both);
                let _ = from_client.shutdown(Shutdown::Both);
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = from_server.read(&mut buf) {
            if n == 0 || muted.load(Ordering::SeqCst) || to_client.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_client.shutdown(Shutdown::Both);
    });
}
