//! An environment's process, from its start to its end: the external extensions launched
//! first, the runtime once they registered, the init's end (the runtime and every extension
//! waiting for an event), a reset after a timeout or a crash, and Lambda's shutdown.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::time::{Duration, Instant};

use serde_json::json;

use super::timers::{EXTERNAL_SHUTDOWN_GRACE, INIT_LIMIT, Shutdown};
use super::{Config, Controller, ExtensionEvents, Inbox, ms};
use crate::local::{self, Msg, Request, Route};

pub(super) struct Process {
    pub(super) child: Child,
    /// Its external extensions' processes.
    pub(super) extensions: Vec<Child>,
    /// When the runtime first asked for an event.
    pub(super) runtime_waiting: Option<Instant>,
    /// Connections numbered from here on are this process's.
    pub(super) first_connection: usize,
    pub(super) started: Instant,
    /// The `GET /next`s its idle workers wait in.
    pub(super) idle: Vec<Request>,
    /// exec → init done, for the next REPORT line (the first after an init); `None` while
    /// the init runs.
    pub(super) init: Option<Duration>,
    /// The init has been reported in a REPORT line.
    pub(super) init_reported: bool,
}

impl Process {
    pub(super) fn ready(&self) -> bool {
        self.init.is_some() || self.init_reported
    }
    pub(super) fn kill(&mut self) {
        for c in std::iter::once(&mut self.child).chain(&mut self.extensions) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The runtime's command.
fn command(config: &Config, api_address: &str, bootstrap: &Path) -> Command {
    let mut cmd = match &config.wrapper {
        Some(w) => {
            let mut words = w.split_whitespace();
            let mut c = Command::new(words.next().unwrap_or(w));
            c.args(words).arg(bootstrap);
            c
        }
        None => Command::new(bootstrap),
    };
    lambda_environment(&mut cmd, config, api_address, bootstrap);
    cmd
}

/// The environment a real function (and its extensions) sees: a clean one, as on Lambda,
/// then the user's.
fn lambda_environment(cmd: &mut Command, config: &Config, api_address: &str, bootstrap: &Path) {
    let dir = bootstrap
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let root = config.task_root.clone().unwrap_or_else(|| dir.clone());
    let name = &config.name;
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api_address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!(
                "2026/01/01/[$LATEST]{:032x}",
                u128::from(local::random_u64())
            ),
        )
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("LAMBDA_TASK_ROOT", &root)
        .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
        .env("_HANDLER", config.handler.as_deref().unwrap_or("bootstrap"))
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin")
        .env(
            "LD_LIBRARY_PATH",
            "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        )
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&root)
        .stdin(Stdio::null());
    // Its own process group: Ctrl-C in the terminal reaches the tool, which ends the
    // environment Lambda's way, not the function directly.
    std::os::unix::process::CommandExt::process_group(cmd, 0);
}

/// A child's stdout or stderr. Its own thread sends each line to the environment's thread as
/// it arrives; [`Pipe::drain`] reads, under the same lock, whatever the pipe holds right now.
/// A line the function wrote before it answered is in the pipe when the answer arrives, so
/// draining then finds it, however late the thread would have (a cold start's panic message
/// in a `Tail` log, say).
pub(super) struct Pipe {
    file: std::fs::File,
    /// The start of a line not yet ended; whether the pipe is closed.
    state: Mutex<(Vec<u8>, bool)>,
    inbox: Sender<Inbox>,
    source: Option<String>,
}

impl Pipe {
    /// Reads `fd` (without blocking) from a thread of its own, from now on.
    fn start(fd: OwnedFd, inbox: Sender<Inbox>, source: Option<String>) -> Arc<Pipe> {
        let blocking = fcntl(&fd, FcntlArg::F_GETFL)
            .map(OFlag::from_bits_truncate)
            .unwrap_or(OFlag::empty());
        // Failing, the thread still reads every line (poll says when); only `drain` could block.
        let _ = fcntl(&fd, FcntlArg::F_SETFL(blocking | OFlag::O_NONBLOCK));
        let pipe = Arc::new(Pipe {
            file: std::fs::File::from(fd),
            state: Mutex::new((Vec::new(), false)),
            inbox,
            source,
        });
        let reader = Arc::clone(&pipe);
        thread::spawn(move || {
            while !reader.drain() {
                let mut fds = [PollFd::new(reader.file.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, PollTimeout::NONE).is_err_and(|e| e != nix::errno::Errno::EINTR) {
                    return;
                }
            }
        });
        pipe
    }

    /// Sends every line the pipe holds now (and, once it is closed, the unended rest);
    /// whether it is closed.
    pub(super) fn drain(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (partial, closed) = &mut *state;
        let mut chunk = [0u8; 16 * 1024];
        while !*closed {
            match (&self.file).read(&mut chunk) {
                Ok(0) => *closed = true,
                Ok(n) => partial.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => *closed = true,
            }
        }
        while let Some(end) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=end).collect();
            let _ = self.inbox.send(Inbox::Log(self.source.clone(), line));
        }
        if *closed && !partial.is_empty() {
            let _ = self
                .inbox
                .send(Inbox::Log(self.source.clone(), std::mem::take(partial)));
        }
        *closed
    }
}

