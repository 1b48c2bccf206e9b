//! An HTTP receiver for the hook tests, on a loopback address only: it answers each request
//! as its script says (a status, extra headers, a hang, a reset) and keeps what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// A status with extra response headers.
    StatusWith(u16, Vec<(&'static str, &'static str)>),
    /// Waits this long, then answers 200 (unless the client gave up first).
    Slow(Duration),
    /// Closes the connection with a TCP reset instead of answering.
    Reset,
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on `ip` (a loopback address) at a free port. Request number k (from 0) gets
    /// `script[k]`, and every request after the script gets `then`.
    pub fn start(ip: &str, script: Vec<Reply>, then: Reply) -> Receiver {
        assert!(ip.starts_with("127."), "tests send traffic to loopback addresses only");
        let listener = TcpListener::bind((ip, 0)).expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new((script, then));
        let shared = Arc::clone(&received);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (received, script) = (Arc::clone(&shared), Arc::clone(&script));
                thread::spawn(move || serve(stream, &received, &script));
            }
        });
        Receiver { addr, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for `n` requests; returns what arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        while self.received.lock().unwrap().len() < n && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        self.received()
    }
}

/// Serves one connection, keep-alive, until the client closes it or a reply resets it.
fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, script: &(Vec<Reply>, Reply)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut headers = Vec::new();
        let mut line = String::new();
        // The request line, then headers up to the blank line.
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length =
            headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = {
            let mut all = received.lock().unwrap();
            all.push(Received { at: Instant::now(), headers, body });
            script.0.get(all.len() - 1).cloned().unwrap_or_else(|| script.1.clone())
        };
        let (status, extra) = match reply {
            Reply::Status(status) => (status, Vec::new()),
            Reply::StatusWith(status, extra) => (status, extra),
            Reply::Slow(wait) => {
                thread::sleep(wait);
                (200, Vec::new())
            }
            Reply::Reset => {
                reset(&writer);
                return;
            }
        };
        let mut response = format!("HTTP/1.1 {status} Test\r\ncontent-length: 0\r\n");
        for (name, value) in extra {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Makes the close a reset: SO_LINGER on with a zero timeout; the caller's return closes both
/// handles of the socket.
fn reset(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
