//! What the tool's test files share: the tool, the repository, the Python packages a test
//! needs (installed from PyPI the first time).
#![allow(dead_code)] // each test file uses its part
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The tool built for these tests.
pub fn tool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-lambda-lite"))
}

/// The lambda-lite checkout.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One installation at a time: the tests of a file run on parallel threads.
static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `python3 -c "import {modules}"` works, after `pip install {package}` if needed.
pub fn needs_python(modules: &str, package: &str) {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let has = || {
        Command::new("python3")
            .args(["-c", &format!("import {modules}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has() {
        eprintln!("installing {package} from PyPI (python3 -m pip install '{package}')…");
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", package])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed && has(),
            "this test needs {package}: `python3 -m pip install '{package}'` failed; install it by hand"
        );
    }
}

/// cargo-lambda's own executable (its `invoke` client defaults to `[::1]`): the prebuilt
/// 1.9.2 from PyPI, in a virtual environment under the repository's target/ (as
/// tests/emulators/cargo-lambda.sh installs it).
#[allow(dead_code)]
pub fn cargo_lambda() -> PathBuf {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = repo().join("target/cargo-lambda");
    let exe = venv.join("bin/cargo-lambda");
    if !exe.exists() {
        eprintln!(
            "installing cargo-lambda 1.9.2 from PyPI into {}…",
            venv.display()
        );
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "cargo-lambda==1.9.2"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            made && exe.exists(),
            "this test needs cargo-lambda: `python3 -m venv {0} && {0}/bin/pip install cargo-lambda==1.9.2` failed; install it by hand",
            venv.display()
        );
    }
    exe
}

/// curl, installed with apt-get (as root) when missing.
pub fn needs_curl() {
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let has = || {
        Command::new("curl")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has() {
        eprintln!("installing curl (apt-get install curl)…");
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "curl"])
            .status();
        assert!(
            has(),
            "this test needs curl: install Debian's `curl` (apt-get install curl)"
        );
    }
}
