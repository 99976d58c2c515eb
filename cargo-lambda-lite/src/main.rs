//! `cargo lambda-lite`: build a lambda-lite function into a deployable zip, run it locally on
//! a Runtime API with Lambda's REPORT lines, start a new one, measure.
//!
//! ```text
//! cargo lambda-lite new my-fn                       # a crate that builds and invokes as it stands
//! cargo lambda-lite build --invoke '{"name":"x"}'   # target/lambda/<bin>/bootstrap.zip, then a local run
//! cargo lambda-lite invoke target/lambda/my-fn/bootstrap --event '{}' --env K=V
//! cargo lambda-lite watch                           # a local Lambda on 127.0.0.1:9000, rebuilt on save
//! cargo lambda-lite invoke my-fn --data '{}'        # … invoked through it
//! cargo lambda-lite report                          # in the lambda-lite repository: size-report/REPORT.md
//! ```

mod bench;
mod build;
mod deploy;
mod environment;
mod identity;
mod invoke;
mod local;
mod new;
mod pack;
mod settings;
mod telemetry;
mod template;
#[cfg(feature = "watch")]
mod watch;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What the exit status says, for `--help` and the README.
const EXIT_STATUS: &str = "Exit status: 0 every event was answered (or there was none to send); \
1 something could not be built or run (the message says what to do next); 2 the command line \
was not understood; 3 the function answered an event with an error, timed out or crashed (its \
error is printed): the local run worked, the function failed.";

