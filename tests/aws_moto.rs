//! lambda-lite's AWS client against moto's server (PyPI `moto[server]`): the typed DynamoDB,
//! SQS, SSM, Secrets Manager, S3 and SNS calls and the generic awsJson call, over plain HTTP
//! and over HTTPS through a local TLS endpoint whose CA is given by `AWS_CA_BUNDLE`; then
//! examples/dynamodb, built with the tool and invoked on the local Runtime API, with the
//! contract of examples/aws-sdk.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lambda_lite::aws::{Client, Config, Credentials, Expression, Service};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod moto;

const T: Duration = Duration::from_secs(20);

fn client(endpoint: &str, ca_bundle: Option<&Path>) -> Client {
    Client::with_config(Config {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        credentials: Some(Credentials::new("test", "test", Some("session".into()))),
        ca_bundle: ca_bundle.map(|p| p.to_string_lossy().into_owned()),
        ..Config::default()
    })
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Order {
    customer: String,
    id: String,
    qty: u32,
    price: f64,
    tags: Vec<String>,
    note: Option<String>,
}

fn order(customer: &str, id: &str, qty: u32) -> Order {
    Order {
        customer: customer.into(),
        id: id.into(),
        qty,
        price: 9.5,
        tags: vec!["a".into(), "b".into()],
        note: None,
    }
}

/// A table keyed by `customer` (hash) and `id` (range), made with the generic call.
fn create_table(aws: &Client, name: &str) {
    let _: Value = aws
        .call(
            &Service::DYNAMODB,
            "CreateTable",
            &json!({
                "TableName": name,
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "customer", "AttributeType": "S"}, {"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
            T,
        )
        .unwrap();
}

fn dynamodb_calls(aws: &Client) {
    create_table(aws, "orders");
    let db = aws.dynamodb();
    db.put_item("orders", &order("c1", "o1", 1), T).unwrap();
    db.put_item("orders", &order("c1", "o2", 2), T).unwrap();
    db.put_item("orders", &order("c2", "o3", 3), T).unwrap();

    let key = json!({"customer": "c1", "id": "o2"});
    assert_eq!(
        db.get_item::<Order>("orders", &key, T).unwrap(),
        Some(order("c1", "o2", 2))
    );
    assert_eq!(
        db.get_item::<Order>("orders", &json!({"customer": "c9", "id": "x"}), T)
            .unwrap(),
        None
    );

    // A failed condition is a typed error, and a function error typed by its code.
    let error = db
        .put_item_if(
            "orders",
            &order("c1", "o2", 7),
            Expression::new("attribute_not_exists(id)"),
            T,
        )
        .unwrap_err();
    assert_eq!(
        (error.code(), error.status(), error.is_retryable()),
        ("ConditionalCheckFailedException", Some(400), false)
    );
    assert!(error.request_id().is_some(), "{error:?}");
    let function_error: lambda_lite::Error = error.into();
    assert_eq!(
        function_error.error_type(),
        "ConditionalCheckFailedException"
    );
    assert_eq!(
        db.get_item::<Order>("orders", &key, T)
            .unwrap()
            .unwrap()
            .qty,
        2,
        "the failed put changed nothing"
    );

    let updated: Order = db
        .update_item(
            "orders",
            &key,
            Expression::new("SET qty = qty + :n, #note = :note")
                .value(":n", 5)
                .value(":note", "rush")
                .name("#note", "note")
                .value(":min", 1),
            Some(Expression::new("qty >= :min")),
            T,
        )
        .unwrap();
    assert_eq!((updated.qty, updated.note.as_deref()), (7, Some("rush")));

    let missing_table = db.get_item::<Order>("nope", &key, T).unwrap_err();
    assert_eq!(
        (missing_table.code(), missing_table.service_name()),
        ("ResourceNotFoundException", "dynamodb")
    );

    let c1: Vec<Order> = db
        .query(
            "orders",
            None,
            Expression::new("customer = :c").value(":c", "c1"),
            T,
        )
        .unwrap();
    assert_eq!(
        c1.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1", "o2"]
    );
}

fn lambda_calls(aws: &Client, moto: &moto::Moto) {
    // moto runs functions without Docker when told so: Invoke answers with the payload.
    moto.python(
        "import urllib.request, io, zipfile\n\
         urllib.request.urlopen(urllib.request.Request(ENDPOINT + '/moto-api/config', method='POST', \
           data=json.dumps({'lambda': {'use_docker': False}}).encode(), headers={'Content-Type': 'application/json'}))\n\
         role = boto3.client('iam', **KW).create_role(RoleName='fn-role', AssumeRolePolicyDocument='{}')['Role']['Arn']\n\
         code = io.BytesIO()\n\
         with zipfile.ZipFile(code, 'w') as z: z.writestr('bootstrap', 'x')\n\
         boto3.client('lambda', **KW).create_function(FunctionName='worker', Runtime='provided.al2023', Role=role, \
           Handler='x', Code={'ZipFile': code.getvalue()})",
    );
    let invoked = aws.lambda().invoke("worker", br#"{"job":7}"#, T).unwrap();
    assert_eq!(
        (invoked.payload.as_slice(), invoked.function_error),
        (&br#"{"job":7}"#[..], None)
    );
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:worker";
    assert_eq!(aws.lambda().invoke(arn, b"{}", T).unwrap().payload, b"{}");
}

fn sqs_sns_calls(aws: &Client, moto: &moto::Moto) {
    let created: Value = aws
        .call(
            &Service::SQS,
            "CreateQueue",
            &json!({"QueueName": "jobs"}),
            T,
        )
        .unwrap();
    let queue = created["QueueUrl"].as_str().unwrap().to_owned();
    let id = aws.sqs().send_message(&queue, "first", T).unwrap();
    assert!(!id.is_empty());
    let failed = aws
        .sqs()
        .send_message_batch(&queue, &["second", "third"], T)
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    // SNS Publish to a topic whose subscriber is the queue: the message arrives there.
    let topic = moto.python(
        "sns = boto3.client('sns', **KW)\narn = sns.create_topic(Name='news')['TopicArn']\n\
         sns.subscribe(TopicArn=arn, Protocol='sqs', Endpoint='arn:aws:sqs:us-east-1:123456789012:jobs', \
         Attributes={'RawMessageDelivery': 'true'})\nprint(arn)",
    );
    let message_id = aws
        .sns()
        .publish(topic.trim(), "breaking & <news>", T)
        .unwrap();
    assert!(!message_id.is_empty());
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let received: Value = aws
            .call(
                &Service::SQS,
                "ReceiveMessage",
                &json!({"QueueUrl": queue, "MaxNumberOfMessages": 10}),
                T,
            )
            .unwrap();
        for m in received["Messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            bodies.push(m["Body"].as_str().unwrap().to_owned());
        }
        if bodies.len() >= 4 {
            break;
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["breaking & <news>", "first", "second", "third"]);
}

fn parameter_and_secret_calls(aws: &Client) {
    let _: Value = aws
        .call(
            &Service::SSM,
            "PutParameter",
            &json!({"Name": "/app/db", "Value": "postgres://x", "Type": "SecureString"}),
            T,
        )
        .unwrap();
    assert_eq!(
        aws.ssm().get_parameter("/app/db", T).unwrap(),
        "postgres://x"
    );
    let missing = aws.ssm().get_parameter("/app/none", T).unwrap_err();
    assert_eq!(
        (missing.code(), missing.service_name()),
        ("ParameterNotFound", "ssm")
    );
    let _: Value = aws
        .call(
            &Service::SECRETS_MANAGER,
            "CreateSecret",
            &json!({"Name": "api-key", "SecretString": "s3cr3t"}),
            T,
        )
        .unwrap();
    assert_eq!(
        aws.secrets_manager()
            .get_secret_value("api-key", T)
            .unwrap(),
        "s3cr3t"
    );
    assert_eq!(
        aws.secrets_manager()
            .get_secret_value("nope", T)
            .unwrap_err()
            .code(),
        "ResourceNotFoundException"
    );
}

fn s3_calls(aws: &Client, moto: &moto::Moto) {
    moto.python("boto3.client('s3', **KW).create_bucket(Bucket='files')");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let etag = aws
        .s3()
        .put_object("files", "dir/a b+c.bin", &big, None, T)
        .unwrap();
    assert!(etag.is_some());
    let mut body = aws.s3().get_object("files", "dir/a b+c.bin", T).unwrap();
    assert_eq!(body.content_length(), Some(big.len() as u64));
    // Read as it arrives: a small buffer at a time.
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got == big,
        "the object came back changed ({} bytes)",
        got.len()
    );
    let missing = aws.s3().get_object("files", "nope", T).unwrap_err();
    assert_eq!((missing.code(), missing.status()), ("NoSuchKey", Some(404)));
    // A presigned URL works for a client without keys.
    let url = aws
        .s3()
        .presign_get_object("files", "dir/a b+c.bin", Duration::from_secs(300))
        .unwrap();
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=300"),
        "{url}"
    );
    let fetched = moto.python(&format!("import urllib.request, hashlib\nprint(hashlib.sha256(urllib.request.urlopen({url:?}).read()).hexdigest())"));
    let expected = moto.python(&format!("import hashlib\nprint(hashlib.sha256(bytes((i * 7 % 251) for i in range({}))).hexdigest())", big.len()));
    assert_eq!(fetched, expected);
}

#[test]
fn typed_calls_against_moto_over_http() {
    let moto = moto::Moto::start();
    let aws = client(&moto.url(), None);
    dynamodb_calls(&aws);
    sqs_sns_calls(&aws, &moto);
    parameter_and_secret_calls(&aws);
    s3_calls(&aws, &moto);
    lambda_calls(&aws, &moto);
}

/// The local TLS endpoint in front of `upstream` (tests/fixtures/scripts/tls_proxy.py).
struct TlsProxy {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl TlsProxy {
    fn start(upstream: u16, name: &str, keys: &str) -> TlsProxy {
        let dir =
            std::env::temp_dir().join(format!("lambda-lite-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scripts/tls_proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(upstream.to_string())
            .arg(&dir)
            .arg(keys)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the proxy prints its port");
        TlsProxy { child, port, dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn connections(&self) -> usize {
        std::fs::read_to_string(self.dir.join("connections"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn https_through_a_local_tls_endpoint_trusted_by_aws_ca_bundle() {
    let moto = moto::Moto::start();
    let proxy = TlsProxy::start(moto.port, "client", "rsa");
    let endpoint = format!("https://localhost:{}", proxy.port);
    let aws = client(&endpoint, Some(&proxy.ca()));
    create_table(&aws, "tls");
    for i in 0..5 {
        aws.dynamodb()
            .put_item("tls", &order("c", &format!("o{i}"), i), T)
            .unwrap();
    }
    assert_eq!(
        aws.dynamodb()
            .get_item::<Order>("tls", &json!({"customer": "c", "id": "o3"}), T)
            .unwrap(),
        Some(order("c", "o3", 3))
    );
    assert_eq!(
        proxy.connections(),
        1,
        "seven calls, one TLS connection kept"
    );

    // Without the CA: refused, once (a certificate does not get better by trying again), and
    // the message says why.
    let untrusted = client(&endpoint, None);
    let error = untrusted
        .dynamodb()
        .get_item::<Order>("tls", &json!({"customer": "c", "id": "o3"}), T)
        .unwrap_err();
    assert_eq!(error.code(), "ConnectionError");
    assert!(!error.is_retryable(), "{error}");
    assert!(error.message().contains("certificate"), "{error}");
    // A certificate signed with ECDSA P-256 (which no AWS endpoint presents, and whose
    // 150 KB table the client does not link): refused, and the message says what is accepted.
    let p256 = TlsProxy::start(moto.port, "p256", "p256");
    let error = client(
        &format!("https://localhost:{}", p256.port),
        Some(&p256.ca()),
    )
    .dynamodb()
    .get_item::<Order>("tls", &json!({"customer": "c", "id": "o3"}), T)
    .unwrap_err();
    assert_eq!(
        (error.code(), error.is_retryable()),
        ("ConnectionError", false)
    );
    assert!(error.message().contains("RSA or ECDSA P-384"), "{error}");
    // A bundle that is not PEM is a configuration error that says which file.
    let bad = proxy.dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let error = client(&endpoint, Some(&bad))
        .dynamodb()
        .get_item::<Order>("tls", &json!({"customer": "c", "id": "o3"}), T)
        .unwrap_err();
    assert_eq!(error.code(), "ConfigInvalid");
    assert!(error.message().contains("bad.pem"), "{error}");
}

#[test]
fn the_dynamodb_example_keeps_the_aws_sdk_example_contract_over_http_and_https() {
    let moto = moto::Moto::start();
    moto::create_orders_table(&moto, "us-east-1");
    let proxy = TlsProxy::start(moto.port, "example", "rsa");
    let keys = [
        ("TABLE", "orders".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_SESSION_TOKEN", "test-session".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ];
    let over_http = [("AWS_ENDPOINT_URL", moto.url())];
    let over_https = [
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            format!("https://localhost:{}", proxy.port),
        ),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_owned()),
        ("AWS_CA_BUNDLE", proxy.ca().to_string_lossy().into_owned()),
    ];
    for extra in [&over_http[..], &over_https[..]] {
        let env: Vec<(&str, String)> = keys.iter().cloned().chain(extra.iter().cloned()).collect();
        moto::assert_get_item_contract(&moto::invoke_get_item("dynamodb", &env, &[]));
    }
    assert_eq!(
        proxy.connections(),
        1,
        "two invocations of one environment, one TLS connection"
    );
}

#[test]
fn a_local_invoke_gives_the_function_the_developers_credentials_and_region() {
    let moto = moto::Moto::start();
    // In eu-west-1: the function finds the table only with the developer's region (the tool's
    // own default is us-east-1).
    moto::create_orders_table(&moto, "eu-west-1");
    let flags = [
        ("TABLE", "orders".to_owned()),
        ("AWS_ENDPOINT_URL", moto.url()),
    ];
    // Keys and region in the developer's shell, none given with --env.
    let shell = [
        ("AWS_ACCESS_KEY_ID", "AKIDSHELL".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
    ];
    moto::assert_get_item_contract(&moto::invoke_get_item("dynamodb", &flags, &shell));
    // A profile in the developer's shared files (resolved as the AWS CLI would).
    let dir = std::env::temp_dir().join(format!("lambda-lite-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("credentials"),
        "[dev]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\n",
    )
    .unwrap();
    std::fs::write(dir.join("config"), "[profile dev]\nregion = eu-west-1\n").unwrap();
    let profile = [
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("credentials").to_string_lossy().into_owned(),
        ),
        (
            "AWS_CONFIG_FILE",
            dir.join("config").to_string_lossy().into_owned(),
        ),
        ("AWS_PROFILE", "dev".to_owned()),
    ];
    moto::assert_get_item_contract(&moto::invoke_get_item("dynamodb", &flags, &profile));
    std::fs::remove_dir_all(&dir).unwrap();
}
