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
        Moto::start_with(&[])
    }

    /// [`Moto::start`] with these variables (`MOTO_ENABLE_RECORDING`…) in its environment. moto
    /// binds port 0 and prints the port it got: no port is chosen here and taken by another
    /// program before moto binds it.
    pub fn start_with(env: &[(&str, String)]) -> Moto {
        use std::io::BufRead;
        ensure_moto();
        let mut child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto");
        let mut lines =
            std::io::BufReader::new(child.stderr.take().expect("moto's stderr")).lines();
        let mut seen = String::new();
        let port = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("moto exited before saying its port:\n{seen}");
            };
            if let Some(port) = line.split("Running on http://127.0.0.1:").nth(1) {
                break port.trim().parse::<u16>().expect("moto's port");
            }
            seen.push_str(&line);
            seen.push('\n');
        };
        // Its log goes on being read, so that a full pipe never stops it.
        std::thread::spawn(move || lines.for_each(drop));
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

/// The table both DynamoDB examples read: `orders`, keyed by `id`, holding `k1`, in `region`.
pub fn create_orders_table(moto: &Moto, region: &str) {
    moto.python(&format!(
        r#"
d = boto3.client("dynamodb", **{{**KW, "region_name": {region:?}}})
d.create_table(TableName="orders", KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}],
               AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}}],
               BillingMode="PAY_PER_REQUEST")
d.put_item(TableName="orders", Item={{"id": {{"S": "k1"}}, "name": {{"S": "first order"}}, "qty": {{"N": "3"}}}})
"#
    ));
}

/// What a local invoke printed: stdout, stderr, exit status.
pub type Run = (String, String, Option<i32>);

/// examples/`example` (a DynamoDB `GetItem` function) built by the tool (build.sh) and invoked
/// on the local Runtime API with two events, one item and one missing: `env` as `--env` flags,
/// `developer` in the tool's own environment (what the developer has in their shell) and no
/// other AWS variable of this process's.
pub fn invoke_get_item(example: &str, env: &[(&str, String)], developer: &[(&str, String)]) -> Run {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("examples").join(example);
    let mut command = Command::new("bash");
    command
        .arg(root.join("build.sh"))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .args([
            "--invoke",
            r#"{"id":"k1"}"#,
            "--invoke",
            r#"{"id":"missing"}"#,
        ])
        .current_dir(&dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command.envs(developer.iter().map(|(k, v)| (k, v)));
    for (k, v) in env {
        command.arg("--env").arg(format!("{k}={v}"));
    }
    let run = command.output().unwrap();
    (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
        run.status.code(),
    )
}

/// The contract both DynamoDB examples keep: the item as one JSON object, then an error of
/// type `ItemNotFound` (so the run exits 3), with a REPORT line's `Init Duration`.
pub fn assert_get_item_contract((stdout, stderr, code): &Run) {
    assert_eq!(
        *code,
        Some(3),
        "one answer is an error:\n{stdout}\n{stderr}"
    );
    let answers: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(answers.len(), 2, "{stdout}\n{stderr}");
    let item: serde_json::Value = serde_json::from_str(answers[0]).unwrap();
    assert_eq!(
        item,
        serde_json::json!({"id": "k1", "name": "first order", "qty": 3}),
        "{stderr}"
    );
    let missing: serde_json::Value = serde_json::from_str(answers[1]).unwrap();
    assert_eq!(missing["errorType"], "ItemNotFound");
    assert_eq!(missing["errorMessage"], "no item missing in orders");
    assert!(stderr.contains("Init Duration"), "{stderr}");
}
