//! examples/aws-sdk (DynamoDB GetItem through the AWS SDK for Rust, on lambda-lite) built with
//! the tool and invoked locally against moto's DynamoDB on 127.0.0.1, with the table and item
//! created by the test. Installs `moto[server]` with pip if it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::path::Path;
use std::process::Command;

#[path = "support/moto.rs"]
mod moto;

#[test]
fn get_item_against_moto_through_the_local_runtime_api() {
    let moto = moto::Moto::start();
    let endpoint = moto.url();
    moto.python(
        r#"
d = boto3.client("dynamodb", **KW)
d.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
               AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
               BillingMode="PAY_PER_REQUEST")
d.put_item(TableName="orders", Item={"id": {"S": "k1"}, "name": {"S": "first order"}, "qty": {"N": "3"}})
"#,
    );

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
