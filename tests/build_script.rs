//! build.sh from a user's own crate: the layout cargo-lambda, SAM and CDK expect, a
//! deterministic zip, and the local invoke with a REPORT line.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::Path;
use std::process::Command;

/// (file name, unix mode) of every entry in a zip's central directory.
fn zip_entries(zip: &[u8]) -> Vec<(String, u32)> {
    let mut entries = Vec::new();
    let mut at = 0;
    while let Some(i) = zip[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let h = at + i;
        let u16_at = |o: usize| u16::from_le_bytes([zip[h + o], zip[h + o + 1]]) as usize;
        let name_len = u16_at(28);
        let attrs = u32::from_le_bytes(zip[h + 38..h + 42].try_into().unwrap());
        entries.push((
            String::from_utf8_lossy(&zip[h + 46..h + 46 + name_len]).into_owned(),
            attrs >> 16,
        ));
        at = h + 46 + name_len;
    }
    entries
}

#[test]
fn user_crate_builds_to_a_deterministic_zip_and_invokes_locally() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = root.join("target/user-crate-test");
    std::fs::create_dir_all(krate.join("src/bin")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"my-fn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nlambda-lite = {{ path = {:?} }}\n\n[workspace]\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        krate.join("src/main.rs"),
        "use lambda_lite::{lambda_main, Context, Error};\n\
         fn shout(event: &[u8], _: &Context) -> Result<Vec<u8>, Error> { Ok(event.to_ascii_uppercase()) }\n\
         lambda_main!(shout);\n",
    )
    .unwrap();
    std::fs::write(
        krate.join("src/bin/other.rs"),
        "lambda_lite::lambda_main!(|e: &[u8], _: &lambda_lite::Context| Ok(e.to_vec()));\n",
    )
    .unwrap();
    let out = krate.join("target/lambda");
    let build = || {
        let output = Command::new("bash")
            .arg(root.join("build.sh"))
            .arg("--manifest-path")
            .arg(krate.join("Cargo.toml"))
            .args(["--invoke", r#"{"quiet":"please"}"#])
            // A user's crate has its own target directory (the paths below assume it).
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stdout}\n{stderr}");
        (stdout, stderr)
    };
    let (stdout, stderr) = build();
    for name in ["my-fn", "other"] {
        assert!(
            stdout.contains(&format!("target/lambda/{name}/bootstrap ")),
            "artifact line for {name}:\n{stdout}"
        );
        let zip = std::fs::read(out.join(name).join("bootstrap.zip")).unwrap();
        assert_eq!(zip_entries(&zip), [("bootstrap".to_owned(), 0o100755)]);
    }
    assert!(stdout.contains(r#"{"QUIET":"PLEASE"}"#), "{stdout}");
    let report = stderr
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .expect("a REPORT line");
    for field in [
        "\tDuration: ",
        " ms\tBilled Duration: ",
        "\tMemory Size: 128 MB\tMax Memory Used: ",
        "\tInit Duration: ",
    ] {
        assert!(report.contains(field), "{report}");
    }
    // With several binaries, invoke names them rather than guessing.
    let invoke = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .args(["-p", "cargo-lambda-lite", "--", "invoke"])
        .current_dir(&krate)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&invoke.stderr);
    assert_eq!(invoke.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has several binaries: name the one to run with --bin")
            && stderr.contains("my-fn, other"),
        "{stderr}"
    );
    let tool = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .args(["-p", "cargo-lambda-lite", "--"])
            .args(args)
            .current_dir(&krate)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
    };
    // --bin names it.
    let named = tool(&["invoke", "--bin", "other", "--event", r#""picked""#]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&named.stdout),
        String::from_utf8_lossy(&named.stderr),
    );
    assert!(named.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout, "\"picked\"\n");
    let unknown = tool(&["invoke", "--bin", "nope"]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has no binary nope (it has: my-fn, other)"),
        "{stderr}"
    );
    // One template holds every function of the crate; an existing one is never replaced
    // without --force (and is refused before anything is built).
    let _ = std::fs::remove_file(krate.join("template.yaml")); // an earlier run's
    let template = tool(&["template"]);
    let stderr = String::from_utf8_lossy(&template.stderr);
    assert!(template.status.success(), "{stderr}");
    let written = std::fs::read_to_string(krate.join("template.yaml")).unwrap();
    for (id, uri) in [("MyFnFunction", "my-fn"), ("OtherFunction", "other")] {
        assert!(written.contains(&format!("  {id}:\n")), "{written}");
        assert!(
            written.contains(&format!("CodeUri: \"target/lambda/{uri}/bootstrap.zip\"")),
            "{written}"
        );
    }
    std::fs::write(krate.join("template.yaml"), "# edited by hand\n").unwrap();
    let again = tool(&["template"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exists") && stderr.contains("--force replaces it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("building"),
        "refused before the build: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(krate.join("template.yaml")).unwrap(),
        "# edited by hand\n"
    );
    let forced = tool(&["template", "--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(krate.join("template.yaml")).unwrap(),
        written
    );
    // deploy asks which one before building anything (no AWS call either).
    let release = krate.join("target/lambda-build");
    let _ = std::fs::remove_dir_all(&release);
    let asked = tool(&["deploy"]);
    let stderr = String::from_utf8_lossy(&asked.stderr);
    assert_eq!(asked.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("several functions (my-fn, other): name one with --bin NAME")
            && stderr.contains("nothing was built"),
        "{stderr}"
    );
    assert!(!stderr.contains("building"), "{stderr}");
    assert!(!release.exists(), "deploy built before asking");
    let first = std::fs::read(out.join("my-fn/bootstrap.zip")).unwrap();
    build();
    assert!(
        first == std::fs::read(out.join("my-fn/bootstrap.zip")).unwrap(),
        "same input, same zip bytes"
    );
}

/// The README's main-job command, as written: every example, each invoked with its own event
/// from `events/`, and exit status 0.
#[test]
fn the_readme_main_job_builds_every_example_and_each_answers_its_own_event() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let command = readme
        .lines()
        .find(|l| l.starts_with("./build.sh "))
        .expect("the README's main-job command");
    let args: Vec<&str> = command
        .split('#')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    assert_eq!(
        args,
        ["--invoke-events"],
        "the command this test runs: {command}"
    );
    let output = Command::new("bash")
        .arg(root.join("build.sh"))
        .args(&args)
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in [
        "echo",
        "hello",
        "stream",
        "json_echo",
        "http_api",
        "http_echo",
    ] {
        assert!(
            stderr.contains(&format!("== {name}\n")),
            "{name} ran:\n{stderr}"
        );
    }
    assert_eq!(
        stderr.matches("\nREPORT RequestId: ").count(),
        6,
        "one invocation each:\n{stderr}"
    );
    assert!(stdout.contains("Hello Zoë from hello!"), "{stdout}");
    assert!(stdout.contains("data: 5 of 5 for "), "the stream: {stdout}");
    assert!(
        stdout.contains(r#"\"message\":\"hello, Zoë \\\"the\\\" 😀\""#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"\"source\":\"FunctionUrl\""#),
        "http_echo: {stdout}"
    );
}
