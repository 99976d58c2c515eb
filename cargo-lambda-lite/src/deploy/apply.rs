//! The deploy plan carried out: from a build to a live function with the AWS SDK for Rust
//! (credentials, region, profiles, retries and `AWS_ENDPOINT_URL` as the SDK resolves them).
//! Unchanged code is never
//! uploaded: the zip's SHA-256 is compared with the function's `CodeSha256`, and unchanged
//! configuration is not sent either, so a second deploy of the same source changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, FunctionUrlAuthType,
    InvokeMode, LastUpdateStatus, LayerVersionContentInput, Runtime, State,
};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::build::Arch;

/// Lambda's memory and timeout for a function created without them.
const DEFAULT_MEMORY: i32 = 128;
const DEFAULT_TIMEOUT: i32 = 3;

/// Lambda's limit on a zip uploaded directly; a larger one goes through S3.
const DIRECT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;
/// The managed policy the created execution role gets, and nothing more.
const BASIC_EXECUTION: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
const ASSUME_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A Function URL as asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Url {
    /// `NONE` (public: needs `--public`) or `AWS_IAM`.
    pub public: bool,
    /// `RESPONSE_STREAM` rather than `BUFFERED`.
    pub streaming: bool,
}

/// What to deploy, flags over `[package.metadata.lambda-lite.deploy]`. A setting given by
/// neither is `None` (or empty): a new function gets Lambda's default, an existing one keeps
/// what it has.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub zip: PathBuf,
    pub arch: Arch,
    pub role: Option<String>,
    pub memory: Option<i32>,
    pub timeout: Option<i32>,
    /// The variables given: set over the deployed ones, which stay.
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub description: Option<String>,
    pub publish: bool,
    pub alias: Option<String>,
    pub url: Option<Url>,
    pub s3_bucket: Option<String>,
    pub dry_run: bool,
}

/// A layer to publish (`--layer`, `--extension`).
#[derive(Debug)]
pub struct LayerPlan {
    pub name: String,
    pub zip: PathBuf,
    pub arch: Arch,
    pub description: String,
    pub dry_run: bool,
}

fn sdk_error(what: &str, e: impl std::error::Error) -> String {
    // The SDK's Display is terse; its source chain says what the service answered.
    let mut text = format!("{what} failed: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("credentials") || text.contains("Credentials") {
        text.push_str(
            " (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure`)",
        );
    }
    text
}

/// The code's `CodeSha256` as Lambda computes it: base64 of the SHA-256 of the zip.
pub fn code_sha256(zip: &[u8]) -> String {
    let digest = Sha256::digest(zip);
    base64::engine::general_purpose::STANDARD.encode(digest)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime for the AWS SDK: {e}"))
}

async fn config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

fn architecture(arch: Arch) -> Architecture {
    match arch {
        Arch::X86_64 => Architecture::X8664,
        Arch::Arm64 => Architecture::Arm64,
    }
}

/// Deploys `plan`; prints what it did (or, with `dry_run`, what it would do).
pub fn deploy(plan: &Plan) -> Result<(), String> {
    runtime()?.block_on(deploy_async(plan))
}

