//! `invoke`: runs a `bootstrap` in a local execution environment (the core `watch` uses too)
//! the way Lambda would, one event after another, and prints each answer (a streamed one as it
//! arrives) and Lambda's REPORT lines.
//!
//! Like Lambda: the environment a function sees (plus `--env`), `_HANDLER` and the task root,
//! the function timeout (the process is stopped, `Status: timeout`), the 6 MB payload limits
//! (an event over it is refused, a response over it answered 413 and reported as
//! `Function.ResponseSizeTooLarge`), streamed responses up to 200 MB, and a fresh init after
//! the runtime exited or was stopped. With `AWS_LAMBDA_MAX_CONCURRENCY` = N, up to N events at
//! once in one process. At the end, if the function registered an extension (the
//! graceful-shutdown hook does), it gets SIGTERM and 500 ms, as at Lambda's shutdown.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args as ClapArgs;

use crate::environment::{
    Cause, Config, Environment, FunctionError, Invocation, Outcome, Progress,
};
use crate::local::MAX_EVENT;

/// Everything a local run needs: the function and its events.
pub struct Spec {
    pub function: Config,
    pub events: Vec<Vec<u8>>,
}

/// Lambda's answer to an event over its 6 MB limit: the function never sees it, so this is
/// no answer of the function's (stderr; the run's exit status is 1).
fn refuse_oversized(len: usize) {
    eprintln!(
        "{{\"errorType\":\"RequestTooLargeException\",\"errorMessage\":\"Request must be smaller than {MAX_EVENT} bytes for the InvokeFunction operation\"}}"
    );
    eprintln!(
        "invoke: this event ({len} B) is over Lambda's 6 MB limit: Lambda refuses it; not sent"
    );
}

/// How the run went.
#[derive(Default)]
struct Tally {
    function_error: bool,
    failed: bool,
    /// An event Lambda would refuse before the function sees it.
    refused: bool,
}

/// Prints an invocation's progress as it comes; what became of it goes into the tally.
fn printer(tally: Arc<Mutex<Tally>>, arm64: bool) -> Box<dyn FnMut(Progress) + Send> {
    let mut stream = None;
    let mut init_failed = false;
    Box::new(move |p| match p {
        // The answer alone on stdout (`| jq` works); Lambda's START/END/REPORT lines and the
        // function's log on stderr, as `invoke NAME` prints them.
        Progress::Started { line, .. } => eprintln!("{line}"),
        Progress::Stream { content_type } => {
            stream = Some(StreamPrinter::new(content_type.as_deref()));
        }
        Progress::Chunk(data) => {
            if let Some(s) = &mut stream {
                s.chunk(&data);
            }
        }
        Progress::Answered(outcome) => {
            let error = match &outcome {
                Outcome::Error(e) => Some(e),
                _ => None,
            };
            match (stream.take(), &outcome) {
                (Some(s), _) => s.end(error),
                (None, Outcome::Response(body)) => {
                    println!("{}", String::from_utf8_lossy(body));
                }
                // What the Invoke API answers, a timeout's and a crash's error document too.
                (None, Outcome::Error(e)) => println!("{}", String::from_utf8_lossy(&e.document)),
                (None, Outcome::Streamed) => {}
            }
            init_failed = error.is_some_and(|e| e.cause == Cause::Init);
            let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
            match error {
                Some(e) if e.cause == Cause::Init => t.failed = true,
                Some(_) => t.function_error = true,
                None => {}
            }
        }
        Progress::Done(done) => {
            for line in &done.lines {
                eprintln!("{line}");
            }
            if let Some(note) = &done.note {
                eprintln!("invoke: {note}");
            }
            if arm64 && !init_failed {
                eprintln!(
                    "invoke: (arm64 under qemu-user emulation: the durations above are not Graviton's)"
                );
            }
            let _ = std::io::stdout().flush();
        }
    })
}

