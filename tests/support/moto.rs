//! moto's server (PyPI `moto[server]`) on 127.0.0.1, for the tests that call AWS APIs:
//! installed with pip when missing, started on a port it was handed, killed on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// Starts moto on a free port; waits until it answers.
    pub fn start() -> Moto {
        ensure_moto();
        // moto's server takes a port number, not a listener: ask the kernel for a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs a Python snippet with `boto3` and `ENDPOINT` (this server) in scope, with test
    /// keys and us-east-1; returns its stdout.
    pub fn python(&self, code: &str) -> String {
        let prelude = format!(
            "import boto3, json\nENDPOINT = {:?}\nKW = dict(endpoint_url=ENDPOINT, region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n",
            self.url()
        );
        let out = Command::new("python3")
            .args(["-c", &format!("{prelude}{code}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python against moto failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs moto's server with pip if this Python lacks it.
pub fn ensure_moto() {
    let has = |code: &str| {
        Command::new("python3")
            .args(["-c", code])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has("import moto.server, boto3, flask, cryptography") {
        return;
    }
    eprintln!("installing moto[server] from PyPI (pip install 'moto[server]')…");
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "moto[server]"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed && has("import moto.server, boto3, flask, cryptography"),
        "this test needs moto's server: `python3 -m pip install 'moto[server]'` failed; install it by hand"
    );
}