async fn deploy_async(plan: &Plan) -> Result<(), String> {
    let zip = std::fs::read(&plan.zip).map_err(|e| format!("{}: {e}", plan.zip.display()))?;
    if zip.len() > DIRECT_UPLOAD_LIMIT && plan.s3_bucket.is_none() {
        return Err(format!(
            "{} is {} B, over Lambda's 50 MB direct upload: pass --s3-bucket BUCKET",
            plan.zip.display(),
            zip.len()
        ));
    }
    let sha = code_sha256(&zip);
    let config = config().await;
    if config.region().is_none() {
        return Err("no AWS region: set AWS_REGION (or a region in your AWS profile)".into());
    }
    let lambda = aws_sdk_lambda::Client::new(&config);
    let current = match lambda.get_function().function_name(&plan.name).send().await {
        Ok(out) => out.configuration,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => return Err(sdk_error(&format!("GetFunction {}", plan.name), e)),
    };
    let env_names = plan.env.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut changed = Vec::new();
    let function = match current {
        None => {
            if plan.dry_run {
                println!(
                    "plan: create {} (provided.al2023, {}, {} MB, {} s, environment: [{env_names}]){}",
                    plan.name,
                    plan.arch.name(),
                    plan.memory.unwrap_or(DEFAULT_MEMORY),
                    plan.timeout.unwrap_or(DEFAULT_TIMEOUT),
                    if plan.role.is_none() {
                        "; an execution role with the basic execution policy, unless one exists"
                    } else {
                        ""
                    }
                );
                return dry_run_rest(plan);
            }
            let (role, fresh) = match &plan.role {
                Some(arn) => (arn.clone(), false),
                None => execution_role(&config, &plan.name).await?,
            };
            let created = create(&lambda, plan, &zip, &sha, &role, fresh).await?;
            changed.push("created".to_owned());
            created
        }
        Some(current) => {
            let code_changed = current.code_sha256() != Some(sha.as_str())
                || !current.architectures().contains(&architecture(plan.arch));
            let update = ConfigurationUpdate::of(&current, plan);
            if plan.dry_run {
                let mut steps = Vec::new();
                if code_changed {
                    steps.push("update code".to_owned());
                }
                if !update.changes.is_empty() {
                    steps.push(format!("update configuration: {}", update.describe()));
                }
                if steps.is_empty() {
                    steps.push("nothing: code and configuration are unchanged".into());
                }
                println!("plan: {}: {}", plan.name, steps.join("; "));
                return dry_run_rest(plan);
            }
            if code_changed {
                upload(&lambda, plan, &zip).await?;
                wait_updated(&lambda, &plan.name).await?;
                changed.push("code".to_owned());
            }
            if !update.changes.is_empty() {
                println!("updating configuration: {}", update.describe());
                update
                    .request(&lambda, &plan.name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("UpdateFunctionConfiguration", e))?;
                wait_updated(&lambda, &plan.name).await?;
                let names: Vec<_> = update.changes.iter().map(|c| c.setting).collect();
                changed.push(format!("configuration ({})", names.join(", ")));
            }
            lambda
                .get_function_configuration()
                .function_name(&plan.name)
                .send()
                .await
                .map(function_from)
                .map_err(|e| sdk_error("GetFunctionConfiguration", e))?
        }
    };
    let arn = function.function_arn().unwrap_or_default().to_owned();
    let mut version = "$LATEST".to_owned();
    if plan.publish || plan.alias.is_some() {
        version = publish(&lambda, &plan.name, &sha, !changed.is_empty(), &mut changed).await?;
    }
    if let Some(alias) = &plan.alias {
        point_alias(&lambda, &plan.name, alias, &version, &mut changed).await?;
    }
    if let Some(url) = &plan.url {
        function_url(&lambda, &plan.name, url, &mut changed).await?;
    }
    println!("function: {arn}");
    println!("version: {version}");
    if changed.is_empty() {
        println!(
            "unchanged: the code (CodeSha256 {sha}) and the configuration are already deployed; nothing was uploaded"
        );
    } else {
        println!("changed: {}", changed.join(", "));
    }
    if !plan.env.is_empty() {
        println!("environment: {env_names} (values not shown)");
    }
    Ok(())
}

/// The plan's steps after the function's own, without calling anything that writes.
fn dry_run_rest(plan: &Plan) -> Result<(), String> {
    if plan.publish || plan.alias.is_some() {
        println!("plan: publish a version if the code or configuration changed");
    }
    if let Some(alias) = &plan.alias {
        println!("plan: point alias {alias} at that version");
    }
    if let Some(url) = &plan.url {
        println!(
            "plan: a Function URL, auth {}, invoke mode {}{}",
            if url.public { "NONE" } else { "AWS_IAM" },
            if url.streaming {
                "RESPONSE_STREAM"
            } else {
                "BUFFERED"
            },
            if url.public {
                " (public: anyone can call it)"
            } else {
                ""
            }
        );
    }
    println!("dry run: nothing was changed");
    Ok(())
}

