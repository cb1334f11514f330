//! The TCP relay in front of kubesim that times, from the outside, when a client connects,
//! finishes its TLS handshake and sends its first HTTP request (see the benchmark's docs).

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// What the relay saw since it was last reset, each the earliest over all connections: a TCP
/// connection, a client's TLS `Finished` (its handshake done) and its first HTTP request.
#[derive(Default, Clone, Copy)]
pub struct Marks {
    pub connect: Option<Instant>,
    pub finished: Option<Instant>,
    pub request: Option<Instant>,
}

fn earliest(slot: &mut Option<Instant>, at: Instant) {
    *slot = Some(slot.map_or(at, |t| t.min(at)));
}

/// A TCP relay on loopback in front of kubesim, a thread per direction and connection.
pub struct Proxy {
    pub addr: SocketAddr,
    marks: Arc<Mutex<Marks>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let marks = Arc::new(Mutex::new(Marks::default()));
        let shared = Arc::clone(&marks);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let at = Instant::now();
                let Ok(client) = client else { continue };
                note(&shared, |m| earliest(&mut m.connect, at));
                if let Err(e) = relay(client, upstream, Arc::clone(&shared)) {
                    eprintln!("relay: {e}");
                }
            }
        });
        Ok(Self { addr, marks })
    }

    /// What was seen since the last call.
    pub fn take(&self) -> Marks {
        std::mem::take(&mut *self.marks.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn note(marks: &Mutex<Marks>, update: impl FnOnce(&mut Marks)) {
    update(&mut marks.lock().unwrap_or_else(PoisonError::into_inner));
}

fn relay(client: TcpStream, upstream: SocketAddr, marks: Arc<Mutex<Marks>>) -> anyhow::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let answered = Arc::new(AtomicBool::new(false));
    let (mut from_server, mut to_client) = (server.try_clone()?, client.try_clone()?);
    let server_spoke = Arc::clone(&answered);
    std::thread::spawn(move || {
        let mut buffer = [0; 16 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buffer) {
            // Set before the client can see the bytes, so its answer is never taken for its hello.
            server_spoke.store(true, Ordering::SeqCst);
            if to_client.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let (mut from_client, mut to_server) = (client, server);
    std::thread::spawn(move || {
        let mut buffer = [0; 16 * 1024];
        let mut records = ClientRecords::default();
        while let Ok(n @ 1..) = from_client.read(&mut buffer) {
            let at = Instant::now();
            records.feed(&buffer[..n], answered.load(Ordering::SeqCst), at, &marks);
            if to_server.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to_server.shutdown(Shutdown::Write);
    });
    Ok(())
}

/// Where a client's connection is, as far as the relay can tell from the outside.
#[derive(Default, Clone, Copy, PartialEq)]
enum Stage {
    /// Before kubesim has answered: the ClientHello.
    #[default]
    Hello,
    /// The client's second flight, up to its `Finished`.
    Handshake,
    /// Handshake done; the next application data is the first request.
    Open,
    /// The first request was seen.
    Done,
}

/// TLS 1.3 record type `application_data`, under which everything after the hellos travels.
const APPLICATION_DATA: u8 = 0x17;

/// Follows the TLS records a client sends, to find its first HTTP request without decrypting it.
/// TLS 1.3 sends the client's second flight (an empty `Certificate`, since kubesim asks for
/// one, then `Finished`) as `application_data` records too, but `Finished` has a fixed size: a
/// 4-byte header, the transcript hash (32 bytes with a SHA-256 suite, 48 with SHA-384), the
/// inner content type and a 16-byte AEAD tag, i.e. 53 or 69 bytes; nothing else of the
/// handshake is that size, and the client sends no handshake record after it. So the first
/// `application_data` record after the `Finished` is the first request.
#[derive(Default)]
struct ClientRecords {
    header: Vec<u8>,
    body_left: usize,
    stage: Stage,
}

impl ClientRecords {
    /// Follows `bytes`, read at `at` (`server_spoke`: whether kubesim had sent anything then).
    fn feed(&mut self, mut bytes: &[u8], server_spoke: bool, at: Instant, marks: &Mutex<Marks>) {
        while !bytes.is_empty() && self.stage != Stage::Done {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len());
                self.body_left -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let take = (5 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < 5 {
                break;
            }
            let kind = self.header[0];
            self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
            self.header.clear();
            if self.stage == Stage::Hello && server_spoke {
                self.stage = Stage::Handshake;
            }
            match self.stage {
                Stage::Handshake
                    if kind == APPLICATION_DATA && matches!(self.body_left, 53 | 69) =>
                {
                    note(marks, |m| earliest(&mut m.finished, at));
                    self.stage = Stage::Open;
                }
                Stage::Open if kind == APPLICATION_DATA => {
                    note(marks, |m| earliest(&mut m.request, at));
                    self.stage = Stage::Done;
                }
                _ => {}
            }
        }
    }
}
