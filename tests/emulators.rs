//! The runtime under a Runtime API server written by someone else: @vercel/fun (npm), which
//! freezes the process between invokes and drops idle keep-alive connections after 5 s.
//! The Node side is tests/emulators/fun.mjs; its dependencies are installed here with `npm ci`
//! into the git-ignored tests/emulators/node_modules. cargo-lambda is exercised by
//! tests/emulators/cargo-lambda.sh (not in CI: it takes ~25 minutes to install).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn vercel_fun_runs_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let emulators = root.join("tests/emulators");
    if !emulators.join("node_modules/@vercel/fun").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&emulators)
            .status()
            .expect("npm is needed for this test (Node.js >= 18)");
        assert!(status.success(), "npm ci in tests/emulators failed");
    }
    // Built for this run (not whatever an earlier `cargo test` left next to the test binaries).
    let work = root.join("target/fun-test");
    for (name, binary) in [
        ("echo", support::example("echo", "")),
        ("fixture", support::fixture("unwind")),
    ] {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&binary, dir.join("bootstrap"))
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    }
    let output = Command::new("node")
        .arg(emulators.join("fun.mjs"))
        .arg(work.join("echo"))
        .arg(work.join("fixture"))
        .current_dir(&emulators)
        .output()
        .expect("node is needed for this test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        9,
        "{stdout}"
    );
}
