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
    match pair(text) {
        Some(_) => Ok(text.to_owned()),
        None => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// `KEY=VALUE` split at its first `=`, the key not empty: the one rule for flags and env files.
fn pair(text: &str) -> Option<(&str, &str)> {
    text.split_once('=').filter(|(key, _)| !key.is_empty())
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

/// What the command line gave for a function (each `None` or empty when not given).
#[derive(Default)]
pub struct Flags<'a> {
    /// `--env KEY=VALUE`, in order.
    pub env: &'a [String],
    /// `--env-file PATH`.
    pub env_file: Option<&'a Path>,
    /// `--timeout SECONDS` (checked by [`timeout_seconds`]).
    pub timeout: Option<u32>,
    /// `--memory MB` (checked by [`memory_mb`]).
    pub memory: Option<u32>,
    /// `--tag KEY=VALUE`, in order.
    pub tags: &'a [String],
}

/// A function's settings: the flags over the env file over the package's metadata, merged and
/// checked once, for `invoke`, `build --invoke`, `watch`, `deploy` and `template` alike. A
/// setting nobody gave stays `None`: `deploy` leaves it as deployed, a local run uses
/// Lambda's default ([`Settings::timeout_or_default`], [`Settings::memory_or_default`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Settings {
    /// The environment variables: the metadata's `env`, then the env file's lines, then the
    /// `--env` flags, each over the one before.
    pub env: Vec<(String, String)>,
    /// Whole seconds, within Lambda's 1–900.
    pub timeout: Option<u32>,
    /// MB, within Lambda's 128–10240.
    pub memory: Option<u32>,
    /// The metadata's `tags`, then the `--tag` flags.
    pub tags: Vec<(String, String)>,
}

impl Settings {
    /// Merges `flags` over `meta` (the `[package.metadata.lambda-lite.deploy]` table, `Null`
    /// when there is none). An out-of-range or malformed value is an error naming its source.
    pub fn merge(meta: &Value, flags: &Flags) -> Result<Settings, String> {
        let mut tags = table(meta, "tags");
        tags.extend(key_values(flags.tags, "--tag")?);
        Ok(Settings {
            env: environment(meta, flags.env_file, flags.env)?,
            timeout: flags.timeout.map_or_else(
                || metadata_number(meta, "timeout", timeout_seconds),
                |t| Ok(Some(t)),
            )?,
            memory: flags.memory.map_or_else(
                || metadata_number(meta, "memory", memory_mb),
                |m| Ok(Some(m)),
            )?,
            tags,
        })
    }

    /// The timeout a local run uses: the one given, else Lambda's default of 3 s.
    pub fn timeout_or_default(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.timeout.unwrap_or(3)))
    }

    /// The memory a local run reports: the one given, else Lambda's default of 128 MB.
    pub fn memory_or_default(&self) -> u32 {
        self.memory.unwrap_or(128)
    }
}

/// A number of the metadata (`timeout`, `memory`) checked against its range: absent is
/// `None`; anything but a whole number in range is an error naming the key.
fn metadata_number(
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
fn key_values(pairs: &[String], what: &str) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|kv| {
            pair(kv)
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("{what} {kv}: expected KEY=VALUE"))
        })
        .collect()
}

