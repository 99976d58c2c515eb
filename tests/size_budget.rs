//! The echo bootstrap stays within its size budget (size-report/budgets.toml). A size check,
//! not a timing: it builds the shipping configuration with build.sh and compares bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::Path;
use std::process::Command;

fn check(panic: &str) {
    // One build at a time: on a fresh machine build.sh may have to `rustup target add` first.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/size-budget").join(panic);
    let output = Command::new("bash")
        .arg(root.join("build.sh"))
        .args([
            "--example",
            "echo",
            "--check-budget",
            "--panic",
            panic,
            "--out",
        ])
        .arg(&out)
        .current_dir(root)
        .output()
        .expect("run build.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "build.sh --check-budget failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("budget echo_x86_64_{panic}:")),
        "no budget line:\n{stdout}\n{stderr}"
    );
}

#[test]
fn echo_bootstrap_fits_its_size_budget_with_panic_abort() {
    check("abort");
}

#[test]
fn echo_bootstrap_fits_its_size_budget_with_panic_unwind() {
    check("unwind");
}