#[derive(Parser)]
#[command(
    name = "cargo lambda-lite",
    version,
    about = "Build, package and run lambda-lite functions locally",
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build static musl bootstraps with the size profile and zip them (cargo-lambda's layout:
    /// target/lambda/<name>/bootstrap.zip; arm64 builds go to target/lambda/<name>-arm64/).
    #[command(after_help = EXIT_STATUS)]
    Build(BuildArgs),
    /// Run an already built bootstrap on a local Runtime API, with Lambda's REPORT lines; or,
    /// given a function's NAME, send the events to a running `watch`.
    #[command(after_help = EXIT_STATUS)]
    Invoke(InvokeArgs),
    /// Serve the package's functions as a local Lambda (Invoke API, response streams, Function
    /// URLs) on 127.0.0.1:9000, each scaling over environments as on Lambda, rebuilt when a
    /// source changes.
    #[cfg(feature = "watch")]
    Watch(watch::Args),
    /// Build, then create or update the function on AWS (provided.al2023) with the AWS SDK;
    /// unchanged code is not uploaded and an unchanged deploy changes nothing.
    Deploy(deploy::Args),
    /// Build, then write a SAM template (template.yaml) with every function of the package, each
    /// one's code its zip alone; an existing template is replaced only with --force.
    Template(template::Args),
    /// Create a function crate that builds and invokes as it stands.
    New {
        /// The crate's name (and folder).
        name: String,
        /// Depend on lambda-lite at this path (default: where this tool was installed from).
        #[arg(long)]
        lambda_lite_path: Option<PathBuf>,
        /// An HTTP function (Function URLs, API Gateway, ALBs) with a sample event of each
        /// source in events/, instead of a JSON one.
        #[arg(long, conflicts_with = "event")]
        http: bool,
        /// A consumer of this event source, its handler taking the source's type (batch
        /// sources answer with partial batch responses), its sample event in events/ and a
        /// unit test on lambda-lite's test kit.
        #[arg(long, value_name = "SOURCE")]
        event: Option<new::EventSource>,
    },
    /// Regenerate size-report/REPORT.md of the lambda-lite repository (builds every candidate
    /// and the official anchors, then measures them interleaved; tens of minutes).
    Report {
        /// The lambda-lite checkout (default: the current folder or one above it).
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    #[command(hide = true, disable_help_flag = true)]
    Bench {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    #[command(hide = true, name = "bench-stream", disable_help_flag = true)]
    BenchStream {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    #[command(hide = true, name = "bench-concurrency", disable_help_flag = true)]
    BenchConcurrency {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    #[command(hide = true, name = "bench-init", disable_help_flag = true)]
    BenchInit {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    #[command(hide = true, name = "bench-extension", disable_help_flag = true)]
    BenchExtension {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
    #[command(hide = true, name = "serve-one", disable_help_flag = true)]
    ServeOne {
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Panic {
    Abort,
    Unwind,
}

#[derive(Args)]
struct BuildArgs {
    /// A binary to build (repeatable; default: every binary of the package).
    #[arg(long = "bin")]
    bins: Vec<String>,
    /// An example to build (repeatable).
    #[arg(long = "example")]
    examples: Vec<String>,
    /// The package's Cargo.toml (default: the one cargo finds from here).
    #[arg(long)]
    manifest_path: Option<PathBuf>,
    /// Build for Graviton (aarch64-unknown-linux-musl, linked with rust-lld).
    #[arg(long)]
    arm64: bool,
    /// Panic strategy: abort (the smallest; a panic is still reported to Lambda, then the
    /// process dies) or unwind (panics are caught and the function serves on).
    #[arg(long, value_enum, default_value = "abort")]
    panic: Panic,
    /// Also write layer.zip (the bootstrap at the root, for /opt).
    #[arg(long)]
    layer: bool,
    /// Build an external extension: target/lambda/extensions/<name> and <name>.zip holding
    /// extensions/<name>.
    #[arg(long)]
    extension: bool,
    /// Rebuild std with -Z build-std and panic=immediate-abort (smallest; a panic then kills
    /// the process without any report).
    #[arg(long)]
    nightly: bool,
    /// Link a non-PIE static binary (-C relocation-model=static): fewer start-up
    /// instructions, but no ASLR for the binary's own image.
    #[arg(long)]
    no_pie: bool,
    /// Cargo features to enable.
    #[arg(long)]
    features: Option<String>,
    /// Output folder (default: <target dir>/lambda).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fail if an artifact is over its budget in this TOML file (<name>_<arch>_<panic> = bytes).
    #[arg(long)]
    check_budget: Option<PathBuf>,
    /// Then run each bootstrap locally with this event (repeatable).
    #[arg(long = "invoke", value_name = "EVENT")]
    invoke: Vec<String>,
    /// … with the event in this file (repeatable).
    #[arg(long = "invoke-file", value_name = "FILE")]
    invoke_file: Vec<PathBuf>,
    /// … with one event per line of standard input.
    #[arg(long)]
    invoke_stdin: bool,
    /// … each function with its own event: events/<name>.json beside the package's
    /// Cargo.toml (checked before anything is built).
    #[arg(long)]
    invoke_events: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Which function of the package, built how (deploy and template).
#[derive(Args)]
struct Target {
    /// The binary (default: the package's only one).
    #[arg(long = "bin")]
    bin: Option<String>,
    /// An example instead of a binary.
    #[arg(long = "example")]
    example: Option<String>,
    /// The package's Cargo.toml (default: the one cargo finds from here).
    #[arg(long)]
    manifest_path: Option<PathBuf>,
    /// Graviton (arm64) rather than x86_64.
    #[arg(long)]
    arm64: bool,
    /// Cargo features to enable.
    #[arg(long)]
    features: Option<String>,
}

#[derive(Args)]
struct InvokeArgs {
    /// The bootstrap to run (default: target/lambda/<the package's only binary>/bootstrap),
    /// or the NAME of a function a running `watch` serves.
    bootstrap: Option<PathBuf>,
    /// An event (repeatable; default: `{}`).
    #[arg(long = "event", visible_alias = "data", value_name = "EVENT")]
    events: Vec<String>,
    /// An event in a file (repeatable).
    #[arg(long = "event-file", visible_alias = "data-file", value_name = "FILE")]
    event_files: Vec<PathBuf>,
    /// The `watch` a function NAME is sent to.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    endpoint_url: String,
    /// One event per line of standard input.
    #[arg(long)]
    event_stdin: bool,
    /// The binary of the package to run, `target/lambda/NAME/bootstrap` (for a package of
    /// several; the default is its only one).
    #[arg(long = "bin", value_name = "NAME", conflicts_with = "bootstrap")]
    bin: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// How the local run behaves.
#[derive(Args)]
struct RunArgs {
    /// An environment variable for the function, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = settings::key_value)]
    env: Vec<String>,
    /// `_HANDLER` (default `bootstrap`; the script runtime takes file.function or an executable).
    #[arg(long)]
    handler: Option<String>,
    /// `LAMBDA_TASK_ROOT` and the working directory (default: the bootstrap's folder).
    #[arg(long)]
    task_root: Option<PathBuf>,
    /// The function timeout in whole seconds, 1 to 900 (default: in `build --invoke`, the
    /// package's `[package.metadata.lambda-lite.deploy] timeout`; else Lambda's 3).
    #[arg(long, value_parser = settings::timeout_seconds)]
    timeout: Option<u32>,
    /// The memory size in MB, as the function sees it, 128 to 10240 (default: in `build
    /// --invoke`, the package's setting; else 128).
    #[arg(long, value_parser = settings::memory_mb)]
    memory: Option<u32>,
}

fn read_events(inline: &[String], files: &[PathBuf], stdin: bool) -> Result<Vec<Vec<u8>>, String> {
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

fn read_event_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    json_event(bytes, &path.display().to_string())
}

/// `event` if it is JSON: Lambda's Invoke API refuses anything else
/// (`InvalidRequestContentException`) before the function sees it.
fn json_event(event: Vec<u8>, from: &str) -> Result<Vec<u8>, String> {
    // An event over the size limit is refused for its size first, as Lambda does.
    if event.len() > local::MAX_EVENT {
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
fn spec(
    run: &RunArgs,
    meta: &serde_json::Value,
    bootstrap: PathBuf,
    events: Vec<Vec<u8>>,
) -> Result<invoke::Spec, String> {
    // The developer's AWS credentials and region as Lambda gives its role's, under the user's.
    let flags = settings::Flags {
        env: &run.env,
        timeout: run.timeout,
        memory: run.memory,
        ..Default::default()
    };
    let settings = settings::Settings::merge(meta, &flags)?;
    let mut env = identity::environment();
    env.extend_from_slice(&settings.env);
    let wrapper = if elf_machine(&bootstrap) == Some(183) && std::env::consts::ARCH != "aarch64" {
        Some(build::arm64_wrapper()?)
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
    Ok(invoke::Spec {
        function: environment::Config {
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

fn build_and_invoke(args: BuildArgs) -> Result<ExitCode, String> {
    let arch = if args.arm64 {
        build::Arch::Arm64
    } else {
        build::Arch::X86_64
    };
    let options = build::Options {
        manifest: args.manifest_path.clone(),
        bins: args.bins.clone(),
        examples: args.examples.clone(),
        arch,
        panic: match args.panic {
            Panic::Abort => "abort".into(),
            Panic::Unwind => "unwind".into(),
        },
        layer: args.layer,
        extension: args.extension,
        nightly: args.nightly,
        no_pie: args.no_pie,
        features: args.features.clone(),
        out: args.out.clone(),
        own_events: args.invoke_events,
        one: false,
    };
    // Every event is read and checked before the build, which can take minutes.
    let events = read_events(&args.invoke, &args.invoke_file, args.invoke_stdin)?;
    let invoking = !events.is_empty() || args.invoke_events;
    if invoking && args.extension {
        return Err("--invoke runs functions; an extension runs beside one (it has no events of its own to send)".into());
    }
    // The package's settings, as deploy reads them (not read when nothing is invoked).
    let meta = if invoking {
        settings::metadata(&manifest_of(args.manifest_path.as_deref())?)?
    } else {
        serde_json::Value::Null
    };
    if invoking {
        // The run's settings too: a bad --timeout is said now, not after the build.
        spec(&args.run, &meta, PathBuf::new(), Vec::new())?;
    }
    let artifacts = build::build(&options)?;
    build::summary(&artifacts, arch);
    if let Some(budgets) = &args.check_budget {
        build::check_budgets(&artifacts, arch, budgets)?;
    }
    if !invoking {
        return Ok(ExitCode::SUCCESS);
    }
    let mut worst = ExitCode::SUCCESS;
    for a in &artifacts {
        eprintln!("== {}", a.name);
        let events = match &a.event_file {
            Some(file) => vec![read_event_file(file)?],
            None => events.clone(),
        };
        let code = invoke::run(spec(&args.run, &meta, a.binary.clone(), events)?)?;
        if code != ExitCode::SUCCESS {
            worst = code;
        }
    }
    Ok(worst)
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

/// Builds the function `target` names (with a layer.zip when `layer`, as an extension when
/// `extension`); a package of several without `--bin`/`--example` is refused before building.
/// Returns it, the package's manifest and the architecture.
#[cfg(feature = "deploy")]
fn build_one(
    target: &Target,
    layer: bool,
    extension: bool,
) -> Result<(build::Artifact, PathBuf, build::Arch), String> {
    let (mut artifacts, manifest, arch) = build_target(target, layer, extension, true)?;
    if artifacts.len() != 1 {
        return Err("the build made no function".into());
    }
    Ok((artifacts.remove(0), manifest, arch))
}

/// Builds what `target` names (every function of the package when it names none, unless
/// `one`).
fn build_target(
    target: &Target,
    layer: bool,
    extension: bool,
    one: bool,
) -> Result<(Vec<build::Artifact>, PathBuf, build::Arch), String> {
    let arch = if target.arm64 {
        build::Arch::Arm64
    } else {
        build::Arch::X86_64
    };
    let manifest = manifest_of(target.manifest_path.as_deref())?;
    let options = build::Options {
        manifest: target.manifest_path.clone(),
        bins: target.bin.iter().cloned().collect(),
        examples: target.example.iter().cloned().collect(),
        arch,
        panic: "abort".into(),
        layer,
        extension,
        nightly: false,
        no_pie: false,
        features: target.features.clone(),
        out: None,
        own_events: false,
        one,
    };
    let artifacts = build::build(&options)?;
    build::summary(&artifacts, arch);
    Ok((artifacts, manifest, arch))
}

/// The package's Cargo.toml: `--manifest-path`, or the one here or above.
fn manifest_of(manifest_path: Option<&std::path::Path>) -> Result<PathBuf, String> {
    match manifest_path {
        Some(m) => Ok(m.to_path_buf()),
        None => std::env::current_dir()
            .map_err(|e| e.to_string())?
            .ancestors()
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file())
            .ok_or_else(|| "no Cargo.toml here or above".to_owned()),
    }
}

fn report(repo: Option<PathBuf>) -> Result<ExitCode, String> {
    let start = repo.unwrap_or_else(|| std::env::current_dir().unwrap_or_default());
    let root = start
        .ancestors()
        .find(|d| d.join("size-report/run.sh").is_file())
        .ok_or("report runs in the lambda-lite repository (size-report/run.sh not found here or above; --repo DIR)")?
        .to_path_buf();
    let (what, how_long) = match std::env::var_os("SMOKE") {
        Some(_) => ("target/report/REPORT-smoke.md", "minutes"),
        None => ("size-report/REPORT.md", "tens of minutes"),
    };
    eprintln!(
        "cargo-lambda-lite: regenerating {} (progress below; {how_long})",
        root.join(what).display()
    );
    let tool = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = std::process::Command::new("bash")
        .arg(root.join("size-report/run.sh"))
        .env("LAMBDA_LITE_TOOL", tool)
        .status()
        .map_err(|e| format!("bash: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    // As a cargo subcommand, cargo passes the subcommand's name first: `cargo-lambda-lite lambda-lite …`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("lambda-lite") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Cmd::Build(args) => build_and_invoke(args),
        Cmd::Invoke(args) => (|| {
            let bootstrap = match args.bootstrap.clone() {
                Some(b) => b,
                None => default_bootstrap(args.bin.as_deref())?,
            };
            let events = read_events(&args.events, &args.event_files, args.event_stdin)?;
            #[cfg(feature = "watch")]
            if let Some(name) = watched_function(&bootstrap) {
                return watch::client::invoke(&args.endpoint_url, name, &events);
            }
            invoke::run(spec(
                &args.run,
                &serde_json::Value::Null,
                bootstrap,
                events,
            )?)
        })(),
        Cmd::New {
            name,
            lambda_lite_path,
            http,
            event,
        } => {
            let template = match (http, event) {
                (_, Some(source)) => new::Template::Event(source),
                (true, None) => new::Template::Http,
                (false, None) => new::Template::Json,
            };
            new::new(&name, lambda_lite_path.as_deref(), template).map(|dir| {
                println!(
                    "created {}: cd {} && cargo lambda-lite build --invoke-file {}",
                    dir.display(),
                    dir.display(),
                    template.first_event()
                );
                ExitCode::SUCCESS
            })
        }
        Cmd::Report { repo } => report(repo),
        Cmd::Deploy(args) => deploy::run(args),
        Cmd::Template(args) => template::run(args),
        #[cfg(feature = "watch")]
        Cmd::Watch(args) => watch::watch(args),
        Cmd::Bench { args } => bench::bench(&args),
        Cmd::BenchStream { args } => bench::bench_stream(&args),
        Cmd::BenchConcurrency { args } => bench::bench_concurrency(&args),
        Cmd::BenchInit { args } => bench::bench_init(&args),
        Cmd::BenchExtension { args } => bench::bench_extension(&args),
        Cmd::ServeOne { args } => bench::serve_one(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cargo-lambda-lite: {e}");
            ExitCode::FAILURE
        }
    }
}
