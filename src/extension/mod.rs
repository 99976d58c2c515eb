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
//! In this folder: the Extensions API's client (`client.rs`, which the graceful-shutdown hook
//! also uses, so it is built without the feature), this public API, and the Telemetry API
//! (`telemetry.rs`).

pub(crate) mod client;
#[cfg(feature = "extension")]
mod telemetry;

#[cfg(feature = "extension")]
pub use public::*;
#[cfg(feature = "extension")]
pub use telemetry::{
    Report, ReportMetrics, Telemetry, TelemetryRecord, TelemetrySubscription, TelemetryType,
};

/// The public extension API.
#[cfg(feature = "extension")]
mod public {
    use serde_json::Value;

    use super::client::Client;
    use crate::error::{Error, Result};
    use crate::fatal::{self, Fatal};
    use crate::proto::request::ExtensionFailure;

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
            Extension::register_at(&fatal::runtime_api()?, &name, events)
        }

        /// Registers as `name` with the Extensions API at `runtime_api` (`host:port` or
        /// `http://host:port/base`), for tests and internal extensions.
        pub fn register_at(
            runtime_api: &str,
            name: &str,
            events: &[EventType],
        ) -> Result<Extension, Fatal> {
            let endpoint = fatal::parse_endpoint(runtime_api)?;
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
        let text = |key: &str| crate::context::text_of(&json, key);
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
    pub fn run(events: &[EventType], handler: impl FnMut(Event) -> Result<()>) -> ! {
        register(events).run(handler)
    }

    /// Registers this process as an extension for `events` (named after its executable), or
    /// exits with status 1 saying why it could not. Then [`Extension::init`] and
    /// [`Extension::run`]; [`run`] is the two at once.
    pub fn register(events: &[EventType]) -> Extension {
        crate::log::install_bridges();
        Extension::register(events).unwrap_or_else(|f| fatal::exit_fatal(&f))
    }

    impl Extension {
        /// Runs the extension's one-time `setup` after registering (subscribe to telemetry
        /// there); an error or panic goes to `/extension/init/error` and the process exits
        /// with status 1.
        ///
        /// ```no_run
        /// use lambda_lite::extension::{self, Event, EventType};
        ///
        /// let mut ext = extension::register(&[EventType::Shutdown]);
        /// let started = ext.init(|_ext| Ok(std::time::Instant::now()));
        /// ext.run(move |_event: Event| {
        ///     eprintln!("up for {:?}", started.elapsed());
        ///     Ok(())
        /// });
        /// ```
        pub fn init<S>(&mut self, setup: impl FnOnce(&mut Extension) -> Result<S>) -> S {
            crate::panic::install();
            match crate::panic::catch(|| setup(self)) {
                Ok(state) => state,
                Err(error) => {
                    fatal::fail_and_exit("extension init", &error, &mut || self.init_error(&error))
                }
            }
        }

        /// Hands each event to `handler` until `SHUTDOWN`, as [`run`] does.
        pub fn run(self, mut handler: impl FnMut(Event) -> Result<()>) -> ! {
            serve(self, &mut handler)
        }
    }

    fn serve(mut extension: Extension, handler: &mut dyn FnMut(Event) -> Result<()>) -> ! {
        crate::panic::install();
        loop {
            let event = extension
                .next_event()
                .unwrap_or_else(|f| fatal::exit_fatal(&f));
            let last = matches!(event, Event::Shutdown(_));
            if let Err(error) = crate::panic::catch(|| handler(event)) {
                fatal::fail_and_exit("extension", &error, &mut || extension.exit_error(&error));
            }
            if last {
                std::process::exit(0);
            }
        }
    }
}
