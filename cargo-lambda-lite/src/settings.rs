//! A function's settings as the user gives them, read the same way by `invoke`, `watch` and
//! `deploy`: `KEY=VALUE` flags, an env file, and `[package.metadata.lambda-lite.deploy]`.

use std::path::Path;

use serde_json::Value;

/// Lambda's range of function timeouts, in whole seconds (`--timeout`, the metadata's
/// `timeout`): the same for `invoke`, `watch` and `deploy`.
const TIMEOUT_SECONDS: std::ops::RangeInclusive<u32> = 1..=900;
/// Lambda's range of memory sizes, in MB.
const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10240;

/// A `KEY=VALUE` flag, checked as clap reads it (a malformed one is a command line not
/// understood: exit status 2, with the usage).
pub fn key_value(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(text.to_owned()),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// A timeout in whole seconds within Lambda's range: the one check of it, for the flags of
/// invoke, watch and deploy and the metadata alike.
pub fn timeout_seconds(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|s| TIMEOUT_SECONDS.contains(s))
        .ok_or_else(|| format!("{text:?}: Lambda's timeout is a whole number of seconds, 1 to 900"))
}

/// A memory size in MB within Lambda's range.
pub fn memory_mb(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|m| MEMORY_MB.contains(m))
        .ok_or_else(|| format!("{text:?}: Lambda's memory is 128 to 10240 MB"))
}

/// `watch`'s `--timeout [NAME=]SECONDS`, checked as clap reads it.
#[cfg(feature = "watch")]
pub fn named_timeout(text: &str) -> Result<String, String> {
    let seconds = text.split_once('=').map_or(text, |(_, s)| s);
    timeout_seconds(seconds).map(|_| text.to_owned())
}

/// A number of the metadata (`timeout`, `memory`) checked against its range: absent is
/// `None`; anything but a whole number in range is an error naming the key.
pub fn metadata_number(
    meta: &Value,
    key: &str,
    check: fn(&str) -> Result<u32, String>,
) -> Result<Option<u32>, String> {
    match &meta[key] {
        Value::Null => Ok(None),
        v => check(&v.to_string())
            .map(Some)
            .map_err(|e| format!("[package.metadata.lambda-lite.deploy] {key} = {v}: {e}")),
    }
}

/// The package's `[package.metadata.lambda-lite.deploy]` table (`Null` when it has none). A
/// `cargo metadata` that fails is an error: defaults in its place would deploy something else
/// than the user wrote.
pub fn metadata(manifest: &Path) -> Result<Value, String> {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .no_deps()
        .exec()
        .map_err(|e| {
            format!(
                "cannot read {}'s settings: cargo metadata: {e}",
                manifest.display()
            )
        })?;
    let wanted = manifest
        .canonicalize()
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    Ok(meta
        .packages
        .into_iter()
        .find(|p| p.manifest_path.as_std_path() == wanted)
        .map(|p| p.metadata["lambda-lite"]["deploy"].clone())
        .unwrap_or_default())
}

/// `KEY=VALUE` pairs, in order (a later one wins where they are applied in turn).
pub fn key_values(pairs: &[String], what: &str) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("{what} {kv}: expected KEY=VALUE"))
        })
        .collect()
}

/// A table of the metadata (`env`, `tags`), each value as text (a non-string as its JSON).
pub fn table(meta: &Value, key: &str) -> Vec<(String, String)> {
    meta[key]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The function's environment variables: the metadata's `env`, then the env file's
/// `KEY=VALUE` lines (blank lines and `#` comments skipped), then the `--env` flags, each over
/// the one before.
pub fn environment(
    meta: &Value,
    env_file: Option<&Path>,
    flags: &[String],
) -> Result<Vec<(String, String)>, String> {
    let mut env = table(meta, "env");
    if let Some(file) = env_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--env-file {}: {e}", file.display()))?;
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        env.extend(key_values(&lines, &file.display().to_string())?);
    }
    env.extend(key_values(flags, "--env")?);
    Ok(env)
}
