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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Build(build::Args),
    /// Run an already built bootstrap on a local Runtime API, with Lambda's REPORT lines; or,
    /// given a function's NAME, send the events to a running `watch`.
    #[command(after_help = EXIT_STATUS)]
    Invoke(invoke::Args),
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

fn build_and_invoke(args: build::Args) -> Result<ExitCode, String> {
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
            build::Panic::Abort => "abort".into(),
            build::Panic::Unwind => "unwind".into(),
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
    let events = invoke::read_events(&args.invoke, &args.invoke_file, args.invoke_stdin)?;
    let invoking = !events.is_empty() || args.invoke_events;
    if invoking && args.extension {
        return Err("--invoke runs functions; an extension runs beside one (it has no events of its own to send)".into());
    }
    // The package's settings, as deploy reads them (not read when nothing is invoked).
    let meta = if invoking {
        settings::metadata(&build::manifest_of(args.manifest_path.as_deref())?)?
    } else {
        serde_json::Value::Null
    };
    if invoking {
        // The run's settings too: a bad --timeout is said now, not after the build.
        invoke::spec(&args.run, &meta, PathBuf::new(), Vec::new())?;
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
            Some(file) => vec![invoke::read_event_file(file)?],
            None => events.clone(),
        };
        let code = invoke::run(invoke::spec(&args.run, &meta, a.binary.clone(), events)?)?;
        if code != ExitCode::SUCCESS {
            worst = code;
        }
    }
    Ok(worst)
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
        Cmd::Invoke(args) => invoke::command(args),
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
