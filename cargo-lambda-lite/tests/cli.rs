//! The tool as a user runs it: `new` → `build` → `invoke` from a crate outside the repository,
//! the script runtime with a `function.sh`, Lambda's timeout, payload limits and fresh init
//! after a crash, streamed answers, the artifact layout (arm64 beside x86_64, layers,
//! extensions) and deterministic zips.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

mod support;
use support::{repo, tool};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch folder outside the repository, fresh for `name`.
fn outside(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cargo-lambda-lite-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds `bin` of `manifest` with the tool (once per test binary and configuration) into
/// `target/tool-tests/<key>`; returns the bootstrap.
fn built(key: &'static str, manifest: &str, bin: &str, extra: &[&str]) -> PathBuf {
    static BUILT: Mutex<Vec<(&str, PathBuf)>> = Mutex::new(Vec::new());
    let mut done = BUILT.lock().unwrap();
    if let Some((_, p)) = done.iter().find(|(k, _)| *k == key) {
        return p.clone();
    }
    let out = repo().join("target/tool-tests").join(key);
    let result = tool()
        .args(["build", "--bin", bin, "--manifest-path"])
        .arg(repo().join(manifest))
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&result);
    assert!(
        result.status.success(),
        "build {key} failed:\n{stdout}\n{stderr}"
    );
    let path = out.join(bin).join("bootstrap");
    done.push((key, path.clone()));
    path
}

fn fixture(panic: &'static str) -> PathBuf {
    let key = if panic == "abort" {
        "fixture-abort"
    } else {
        "fixture-unwind"
    };
    built(
        key,
        "tests/fixture/Cargo.toml",
        "fixture",
        &["--panic", panic],
    )
}

/// A JSON event one byte over Lambda's 6 MB, in `dir`.
fn over_six_mb(dir: &Path) -> PathBuf {
    let big = dir.join("big.json");
    let mut json = vec![b'a'; 6 * 1024 * 1024 + 1];
    (json[0], *json.last_mut().unwrap()) = (b'"', b'"');
    std::fs::write(&big, json).unwrap();
    big
}

fn reports(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("REPORT RequestId: "))
        .collect()
}

