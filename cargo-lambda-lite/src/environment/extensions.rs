//! The Extensions API's events: `INVOKE` and `SHUTDOWN` handed to the extensions registered
//! for them, each when it asks (`event/next`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::Controller;
use crate::local::{self, Request};

/// An event for an extension's `event/next`.
fn extension_response(event: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Extension-Event-Identifier: {}\r\nContent-Length: {}\r\n\r\n",
        local::request_id(),
        event.len()
    )
    .into_bytes();
    out.extend_from_slice(event);
    out
}

/// What the Extensions API holds for each extension of the process, by identifier.
#[derive(Default)]
pub(super) struct ExtensionEvents {
    /// Events it has not asked for yet.
    pending: BTreeMap<String, VecDeque<Vec<u8>>>,
    /// The `event/next` it waits in.
    waiting: BTreeMap<String, Request>,
    /// Given an INVOKE and not back at `event/next` yet.
    busy: BTreeSet<String>,
}

impl ExtensionEvents {
    /// An event for the extension `id`: handed over if it waits, kept until it asks if not.
    fn give(&mut self, id: &str, event: Vec<u8>) {
        match self.waiting.remove(id) {
            Some(next) => next.respond(extension_response(&event)),
            None => self
                .pending
                .entry(id.to_owned())
                .or_default()
                .push_back(event),
        }
    }

    /// An extension asks for its next event: the one kept for it, or it waits. `true` when it
    /// came back to wait (whatever it did for its last INVOKE is done).
    fn next(&mut self, r: Request) -> bool {
        let id = r
            .header("lambda-extension-identifier")
            .unwrap_or("")
            .to_owned();
        match self.pending.get_mut(&id).and_then(VecDeque::pop_front) {
            Some(event) => {
                r.respond(extension_response(&event));
                false
            }
            None => {
                self.busy.remove(&id);
                self.waiting.insert(id, r);
                true
            }
        }
    }

    /// Whether an extension given an INVOKE is still at work on it.
    pub(super) fn any_busy(&self) -> bool {
        !self.busy.is_empty()
    }
}

impl Controller {
    /// An extension asks for its next event; once none is busy, the answered invocations end.
    pub(super) fn extension_next(&mut self, r: Request) {
        if self.extensions.next(r) {
            self.extensions_idle();
        }
    }

    /// Sends `event` to every extension registered for `kind` (`INVOKE`, `SHUTDOWN`).
    pub(super) fn tell_extensions(
        &mut self,
        kind: &str,
        event: impl FnOnce() -> serde_json::Value,
    ) {
        let ids: Vec<String> = self
            .api
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .registered
            .iter()
            .filter(|r| r.events.iter().any(|e| e == kind))
            .map(|r| r.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let event = event().to_string();
        for id in ids {
            if kind == "INVOKE" {
                self.extensions.busy.insert(id.clone());
            }
            self.extensions.give(&id, event.clone().into_bytes());
        }
    }
}
