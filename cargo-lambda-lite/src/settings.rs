//! A function's settings as the user gives them, read the same way by `invoke`, `watch` and
//! `deploy`: `KEY=VALUE` flags, an env file, and `[package.metadata.lambda-lite.deploy]`.

#[cfg(any(feature = "deploy", feature = "watch"))]
use std::path::Path;

#[cfg(any(feature = "deploy", feature = "watch"))]
use serde_json::Value;

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
#[cfg(any(feature = "deploy", feature = "watch"))]
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
#[cfg(any(feature = "deploy", feature = "watch"))]
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
