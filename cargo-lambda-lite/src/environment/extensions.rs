//! The Extensions API's events: `INVOKE` and `SHUTDOWN` handed to the extensions registered
//! for them, each when it asks (`event/next`).

use std::collections::VecDeque;

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

impl Controller {
    /// An event for the extension `id`: handed over if it waits, kept until it asks if not.
    pub(super) fn extension_event(&mut self, id: &str, event: Vec<u8>) {
        match self.extension_waiting.remove(id) {
            Some(next) => next.respond(extension_response(&event)),
            None => self
                .extension_events
                .entry(id.to_owned())
                .or_default()
                .push_back(event),
        }
    }

    /// An extension asks for its next event: the one kept for it, or it waits.
    pub(super) fn extension_next(&mut self, r: Request) {
        let id = r
            .header("lambda-extension-identifier")
            .unwrap_or("")
            .to_owned();
        match self
            .extension_events
            .get_mut(&id)
            .and_then(VecDeque::pop_front)
        {
            Some(event) => r.respond(extension_response(&event)),
            None => {
                // Back and waiting: whatever it did for its last INVOKE is done.
                self.extensions_busy.remove(&id);
                self.extension_waiting.insert(id, r);
                self.extensions_idle();
            }
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
                self.extensions_busy.insert(id.clone());
            }
            self.extension_event(&id, event.clone().into_bytes());
        }
    }
}
