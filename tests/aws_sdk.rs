//! examples/aws-sdk (DynamoDB GetItem through the AWS SDK for Rust, on lambda-lite) built with
//! the tool and invoked locally against moto's DynamoDB on 127.0.0.1, with the table and item
//! created by the test. Installs `moto[server]` with pip if it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> &'static str {
    "python3"
}

fn ensure_moto() {
    let has = |code: &str| {
        Command::new(python())
            .args(["-c", code])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has("import moto.server, boto3, flask") {
        return;
    }
    eprintln!("installing moto[server] from PyPI (pip install 'moto[server]')…");
    let installed = Command::new(python())
        .args(["-m", "pip", "install", "--quiet", "moto[server]"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed && has("import moto.server, boto3, flask"),
        "this test needs moto's server: `python3 -m pip install 'moto[server]'` failed; install it by hand"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_moto(port: u16) -> Moto {
    let child = Command::new(python())
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
    let moto = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

#[test]
fn get_item_against_moto_through_the_local_runtime_api() {
    ensure_moto();
    let port = free_port();
    let _moto = start_moto(port);
    let endpoint = format!("http://127.0.0.1:{port}");
    let setup = format!(
        r#"
import boto3
d = boto3.client("dynamodb", endpoint_url="{endpoint}", region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test")
d.create_table(TableName="orders", KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}],
               AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}}],
               BillingMode="PAY_PER_REQUEST")
d.put_item(TableName="orders", Item={{"id": {{"S": "k1"}}, "name": {{"S": "first order"}}, "qty": {{"N": "3"}}}})
"#
    );
    let created = Command::new(python())
        .args(["-c", &setup])
        .status()
        .unwrap();
    assert!(created.success(), "creating the table in moto failed");

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/aws-sdk");
    let run = Command::new("bash")
        .arg(root.join("build.sh"))
        .arg("--manifest-path")
        .arg(example.join("Cargo.toml"))
        .args([
            "--invoke",
            r#"{"id":"k1"}"#,
            "--invoke",
            r#"{"id":"missing"}"#,
        ])
        .args(["--env", "TABLE=orders", "--env"])
        .arg(format!("AWS_ENDPOINT_URL={endpoint}"))
        .args([
            "--env",
            "AWS_ACCESS_KEY_ID=test",
            "--env",
            "AWS_SECRET_ACCESS_KEY=test",
        ])
        .args(["--env", "AWS_SESSION_TOKEN=test-session"])
        .current_dir(&example)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(3),
        "one answer is an error:\n{stdout}\n{stderr}"
    );
    let answers: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(answers.len(), 2, "{stdout}");
    let item: serde_json::Value = serde_json::from_str(answers[0]).unwrap();
    assert_eq!(
        item,
        serde_json::json!({"id": "k1", "name": "first order", "qty": 3})
    );
    let missing: serde_json::Value = serde_json::from_str(answers[1]).unwrap();
    assert_eq!(missing["errorType"], "ItemNotFound");
    assert_eq!(missing["errorMessage"], "no item missing in orders");
    assert!(stderr.contains("Init Duration"), "{stderr}");
}
