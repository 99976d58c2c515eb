//! `deploy`: the command's arguments and its plan, read from the flags over
//! `[package.metadata.lambda-lite.deploy]` (a setting given by neither is left as deployed);
//! [`apply`] carries the plan out with the AWS SDK for Rust (feature `deploy`).

#[cfg(feature = "deploy")]
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, ValueEnum};

#[cfg(feature = "deploy")]
mod apply;

#[derive(Clone, Copy, ValueEnum)]
pub enum UrlMode {
    Buffered,
    ResponseStream,
}

#[derive(ClapArgs)]
pub struct Args {
    /// The function's name on AWS (default: the binary's name).
    name: Option<String>,
    #[command(flatten)]
    target: crate::build::Target,
    /// The execution role's ARN (default: lambda-lite-<name>, created with the basic
    /// execution policy when missing, reused after).
    #[arg(long)]
    role: Option<String>,
    /// Memory in MB (default: as deployed; 128 for a new function).
    #[arg(long, value_parser = crate::settings::memory_mb)]
    memory: Option<u32>,
    /// Timeout in whole seconds (default: as deployed; 3 for a new function).
    #[arg(long, value_parser = crate::settings::timeout_seconds)]
    timeout: Option<u32>,
    /// An environment variable, KEY=VALUE (repeatable; set over the deployed ones, which stay;
    /// values are never printed).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::settings::key_value)]
    env: Vec<String>,
    /// Environment variables from a file of KEY=VALUE lines.
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// A tag, KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = crate::settings::key_value)]
    tags: Vec<String>,
    /// The function's description.
    #[arg(long)]
    description: Option<String>,
    /// Publish a version (only when something changed: an unchanged deploy reuses the latest).
    #[arg(long)]
    publish: bool,
    /// Point this alias at the published version (implies --publish).
    #[arg(long)]
    alias: Option<String>,
    /// A Function URL (auth AWS_IAM unless --public).
    #[arg(long)]
    url: bool,
    /// Make the Function URL public (auth NONE, with the permissions Lambda requires).
    #[arg(long, requires = "url")]
    public: bool,
    /// The Function URL's invoke mode.
    #[arg(long, value_enum, requires = "url")]
    url_invoke_mode: Option<UrlMode>,
    /// Publish the build's layer.zip as a version of the layer NAME instead of a function (the
    /// script runtime, say).
    #[arg(long, value_name = "NAME")]
    layer: Option<String>,
    /// Build an external extension and publish it as a layer version named after it.
    #[arg(long)]
    extension: bool,
    /// Upload the zip through this S3 bucket (needed above Lambda's 50 MB direct limit).
    #[arg(long)]
    s3_bucket: Option<String>,
    /// Print the plan (create / update code / update configuration / nothing) and change
    /// nothing.
    #[arg(long)]
    dry_run: bool,
}

#[cfg(not(feature = "deploy"))]
pub fn run(_: Args) -> Result<ExitCode, String> {
    Err("this cargo-lambda-lite was installed without its deploy feature: reinstall it with the default features (cargo install … cargo-lambda-lite)".into())
}

#[cfg(feature = "deploy")]
pub fn run(args: Args) -> Result<ExitCode, String> {
    let layer = args.layer.is_some();
    let (artifact, manifest, arch) = crate::build::build_one(&args.target, layer, args.extension)?;
    let zip_named = |name: &str| {
        artifact
            .zips
            .iter()
            .find(|z| z.file_name().is_some_and(|f| f == name))
            .cloned()
    };
    if let Some(layer_name) = &args.layer {
        return apply::publish_layer(&apply::LayerPlan {
            name: layer_name.clone(),
            zip: zip_named("layer.zip").ok_or("the build made no layer.zip")?,
            arch,
            description: args.description.clone().unwrap_or_default(),
            dry_run: args.dry_run,
        })
        .map(|()| ExitCode::SUCCESS);
    }
    if args.extension {
        return apply::publish_layer(&apply::LayerPlan {
            name: artifact.name.clone(),
            zip: artifact
                .zips
                .first()
                .cloned()
                .ok_or("the build made no zip")?,
            arch,
            description: args.description.clone().unwrap_or_default(),
            dry_run: args.dry_run,
        })
        .map(|()| ExitCode::SUCCESS);
    }
    // Cargo.toml's [package.metadata.lambda-lite.deploy], under the flags.
    let meta = crate::settings::metadata(&manifest)?;
    let text = |key: &str| meta[key].as_str().map(str::to_owned);
    let settings = crate::settings::Settings::merge(
        &meta,
        &crate::settings::Flags {
            env: &args.env,
            env_file: args.env_file.as_deref(),
            timeout: args.timeout,
            memory: args.memory,
            tags: &args.tags,
        },
    )?;
    let env: BTreeMap<String, String> = settings.env.into_iter().collect();
    let tags: BTreeMap<String, String> = settings.tags.into_iter().collect();
    let url_meta = &meta["url"];
    let url = if args.url || url_meta.is_object() {
        let public = args.public || url_meta["public"].as_bool() == Some(true);
        let streaming = match args.url_invoke_mode {
            Some(UrlMode::ResponseStream) => true,
            Some(UrlMode::Buffered) => false,
            None => url_meta["invoke_mode"].as_str() == Some("RESPONSE_STREAM"),
        };
        Some(apply::Url { public, streaming })
    } else {
        None
    };
    // Given by neither flag nor metadata: left as deployed (Lambda's default on create). Both
    // are within their ranges, so they fit the SDK's i32.
    let (memory, timeout) = (
        settings.memory.and_then(|m| i32::try_from(m).ok()),
        settings.timeout.and_then(|t| i32::try_from(t).ok()),
    );
    let plan = apply::Plan {
        name: args
            .name
            .clone()
            .or(text("name"))
            .unwrap_or_else(|| artifact.name.clone()),
        zip: zip_named("bootstrap.zip").ok_or("the build made no bootstrap.zip")?,
        arch,
        role: args.role.clone().or(text("role")),
        memory,
        timeout,
        env,
        tags,
        description: args.description.clone().or(text("description")),
        publish: args.publish || meta["publish"].as_bool() == Some(true),
        alias: args.alias.clone().or(text("alias")),
        url,
        s3_bucket: args.s3_bucket.clone().or(text("s3_bucket")),
        dry_run: args.dry_run,
    };
    apply::deploy(&plan).map(|()| ExitCode::SUCCESS)
}
