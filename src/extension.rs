//! Lambda extensions (feature `extension`): the Extensions API's blocking event loop and the
//! Telemetry API.
//!
//! An external extension is an executable in a layer's `extensions/` folder (build it with
//! `cargo lambda-lite build --extension`). Lambda starts it before the function's runtime; it
//! registers for the events it wants ([`Extension::register`], under its file name), then
//! waits for each in turn ([`Extension::next_event`]): `INVOKE` when an invocation starts,
//! `SHUTDOWN` when the environment ends. Its start-up is paid in the function's
//! `Init Duration`, which only ends once every extension waits for its first event, and it
//! shares the function's memory: this one is a blocking client on one connection, like the
//! runtime. [`run`] is a whole `main`; [`extension_main!`](crate::extension_main) the one-line
//! form.
//!
//! ```no_run
//! use lambda_lite::extension::Event;
//!
//! fn on_event(event: Event) -> Result<(), lambda_lite::Error> {
//!     if let Event::Invoke(invoke) = event {
//!         eprintln!("invocation {} until {}", invoke.request_id, invoke.deadline_ms);
//!     }
//!     Ok(())
//! }
//!
//! lambda_lite::extension_main!(on_event);
//! ```
//!
//! The client part (registration, events, error reports over a connection of the
//! extension's own) is also what the graceful-shutdown helper registers with.

use crate::conn::Connection;
use crate::endpoint::Endpoint;
use crate::proto::policy::Call;
use crate::proto::{header, request};
use crate::runtime::{Fatal, judge};

static REGISTER_HEADERS: [&str; 1] = [header::EXTENSION_ID];

/// A registered extension: its identifier and its own connection.
pub(crate) struct Client {
    conn: Connection,
    /// `Lambda-Extension-Identifier`, sent with every later call.
    id: Vec<u8>,
    head: Vec<u8>,
    #[cfg(feature = "extension")]
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
            #[cfg(feature = "extension")]
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

#[cfg(feature = "extension")]
pub use crate::telemetry::{
    Report, ReportMetrics, Telemetry, TelemetryRecord, TelemetrySubscription, TelemetryType,
};
#[cfg(feature = "extension")]
pub use public::*;

/// The public extension API (feature `extension`).
#[cfg(feature = "extension")]
mod public {
    use serde_json::Value;

    use super::Client;
    use crate::conn::{Connection, Response};
    use crate::proto::Span;
    use crate::proto::policy::Call;
    use crate::proto::request::{self, ExtensionFailure};
    use crate::runtime::{self, Fatal, judge};
    use crate::{Error, Result};

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
                Ok(Response { body: Ok(body), .. }) => Ok(body),
                Ok(Response { body: Err(e), .. }) => Err(Fatal::new(&[
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
        pub(crate) fn report(
            &mut self,
            which: ExtensionFailure,
            error: &Error,
        ) -> Result<(), Fatal> {
            let what = match which {
                ExtensionFailure::Init => "POST /extension/init/error",
                ExtensionFailure::Exit => "POST /extension/exit/error",
            };
            let header_type = error.extension_header_type();
            let id = &self.id;
            runtime::post_lifecycle_error(
                &mut self.conn,
                &mut self.head,
                &mut self.body,
                what,
                error,
                &|head, endpoint, len| {
                    request::extension_error(head, endpoint, id, which, &header_type, len)
                },
            )
        }
        /// The connection, the head buffer and the identifier, borrowed apart (a call this
        /// module does not make itself: the telemetry subscription).
        pub(crate) fn parts(&mut self) -> (&mut Connection, &mut Vec<u8>, &[u8]) {
            (&mut self.conn, &mut self.head, &self.id)
        }
    }

    /// An event an extension can ask for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum EventType {
        /// `INVOKE`: an invocation starts (external extensions only).
        Invoke,
        /// `SHUTDOWN`: the environment is about to end.
        Shutdown,
    }

    impl EventType {
        fn as_str(self) -> &'static str {
            match self {
                EventType::Invoke => "INVOKE",
                EventType::Shutdown => "SHUTDOWN",
            }
        }
    }