fn function_from(
    out: aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> FunctionConfiguration {
    FunctionConfiguration::builder()
        .set_function_arn(out.function_arn)
        .set_code_sha256(out.code_sha256)
        .set_version(out.version)
        .build()
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    Environment::builder()
        .set_variables(Some(variables.clone().into_iter().collect()))
        .build()
}

/// One setting a deploy changes, as printed: `old → new` (environment variables by name only:
/// their values may be secret).
struct Change {
    setting: &'static str,
    from: String,
    to: String,
}

/// What an update of an existing function sends: only the settings the user gave that differ
/// from what is deployed. Variables given are set over the deployed ones; none is removed.
struct ConfigurationUpdate {
    changes: Vec<Change>,
    memory: Option<i32>,
    timeout: Option<i32>,
    description: Option<String>,
    environment: Option<BTreeMap<String, String>>,
    role: Option<String>,
}

impl ConfigurationUpdate {
    fn of(current: &FunctionConfiguration, plan: &Plan) -> ConfigurationUpdate {
        let mut changes = Vec::new();
        let mut differs = |setting, from: String, to: String| {
            let differs = from != to;
            if differs {
                changes.push(Change { setting, from, to });
            }
            differs
        };
        let memory = plan
            .memory
            .filter(|&m| differs("memory", mb(current.memory_size()), mb(Some(m))));
        let timeout = plan
            .timeout
            .filter(|&t| differs("timeout", seconds(current.timeout()), seconds(Some(t))));
        let description = plan.description.clone().filter(|d| {
            differs(
                "description",
                format!("{:?}", current.description().unwrap_or("")),
                format!("{d:?}"),
            )
        });
        let role = plan.role.clone().filter(|r| {
            differs(
                "role",
                current.role().unwrap_or("(none)").to_owned(),
                r.clone(),
            )
        });
        let deployed: BTreeMap<String, String> = current
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut merged = deployed.clone();
        merged.extend(plan.env.clone());
        let environment = if merged == deployed {
            None
        } else {
            let mut added = Vec::new();
            let mut set = Vec::new();
            for (name, value) in &plan.env {
                match deployed.get(name) {
                    None => added.push(name.as_str()),
                    Some(old) if old != value => set.push(name.as_str()),
                    Some(_) => {}
                }
            }
            let mut to = Vec::new();
            if !added.is_empty() {
                to.push(format!("{} added", added.join(", ")));
            }
            if !set.is_empty() {
                to.push(format!("{} changed", set.join(", ")));
            }
            changes.push(Change {
                setting: "environment",
                from: format!("{} variables", deployed.len()),
                to: format!("{} (values not shown)", to.join("; ")),
            });
            Some(merged)
        };
        ConfigurationUpdate {
            changes,
            memory,
            timeout,
            description,
            environment,
            role,
        }
    }

    /// `memory 128 MB → 256 MB, description "" → "demo"`.
    fn describe(&self) -> String {
        self.changes
            .iter()
            .map(|c| format!("{} {} → {}", c.setting, c.from, c.to))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `UpdateFunctionConfiguration` call, with the changed settings only.
    fn request(
        &self,
        lambda: &aws_sdk_lambda::Client,
        name: &str,
    ) -> aws_sdk_lambda::operation::update_function_configuration::builders::UpdateFunctionConfigurationFluentBuilder{
        lambda
            .update_function_configuration()
            .function_name(name)
            .set_memory_size(self.memory)
            .set_timeout(self.timeout)
            .set_description(self.description.clone())
            .set_environment(self.environment.as_ref().map(environment))
            .set_role(self.role.clone())
    }
}

fn mb(memory: Option<i32>) -> String {
    memory.map_or_else(|| "(none)".into(), |m| format!("{m} MB"))
}

fn seconds(timeout: Option<i32>) -> String {
    timeout.map_or_else(|| "(none)".into(), |t| format!("{t} s"))
}

/// The execution role `lambda-lite-<function>`: reused when it exists, else created with the
/// basic execution policy (logs) and nothing more.
async fn execution_role(
    config: &aws_config::SdkConfig,
    function: &str,
) -> Result<(String, bool), String> {
    let iam = aws_sdk_iam::Client::new(config);
    let name: String = format!("lambda-lite-{function}").chars().take(64).collect();
    match iam.get_role().role_name(&name).send().await {
        Ok(out) => {
            if let Some(role) = out.role {
                println!("role: reusing {}", role.arn);
                return Ok((role.arn, false));
            }
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) => {}
        Err(e) => return Err(sdk_error(&format!("GetRole {name}"), e)),
    }
    let created = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(ASSUME_ROLE)
        .description("Execution role of a lambda-lite function: CloudWatch Logs only")
        .send()
        .await
        .map_err(|e| sdk_error(&format!("CreateRole {name} (or pass --role ARN)"), e))?;
    iam.attach_role_policy()
        .role_name(&name)
        .policy_arn(BASIC_EXECUTION)
        .send()
        .await
        .map_err(|e| sdk_error("AttachRolePolicy AWSLambdaBasicExecutionRole", e))?;
    let arn = created.role.map(|r| r.arn).unwrap_or_default();
    println!("role: created {arn} with AWSLambdaBasicExecutionRole");
    Ok((arn, true))
}

async fn create(
    lambda: &aws_sdk_lambda::Client,
    plan: &Plan,
    zip: &[u8],
    sha: &str,
    role: &str,
    fresh_role: bool,
) -> Result<FunctionConfiguration, String> {
    let code = match code_location(plan, zip) {
        Location::Direct => FunctionCode::builder().zip_file(Blob::new(zip)).build(),
        Location::S3(bucket, key) => {
            put_s3(plan, &bucket, &key, zip).await?;
            FunctionCode::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .build()
        }
    };
    // A role just created takes a few seconds before Lambda can assume it: retry for a minute
    // (a role given with --role that Lambda cannot assume is an error at once).
    let started = Instant::now();
    let created = loop {
        let attempt = lambda
            .create_function()
            .function_name(&plan.name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(code.clone())
            .architectures(architecture(plan.arch))
            .memory_size(plan.memory.unwrap_or(DEFAULT_MEMORY))
            .timeout(plan.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .description(plan.description.clone().unwrap_or_default())
            .environment(environment(&plan.env))
            .set_tags(Some(plan.tags.clone().into_iter().collect()))
            .send()
            .await;
        match attempt {
            Ok(out) => break out,
            Err(e)
                if fresh_role
                    && started.elapsed() < Duration::from_secs(60)
                    && e.as_service_error().is_some_and(|s| {
                        s.is_invalid_parameter_value_exception() && s.to_string().contains("assume")
                    }) =>
            {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            Err(e) => return Err(sdk_error(&format!("CreateFunction {}", plan.name), e)),
        }
    };
    if created.code_sha256() != Some(sha) {
        eprintln!(
            "deploy: Lambda reports CodeSha256 {:?}, the zip's is {sha}",
            created.code_sha256()
        );
    }
    wait_updated(lambda, &plan.name).await?;
    Ok(FunctionConfiguration::builder()
        .set_function_arn(created.function_arn)
        .set_version(created.version)
        .build())
}

enum Location {
    Direct,
    S3(String, String),
}

fn code_location(plan: &Plan, zip: &[u8]) -> Location {
    match &plan.s3_bucket {
        Some(bucket) => Location::S3(
            bucket.clone(),
            format!(
                "lambda-lite/{}/{}.zip",
                plan.name,
                code_sha256(zip).replace('/', "_")
            ),
        ),
        None => Location::Direct,
    }
}

async fn put_s3(plan: &Plan, bucket: &str, key: &str, zip: &[u8]) -> Result<(), String> {
    let config = config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(zip.to_vec()))
        .send()
        .await
        .map_err(|e| {
            sdk_error(
                &format!("PutObject s3://{bucket}/{key} for {}", plan.name),
                e,
            )
        })?;
    Ok(())
}

async fn upload(lambda: &aws_sdk_lambda::Client, plan: &Plan, zip: &[u8]) -> Result<(), String> {
    let update = lambda
        .update_function_code()
        .function_name(&plan.name)
        .architectures(architecture(plan.arch));
    let update = match code_location(plan, zip) {
        Location::Direct => update.zip_file(Blob::new(zip)),
        Location::S3(bucket, key) => {
            put_s3(plan, &bucket, &key, zip).await?;
            update.s3_bucket(bucket).s3_key(key)
        }
    };
    update
        .send()
        .await
        .map_err(|e| sdk_error(&format!("UpdateFunctionCode {}", plan.name), e))?;
    Ok(())
}

/// Waits until the function is active and its last update is done (five minutes at most).
async fn wait_updated(lambda: &aws_sdk_lambda::Client, name: &str) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let out = lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("GetFunctionConfiguration", e))?;
        let state = out.state();
        let update = out.last_update_status();
        if matches!(state, Some(State::Failed)) || matches!(update, Some(LastUpdateStatus::Failed))
        {
            return Err(format!(
                "{name}: the update failed: {}",
                out.last_update_status_reason()
                    .or(out.state_reason())
                    .unwrap_or("no reason given")
            ));
        }
        let active = matches!(state, None | Some(State::Active));
        let done = !matches!(update, Some(LastUpdateStatus::InProgress));
        if active && done {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(format!("{name} is still not active after five minutes"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Publishes a version when something changed (or none was published yet), else reuses the
/// latest one: no new revision for an unchanged deploy.
async fn publish(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    sha: &str,
    something_changed: bool,
    changed: &mut Vec<String>,
) -> Result<String, String> {
    if !something_changed {
        let versions = lambda
            .list_versions_by_function()
            .function_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("ListVersionsByFunction", e))?;
        let latest = versions
            .versions()
            .iter()
            .filter_map(|v| v.version().and_then(|v| v.parse::<u64>().ok()))
            .max();
        if let Some(latest) = latest {
            return Ok(latest.to_string());
        }
    }
    let published = lambda
        .publish_version()
        .function_name(name)
        .code_sha256(sha)
        .send()
        .await
        .map_err(|e| sdk_error("PublishVersion", e))?;
    let version = published.version().unwrap_or("?").to_owned();
    changed.push(format!("version {version} published"));
    Ok(version)
}

async fn point_alias(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    alias: &str,
    version: &str,
    changed: &mut Vec<String>,
) -> Result<(), String> {
    match lambda
        .get_alias()
        .function_name(name)
        .name(alias)
        .send()
        .await
    {
        Ok(current) if current.function_version() == Some(version) => Ok(()),
        Ok(_) => {
            lambda
                .update_alias()
                .function_name(name)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("UpdateAlias {alias}"), e))?;
            changed.push(format!("alias {alias} -> {version}"));
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            lambda
                .create_alias()
                .function_name(name)
                .name(alias)
                .function_version(version)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("CreateAlias {alias}"), e))?;
            changed.push(format!("alias {alias} -> {version} created"));
            Ok(())
        }
        Err(e) => Err(sdk_error(&format!("GetAlias {alias}"), e)),
    }
}

/// The Function URL as asked, and for a public one the resource-policy statements Lambda
/// requires (`lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` for everyone, through the
/// URL only); an IAM-authenticated URL gets no statement (callers need their own permission).
async fn function_url(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    url: &Url,
    changed: &mut Vec<String>,
) -> Result<(), String> {
    let auth = if url.public {
        FunctionUrlAuthType::None
    } else {
        FunctionUrlAuthType::AwsIam
    };
    let mode = if url.streaming {
        InvokeMode::ResponseStream
    } else {
        InvokeMode::Buffered
    };
    let address = match lambda
        .get_function_url_config()
        .function_name(name)
        .send()
        .await
    {
        Ok(current) if current.auth_type() == &auth && current.invoke_mode() == Some(&mode) => {
            current.function_url().to_owned()
        }
        Ok(_) => {
            let out = lambda
                .update_function_url_config()
                .function_name(name)
                .auth_type(auth.clone())
                .invoke_mode(mode.clone())
                .send()
                .await
                .map_err(|e| sdk_error("UpdateFunctionUrlConfig", e))?;
            changed.push("Function URL".to_owned());
            out.function_url().to_owned()
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            let out = lambda
                .create_function_url_config()
                .function_name(name)
                .auth_type(auth.clone())
                .invoke_mode(mode.clone())
                .send()
                .await
                .map_err(|e| sdk_error("CreateFunctionUrlConfig", e))?;
            changed.push("Function URL created".to_owned());
            out.function_url().to_owned()
        }
        Err(e) => return Err(sdk_error("GetFunctionUrlConfig", e)),
    };
    if url.public {
        let policy = match lambda.get_policy().function_name(name).send().await {
            Ok(out) => out.policy().unwrap_or_default().to_owned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                String::new()
            }
            Err(e) => return Err(sdk_error("GetPolicy", e)),
        };
        for (sid, action) in [
            ("LambdaLitePublicUrl", "lambda:InvokeFunctionUrl"),
            ("LambdaLitePublicUrlInvoke", "lambda:InvokeFunction"),
        ] {
            if policy.contains(sid) {
                continue;
            }
            let mut add = lambda
                .add_permission()
                .function_name(name)
                .statement_id(sid)
                .action(action)
                .principal("*");
            add = if action == "lambda:InvokeFunctionUrl" {
                add.function_url_auth_type(FunctionUrlAuthType::None)
            } else {
                add.invoked_via_function_url(true)
            };
            add.send()
                .await
                .map_err(|e| sdk_error(&format!("AddPermission {action}"), e))?;
            changed.push(format!("permission {action} for everyone"));
        }
        println!("url: {address} (public: anyone can call it, auth NONE)");
    } else {
        println!("url: {address} (AWS_IAM: callers sign their requests)");
    }
    Ok(())
}

/// Publishes `plan.zip` as a new version of the layer `plan.name`.
pub fn publish_layer(plan: &LayerPlan) -> Result<(), String> {
    if plan.dry_run {
        println!(
            "plan: publish {} as a new version of layer {} ({})",
            plan.zip.display(),
            plan.name,
            plan.arch.name()
        );
        println!("dry run: nothing was changed");
        return Ok(());
    }
    let zip = std::fs::read(&plan.zip).map_err(|e| format!("{}: {e}", plan.zip.display()))?;
    runtime()?.block_on(async {
        let config = config().await;
        let lambda = aws_sdk_lambda::Client::new(&config);
        let out = lambda
            .publish_layer_version()
            .layer_name(&plan.name)
            .description(&plan.description)
            .content(
                LayerVersionContentInput::builder()
                    .zip_file(Blob::new(zip))
                    .build(),
            )
            .compatible_runtimes(Runtime::Providedal2023)
            .compatible_architectures(architecture(plan.arch))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("PublishLayerVersion {}", plan.name), e))?;
        println!(
            "layer: {} (version {})",
            out.layer_version_arn().unwrap_or_default(),
            out.version()
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_sha256_is_base64_of_the_sha256() {
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            code_sha256(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
