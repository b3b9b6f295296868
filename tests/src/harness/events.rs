//! [`EventStream`]: a server-sent event stream of the host (an agent's, the supervisor's), read
//! on a thread over a plain TCP connection; and [`stream_ticket`], what opens one.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use serde_json::{Value, json};

use super::api::Api;
use super::config::agent_token;
use super::wait::WAIT;

/// A stream ticket (`POST /api/v1/stream-tickets`) for whoever `token` belongs to.
pub async fn stream_ticket(api: &Api, token: &str) -> String {
    let answer = api
        .post_json("/api/v1/stream-tickets", Some(token), &json!({}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["ticket"].as_str().unwrap().to_string()
}

/// The named events of one open stream, in order.
pub struct EventStream {
    events: Receiver<(String, Value)>,
}

impl EventStream {
    /// Opens `GET {path}` on the host at `base_url` (`http://ADDR`).
    pub fn connect(base_url: &str, path: &str) -> EventStream {
        let addr = base_url.trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_string();
                } else if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(value) = serde_json::from_str(data)
                    && tx.send((name.clone(), value)).is_err()
                {
                    break;
                }
            }
        });
        EventStream { events: rx }
    }

    /// Agent `agent`'s live stream (`/api/v1/agents/{agent}/events`, signed in with
    /// [`agent_token`]), once its `hello` came.
    pub fn agent(base_url: &str, agent: &str) -> EventStream {
        let path = format!("/api/v1/agents/{agent}/events?token={}", agent_token(agent));
        let stream = EventStream::connect(base_url, &path);
        assert_eq!(stream.wait_for("hello")["id"], json!(agent));
        stream
    }

    /// The next `name` event; others are skipped.
    pub fn wait_for(&self, name: &str) -> Value {
        self.wait_for_where(name, |_| true)
    }

    /// The next `name` event whose data satisfies `wanted`; others are skipped.
    pub fn wait_for_where(&self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok((n, data)) if n == name && wanted(&data) => return data,
                Ok(_) => {}
                Err(_) => panic!("no such `{name}` event within {WAIT:?}"),
            }
        }
    }

    /// Waits until the host ends the stream (events before the end are skipped).
    pub fn wait_for_end(&self) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the host did not end the stream within {WAIT:?}")
                }
            }
        }
    }
}