/// Runs every event; exit status 0 when all were answered, 3 when the function answered
/// with an error (or timed out, or crashed), 1 when the run itself failed or an event was
/// refused before it reached the function.
pub fn run(spec: Spec) -> Result<ExitCode, String> {
    let arm64 = spec.function.wrapper.is_some();
    let config = Arc::new(spec.function);
    let environment = Environment::start(config, Box::new(|_| {}))
        .map_err(|e| format!("cannot start the local Runtime API: {e}"))?;
    let default = [b"{}".to_vec()];
    let events = if spec.events.is_empty() {
        &default[..]
    } else {
        &spec.events[..]
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    for event in events {
        if event.len() > MAX_EVENT {
            refuse_oversized(event.len());
            tally.lock().unwrap_or_else(|e| e.into_inner()).refused = true;
            continue;
        }
        environment.invoke(Invocation {
            event: event.clone(),
            tail: false,
            headers: Vec::new(),
            progress: printer(tally.clone(), arm64),
        });
    }
    // Everything queued is served before the environment shuts down.
    environment.shut_down();
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    Ok(if tally.failed {
        ExitCode::from(1)
    } else if tally.function_error {
        ExitCode::from(3)
    } else if tally.refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a streamed response as it arrives: the HTTP integration prelude on stderr (once
/// its eight NULs arrived), the body on stdout, a failure's trailers at the end.
struct StreamPrinter {
    http: bool,
    prelude: Vec<u8>,
    in_body: bool,
}

impl StreamPrinter {
    fn new(content_type: Option<&str>) -> StreamPrinter {
        let http = content_type == Some("application/vnd.awslambda.http-integration-response");
        eprintln!(
            "invoke: streamed response{}",
            if http { " (HTTP integration)" } else { "" }
        );
        StreamPrinter {
            http,
            prelude: Vec::new(),
            in_body: !http,
        }
    }

    fn chunk(&mut self, data: &[u8]) {
        let mut out = std::io::stdout();
        if self.in_body {
            let _ = out.write_all(data);
            let _ = out.flush();
            return;
        }
        self.prelude.extend_from_slice(data);
        if let Some(at) = self.prelude.windows(8).position(|w| w == [0u8; 8]) {
            eprintln!(
                "invoke: HTTP prelude {}",
                String::from_utf8_lossy(&self.prelude[..at])
            );
            let _ = out.write_all(&self.prelude[at + 8..]);
            let _ = out.flush();
            self.prelude.clear();
            self.in_body = true;
        }
    }

    /// Ends the stream, with its error if it failed.
    fn end(self, error: Option<&FunctionError>) {
        println!();
        if self.http && !self.in_body {
            eprintln!("invoke: the HTTP prelude never ended with its eight NUL bytes");
        }
        if let Some(e) = error {
            eprintln!(
                "invoke: the stream failed: {}: {}",
                e.error_type,
                String::from_utf8_lossy(&e.document)
            );
        }
    }
}

// The command line: `invoke`'s arguments, its events, and the local run they make.

#[derive(ClapArgs)]
pub struct Args {
    /// The bootstrap to run (default: target/lambda/<the package's only binary>/bootstrap),
    /// or the NAME of a function a running `watch` serves.
    pub bootstrap: Option<PathBuf>,
    /// An event (repeatable; default: `{}`).
    #[arg(long = "event", visible_alias = "data", value_name = "EVENT")]
    pub events: Vec<String>,
    /// An event in a file (repeatable).
    #[arg(long = "event-file", visible_alias = "data-file", value_name = "FILE")]
    pub event_files: Vec<PathBuf>,
    /// The `watch` a function NAME is sent to.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub endpoint_url: String,
    /// One event per line of standard input.
    #[arg(long)]
    pub event_stdin: bool,
    /// The binary of the package to run, `target/lambda/NAME/bootstrap` (for a package of
    /// several; the default is its only one).
    #[arg(long = "bin", value_name = "NAME", conflicts_with = "bootstrap")]
    pub bin: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How the local run behaves.
#[derive(ClapArgs)]
pub struct RunArgs {
    /// An environment variable for the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::settings::key_value)]
    pub env: Vec<String>,
    /// `_HANDLER` (default `bootstrap`; the script runtime takes file.function or an executable).
    #[arg(long)]
    pub handler: Option<String>,
    /// `LAMBDA_TASK_ROOT` and the working directory (default: the bootstrap's folder).
    #[arg(long)]
    pub task_root: Option<PathBuf>,
    /// The function timeout in whole seconds, 1 to 900 (default: in `build --invoke`, the
    /// package's `[package.metadata.lambda-lite.deploy] timeout`; else Lambda's 3).
    #[arg(long, value_parser = crate::settings::timeout_seconds)]
    pub timeout: Option<u32>,
    /// The memory size in MB, as the function sees it, 128 to 10240 (default: in `build
    /// --invoke`, the package's setting; else 128).
    #[arg(long, value_parser = crate::settings::memory_mb)]
    pub memory: Option<u32>,
}

/// `invoke`: the events run through the bootstrap given (or built), or sent to the function a
/// running `watch` serves.
pub fn command(args: Args) -> Result<ExitCode, String> {
    let bootstrap = match args.bootstrap.clone() {
        Some(b) => b,
        None => default_bootstrap(args.bin.as_deref())?,
    };
    let events = read_events(&args.events, &args.event_files, args.event_stdin)?;
    #[cfg(feature = "watch")]
    if let Some(name) = watched_function(&bootstrap) {
        return crate::watch::client::invoke(&args.endpoint_url, name, &events);
    }
    run(spec(
        &args.run,
        &serde_json::Value::Null,
        bootstrap,
        events,
    )?)
}

pub fn read_events(
    inline: &[String],
    files: &[PathBuf],
    stdin: bool,
) -> Result<Vec<Vec<u8>>, String> {
    let mut events = Vec::new();
    for e in inline {
        events.push(json_event(e.clone().into_bytes(), "--event")?);
    }
    for f in files {
        events.push(read_event_file(f)?);
    }
    if stdin {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| e.to_string())?;
            events.push(json_event(line.into_bytes(), "a line of standard input")?);
        }
    }
    Ok(events)
}

pub fn read_event_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    json_event(bytes, &path.display().to_string())
}

/// `event` if it is JSON: Lambda's Invoke API refuses anything else
/// (`InvalidRequestContentException`) before the function sees it.
fn json_event(event: Vec<u8>, from: &str) -> Result<Vec<u8>, String> {
    // An event over the size limit is refused for its size first, as Lambda does.
    if event.len() > MAX_EVENT {
        return Ok(event);
    }
    match serde_json::from_slice::<serde_json::Value>(&event) {
        Ok(_) => Ok(event),
        Err(e) => Err(format!(
            "the event from {from} is not JSON ({e}): Lambda's Invoke API refuses it with InvalidRequestContentException; send a JSON value (text as a JSON string: '\"hello\"')"
        )),
    }
}

/// A local run of `bootstrap`: the flags over the package's settings `meta` (`Null` outside
/// `build --invoke`), as `deploy` and `watch` read them.
pub fn spec(
    run: &RunArgs,
    meta: &serde_json::Value,
    bootstrap: PathBuf,
    events: Vec<Vec<u8>>,
) -> Result<Spec, String> {
    // The developer's AWS credentials and region as Lambda gives its role's, under the user's.
    let flags = crate::settings::Flags {
        env: &run.env,
        timeout: run.timeout,
        memory: run.memory,
        ..Default::default()
    };
    let settings = crate::settings::Settings::merge(meta, &flags)?;
    let mut env = crate::identity::environment();
    env.extend_from_slice(&settings.env);
    let wrapper = if elf_machine(&bootstrap) == Some(183) && std::env::consts::ARCH != "aarch64" {
        Some(arm64_wrapper()?)
    } else {
        None
    };
    // Named after its folder, as target/lambda/<name>/bootstrap is.
    let name = bootstrap
        .canonicalize()
        .ok()
        .as_deref()
        .and_then(std::path::Path::parent)
        .and_then(std::path::Path::file_name)
        .map_or("function".into(), |n| n.to_string_lossy().into_owned());
    Ok(Spec {
        function: Config {
            name,
            bootstrap,
            env,
            handler: run.handler.clone(),
            task_root: run.task_root.clone(),
            timeout: settings.timeout_or_default(),
            memory_mb: settings.memory_or_default(),
            wrapper,
            extensions: Vec::new(),
            inherit_output: true,
        },
        events,
    })
}

/// The ELF `e_machine` of a file (62: x86_64, 183: aarch64).
fn elf_machine(path: &std::path::Path) -> Option<u16> {
    let mut head = [0u8; 20];
    use std::io::Read;
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (head[..4] == *b"\x7fELF").then(|| u16::from_le_bytes([head[18], head[19]]))
}

/// A bare name that is not a file: a function a `watch` serves.
#[cfg(feature = "watch")]
fn watched_function(arg: &std::path::Path) -> Option<&str> {
    let name = arg.to_str()?;
    (!arg.exists() && !name.contains('/')).then_some(name)
}

/// The package's one built bootstrap, or what to do to have one.
/// The built bootstrap of the package's binary `bin`, or of its only one.
fn default_bootstrap(bin: Option<&str>) -> Result<PathBuf, String> {
    let meta = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let pkg = meta
        .root_package()
        .ok_or("no package here: run invoke in a function's crate, or name the bootstrap to run")?;
    let bins: Vec<&str> = pkg
        .targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect();
    let lambda = meta.target_directory.join("lambda").into_std_path_buf();
    let bootstrap = |name: &str| lambda.join(name).join("bootstrap");
    let named;
    let bins = match bin {
        Some(name) if bins.contains(&name) => {
            named = [name];
            &named[..]
        }
        Some(name) => {
            return Err(format!(
                "{} has no binary {name} (it has: {})",
                pkg.name,
                bins.join(", ")
            ));
        }
        None => bins.as_slice(),
    };
    match bins {
        [one] if bootstrap(one).is_file() => Ok(bootstrap(one)),
        [one] => Err(format!(
            "{} is not built yet: run `cargo lambda-lite build` first (or `cargo lambda-lite build --invoke-file EVENT`, which builds then invokes)",
            bootstrap(one).display()
        )),
        [] => Err(format!("{} has no binary to run", pkg.name)),
        several => Err(format!(
            "{} has several binaries: name the one to run with --bin, e.g. `cargo lambda-lite invoke --bin {}` (built: {})",
            pkg.name,
            several[0],
            several
                .iter()
                .map(|b| if bootstrap(b).is_file() { *b } else { "" })
                .filter(|b| !b.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The command that runs an arm64 bootstrap here (qemu-user), or why there is none.
fn arm64_wrapper() -> Result<String, String> {
    for name in ["qemu-aarch64-static", "qemu-aarch64"] {
        if let Ok(o) = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
        {
            let path = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            if o.status.success() && !path.is_empty() {
                return Ok(path);
            }
        }
    }
    Err("an arm64 bootstrap runs here under qemu-user, which is not installed: install it (Debian/Ubuntu: `sudo apt-get install qemu-user-static`) and retry".into())
}
