//! `deploy` against moto's server (Lambda, IAM, STS and S3 without Docker), reached through
//! `AWS_ENDPOINT_URL` as a user's AWS configuration would point at AWS, and started by the test.
//! Moto records every request it serves, which proves what a command called.
#![cfg(feature = "deploy")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

use std::process::{Command, Output};

#[path = "../../tests/support/moto.rs"]
mod moto;
use moto::Moto;

/// moto's server, installed with pip when missing, on a free port, recording every request.
fn moto() -> Moto {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let recording = std::env::temp_dir().join(format!("moto-recording-{}-{n}", std::process::id()));
    Moto::start_with(&[
        ("MOTO_IAM_LOAD_MANAGED_POLICIES", "true".to_owned()),
        ("MOTO_ENABLE_RECORDING", "true".to_owned()),
        (
            "MOTO_RECORDER_FILEPATH",
            recording.to_string_lossy().into_owned(),
        ),
    ])
}

impl Moto {
    /// boto3 against moto: `code` runs with `l` (Lambda) and `iam` clients; prints its result.
    fn py(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\nkw = dict(endpoint_url={:?}, region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\nl = boto3.client('lambda', **kw)\niam = boto3.client('iam', **kw)\n{code}\n",
            self.url()
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Starts recording requests afresh.
    fn record(&self) {
        self.post("/moto-api/recorder/reset-recording");
        self.post("/moto-api/recorder/start-recording");
    }

    /// The (method, path, action) of each request recorded since [`Moto::record`].
    fn recorded(&self) -> Vec<String> {
        let text = self.py(&format!(
            "import urllib.request\nprint(urllib.request.urlopen({:?}).read().decode())",
            format!("{}/moto-api/recorder/download-recording", self.url())
        ));
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap_or(""),
                    r["url"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    fn post(&self, path: &str) {
        self.py(&format!(
            "import urllib.request\nurllib.request.urlopen(urllib.request.Request({:?}, method='POST'))",
            format!("{}{path}", self.url())
        ));
    }
}

mod support;
use support::repo;

/// The tool, as a user with AWS configured for moto runs it.
fn tool(moto: &Moto) -> Command {
    let mut tool = Command::new(env!("CARGO_BIN_EXE_cargo-lambda-lite"));
    tool.env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE");
    tool
}

/// `cargo lambda-lite deploy` of the repository's echo example.
fn deploy(moto: &Moto, args: &[&str]) -> Output {
    tool(moto)
        .args(["deploy", "--example", "echo", "--manifest-path"])
        .arg(repo().join("Cargo.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn writes(recorded: &[String]) -> Vec<&String> {
    recorded
        .iter()
        .filter(|r| {
            !r.starts_with("GET ") && !r.contains("Action=Get") && !r.contains("Action=List")
        })
        .collect()
}

#[test]
fn create_then_an_unchanged_redeploy_changes_nothing_and_a_configuration_change_only_it() {
    let moto = moto();
    let first = deploy(
        &moto,
        &["my-echo", "--env", "SECRET=hunter2", "--memory", "256"],
    );
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    assert!(out.contains("function: arn:aws:lambda:us-east-1:"), "{out}");
    assert!(out.contains("role: created arn:aws:iam::"), "{out}");
    assert!(
        out.contains("environment: SECRET (values not shown)"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2"),
        "an --env value is never printed: {out}"
    );
    let zip = std::fs::read(repo().join("target/lambda/echo/bootstrap.zip")).unwrap();
    let live = moto.py(
        "c = l.get_function(FunctionName='my-echo')['Configuration']\nprint(json.dumps([c['Runtime'], c['Architectures'], c['CodeSha256'], c['MemorySize'], c['Handler']]))",
    );
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(live[0], "provided.al2023");
    assert_eq!(live[1], serde_json::json!(["x86_64"]));
    assert_eq!(live[2], sha256_base64(&zip), "CodeSha256 is the zip's");
    assert_eq!(
        (live[3].as_i64(), live[4].as_str()),
        (Some(256), Some("bootstrap"))
    );
    let policies = moto.py(
        "print(json.dumps([p['PolicyArn'] for p in iam.list_attached_role_policies(RoleName='lambda-lite-my-echo')['AttachedPolicies']]))",
    );
    assert_eq!(
        policies, r#"["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]"#,
        "the basic execution policy and nothing more"
    );

    // The recorder sees writes when there are some: a configuration change.
    moto.record();
    let change = deploy(
        &moto,
        &["my-echo", "--env", "SECRET=hunter2", "--memory", "320"],
    );
    assert!(change.status.success(), "{}", text(&change));
    let recorded = moto.recorded();
    assert!(
        writes(&recorded)
            .iter()
            .any(|r| r.starts_with("PUT ") && r.contains("/configuration")),
        "{recorded:#?}"
    );
    let restored = deploy(
        &moto,
        &["my-echo", "--env", "SECRET=hunter2", "--memory", "256"],
    );
    assert!(restored.status.success(), "{}", text(&restored));

    // The same build again: nothing uploaded, nothing written.
    moto.record();
    let again = deploy(
        &moto,
        &["my-echo", "--env", "SECRET=hunter2", "--memory", "256"],
    );
    let out = text(&again);
    assert!(again.status.success(), "{out}");
    assert!(out.contains("unchanged:"), "{out}");
    let recorded = moto.recorded();
    assert!(
        recorded
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("/functions/my-echo")),
        "the recorder saw the deploy read the function: {recorded:#?}"
    );
    assert!(
        writes(&recorded).is_empty(),
        "an unchanged deploy writes nothing: {recorded:#?}"
    );

    // A configuration change is an update of the configuration only: moto's recorder sees
    // configuration writes and no code upload.
    moto.record();
    let memory = deploy(
        &moto,
        &["my-echo", "--env", "SECRET=hunter2", "--memory", "512"],
    );
    let out = text(&memory);
    assert!(memory.status.success(), "{out}");
    assert!(out.contains("changed: configuration (memory)"), "{out}");
    let recorded = moto.recorded();
    let writes = writes(&recorded);
    assert!(!writes.is_empty(), "{recorded:#?}");
    assert!(
        writes
            .iter()
            .all(|r| r.starts_with("PUT ") && r.contains("/functions/my-echo/configuration")),
        "a configuration change writes the configuration alone: {writes:#?}"
    );
    let live = moto.py("print(l.get_function_configuration(FunctionName='my-echo')['MemorySize'])");
    assert_eq!(live, "512");
}

#[test]
fn an_edit_updates_the_code_and_publish_and_alias_follow_it() {
    let moto = moto();
    // Deploy the echo under this name, then point the function at other code: the next
    // deploy of the echo sees a different CodeSha256 and uploads.
    let first = deploy(&moto, &["edited-echo", "--publish", "--alias", "live"]);
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    assert!(out.contains("version: 1"), "{out}");
    moto.py(
        "import io, zipfile\nb = io.BytesIO()\nz = zipfile.ZipFile(b, 'w'); z.writestr('bootstrap', 'other'); z.close()\nl.update_function_code(FunctionName='edited-echo', ZipFile=b.getvalue())",
    );
    let second = deploy(&moto, &["edited-echo", "--publish", "--alias", "live"]);
    let out = text(&second);
    assert!(second.status.success(), "{out}");
    assert!(out.contains("changed: code"), "{out}");
    assert!(out.contains("version 2 published"), "{out}");
    let alias =
        moto.py("print(l.get_alias(FunctionName='edited-echo', Name='live')['FunctionVersion'])");
    assert_eq!(alias, "2");
    let third = deploy(&moto, &["edited-echo", "--publish", "--alias", "live"]);
    let out = text(&third);
    assert!(
        out.contains("version: 2") && out.contains("unchanged:"),
        "no new revision: {out}"
    );
}

#[test]
fn a_public_streaming_url_gets_its_mode_and_the_permissions_lambda_requires() {
    let moto = moto();
    let refused = deploy(&moto, &["url-echo", "--public"]);
    assert!(!refused.status.success(), "--public needs --url");
    let run = deploy(
        &moto,
        &[
            "url-echo",
            "--url",
            "--public",
            "--url-invoke-mode",
            "response-stream",
        ],
    );
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    assert!(
        out.contains("(public: anyone can call it, auth NONE)"),
        "{out}"
    );
    let config = moto.py(
        "c = l.get_function_url_config(FunctionName='url-echo')\nprint(c['AuthType'], c.get('InvokeMode'))",
    );
    assert_eq!(config, "NONE RESPONSE_STREAM");
    let policy = moto.py("print(l.get_policy(FunctionName='url-echo')['Policy'])");
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    let actions: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"lambda:InvokeFunctionUrl") && actions.contains(&"lambda:InvokeFunction"),
        "{policy}"
    );
    let private = deploy(&moto, &["iam-echo", "--url"]);
    let out = text(&private);
    assert!(
        out.contains("(AWS_IAM: callers sign their requests)"),
        "{out}"
    );
}

#[test]
fn a_layer_is_published_and_a_dry_run_writes_nothing() {
    let moto = moto();
    let layer = deploy(&moto, &["--layer", "echo-layer"]);
    let out = text(&layer);
    assert!(layer.status.success(), "{out}");
    assert!(
        out.contains("layer: arn:aws:lambda:us-east-1:") && out.contains("echo-layer"),
        "{out}"
    );
    let versions =
        moto.py("print(len(l.list_layer_versions(LayerName='echo-layer')['LayerVersions']))");
    assert_eq!(versions, "1");

    moto.record();
    let dry = deploy(
        &moto,
        &["dry-echo", "--dry-run", "--url", "--public", "--publish"],
    );
    let out = text(&dry);
    assert!(dry.status.success(), "{out}");
    assert!(out.contains("plan: create dry-echo"), "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    let recorded = moto.recorded();
    assert!(
        recorded
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("/functions/dry-echo")),
        "the recorder saw the dry run read the function: {recorded:#?}"
    );
    assert!(
        writes(&recorded).is_empty(),
        "a dry run writes nothing: {recorded:#?}"
    );
    let functions = moto.py("print(len(l.list_functions()['Functions']))");
    assert_eq!(functions, "0");
}

#[test]
fn missing_credentials_and_refused_calls_say_what_to_do() {
    let moto = moto();
    let run = tool(&moto)
        .args(["deploy", "--example", "echo", "--manifest-path"])
        .arg(repo().join("Cargo.toml"))
        .args(["no-creds"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(out.contains("aws configure"), "says what to do: {out}");
    let refused = deploy(
        &moto,
        &[
            "bad-role",
            "--role",
            "arn:aws:iam::123456789012:role/does-not-exist",
        ],
    );
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{out}");
    assert!(out.contains("CreateFunction bad-role failed"), "{out}");
}

/// base64 of the SHA-256 of `data`, computed by Python (an implementation nobody here wrote).
fn sha256_base64(data: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("deploy-sha-{}", std::process::id()));
    std::fs::write(&dir, data).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], 'rb').read()).digest()).decode())",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn template_writes_a_sam_template_whose_code_is_the_zip_alone() {
    let moto = moto(); // its PyYAML reads the template back
    let out = std::env::temp_dir().join(format!("template-{}.yaml", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_cargo-lambda-lite"))
        .args([
            "template",
            "--example",
            "echo",
            "--arm64",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let parsed = moto.py(&format!(
        "import yaml\nt = yaml.safe_load(open({:?}))\np = t['Resources']['EchoFunction']['Properties']\nprint(json.dumps([t['Transform'], p['CodeUri'], p['Runtime'], p['Handler'], p['Architectures']]))",
        out.display().to_string()
    ));
    let parsed: serde_json::Value = serde_json::from_str(&parsed).unwrap();
    assert_eq!(parsed[0], "AWS::Serverless-2016-10-31");
    assert_eq!(
        parsed[1], "target/lambda/echo-arm64/bootstrap.zip",
        "the zip, not the folder"
    );
    assert_eq!(
        (parsed[2].as_str(), parsed[3].as_str()),
        (Some("provided.al2023"), Some("bootstrap"))
    );
    assert_eq!(parsed[4], serde_json::json!(["arm64"]));
}

#[test]
fn settings_from_cargo_toml_an_s3_upload_and_an_extension_layer() {
    let moto = moto();
    moto.py("import boto3\nboto3.client('s3', **kw).create_bucket(Bucket='code-bucket')");
    // A user's crate whose Cargo.toml holds the deploy settings; flags override them.
    let krate = std::env::temp_dir().join(format!("deploy-crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&krate);
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            r#"[package]
name = "settings-fn"
version = "0.1.0"
edition = "2021"

[dependencies]
lambda-lite = {{ path = {:?} }}

[package.metadata.lambda-lite.deploy]
memory = 512
timeout = 20
description = "from Cargo.toml"
env = {{ TABLE = "orders" }}
tags = {{ team = "payments" }}
s3_bucket = "code-bucket"

[workspace]
"#,
            repo().display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        krate.join("src/main.rs"),
        "lambda_lite::lambda_main!(|e: &[u8], _: &lambda_lite::Context| Ok(e.to_vec()));\n",
    )
    .unwrap();
    let run = tool(&moto)
        .args(["deploy", "--timeout", "30", "--manifest-path"])
        .arg(krate.join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let out = text(&run);
    assert!(run.status.success(), "{out}");
    let live = moto.py(
        "c = l.get_function(FunctionName='settings-fn')\nf = c['Configuration']\nprint(json.dumps([f['MemorySize'], f['Timeout'], f['Description'], f['Environment']['Variables'], c.get('Tags', {})]))",
    );
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(
        live,
        serde_json::json!([512, 30, "from Cargo.toml", {"TABLE": "orders"}, {"team": "payments"}]),
        "Cargo.toml's settings, the --timeout flag over its 20"
    );
    let keys = moto.py(
        "import boto3\nprint(json.dumps([o['Key'] for o in boto3.client('s3', **kw).list_objects_v2(Bucket='code-bucket').get('Contents', [])]))",
    );
    assert!(
        keys.contains("lambda-lite/settings-fn/"),
        "the zip went through S3: {keys}"
    );

    let ext = tool(&moto)
        .args([
            "deploy",
            "--example",
            "extension",
            "--extension",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .output()
        .unwrap();
    let out = text(&ext);
    assert!(ext.status.success(), "{out}");
    let layer = moto.py(
        "v = l.list_layer_versions(LayerName='extension')['LayerVersions']\nprint(len(v), v[0]['CompatibleArchitectures'])",
    );
    assert_eq!(layer, "1 ['x86_64']");
    let _ = std::fs::remove_dir_all(&krate);
}

#[test]
fn a_plain_deploy_keeps_every_setting_it_was_not_given_and_says_old_to_new_before_sending() {
    let moto = moto();
    let first = deploy(
        &moto,
        &[
            "kept-echo",
            "--memory",
            "256",
            "--env",
            "SECRET=hunter2",
            "--description",
            "demo",
            "--timeout",
            "10",
        ],
    );
    assert!(first.status.success(), "{}", text(&first));
    let live = |moto: &Moto| -> serde_json::Value {
        serde_json::from_str(&moto.py(
            "c = l.get_function_configuration(FunctionName='kept-echo')\nprint(json.dumps([c['MemorySize'], c['Timeout'], c.get('Description', ''), c.get('Environment', {}).get('Variables', {})]))",
        ))
        .unwrap()
    };
    let settings = serde_json::json!([256, 10, "demo", {"SECRET": "hunter2"}]);
    assert_eq!(live(&moto), settings);

    // The same build, no settings given: nothing is written, nothing is lost.
    moto.record();
    let plain = deploy(&moto, &["kept-echo"]);
    let out = text(&plain);
    assert!(plain.status.success(), "{out}");
    assert!(out.contains("unchanged:"), "{out}");
    assert!(
        writes(&moto.recorded()).is_empty(),
        "a plain deploy writes nothing"
    );
    assert_eq!(live(&moto), settings);

    // A dry run says what would change, old → new, values of variables never shown.
    moto.record();
    let dry = deploy(
        &moto,
        &[
            "kept-echo",
            "--memory",
            "512",
            "--env",
            "OTHER=x1",
            "--env",
            "SECRET=changed-secret",
            "--dry-run",
        ],
    );
    let out = text(&dry);
    assert!(dry.status.success(), "{out}");
    assert!(
        out.contains("memory 256 MB → 512 MB, environment 1 variables → OTHER added; SECRET changed (values not shown)"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !out.contains("changed-secret") && !out.contains("x1"),
        "{out}"
    );
    assert!(
        writes(&moto.recorded()).is_empty(),
        "a dry run writes nothing"
    );
    assert_eq!(live(&moto), settings);

    // The same for real: printed before it is sent; only memory and the variables change,
    // the variable not given stays.
    moto.record();
    let real = deploy(
        &moto,
        &["kept-echo", "--memory", "512", "--env", "OTHER=x1"],
    );
    let out = text(&real);
    assert!(real.status.success(), "{out}");
    assert!(
        out.contains("updating configuration: memory 256 MB → 512 MB, environment 1 variables → OTHER added (values not shown)"),
        "{out}"
    );
    assert!(
        out.contains("changed: configuration (memory, environment)"),
        "{out}"
    );
    assert_eq!(
        live(&moto),
        serde_json::json!([512, 10, "demo", {"SECRET": "hunter2", "OTHER": "x1"}])
    );
    let recorded = moto.recorded();
    let writes = writes(&recorded);
    assert!(
        writes.iter().all(|r| r.contains("/configuration")),
        "a configuration change uploads no code: {writes:#?}"
    );
    assert!(!writes.is_empty(), "{recorded:#?}");
}
