//! How an invocation ends, as Lambda accounts for it: its answer to the caller first, then,
//! once the extensions given its `INVOKE` are back, the platform's lines (a timeout's or a
//! crash's, `END`, `REPORT` with Duration, Billed Duration, Max Memory Used and, after an init,
//! Init Duration), its telemetry records and its [`Done`]; what else ran in a process that is
//! gone ends with it.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Cause, Controller, Done, Ended, InFlight, Inbox, Outcome, Progress, exit_error, ms};
use crate::local;

/// An answered invocation until its REPORT line (which waits for the extensions registered
/// for INVOKE).
pub(super) struct Ending {
    /// The invocation (taken when it ends).
    pub(super) f: Option<InFlight>,
    /// When the runtime answered.
    answered: Instant,
    /// The platform's lines before END (a timeout's, a crash's).
    lines: Vec<String>,
    /// The REPORT line's status fields.
    status: String,
    /// The environment lives on after it.
    alive: bool,
    telemetry_status: &'static str,
    error_type: Option<String>,
    note: Option<String>,
}

impl Ending {
    pub(super) fn timed_out(&mut self, id: &str, timeout: Duration) {
        self.telemetry_status = "timeout";
        self.lines.push(format!(
            "{id} Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ));
        self.status = "\tStatus: timeout".into();
        self.alive = false;
    }
}

impl Controller {
    /// Ends the invocation `in_flight[at]`: its platform lines, its [`Done`]. When the process
    /// is gone with it, what else ran in it ends too.
    pub(super) fn complete(
        &mut self,
        at: usize,
        outcome: Outcome,
        done: Instant,
        note: Option<&str>,
    ) {
        let mut f = self.in_flight.remove(at);
        let mut ending = Ending {
            lines: Vec::new(),
            status: String::new(),
            alive: true,
            telemetry_status: "success",
            error_type: None,
            note: note.map(str::to_owned),
            answered: done,
            f: None,
        };
        if let Outcome::Error(e) = &outcome {
            (ending.telemetry_status, ending.error_type) = ("error", Some(e.error_type.clone()));
            match e.cause {
                Cause::Timeout => ending.timed_out(&f.id, self.config.timeout),
                Cause::Exit => {
                    ending.telemetry_status = "failure";
                    ending
                        .lines
                        .push(String::from_utf8_lossy(&e.document).into_owned());
                    ending.status = "\tStatus: error\tError Type: Runtime.ExitError".into();
                    ending.alive = false;
                }
                _ => {}
            }
        }
        // The caller has its answer before the REPORT line is made (its owner knows first: the
        // caller's next request may come at once).
        (self.ended)(Ended::Answered);
        (f.progress)(Progress::Answered(outcome));
        ending.f = Some(f);
        // As on Lambda, the invocation ends once the extensions registered for INVOKE are
        // back at event/next: the environment takes no other event meanwhile.
        let running = self
            .process
            .as_mut()
            .is_some_and(|p| p.child.try_wait().ok().flatten().is_none());
        if ending.alive && running && self.extensions.any_busy() {
            self.ending.push(ending);
            return;
        }
        self.finish(ending, done);
    }

    /// Ends an answered invocation at `done`: its END and REPORT lines, its telemetry, its
    /// [`Done`]. When the process is gone with it, what else ran in it ends too.
    pub(super) fn finish(&mut self, mut ending: Ending, done: Instant) {
        let Some(mut f) = ending.f.take() else { return };
        if let Some(log) = &mut f.log {
            self.settle_logs(log);
        }
        let mut p = self.process.take();
        let id = &f.id;
        let duration = done.saturating_duration_since(f.sent);
        let rss = p
            .as_ref()
            .and_then(|p| local::peak_rss_kib(p.child.id()))
            .unwrap_or(0);
        let init = p.as_mut().and_then(|p| {
            p.init_reported = true;
            p.init.take()
        });
        let mut lines = std::mem::take(&mut ending.lines);
        lines.push(format!("END RequestId: {id}"));
        let billed = billed_ms(duration, init);
        let used_mb = rss.div_ceil(1024).max(1);
        lines.push(format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {used_mb} MB{}{}",
            ms(duration),
            self.config.memory_mb,
            init.map(|i| format!("\tInit Duration: {:.2} ms", ms(i)))
                .unwrap_or_default(),
            ending.status,
        ));
        let (telemetry_status, error_type) = (ending.telemetry_status, &ending.error_type);
        let record = |metrics| {
            let mut r = json!({"requestId": id, "status": telemetry_status, "metrics": metrics});
            if let Some(t) = error_type {
                r["errorType"] = json!(t);
            }
            r
        };
        self.telemetry.record("platform.runtimeDone", || {
            record(json!({"durationMs": ms(ending.answered.saturating_duration_since(f.sent))}))
        });
        let memory_mb = self.config.memory_mb;
        self.telemetry.record("platform.report", || {
            let mut metrics = json!({"durationMs": ms(duration), "billedDurationMs": billed,
                                     "memorySizeMB": memory_mb, "maxMemoryUsedMB": used_mb});
            if let Some(i) = init {
                metrics["initDurationMs"] = json!(ms(i));
            }
            record(metrics)
        });
        if let Some(mut p) = p {
            match p.child.try_wait() {
                Ok(None) if ending.alive => self.process = Some(p),
                Ok(Some(status)) if ending.alive && self.in_flight.is_empty() => {
                    self.exited_after_answering(&status.to_string());
                    self.reset(p, "failure");
                }
                _ if telemetry_status == "timeout" => self.reset(p, "timeout"),
                _ => self.reset(p, "failure"),
            }
        }
        let mut log = f.log.take().unwrap_or_default();
        self.show(&lines.join(&format!("\n[{}] ", self.config.name)));
        for l in &lines {
            log.extend_from_slice(l.as_bytes());
            log.push(b'\n');
        }
        (f.progress)(Progress::Done(Done {
            lines,
            log,
            note: ending.note,
        }));
        (self.ended)(Ended::Done);
        if self.process.is_none() {
            self.end_with_environment();
        }
    }

    /// The process is gone: what was answered ends now, what was running fails with it.
    pub(super) fn end_with_environment(&mut self) {
        for ending in std::mem::take(&mut self.ending) {
            self.finish(ending, Instant::now());
        }
        while let Some(f) = self.in_flight.first() {
            let error = exit_error(&f.id, "stopped with its environment");
            self.complete(0, Outcome::Error(error), Instant::now(), None);
        }
    }

    /// The extensions registered for INVOKE are all back at event/next: the invocations
    /// waiting for them end.
    pub(super) fn extensions_idle(&mut self) {
        if !self.extensions.any_busy() {
            for ending in std::mem::take(&mut self.ending) {
                self.finish(ending, Instant::now());
            }
        }
    }

    /// Takes in every log line written before now: the pipes drained (a line written just
    /// before the answer is in them, whatever their threads are doing), then the inbox read up
    /// to the marker sent after them, everything else put aside. Only for `Tail`.
    /// The runtime's lines go into `tail` too: the invocation it belongs to is out of
    /// `in_flight` by now.
    pub(super) fn settle_logs(&mut self, tail: &mut Vec<u8>) {
        self.pipes.retain(|pipe| !pipe.drain());
        let _ = self.log_tx.send(Inbox::LogsSettled);
        // The marker is in the inbox behind every line: this ends (the timeout only guards
        // against a bug).
        while let Ok(message) = self.inbox.recv_timeout(Duration::from_secs(5)) {
            match message {
                Inbox::Log(source, line) => {
                    if source.is_none() {
                        tail.extend_from_slice(&line);
                    }
                    self.log(source, line);
                }
                Inbox::LogsSettled => break,
                other => self.deferred.push_back(other),
            }
        }
    }
}

/// The billed duration: a custom runtime's init is billed, so on a cold start it is the init
/// and the invocation together, rounded up to the millisecond.
fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    ms(duration + init.unwrap_or_default()).ceil().max(1.0) as u64
}
