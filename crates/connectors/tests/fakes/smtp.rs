//! A tiny SMTP sink: enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, QUIT)
//! that keeps every message it receives. Can refuse recipients on demand.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Longest message the sink accepts.
const MESSAGE_BYTES_MAX: usize = 1 << 20;

/// A received message.
#[derive(Clone, Debug)]
#[allow(dead_code)] // `from` is for debugging output
pub struct Received {
    /// The envelope sender (MAIL FROM).
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// A running sink.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    reject: Arc<Mutex<Option<u16>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = SmtpSink {
            port,
            received: Arc::default(),
            reject: Arc::default(),
        };
        let s = sink.clone();
        tokio::spawn(async move {
            loop {
                let (conn, _) = listener.accept().await.unwrap();
                let s = s.clone();
                tokio::spawn(async move { s.session(conn).await });
            }
        });
        sink
    }

    /// Messages received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Answer RCPT with this code (e.g. 451 transient, 550 permanent); `None` accepts.
    pub fn reject_recipients(&self, code: Option<u16>) {
        *self.reject.lock().unwrap() = code;
    }

    async fn session(&self, conn: tokio::net::TcpStream) {
        let (r, mut w) = conn.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
        let (mut from, mut to) = (String::new(), vec![]);
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let upper = line.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                "250-sink\r\n250 8BITMIME\r\n".into()
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().to_string();
                "250 OK\r\n".into()
            } else if upper.starts_with("RCPT TO:") {
                match *self.reject.lock().unwrap() {
                    Some(code) => format!("{code} recipient refused\r\n"),
                    None => {
                        to.push(line[8..].trim().to_string());
                        "250 OK\r\n".into()
                    }
                }
            } else if upper.starts_with("DATA") {
                w.write_all(b"354 go ahead\r\n").await.unwrap();
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if r.read_line(&mut l).await.unwrap_or(0) == 0 || data.len() > MESSAGE_BYTES_MAX
                    {
                        return;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                self.received.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 queued\r\n".into()
            } else if upper.starts_with("QUIT") {
                w.write_all(b"221 bye\r\n").await.unwrap();
                return;
            } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                "250 OK\r\n".into()
            } else {
                "502 not implemented\r\n".into()
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    }
}
