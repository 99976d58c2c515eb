//! The Extensions API's client: registration, events and error reports over a connection of
//! the extension's own. The public extension API (`extension/mod.rs`, feature `extension`) and the
//! graceful-shutdown helper (`shutdown.rs`, always there) are both built on it.

use crate::conn::Connection;
#[cfg(feature = "extension")]
use crate::conn::Reply;
use crate::endpoint::Endpoint;
#[cfg(feature = "extension")]
use crate::error::ReportTo;
#[cfg(feature = "extension")]
use crate::error::{Error, Result};
#[cfg(feature = "extension")]
use crate::fatal::post_report;
use crate::fatal::{Fatal, judge};
use crate::proto::policy::Call;
#[cfg(feature = "extension")]
use crate::proto::{Span, request::ExtensionFailure};
use crate::proto::{header, request};

static REGISTER_HEADERS: [&str; 1] = [header::EXTENSION_ID];

/// A registered extension: its identifier and its own connection.
pub(crate) struct Client {
    conn: Connection,
    /// `Lambda-Extension-Identifier`, sent with every later call.
    pub(crate) id: Vec<u8>,
    head: Vec<u8>,
    #[cfg_attr(not(feature = "extension"), allow(dead_code))]
    body: Vec<u8>,
}

impl Client {
    /// `POST /extension/register` as `name` for `events` (`INVOKE`, `SHUTDOWN`; none for an
    /// internal extension that only wants SIGTERM). Returns the client and the registration
    /// answer's JSON (function name, version, handler).
    pub(crate) fn register(
        endpoint: Endpoint,
        name: &str,
        events: &[&str],
    ) -> Result<(Client, Vec<u8>), Fatal> {
        if name.is_empty() || name.bytes().any(|b| b < b' ' || b == 0x7f) {
            return Err(Fatal::new(&[
                "the extension name is empty or has control characters",
            ]));
        }
        let mut body = b"{\"events\":[".to_vec();
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            crate::text::push_json_string(&mut body, event);
        }
        body.extend_from_slice(b"]}");
        let mut head = Vec::with_capacity(256);
        request::extension_register(&mut head, &endpoint, name.as_bytes(), body.len());
        let mut conn = Connection::new(endpoint);
        let answer = conn.exchange(&head, &body, &REGISTER_HEADERS);
        judge(
            "POST /extension/register",
            Call::Lifecycle,
            &answer,
            conn.inbox(),
        )?;
        let Ok(answer) = answer else {
            return Err(Fatal::new(&["POST /extension/register failed"]));
        };
        let Some(id) = answer.found[0]
            .map(|s| s.of(conn.inbox()).to_vec())
            .filter(|id| !id.is_empty())
        else {
            return Err(Fatal::new(&[
                "POST /extension/register answered without a Lambda-Extension-Identifier header",
            ]));
        };
        let info = answer
            .body
            .map(|b| b.of(conn.inbox()).to_vec())
            .unwrap_or_default();
        let client = Client {
            conn,
            id,
            head,
            body,
        };
        Ok((client, info))
    }

    /// Sends `GET /extension/event/next` without waiting for its answer (the shutdown helper
    /// waits for it and for a signal at once); [`Client::receive_event`] reads it.
    pub(crate) fn send_next(&mut self) -> std::io::Result<()> {
        request::extension_next(&mut self.head, self.conn.endpoint(), &self.id);
        self.conn.send(&self.head, &[])
    }

    /// Reads the answer to [`Client::send_next`]; `Err` when there is none (the connection
    /// is then dropped) or it is not a 2xx.
    pub(crate) fn receive_event(&mut self) -> Result<(), Fatal> {
        let answer = self.conn.receive(&[]);
        judge(
            "GET /extension/event/next",
            Call::Lifecycle,
            &answer,
            self.conn.inbox(),
        )
    }

    /// The descriptor of the connection, while there is one.
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.conn.raw_fd()
    }

    /// Drops the connection; the next request makes a new one.
    pub(crate) fn disconnect(&mut self) {
        self.conn.disconnect();
    }
}

/// What only the public extension API calls.
#[cfg(feature = "extension")]
impl Client {
    /// `GET /extension/event/next`: blocks until the next event; its JSON body is returned as
    /// a span of [`Client::inbox`].
    pub(crate) fn next_event(&mut self) -> Result<Span, Fatal> {
        request::extension_next(&mut self.head, self.conn.endpoint(), &self.id);
        let answer = self.conn.exchange(&self.head, &[], &[]);
        judge(
            "GET /extension/event/next",
            Call::Lifecycle,
            &answer,
            self.conn.inbox(),
        )?;
        match answer {
            Ok(Reply { body: Ok(body), .. }) => Ok(body),
            Ok(Reply { body: Err(e), .. }) => Err(Fatal::new(&[
                "GET /extension/event/next: the event could not be read: ",
                e.as_str(),
            ])),
            Err(_) => Err(Fatal::new(&["GET /extension/event/next failed"])),
        }
    }

    /// The bytes the spans of the last answer point into.
    pub(crate) fn inbox(&self) -> &[u8] {
        self.conn.inbox()
    }

    /// `POST /extension/init/error` or `/exit/error` with `error`.
    pub(crate) fn report(&mut self, which: ExtensionFailure, error: &Error) -> Result<(), Fatal> {
        let what = match which {
            ExtensionFailure::Init => "POST /extension/init/error",
            ExtensionFailure::Exit => "POST /extension/exit/error",
        };
        let to = ReportTo::Extension(&self.id, which);
        post_report(
            &mut self.conn,
            &mut self.head,
            &mut self.body,
            what,
            to,
            error,
        )
    }
    /// The connection, the head buffer and the identifier, borrowed apart (a call this
    /// module does not make itself: the telemetry subscription).
    pub(crate) fn parts(&mut self) -> (&mut Connection, &mut Vec<u8>, &[u8]) {
        (&mut self.conn, &mut self.head, &self.id)
    }
}