#[test]
fn a_new_crate_outside_the_repository_builds_and_invokes_with_env() {
    let dir = outside("new");
    let created = tool()
        .args(["lambda-lite", "new", "hello-fn", "--lambda-lite-path"])
        .arg(repo())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(created.status.success(), "{:?}", text(&created));
    let krate = dir.join("hello-fn");
    for f in ["Cargo.toml", "src/main.rs", "events/hello.json"] {
        assert!(krate.join(f).is_file(), "{f}");
    }
    // Before a build, invoke says what to do.
    let early = tool().arg("invoke").current_dir(&krate).output().unwrap();
    let (_, stderr) = text(&early);
    assert_eq!(early.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not built yet: run `cargo lambda-lite build` first"),
        "{stderr}"
    );
    // A missing event file is said before anything is built.
    let missing = tool()
        .args(["build", "--invoke-file", "events/nope.json"])
        .current_dir(&krate)
        .output()
        .unwrap();
    let (_, stderr) = text(&missing);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("events/nope.json"), "{stderr}");
    assert!(
        !stderr.contains("building"),
        "nothing was built first: {stderr}"
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("# opt-level = \"z\""),
        "the size profile, as a comment"
    );
    let run = tool()
        .args([
            "lambda-lite",
            "build",
            "--invoke-file",
            "events/hello.json",
            "--env",
            "GREETING=Hi",
        ])
        // A user's crate has its own target directory (the paths below assume it).
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(&krate)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(r#""message":"Hi, world!""#), "{stdout}");
    let report = reports(&stderr);
    assert_eq!(report.len(), 1, "{stdout}");
    assert!(report[0].contains("\tInit Duration: "), "{stdout}");
    let zip = krate.join("target/lambda/hello-fn/bootstrap.zip");
    assert!(zip.is_file());
    assert!(
        stdout.contains("x86_64") && stdout.contains("abort"),
        "the summary names arch and panic mode: {stdout}"
    );
    // `invoke` alone runs what was built.
    let again = tool()
        .args(["invoke", "--event", r#"{"name":"again"}"#])
        .current_dir(&krate)
        .output()
        .unwrap();
    let (stdout, _) = text(&again);
    assert!(
        stdout.contains("Hello, again!"),
        "without --env the default greeting: {stdout}"
    );
    // Every valid JSON string reaches the typed handler: escapes, \uXXXX (a surrogate pair
    // too) and quotes (the template borrows where it can and owns where it must).
    let escaped = tool()
        .args([
            "invoke",
            "--event",
            r#"{"name":"Zo\u00eb"}"#,
            "--event",
            r#"{"name":"say \"hi\"\nthen \ud83d\ude00"}"#,
        ])
        .current_dir(&krate)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&escaped);
    assert!(escaped.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(r#""message":"Hello, Zoë!""#), "{stdout}");
    assert!(
        stdout.contains(r#""message":"Hello, say \"hi\"\nthen 😀!""#),
        "{stdout}"
    );
    // build --invoke reads the package's settings as deploy and watch do: the metadata's env
    // and memory, under the flags.
    let mut with_settings = manifest.clone();
    with_settings.push_str(
        "\n[package.metadata.lambda-lite.deploy]\nmemory = 256\nenv = { GREETING = \"Hey\" }\n",
    );
    std::fs::write(krate.join("Cargo.toml"), &with_settings).unwrap();
    for (flags, greeting) in [(&[][..], "Hey"), (&["--env", "GREETING=Hi"][..], "Hi")] {
        let run = tool()
            .args(["lambda-lite", "build", "--invoke-file", "events/hello.json"])
            .args(flags)
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(&krate)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!(r#""message":"{greeting}, world!""#)),
            "{stdout}"
        );
        assert!(
            reports(&stderr)[0].contains("\tMemory Size: 256 MB\t"),
            "{stderr}"
        );
    }
    std::fs::write(krate.join("Cargo.toml"), &manifest).unwrap();
    // Lambda's Invoke API takes JSON only; so does invoke, before anything runs.
    let raw = tool()
        .args(["invoke", "--event", "hello"])
        .current_dir(&krate)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&raw);
    assert_eq!(raw.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("InvalidRequestContentException"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("START"),
        "the function never ran: {stdout}"
    );
}

#[test]
fn settings_out_of_lambdas_range_are_a_command_line_not_understood() {
    // Exit status 2, with the range (a whole number of seconds: Lambda has no 2.5 s), as
    // README's exit statuses say; the same checks for invoke, watch and deploy.
    for (args, says) in [
        (
            &["invoke", "--timeout", "0"][..],
            "Lambda's timeout is a whole number of seconds, 1 to 900",
        ),
        (
            &["invoke", "--timeout", "2.5"],
            "Lambda's timeout is a whole number of seconds, 1 to 900",
        ),
        (
            &["invoke", "--memory", "64"],
            "Lambda's memory is 128 to 10240 MB",
        ),
        (&["invoke", "--env", "NOEQUALS"], "expected KEY=VALUE"),
        (
            &["watch", "--timeout", "f=901"],
            "Lambda's timeout is a whole number of seconds, 1 to 900",
        ),
        (&["watch", "--env", "=x"], "expected KEY=VALUE"),
        (
            &["deploy", "--memory", "10241"],
            "Lambda's memory is 128 to 10240 MB",
        ),
        (&["deploy", "--tag", "nope"], "expected KEY=VALUE"),
    ] {
        let mut command = tool();
        command.args(args);
        if args[0] == "invoke" {
            command.arg(fixture("unwind"));
        }
        let run = command.output().unwrap();
        let (_, stderr) = text(&run);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn an_event_refused_before_it_was_sent_is_not_a_function_error() {
    let dir = outside("refused");
    let big = over_six_mb(&dir);
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .arg("--event-file")
        .arg(&big)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(
        run.status.code(),
        Some(1),
        "the function did not fail: {stdout}\n{stderr}"
    );
    assert!(stdout.is_empty(), "no answer: {stdout}");
    assert!(
        stderr.contains("RequestTooLargeException") && stderr.contains("not sent"),
        "{stderr}"
    );
}

#[test]
fn managed_instances_take_several_events_at_once_in_one_process() {
    let bootstrap = fixture("unwind");
    let run = tool()
        .arg("invoke")
        .arg(bootstrap)
        .args(["--env", "FIXTURE_MODE=concurrent"])
        .args(["--env", "AWS_LAMBDA_MAX_CONCURRENCY=4"])
        .args(["--event", r#""sleep:300:a""#, "--event", r#""sleep:300:b""#])
        .args(["--event", r#""sleep:300:c""#, "--event", r#""sleep:300:d""#])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let report = reports(&stderr);
    assert_eq!(report.len(), 4, "{stdout}");
    assert_eq!(
        report
            .iter()
            .filter(|r| r.contains("Init Duration"))
            .count(),
        1,
        "one process, one init: {stdout}"
    );
    for answer in ["a", "b", "c", "d"] {
        assert!(stdout.lines().any(|l| l == answer), "{answer}: {stdout}");
    }
    // All four were sent before the first answered: they ran at once.
    let first_end = stderr.find("END RequestId").unwrap();
    assert_eq!(
        stderr[..first_end].matches("START RequestId").count(),
        4,
        "{stdout}"
    );
    assert!(
        !stderr.contains("without a Lambda-Runtime-Aws-Request-Id") && stderr.lines().count() < 20,
        "idle workers wait, they do not spin: {stderr}"
    );
}

#[test]
fn billed_duration_includes_a_cold_starts_init_rounded_up_to_the_millisecond() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args(["--event", r#""one""#, "--event", r#""two""#])
        .args(["--env", "FIXTURE_INIT_MS=50"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let field = |line: &str, name: &str| -> f64 {
        let start = line
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {line}"))
            + name.len();
        line[start..].split(' ').next().unwrap().parse().unwrap()
    };
    let report = reports(&stderr);
    let (cold, warm) = (report[0], report[1]);
    let billed = field(cold, "Billed Duration: ");
    let want = (field(cold, "\tDuration: ") + field(cold, "Init Duration: ")).ceil();
    assert!(
        (billed - want).abs() <= 1.0,
        "cold: billed {billed}, duration + init {want}: {cold}"
    );
    assert!(billed >= 50.0, "the 50 ms init is billed: {cold}");
    assert_eq!(
        field(warm, "Billed Duration: "),
        field(warm, "\tDuration: ").ceil().max(1.0),
        "warm: the duration alone: {warm}"
    );
}

#[test]
fn the_script_runtime_runs_a_function_sh_locally() {
    let bootstrap = built(
        "script-runtime",
        "script-runtime/Cargo.toml",
        "script-runtime",
        &[],
    );
    let root = repo().join("tests/fixtures/scripts");
    let run = tool()
        .args(["invoke"])
        .arg(&bootstrap)
        .args([
            "--event",
            r#"{"shell":"yes"}"#,
            "--event",
            r#""second""#,
            "--handler",
            "function.handler",
            "--task-root",
        ])
        .arg(&root)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(r#"Echoing request: '{"shell":"yes"}'"#),
        "{stdout}"
    );
    assert_eq!(reports(&stderr).len(), 2, "{stdout}");
}

#[test]
fn the_timeout_stops_the_function_and_the_next_event_gets_a_fresh_init() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args([
            "--event",
            r#""sleep:5000:late""#,
            "--event",
            r#""after""#,
            "--timeout",
            "1",
            "--env",
            "FIXTURE_MODE=concurrent",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(
        run.status.code(),
        Some(3),
        "a function error is the run's result: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Task timed out after 1.00 seconds"),
        "{stdout}"
    );
    let report = reports(&stderr);
    assert!(report[0].ends_with("\tStatus: timeout"), "{stdout}");
    assert!(stdout.contains("\n\"after\"\n"), "{stdout}");
    assert!(
        report[1].contains("Init Duration"),
        "a fresh init for the next event: {stdout}"
    );
    assert!(
        stderr.contains("fresh init"),
        "said on the terminal: {stderr}"
    );
}

#[test]
fn payloads_over_lambdas_limits_are_refused_as_lambda_does() {
    let dir = outside("payloads");
    let big = over_six_mb(&dir);
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .arg("--event-file")
        .arg(&big)
        .args(["--event", r#""huge""#, "--event", r#""fine""#])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("RequestTooLargeException"), "{stderr}");
    assert!(stdout.contains("Function.ResponseSizeTooLarge"), "{stdout}");
    assert!(
        stdout.contains("Response payload size (7340032 bytes)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n\"fine\"\n"),
        "served on after both: {stdout}"
    );
    assert_eq!(
        reports(&stderr).len(),
        2,
        "the refused event never ran: {stdout}"
    );
}

#[test]
fn a_crash_is_reported_and_the_next_event_is_served_by_a_fresh_init() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("abort"))
        .args(["--event", r#""panic""#, "--event", r#""alive again""#])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Runtime.HandlerPanic"),
        "the panic was posted before the abort: {stdout}"
    );
    assert!(
        stderr.contains("the runtime exited after answering"),
        "{stderr}"
    );
    assert!(stdout.contains("\n\"alive again\"\n"), "{stdout}");
    let report = reports(&stderr);
    assert_eq!(report.len(), 2);
    assert!(
        report[0].contains("Init Duration") && report[1].contains("Init Duration"),
        "{stdout}"
    );
}

#[test]
fn streamed_answers_are_printed_with_a_failed_streams_error() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args([
            "--event",
            r#""abcdef""#,
            "--event",
            r#""panic""#,
            "--env",
            "FIXTURE_MODE=stream",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.lines().any(|l| l == "abcdef"), "{stdout}");
    assert!(stdout.contains("partial\n"), "{stdout}");
    assert!(stderr.contains("invoke: the stream failed: Runtime.HandlerPanic: {\"errorType\":\"Runtime.HandlerPanic\""), "{stderr}");
    assert!(stderr.contains("streamed response"), "{stderr}");
}

#[test]
fn the_shutdown_hook_runs_at_the_end_of_a_local_run() {
    let dir = outside("shutdown");
    let hooks = dir.join("hooks");
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args([
            "--event",
            r#""x""#,
            "--env",
            "FIXTURE_MODE=shutdown",
            "--env",
        ])
        .arg(format!("HOOK_FILE={}", hooks.display()))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("SIGTERM (an extension is registered)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&hooks).unwrap(), "ran\n");
}

/// (name, unix mode) of each zip entry.
fn entries(zip: &Path) -> Vec<(String, u32)> {
    let data = std::fs::read(zip).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = data[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let h = at + i;
        let n = u16::from_le_bytes([data[h + 28], data[h + 29]]) as usize;
        let attrs = u32::from_le_bytes(data[h + 38..h + 42].try_into().unwrap());
        out.push((
            String::from_utf8_lossy(&data[h + 46..h + 46 + n]).into_owned(),
            attrs >> 16,
        ));
        at = h + 46 + n;
    }
    out
}

fn elf_machine(path: &Path) -> u16 {
    let head = std::fs::read(path).unwrap();
    u16::from_le_bytes([head[18], head[19]])
}

#[test]
fn arm64_artifacts_sit_beside_x86_64_ones_and_zips_are_deterministic() {
    let out = outside("layout");
    let build = |extra: &[&str]| {
        let r = tool()
            .args(["build", "--example", "echo", "--manifest-path"])
            .arg(repo().join("Cargo.toml"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&r);
        assert!(r.status.success(), "{stdout}\n{stderr}");
        (stdout, stderr)
    };
    build(&["--layer"]);
    let x86 = out.join("echo/bootstrap");
    let x86_zip = std::fs::read(out.join("echo/bootstrap.zip")).unwrap();
    let (stdout, _) = build(&["--arm64"]);
    assert!(stdout.contains("arm64"), "{stdout}");
    assert_eq!(elf_machine(&x86), 62, "the x86_64 bootstrap is still there");
    assert_eq!(elf_machine(&out.join("echo-arm64/bootstrap")), 183);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("echo-arm64/build.json")).unwrap())
            .unwrap();
    assert_eq!(
        (info["architecture"].as_str(), info["panic"].as_str()),
        (Some("arm64"), Some("abort"))
    );
    // "pie" says what the linker made: the ELF type (ET_DYN 3 is PIE, ET_EXEC 2 is not).
    let elf_type = |p: &Path| {
        let head = std::fs::read(p).unwrap();
        u16::from_le_bytes([head[16], head[17]])
    };
    assert_eq!(
        info["pie"].as_bool(),
        Some(elf_type(&out.join("echo-arm64/bootstrap")) == 3),
        "{info}"
    );
    let x86_info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("echo/build.json")).unwrap())
            .unwrap();
    assert_eq!(
        x86_info["pie"].as_bool(),
        Some(elf_type(&x86) == 3),
        "{x86_info}"
    );
    // Rebuilding gives the same bytes; another panic mode in the same folder is said.
    let (_, stderr) = build(&["--layer", "--panic", "unwind"]);
    assert!(
        stderr.contains("held a panic=abort build; it now holds panic=unwind"),
        "{stderr}"
    );
    build(&["--layer"]);
    assert_eq!(
        std::fs::read(out.join("echo/bootstrap.zip")).unwrap(),
        x86_zip,
        "deterministic zip"
    );
    assert_eq!(
        entries(&out.join("echo/bootstrap.zip")),
        [("bootstrap".to_owned(), 0o100755)]
    );
    assert_eq!(
        entries(&out.join("echo/layer.zip")),
        [("bootstrap".to_owned(), 0o100755)]
    );
}

#[test]
fn an_extension_builds_into_the_extension_layout() {
    let out = outside("extension");
    let r = tool()
        .args([
            "build",
            "--example",
            "extension",
            "--extension",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&r);
    assert!(r.status.success(), "{stdout}\n{stderr}");
    assert!(out.join("extensions/extension").is_file());
    assert_eq!(
        entries(&out.join("extensions/extension.zip")),
        [("extensions/extension".to_owned(), 0o100755)]
    );
}

#[test]
fn new_depends_on_the_source_the_tool_was_installed_from() {
    // A cargo home as `cargo install` leaves it: the executable in bin/ and its source in
    // .crates2.json.
    let home = outside("cargo-home");
    std::fs::create_dir_all(home.join("bin")).unwrap();
    let exe = home.join("bin/cargo-lambda-lite");
    std::fs::copy(env!("CARGO_BIN_EXE_cargo-lambda-lite"), &exe).unwrap();
    let checkout = repo().canonicalize().unwrap();
    let cases = [
        (
            "git+https://git.example.org/team/lambda-lite?branch=main#0123abcd".to_owned(),
            r#"lambda-lite = { git = "https://git.example.org/team/lambda-lite", rev = "0123abcd", features = ["json"] }"#.to_owned(),
        ),
        (
            format!("path+file://{}", checkout.join("cargo-lambda-lite").display()),
            format!(
                r#"lambda-lite = {{ path = {:?}, features = ["json"] }}"#,
                checkout.display().to_string()
            ),
        ),
        (
            "registry+https://github.com/rust-lang/crates.io-index".to_owned(),
            r#"lambda-lite = { version = "0.1.0", features = ["json"] }"#.to_owned(),
        ),
    ];
    for (i, (source, want)) in cases.iter().enumerate() {
        let installs = serde_json::json!({
            "installs": {
                format!("cargo-lambda-lite 0.1.0 ({source})"): {
                    "version_req": null, "bins": ["cargo-lambda-lite"], "features": [],
                    "all_features": false, "no_default_features": false, "profile": "release",
                    "target": "x86_64-unknown-linux-gnu", "rustc": "rustc 1.95.0"
                }
            }
        });
        std::fs::write(home.join(".crates2.json"), installs.to_string()).unwrap();
        let name = format!("from-install-{i}");
        let created = Command::new(&exe)
            .args(["lambda-lite", "new", &name])
            .env("CARGO_HOME", &home)
            .current_dir(&home)
            .output()
            .unwrap();
        assert!(created.status.success(), "{:?}", text(&created));
        let manifest = std::fs::read_to_string(home.join(&name).join("Cargo.toml")).unwrap();
        assert!(manifest.contains(want.as_str()), "{source}:\n{manifest}");
    }
}

#[test]
fn new_http_scaffolds_a_function_that_answers_each_source_in_its_shape() {
    let dir = outside("new-http");
    let created = tool()
        .args([
            "lambda-lite",
            "new",
            "web-fn",
            "--http",
            "--lambda-lite-path",
        ])
        .arg(repo())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(created.status.success(), "{:?}", text(&created));
    let krate = dir.join("web-fn");
    let mut build = tool();
    build.arg("build");
    for source in ["function_url", "http_api", "rest_api", "alb"] {
        build
            .arg("--invoke-file")
            .arg(format!("events/{source}.json"));
    }
    let run = build
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(&krate)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let answers: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with("{\"statusCode\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 4, "{stdout}");
    let message = |a: &serde_json::Value| -> String {
        let body: serde_json::Value = serde_json::from_str(a["body"].as_str().unwrap()).unwrap();
        body["message"].as_str().unwrap().to_owned()
    };
    assert_eq!(message(&answers[0]), "Hello, Zoë!");
    assert!(
        answers[0]["cookies"].is_array(),
        "payload 2.0: {}",
        answers[0]
    );
    assert_eq!(message(&answers[1]), "Hello, Ana!");
    assert_eq!(message(&answers[2]), "Hello, René!");
    assert!(
        answers[2]["multiValueHeaders"].is_object(),
        "REST: {}",
        answers[2]
    );
    assert_eq!(message(&answers[3]), "Hello, Kai!");
    assert_eq!(
        answers[3]["statusDescription"], "200 OK",
        "ALB: {}",
        answers[3]
    );
}

#[test]
fn a_runtime_that_strays_from_lambda_lites_patterns_gets_lambdas_answers() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/odd_runtime.py");
    let path = format!("PATH={}", std::env::var("PATH").unwrap_or_default());
    let run = tool()
        .arg("invoke")
        .arg(&script)
        .args(["--timeout", "1", "--env", &path])
        .args(["--event", r#""chunked""#, "--event", r#""late-init-error""#])
        .args(["--event", r#""cut""#, "--event", r#""no-next""#])
        .args(["--event", r#""after""#, "--event", r#""fine""#])
        .args(["--event", r#""wrong-id""#])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    // A whole answer sent chunked is an answer, not a stream.
    assert!(
        stdout.lines().any(|l| l == "\"chunked answer\""),
        "{stdout}"
    );
    // An init error after the init is refused (403) and changes nothing.
    assert!(stdout.contains("\n\"init/error 403\"\n"), "{stdout}");
    // A chunked answer cut before its last chunk fails the invocation; it does not hang.
    assert!(
        stdout.contains("Runtime.Unknown") && stdout.contains("ended before its last chunk"),
        "{stdout}"
    );
    // A runtime that never asks for the next event: that event times out, the environment
    // is reset, and the one after gets a fresh init.
    assert!(stdout.contains("\n\"no-next\"\n"), "{stdout}");
    assert!(
        stdout
            .contains("Task timed out after 1.00 seconds: the runtime never asked for this event"),
        "{stdout}"
    );
    assert!(stdout.contains("\n\"fine\"\n"), "{stdout}");
    // Posts to an invocation that is not running, whole, chunked or an error: Lambda's 400
    // InvalidRequestID, and the invocation running is unaffected.
    assert!(
        stdout.contains("\n\"wrong-id [400, 400, 400]\"\n"),
        "{stdout}"
    );
    let report = reports(&stderr);
    assert_eq!(report.len(), 6, "the timed-out event never ran: {stdout}");
    assert!(report[4].contains("Init Duration"), "{stdout}");
}

#[test]
fn new_event_scaffolds_a_consumer_of_each_source_whose_unit_test_passes() {
    let dir = outside("new-event");
    // One target folder for every generated crate: lambda-lite is built once.
    let target = dir.join("target");
    for source in [
        "sqs",
        "sns",
        "s3",
        "eventbridge",
        "schedule",
        "dynamodb",
        "kinesis",
        "cloudwatch-logs",
        "kafka",
    ] {
        let name = format!("{source}-fn");
        let created = tool()
            .args([
                "lambda-lite",
                "new",
                &name,
                "--event",
                source,
                "--lambda-lite-path",
            ])
            .arg(repo())
            .current_dir(&dir)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&created);
        assert!(created.status.success(), "{source}: {stdout}\n{stderr}");
        let krate = dir.join(&name);
        let events: Vec<_> = std::fs::read_dir(krate.join("events"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(events.len(), 1, "{source}: {events:?}");
        assert!(
            stdout.contains(&format!("--invoke-file events/{}", events[0])),
            "{stdout}"
        );
        let main = std::fs::read_to_string(krate.join("src/main.rs")).unwrap();
        assert!(main.contains("lambda_main!(json handler)"), "{main}");
        // The unit test runs the handler on the sample through the test kit.
        let test = Command::new("cargo")
            .args(["test", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&krate)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&test);
        assert!(test.status.success(), "{source}: {stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{source}: {stdout}");
    }
    // The SQS consumer built and invoked on its sample answers a partial batch response.
    let run = tool()
        .args(["build", "--invoke-file", "events/sqs.json"])
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(dir.join("sqs-fn"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l == r#"{"batchItemFailures":[]}"#),
        "{stdout}"
    );
    // --http and --event exclude each other: a command line not understood.
    let both = tool()
        .args(["lambda-lite", "new", "x", "--http", "--event", "sqs"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "{:?}", text(&both));
}

#[test]
fn the_answers_alone_are_on_stdout_so_they_pipe_into_jq() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args(["--event", r#"{"a":1}"#, "--event", r#""two""#])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout, "{\"a\":1}\n\"two\"\n", "nothing but the answers");
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    // Lambda's lines, in order, on stderr.
    let start = stderr.find("START RequestId: ").unwrap();
    let end = stderr.find("END RequestId: ").unwrap();
    assert!(start < end, "{stderr}");
    assert_eq!(reports(&stderr).len(), 2, "{stderr}");
}

#[test]
fn a_tiny_report_runs_end_to_end_and_gives_the_tables_the_readme_quotes() {
    // `cargo lambda-lite report` with SMOKE=1: run.sh's own builds (musl, the size profile),
    // the bench command and bloat.py on lambda-lite's echo and json echo and the C floor.
    let out = tool()
        .args(["report", "--repo"])
        .arg(repo())
        .envs([("SMOKE", "1"), ("SPAWNS", "3"), ("WARM", "20")])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report = std::fs::read_to_string(repo().join("target/report/REPORT-smoke.md")).unwrap();
    // A table row's cells, thousands separators dropped: a name's first row is in the Size
    // table, its last in the bench table.
    let row = |name: &str, last: bool| -> Vec<String> {
        let mut named = report
            .lines()
            .filter(|l| l.starts_with(&format!("| {name} |")));
        let line = if last {
            named.next_back()
        } else {
            named.next()
        };
        line.unwrap_or_else(|| panic!("no {name} row:\n{report}"))
            .split('|')
            .map(|c| c.trim().replace(',', ""))
            .filter(|c| !c.is_empty())
            .collect()
    };
    let number = |cell: &str| -> f64 {
        cell.parse()
            .unwrap_or_else(|_| panic!("{cell:?}:\n{report}"))
    };
    // Size: the echo within its budget, as size-report/budgets.toml and the README say.
    let sizes: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("| lite-echo-abort | musl"))
        .map(str::to_owned)
        .collect();
    assert_eq!(sizes.len(), 1, "{report}");
    let size = row("lite-echo-abort", false);
    assert!(
        number(&size[2]) < 430_000.0 && number(&size[3]) < number(&size[2]),
        "{size:?}"
    );
    // The bench table: every candidate measured, the reference's own ratios 1.00.
    let floor = row("c-floor", true);
    assert_eq!(
        (floor[3].as_str(), floor[5].as_str()),
        ("1.00", "1.00"),
        "{report}"
    );
    for name in ["lite-echo-abort", "lite-json-echo-abort"] {
        let cells = row(name, true);
        assert_eq!(cells.len(), 10, "{cells:?}");
        for cell in &cells[1..] {
            assert!(number(cell) > 0.0, "{cells:?}");
        }
        assert_eq!(cells[9], "1", "one kept connection: {cells:?}");
    }
    // Where the bytes go: the runtime's own share and the total.
    assert!(
        report.contains("| lambda-lite (runtime, examples) |"),
        "{report}"
    );
    assert!(report.contains("| **all symbols** |"), "{report}");
}