    /// What registration told the extension about the function.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Registration {
        /// `Lambda-Extension-Identifier`, the extension's id in every later call.
        pub extension_id: String,
        /// `functionName`.
        pub function_name: String,
        /// `functionVersion`.
        pub function_version: String,
        /// `handler`.
        pub handler: String,
        /// `accountId`, when the service sent it.
        pub account_id: Option<String>,
    }

    /// An `INVOKE` event: an invocation of the function started.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct InvokeEvent {
        /// `requestId`.
        pub request_id: String,
        /// `deadlineMs`: the invocation's deadline, Unix epoch milliseconds.
        pub deadline_ms: u64,
        /// `invokedFunctionArn`.
        pub invoked_function_arn: String,
        /// `tracing.value`: the X-Ray trace header, when tracing is on.
        pub xray_trace_id: Option<String>,
    }

    /// A `SHUTDOWN` event: the environment ends; the extension has until `deadline_ms`.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct ShutdownEvent {
        /// `shutdownReason`: `spindown`, `timeout` or `failure`.
        pub shutdown_reason: String,
        /// `deadlineMs`, Unix epoch milliseconds.
        pub deadline_ms: u64,
    }

    /// One event from `/extension/event/next`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Event {
        /// An invocation started.
        Invoke(InvokeEvent),
        /// The environment is shutting down: the last event.
        Shutdown(ShutdownEvent),
    }

    /// A registered extension, with its own connection to the Extensions API.
    ///
    /// [`run`] is the whole of a typical extension's `main`; use `Extension` to drive the event
    /// loop yourself.
    pub struct Extension {
        client: Client,
        registration: Registration,
        /// Set by the first `SHUTDOWN`: the API has no event after it.
        shut_down: bool,
    }

    impl std::fmt::Debug for Extension {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Extension")
                .field("registration", &self.registration)
                .finish_non_exhaustive()
        }
    }

    impl Extension {
        /// Registers with the Extensions API at `$AWS_LAMBDA_RUNTIME_API` for `events`, under
        /// the executable's file name (which is what Lambda requires of an external extension
        /// in `/opt/extensions/`). Registration closes once the function's runtime and every
        /// extension are initialised: call this first thing.
        pub fn register(events: &[EventType]) -> Result<Extension, Fatal> {
            let name = std::env::current_exe()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| Fatal::new(&["the executable's file name is unknown"]))?;
            Extension::register_at(&runtime::runtime_api()?, &name, events)
        }

        /// Registers as `name` with the Extensions API at `runtime_api` (`host:port` or
        /// `http://host:port/base`), for tests and internal extensions.
        pub fn register_at(
            runtime_api: &str,
            name: &str,
            events: &[EventType],
        ) -> Result<Extension, Fatal> {
            let endpoint = runtime::parse_endpoint(runtime_api)?;
            let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
            let (client, info) = Client::register(endpoint, name, &names)?;
            let info: Value = serde_json::from_slice(&info).unwrap_or(Value::Null);
            let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_owned);
            let registration = Registration {
                extension_id: String::from_utf8_lossy(&client.id).into_owned(),
                function_name: text("functionName").unwrap_or_default(),
                function_version: text("functionVersion").unwrap_or_default(),
                handler: text("handler").unwrap_or_default(),
                account_id: text("accountId"),
            };
            Ok(Extension {
                client,
                registration,
                shut_down: false,
            })
        }

        /// What registration returned.
        pub fn registration(&self) -> &Registration {
            &self.registration
        }

        /// Waits for the next event (`GET /extension/event/next`, no timeout: the
        /// environment may be frozen between invocations). After a `SHUTDOWN` there is none:
        /// this returns an error.
        pub fn next_event(&mut self) -> Result<Event, Fatal> {
            if self.shut_down {
                return Err(Fatal::new(&["no event follows SHUTDOWN"]));
            }
            let body = self.client.next_event()?;
            let event = parse_event(body.of(self.client.inbox()))?;
            self.shut_down = matches!(event, Event::Shutdown(_));
            Ok(event)
        }

        /// Reports that the extension could not initialise (`/extension/init/error`); Lambda
        /// then fails the environment's init. Exit after it.
        pub fn init_error(&mut self, error: &Error) -> Result<(), Fatal> {
            self.client.report(ExtensionFailure::Init, error)
        }

        /// Reports that the extension is about to exit because of an error
        /// (`/extension/exit/error`). Exit after it.
        pub fn exit_error(&mut self, error: &Error) -> Result<(), Fatal> {
            self.client.report(ExtensionFailure::Exit, error)
        }

        pub(crate) fn client(&mut self) -> &mut Client {
            &mut self.client
        }
    }

    /// Reads an event's JSON.
    fn parse_event(body: &[u8]) -> Result<Event, Fatal> {
        let json: Value = serde_json::from_slice(body)
            .map_err(|e| Fatal::new(&["the extension event is not JSON: ", &e.to_string()]))?;
        let text = |key: &str| crate::json::text_of(&json, key);
        let deadline_ms = json.get("deadlineMs").and_then(Value::as_u64).unwrap_or(0);
        match json.get("eventType").and_then(Value::as_str) {
            Some("INVOKE") => Ok(Event::Invoke(InvokeEvent {
                request_id: text("requestId"),
                deadline_ms,
                invoked_function_arn: text("invokedFunctionArn"),
                xray_trace_id: json
                    .pointer("/tracing/value")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })),
            Some("SHUTDOWN") => Ok(Event::Shutdown(ShutdownEvent {
                shutdown_reason: text("shutdownReason"),
                deadline_ms,
            })),
            other => Err(Fatal::new(&[
                "unknown extension event type: ",
                other.unwrap_or("(none)"),
            ])),
        }
    }

    /// Runs an extension: registers for `events`, then hands each event to `handler` until
    /// `SHUTDOWN`, after which (once `handler` returned) the process exits with status 0.
    ///
    /// If registration fails the process exits with status 1. If `handler` returns an error
    /// (or panics, with `panic = "unwind"`), it is reported to `/extension/exit/error` and the
    /// process exits with status 1.
    ///
    /// ```no_run
    /// use lambda_lite::extension::{self, Event, EventType};
    ///
    /// extension::run(&[EventType::Invoke, EventType::Shutdown], |event| {
    ///     match event {
    ///         Event::Invoke(e) => eprintln!("invocation {}", e.request_id),
    ///         Event::Shutdown(e) => eprintln!("shutting down: {}", e.shutdown_reason),
    ///     }
    ///     Ok(())
    /// });
    /// ```
    pub fn run<F>(events: &[EventType], mut handler: F) -> !
    where
        F: FnMut(Event) -> Result<()>,
    {
        crate::log::install_bridges();
        let extension = Extension::register(events).unwrap_or_else(|f| runtime::exit_fatal(&f));
        serve(extension, &mut handler)
    }

    /// Runs `init` once after registering (an error or panic there goes to
    /// `/extension/init/error` and the process exits with status 1), then `handler` with its
    /// state for every event, as [`run`] does.
    pub fn run_with_init<S, I, F>(events: &[EventType], init: I, mut handler: F) -> !
    where
        I: FnOnce(&mut Extension) -> Result<S>,
        F: FnMut(&mut S, Event) -> Result<()>,
    {
        crate::log::install_bridges();
        let mut extension = Extension::register(events).unwrap_or_else(|f| runtime::exit_fatal(&f));
        crate::panic::install();
        match crate::panic::catch(|| init(&mut extension)) {
            Ok(mut state) => serve(extension, &mut |event| handler(&mut state, event)),
            Err(error) => runtime::fail_and_exit("extension init", &error, &mut || {
                extension.init_error(&error)
            }),
        }
    }

    fn serve(mut extension: Extension, handler: &mut dyn FnMut(Event) -> Result<()>) -> ! {
        crate::panic::install();
        loop {
            let event = extension
                .next_event()
                .unwrap_or_else(|f| runtime::exit_fatal(&f));
            let last = matches!(event, Event::Shutdown(_));
            if let Err(error) = crate::panic::catch(|| handler(event)) {
                runtime::fail_and_exit("extension", &error, &mut || extension.exit_error(&error));
            }
            if last {
                std::process::exit(0);
            }
        }
    }
}
