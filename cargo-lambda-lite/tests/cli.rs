//! The tool as a user runs it: `new` → `build` → `invoke` from a crate outside the repository,
//! the script runtime with a `function.sh`, Lambda's timeout, payload limits and fresh init
//! after a crash, streamed answers, the artifact layout (arm64 beside x86_64, layers,
//! extensions) and deterministic zips.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-lambda-lite"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

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
    let report = reports(&stdout);
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
            "second",
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
    assert_eq!(reports(&stdout).len(), 2, "{stdout}");
}

#[test]
fn the_timeout_stops_the_function_and_the_next_event_gets_a_fresh_init() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args([
            "--event",
            "sleep:5000:late",
            "--event",
            "after",
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
    let report = reports(&stdout);
    assert!(report[0].ends_with("\tStatus: timeout"), "{stdout}");
    assert!(stdout.contains("\nafter\n"), "{stdout}");
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
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b'a'; 6 * 1024 * 1024 + 1]).unwrap();
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .arg("--event-file")
        .arg(&big)
        .args(["--event", "huge", "--event", "fine"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("RequestEntityTooLargeException"),
        "{stdout}"
    );
    assert!(stdout.contains("Function.ResponseSizeTooLarge"), "{stdout}");
    assert!(
        stdout.contains("Response payload size (7340032 bytes)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nfine\n"),
        "served on after both: {stdout}"
    );
    assert_eq!(
        reports(&stdout).len(),
        2,
        "the refused event never ran: {stdout}"
    );
}

#[test]
fn a_crash_is_reported_and_the_next_event_is_served_by_a_fresh_init() {
    let run = tool()
        .arg("invoke")
        .arg(fixture("abort"))
        .args(["--event", "panic", "--event", "alive again"])
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
    assert!(stdout.contains("\nalive again\n"), "{stdout}");
    let report = reports(&stdout);
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
            "abcdef",
            "--event",
            "panic",
            "--env",
            "FIXTURE_MODE=stream",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("\nabcdef\n"), "{stdout}");
    assert!(stdout.contains("partial\nthe stream failed: Runtime.HandlerPanic: {\"errorType\":\"Runtime.HandlerPanic\""), "{stdout}");
    assert!(stderr.contains("streamed response"), "{stderr}");
}

#[test]
fn the_shutdown_hook_runs_at_the_end_of_a_local_run() {
    let dir = outside("shutdown");
    let hooks = dir.join("hooks");
    let run = tool()
        .arg("invoke")
        .arg(fixture("unwind"))
        .args(["--event", "x", "--env", "FIXTURE_MODE=shutdown", "--env"])
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