impl Controller {
    /// Starts a fresh environment: its external extensions, then the runtime.
    pub(super) fn spawn(&mut self) -> Result<(), String> {
        let bootstrap = self
            .config
            .bootstrap
            .canonicalize()
            .map_err(|e| format!("{}: {e}", self.config.bootstrap.display()))?;
        self.api
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .registered
            .clear();
        self.extensions = ExtensionEvents::default();
        self.pipes.clear();
        self.telemetry.reset();
        self.telemetry.init_started();
        self.telemetry.record("platform.initStart", || {
            json!({"initializationType": "on-demand", "phase": "init",
                   "runtimeVersion": "provided:al2023", "functionName": self.config.name,
                   "functionVersion": "$LATEST"})
        });
        let first_connection = self.api.connections();
        // Init Duration starts here: the extensions are launched first.
        let started = Instant::now();
        let mut extensions = Vec::new();
        // What could not be started stops what was.
        let stop = |started: &mut Vec<Child>, e: String| {
            for c in started.iter_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
            e
        };
        let config = Arc::clone(&self.config);
        for path in &config.extensions {
            let name = path
                .file_name()
                .map_or("extension".into(), |n| n.to_string_lossy().into_owned());
            let mut cmd = Command::new(path);
            lambda_environment(&mut cmd, &self.config, &self.api.address, &bootstrap);
            let spawned = cmd
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run the extension {}: {e}", path.display()));
            let mut child = spawned.map_err(|e| stop(&mut extensions, e))?;
            self.forward_output(&mut child, Some(name));
            extensions.push(child);
        }
        self.await_registrations(&mut extensions, started);
        let mut cmd = command(&self.config, &self.api.address, &bootstrap);
        if !self.config.inherit_output {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let spawned = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.config.bootstrap.display()));
        let mut child = spawned.map_err(|e| stop(&mut extensions, e))?;
        self.forward_output(&mut child, None);
        self.process = Some(Process {
            child,
            extensions,
            runtime_waiting: None,
            first_connection,
            started,
            idle: Vec::new(),
            init: None,
            init_reported: false,
        });
        Ok(())
    }

    /// As Lambda, the runtime starts once every external extension has registered (or
    /// exited, or the init limit passed).
    pub(super) fn await_registrations(&self, extensions: &mut [Child], started: Instant) {
        while started.elapsed() < INIT_LIMIT {
            let registered = self
                .api
                .extensions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .registered
                .len();
            let running = extensions
                .iter_mut()
                .map(|c| c.try_wait().ok().flatten().is_none())
                .filter(|&alive| alive)
                .count();
            if registered >= running {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    pub(super) fn forward_output(&mut self, child: &mut Child, source: Option<String>) {
        if let Some(out) = child.stdout.take() {
            let pipe = Pipe::start(OwnedFd::from(out), self.log_tx.clone(), source.clone());
            self.pipes.push(pipe);
        }
        if let Some(err) = child.stderr.take() {
            let pipe = Pipe::start(OwnedFd::from(err), self.log_tx.clone(), source);
            self.pipes.push(pipe);
        }
    }

    /// The init is done when the runtime and every registered extension wait for an event.
    pub(super) fn check_init(&mut self) {
        let Some(p) = &mut self.process else { return };
        let Some(runtime) = p.runtime_waiting else {
            return;
        };
        if p.init.is_some() || p.init_reported {
            return;
        }
        let polled = self
            .api
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all_polled();
        let Some(last_extension) = polled else { return };
        let done = last_extension.map_or(runtime, |e| e.max(runtime));
        let init = done.saturating_duration_since(p.started);
        p.init = Some(init);
        let phase =
            || json!({"initializationType": "on-demand", "phase": "init", "status": "success"});
        self.telemetry.record("platform.initRuntimeDone", phase);
        self.telemetry.record("platform.initReport", || {
            let mut report = phase();
            report["metrics"] = json!({"durationMs": ms(init)});
            report
        });
        self.telemetry.init_done();
    }

    /// An environment reset (a timeout, a crash): its extensions get `SHUTDOWN` with the
    /// reason and up to 2 s to exit, then everything is stopped.
    pub(super) fn reset(&mut self, mut p: Process, reason: &str) {
        let deadline = local::epoch_ms() + EXTERNAL_SHUTDOWN_GRACE.as_millis();
        self.tell_extensions(
            "SHUTDOWN",
            || json!({"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline}),
        );
        let _ = p.child.kill();
        let t0 = Instant::now();
        while t0.elapsed() < EXTERNAL_SHUTDOWN_GRACE
            && p.extensions
                .iter_mut()
                .any(|c| c.try_wait().ok().flatten().is_none())
        {
            // Their output and their last requests are served; the rest waits its turn.
            match self.inbox.recv_timeout(Duration::from_millis(2)) {
                Ok(Inbox::Log(source, line)) => self.log(source, line),
                Ok(Inbox::Api(Msg::Request(r))) if r.route == Route::ExtensionNext => {
                    self.extension_next(r);
                }
                Ok(other) => self.deferred.push_back(other),
                Err(_) => {}
            }
        }
        p.kill();
    }

    /// Lambda's shutdown: the telemetry pushed, `SHUTDOWN` to the extensions registered for
    /// it, SIGTERM to the runtime when an extension is registered (the graceful-shutdown hook
    /// registers one), a grace period for all of them to exit (2 s with external extensions,
    /// 500 ms without), then SIGKILL.
    pub(super) fn stop_process(&mut self) {
        let Some(p) = &self.process else { return };
        let registered = !self
            .api
            .extensions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .registered
            .is_empty();
        let Shutdown { graceful, grace } = Shutdown::plan(registered, !p.extensions.is_empty());
        let runtime = p.child.id();
        if graceful {
            self.telemetry.push_all();
            let deadline = local::epoch_ms() + grace.as_millis();
            self.tell_extensions(
                "SHUTDOWN",
                || json!({"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": deadline}),
            );
            if let Err(e) = terminate(runtime) {
                eprintln!(
                    "[{}] shutdown: cannot send SIGTERM ({e}): stopping it",
                    self.config.name
                );
            }
        }
        let t0 = Instant::now();
        // Serve the extensions' last requests and print their output meanwhile.
        while graceful && t0.elapsed() < grace {
            let Some(p) = &mut self.process else { break };
            let exited = std::iter::once(&mut p.child)
                .chain(&mut p.extensions)
                .all(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                eprintln!(
                    "[{}] shutdown: SIGTERM (an extension is registered); the runtime and its extensions exited after {:.1} ms",
                    self.config.name,
                    ms(t0.elapsed())
                );
                break;
            }
            match self.inbox.recv_timeout(Duration::from_millis(2)) {
                Ok(Inbox::Log(source, line)) => self.log(source, line),
                Ok(Inbox::Api(m)) => self.api_message(m),
                // An invocation or a shutdown that came meanwhile waits its turn, unlost.
                Ok(other) => self.deferred.push_back(other),
                Err(_) => {}
            }
        }
        if graceful && t0.elapsed() >= grace {
            eprintln!(
                "[{}] shutdown: still running {} ms after SIGTERM and SHUTDOWN: SIGKILL",
                self.config.name,
                grace.as_millis()
            );
        }
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }

    pub(super) fn exited_after_answering(&self, why: &str) {
        eprintln!(
            "[{}] the runtime exited after answering ({why}); the next event starts with a fresh init",
            self.config.name
        );
    }
}

/// Sends SIGTERM to the process `pid`, as Lambda does at shutdown.
pub fn terminate(pid: u32) -> Result<(), String> {
    let pid = i32::try_from(pid).map_err(|_| format!("no such process id {pid}"))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .map_err(|e| e.to_string())
}
