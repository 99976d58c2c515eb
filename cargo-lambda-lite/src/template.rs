//! `template`: a SAM template (template.yaml) with every function of the package, each one's
//! code its zip alone and its settings those `deploy` reads; an edited template is never
//! replaced without `--force`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args as ClapArgs;

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    target: crate::build::Target,
    /// Where to write it (default: template.yaml beside Cargo.toml).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the file if it exists (without it, an existing template is left as it is).
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let manifest = crate::build::manifest_of(args.target.manifest_path.as_deref())?;
    let dir = manifest
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| dir.join("template.yaml"));
    // Said before the build: an edited template is never replaced silently.
    if out.exists() && !args.force {
        return Err(format!(
            "{} exists (edited by hand, perhaps): nothing was written; --force replaces it, --out FILE writes elsewhere",
            out.display()
        ));
    }
    // The same settings deploy reads, for every function of the package.
    let meta = crate::settings::metadata(&manifest)?;
    let settings = crate::settings::Settings::merge(&meta, &crate::settings::Flags::default())?;
    let (memory, timeout) = (
        settings.memory_or_default(),
        settings.timeout_or_default().as_secs(),
    );
    let env = settings.env;
    let (artifacts, _, arch) = crate::build::build_target(&args.target, false, false, false)?;
    let quoted = |s: &str| serde_json::Value::from(s).to_string(); // a JSON string is YAML too
    let mut text = format!(
        "AWSTemplateFormatVersion: '2010-09-09'\n\
         Transform: AWS::Serverless-2016-10-31\n\
         Description: {}\n\
         Resources:\n",
        quoted(&format!(
            "{}, lambda-lite functions (built by cargo lambda-lite)",
            artifacts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    );
    let mut uris = Vec::new();
    for artifact in &artifacts {
        let zip = artifact.zips.first().ok_or("the build made no zip")?;
        let code_uri = zip.strip_prefix(&dir).unwrap_or(zip).display().to_string();
        text.push_str(&format!(
            "  {logical}Function:\n\
             \x20   Type: AWS::Serverless::Function\n\
             \x20   Properties:\n\
             \x20     CodeUri: {uri}\n\
             \x20     Runtime: provided.al2023\n\
             \x20     Handler: bootstrap\n\
             \x20     Architectures: [{arch}]\n\
             \x20     MemorySize: {memory}\n\
             \x20     Timeout: {timeout}\n",
            logical = logical_id(&artifact.name),
            uri = quoted(&code_uri),
            arch = arch.name(),
        ));
        if let Some(description) = meta["description"].as_str() {
            text.push_str(&format!("      Description: {}\n", quoted(description)));
        }
        if !env.is_empty() {
            text.push_str("      Environment:\n        Variables:\n");
            for (k, v) in &env {
                text.push_str(&format!("          {k}: {}\n", quoted(v)));
            }
        }
        uris.push(code_uri);
    }
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} (CodeUri: {})", out.display(), uris.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// A CloudFormation logical id from a function's name: `my-fn` → `MyFn`.
fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