/// A table of the metadata (`env`, `tags`), each value as text (a non-string as its JSON).
fn table(meta: &Value, key: &str) -> Vec<(String, String)> {
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
fn environment(
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

#[cfg(test)]
mod tests {
    use super::{Flags, Settings};
    use serde_json::json;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn nothing_given_is_nothing_set() {
        let s = Settings::merge(&serde_json::Value::Null, &Flags::default()).unwrap();
        assert_eq!(
            (s.timeout, s.memory),
            (None, None),
            "deploy leaves these as deployed"
        );
        assert!(s.env.is_empty() && s.tags.is_empty());
        assert_eq!(
            (s.timeout_or_default().as_secs(), s.memory_or_default()),
            (3, 128)
        );
    }

    #[test]
    fn the_metadata_alone() {
        let meta = json!({"timeout": 30, "memory": 512, "env": {"A": "1", "N": 2},
                          "tags": {"team": "x"}});
        let s = Settings::merge(&meta, &Flags::default()).unwrap();
        assert_eq!((s.timeout, s.memory), (Some(30), Some(512)));
        assert_eq!(
            s.env,
            kv(&[("A", "1"), ("N", "2")]),
            "a number as its JSON text"
        );
        assert_eq!(s.tags, kv(&[("team", "x")]));
    }

    #[test]
    fn flags_over_the_env_file_over_the_metadata() {
        let dir = std::env::temp_dir().join(format!("settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("env");
        std::fs::write(&file, "# a comment\n\nB=from-file\nC=from-file\n").unwrap();
        let meta = json!({"timeout": 30, "memory": 512, "env": {"A": "meta", "B": "meta"},
                          "tags": {"team": "x", "cost": "1"}});
        let env = ["C=flag".to_owned(), "E=a=b".to_owned()];
        let tags = ["cost=2".to_owned()];
        let flags = Flags {
            env: &env,
            env_file: Some(&file),
            timeout: Some(5),
            memory: Some(1024),
            tags: &tags,
        };
        let s = Settings::merge(&meta, &flags).unwrap();
        assert_eq!(
            (s.timeout, s.memory),
            (Some(5), Some(1024)),
            "a flag over the metadata"
        );
        // Applied in turn, a later pair wins: what the function sees is the last of each key.
        let seen: std::collections::BTreeMap<_, _> = s.env.iter().cloned().collect();
        let want = kv(&[
            ("A", "meta"),
            ("B", "from-file"),
            ("C", "flag"),
            ("E", "a=b"),
        ]);
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), want);
        let tags: std::collections::BTreeMap<_, _> = s.tags.into_iter().collect();
        assert_eq!(tags.get("cost").map(String::as_str), Some("2"));
        assert_eq!(tags.get("team").map(String::as_str), Some("x"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_bad_value_names_its_source() {
        for (meta, key) in [
            (json!({"timeout": 0}), "timeout"),
            (json!({"timeout": 901}), "timeout"),
            (json!({"timeout": 2.5}), "timeout"),
            (json!({"timeout": "10"}), "timeout"),
            (json!({"memory": 127}), "memory"),
            (json!({"memory": 10241}), "memory"),
        ] {
            let e = Settings::merge(&meta, &Flags::default()).unwrap_err();
            assert!(
                e.contains(&format!("[package.metadata.lambda-lite.deploy] {key}")),
                "{e}"
            );
        }
        // A flag that was given is used: the metadata under it is not read.
        let flags = Flags {
            timeout: Some(10),
            ..Default::default()
        };
        assert_eq!(
            Settings::merge(&json!({"timeout": 0}), &flags)
                .unwrap()
                .timeout,
            Some(10)
        );
        let missing = std::path::Path::new("/no/such/env-file");
        let e = Settings::merge(
            &json!(null),
            &Flags {
                env_file: Some(missing),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.starts_with("--env-file /no/such/env-file"), "{e}");
        let dir = std::env::temp_dir().join(format!("settings-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("env");
        std::fs::write(&file, "OK=1\nNOEQUALS\n").unwrap();
        let e = Settings::merge(
            &json!(null),
            &Flags {
                env_file: Some(&file),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.contains("NOEQUALS: expected KEY=VALUE"), "{e}");
        // A line without a name is refused as `--env =x` is.
        std::fs::write(&file, "=x\n").unwrap();
        let flags = Flags {
            env_file: Some(&file),
            ..Default::default()
        };
        let e = Settings::merge(&json!(null), &flags).unwrap_err();
        assert!(e.contains("=x: expected KEY=VALUE"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_checks_of_each_setting() {
        use super::{key_value, memory_mb, timeout_seconds};
        assert_eq!(timeout_seconds(" 900 "), Ok(900));
        for bad in ["0", "901", "2.5", "-1", "x", ""] {
            assert!(timeout_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(memory_mb("128"), Ok(128));
        assert_eq!(memory_mb("10240"), Ok(10240));
        assert!(memory_mb("64").is_err());
        assert_eq!(key_value("A="), Ok("A=".into()));
        assert!(key_value("=x").is_err() && key_value("NOEQUALS").is_err());
    }
}
