//! The shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`), for local
//! runs: static keys and the region of `AWS_PROFILE` (or `default`). Roles, SSO and processes
//! are the SDKs' business; a function on Lambda never reads these files.

use std::path::PathBuf;

use super::error::AwsError;

/// A profile's static keys: access key id, secret access key, session token.
pub(crate) struct Keys {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) token: Option<String>,
}

/// The keys of the active profile in the shared credentials file (or, failing that, the
/// config file), if it has static keys.
pub(crate) fn keys(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Keys>, AwsError> {
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let from = |file: Option<PathBuf>, section: &str| {
        file.and_then(|f| std::fs::read_to_string(f).ok())
            .map(|t| section_of(&t, section))
    };
    for keys in [
        from(
            file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            &profile,
        ),
        from(
            file(env, "AWS_CONFIG_FILE", "config"),
            &config_section(&profile),
        ),
    ]
    .into_iter()
    .flatten()
    {
        let get = |key: &str| keys.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(id), Some(secret)) => {
                let token = get("aws_session_token");
                return Ok(Some(Keys { id, secret, token }));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(AwsError::client(
                    "CredentialsInvalid",
                    format!(
                        "profile {profile} has only one of aws_access_key_id and aws_secret_access_key"
                    ),
                ));
            }
            (None, None) => {}
        }
    }
    if env("AWS_PROFILE").is_some() && !profile_exists(env, &profile) {
        return Err(AwsError::client(
            "CredentialsInvalid",
            format!("AWS_PROFILE is {profile}, which neither shared file has"),
        ));
    }
    Ok(None)
}

/// The `region` of the active profile in the config file.
pub(crate) fn region(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let text = std::fs::read_to_string(file(env, "AWS_CONFIG_FILE", "config")?).ok()?;
    section_of(&text, &config_section(&profile))
        .into_iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v)
}

fn profile_exists(env: &dyn Fn(&str) -> Option<String>, profile: &str) -> bool {
    let has = |file: Option<PathBuf>, section: &str| {
        file.and_then(|f| std::fs::read_to_string(f).ok())
            .is_some_and(|t| t.lines().any(|l| header(l).is_some_and(|h| h == section)))
    };
    has(
        file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        profile,
    ) || has(
        file(env, "AWS_CONFIG_FILE", "config"),
        &config_section(profile),
    )
}

/// The config file names its sections `[profile NAME]`, except `[default]`.
fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else {
        format!("profile {profile}")
    }
}

fn file(env: &dyn Fn(&str) -> Option<String>, variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = env(variable) {
        return Some(expand_home(env, &path));
    }
    Some(PathBuf::from(env("HOME")?).join(".aws").join(name))
}

fn expand_home(env: &dyn Fn(&str) -> Option<String>, path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

fn header(line: &str) -> Option<&str> {
    let line = line.trim();
    Some(line.strip_prefix('[')?.strip_suffix(']')?.trim())
}

/// The `key = value` pairs of `[section]` (every one of them, if it appears twice).
fn section_of(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        if let Some(name) = header(line) {
            inside = name.split_whitespace().collect::<Vec<_>>().join(" ") == section;
            continue;
        }
        let line = line.trim();
        if !inside || line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_static_keys_and_region_of_the_active_profile() {
        let dir = std::env::temp_dir().join(format!("lambda-lite-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("credentials"),
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s1\n\n[dev]\n# a comment\naws_access_key_id=AKDEV\naws_secret_access_key=s2\naws_session_token = t2\n[half]\naws_access_key_id=X\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("config"),
            "[default]\nregion = eu-west-1\n[profile  dev]\nregion=ap-south-1\n",
        )
        .unwrap();
        let vars = |profile: Option<&'static str>| {
            let dir = dir.clone();
            move |name: &str| match name {
                "HOME" => Some(dir.to_string_lossy().into_owned()),
                "AWS_SHARED_CREDENTIALS_FILE" => {
                    Some(dir.join("credentials").to_string_lossy().into_owned())
                }
                "AWS_CONFIG_FILE" => Some(dir.join("config").to_string_lossy().into_owned()),
                "AWS_PROFILE" => profile.map(str::to_owned),
                _ => None,
            }
        };
        let default = keys(&vars(None)).unwrap().unwrap();
        assert_eq!((default.id.as_str(), default.token), ("AKDEFAULT", None));
        assert_eq!(region(&vars(None)).as_deref(), Some("eu-west-1"));
        let dev = keys(&vars(Some("dev"))).unwrap().unwrap();
        assert_eq!(
            (dev.id.as_str(), dev.token.as_deref()),
            ("AKDEV", Some("t2"))
        );
        assert_eq!(region(&vars(Some("dev"))).as_deref(), Some("ap-south-1"));
        assert_eq!(
            keys(&vars(Some("half"))).err().expect("an error").code(),
            "CredentialsInvalid"
        );
        assert_eq!(
            keys(&vars(Some("nobody"))).err().expect("an error").code(),
            "CredentialsInvalid"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
