//! A scriptable HTTP/1.1 receiver on 127.0.0.1, for the client and pool tests.
//!
//! It keeps connections alive, records every request (with the connection it came on), and
//! answers the n-th request as the script says: a status, a hang, a close, a reset.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use delivery_core::{AddressPolicy, ClientConfig, HookRequest, HttpClient, Secret, SigningSecrets};

/// What the receiver does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with this status, extra headers and body (keep-alive).
    Status(u16, Vec<(String, String)>, Vec<u8>),
    /// Say nothing for this long, then close.
    Hang(Duration),
    /// Close the connection without answering (FIN).
    Close,
    /// Abort the connection without answering (RST).
    Reset,
}

pub fn status(code: u16) -> Reply {
    Reply::Status(code, Vec::new(), Vec::new())
}

pub fn status_with_header(code: u16, name: &str, value: &str) -> Reply {
    Reply::Status(code, vec![(name.to_owned(), value.to_owned())], Vec::new())
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub connection: usize,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The value of a header, by case-insensitive name; panics when absent or repeated.
    pub fn header(&self, name: &str) -> &str {
        let values = self.header_values(name);
        assert_eq!(values.len(), 1, "header {name} in {:?}", self.headers);
        values[0]
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }
}

type Script = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

/// A receiver running on its own threads until the test process ends.
pub struct Receiver {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers the n-th request (0-based, across connections) with `script(n)`.
    pub fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let (conns, reqs) = (Arc::clone(&connections), Arc::clone(&requests));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let connection = conns.fetch_add(1, Ordering::SeqCst);
                let (reqs, script) = (Arc::clone(&reqs), Arc::clone(&script));
                thread::spawn(move || serve(stream, connection, &reqs, &*script));
            }
        });
        Receiver { addr, connections, requests }
    }

    /// Answers every request with the same reply.
    pub fn always(reply: Reply) -> Receiver {
        Receiver::start(move |_| reply.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, connection: usize, requests: &Mutex<Vec<Received>>, script: &dyn Fn(usize) -> Reply) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let Some(request) = read_request(&mut reader, connection) else { return };
        let index = {
            let mut all = requests.lock().unwrap();
            all.push(request);
            all.len() - 1
        };
        match script(index) {
            Reply::Status(code, headers, body) => {
                let mut head = format!("HTTP/1.1 {code} Scripted\r\nContent-Length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(&body)).is_err() {
                    return;
                }
            }
            Reply::Hang(duration) => {
                thread::sleep(duration);
                return;
            }
            Reply::Close => return,
            Reply::Reset => {
                reset_on_close(&writer);
                return;
            }
        }
    }
}

/// SO_LINGER with a zero timeout: closing sends RST instead of FIN.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: passes a valid linger struct of the size given, on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
}

/// One request off the connection; `None` at end of stream or on garbage.
fn read_request(reader: &mut BufReader<TcpStream>, connection: usize) -> Option<Received> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received { connection, method, path, headers, body })
}

pub const VERSION: &str = "0.2.0-test";

/// A client allowing loopback 127.0.0.1 only, as the extension's tests configure it.
pub fn loopback_client() -> HttpClient {
    client_with(AddressPolicy::parse("127.0.0.1/32").unwrap())
}

pub fn client_with(policy: AddressPolicy) -> HttpClient {
    HttpClient::new(ClientConfig { version: VERSION.to_owned(), policy, max_idle_per_host: 4 })
}

pub fn secret() -> Secret {
    Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap()
}

/// A delivery of `{"n":1}` to `url`, timing out after `timeout_ms`.
pub fn hook_request(url: &str, timeout_ms: u64) -> HookRequest {
    HookRequest {
        url: url.to_owned(),
        webhook_id: "0190b3a4-7c3e-7d2a-9f00-1f2e3d4c5b6a".to_owned(),
        body: br#"{"n":1}"#.to_vec(),
        headers: vec![("Authorization".to_owned(), "Bearer test-token".to_owned())],
        secrets: SigningSecrets::single(secret()),
        timeout: Duration::from_millis(timeout_ms),
    }
}
