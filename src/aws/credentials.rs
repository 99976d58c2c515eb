//! Where the keys come from, in the SDKs' order: the environment (what Lambda sets), the
//! shared credentials file (`AWS_PROFILE`, static keys: local runs), the container
//! credentials endpoint (what SnapStart functions and containers get), refreshed five minutes
//! before it expires. Read on the first call that needs them, never at start-up.

use std::time::Duration;

use super::error::AwsError;
use super::profile;
use super::time::Timestamp;
use super::transport::{self, Target};

/// A set of AWS keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary keys.
    pub session_token: Option<String>,
    /// When temporary keys stop working, if known.
    pub(crate) expires: Option<Timestamp>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the token.
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires", &self.expires.map(|t| t.0))
            .finish_non_exhaustive()
    }
}

/// How long before expiry temporary keys are fetched again.
const REFRESH_BEFORE: u64 = 300;

impl Credentials {
    /// Static keys.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
            expires: None,
        }
    }

    /// Whether these keys should be replaced now.
    pub(crate) fn stale(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| now.0 + REFRESH_BEFORE >= e.0)
    }
}

/// The first source that has keys: environment, shared credentials file, container endpoint.
pub(crate) fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> Result<Credentials, AwsError> {
    if let Some(credentials) = from_env(env)? {
        return Ok(credentials);
    }
    if let Some(keys) = profile::keys(env)? {
        return Ok(Credentials::new(keys.id, keys.secret, keys.token));
    }
    if let Some(credentials) = from_container(env, timeout)? {
        return Ok(credentials);
    }
    Err(AwsError::client(
        "CredentialsNotFound",
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them), \
         AWS_PROFILE with a shared credentials file, or AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ))
}

fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, AwsError> {
    match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            Ok(Some(Credentials::new(id, secret, env("AWS_SESSION_TOKEN"))))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(AwsError::client(
            "CredentialsInvalid",
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        )),
        (None, Some(_)) => Err(AwsError::client(
            "CredentialsInvalid",
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
        )),
    }
}

/// The container credentials endpoint: `AWS_CONTAINER_CREDENTIALS_FULL_URI` (with
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or the token read from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), or ECS's `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
/// on 169.254.170.2.
fn from_container(
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> Result<Option<Credentials>, AwsError> {
    let uri = match (
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    ) {
        (Some(full), _) => full,
        (None, Some(relative)) => format!("http://169.254.170.2{relative}"),
        (None, None) => return Ok(None),
    };
    let token = match (
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    ) {
        (Some(file), _) => Some(
            std::fs::read_to_string(&file)
                .map_err(|e| {
                    AwsError::client(
                        "CredentialsInvalid",
                        format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {file}: {e}"),
                    )
                })?
                .trim()
                .to_owned(),
        ),
        (None, token) => token,
    };
    let (target, path) = Target::parse(&uri).ok_or_else(|| {
        AwsError::client(
            "CredentialsInvalid",
            format!("the container credentials URI {uri} is not an http:// URL"),
        )
    })?;
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n",
        target.host_header()
    );
    if let Some(token) = &token {
        head.push_str("Authorization: ");
        head.push_str(token);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    let response = transport::one_shot(&target, head.as_bytes(), timeout).map_err(|e| {
        AwsError::client(
            "CredentialsNotLoaded",
            format!("the container credentials endpoint {uri}: {e}"),
        )
    })?;
    if response.status != 200 {
        return Err(AwsError::client(
            "CredentialsNotLoaded",
            format!(
                "the container credentials endpoint {uri} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            ),
        ));
    }
    parse_document(&response.body).map(Some)
}

/// `{"AccessKeyId":…,"SecretAccessKey":…,"Token":…,"Expiration":"2026-12-07T12:00:00Z"}`.
fn parse_document(body: &[u8]) -> Result<Credentials, AwsError> {
    let unreadable = |why: String| {
        AwsError::client(
            "CredentialsNotLoaded",
            format!("the container credentials endpoint sent no credentials: {why}"),
        )
    };
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| unreadable(e.to_string()))?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let (Some(access_key_id), Some(secret_access_key)) =
        (field("AccessKeyId"), field("SecretAccessKey"))
    else {
        return Err(unreadable("no AccessKeyId and SecretAccessKey".into()));
    };
    let expires = match field("Expiration") {
        Some(text) => Some(
            Timestamp::parse_rfc3339(&text)
                .ok_or_else(|| unreadable(format!("unreadable Expiration {text}")))?,
        ),
        None => None,
    };
    Ok(Credentials {
        access_key_id,
        secret_access_key,
        session_token: field("Token"),
        expires,
    })
}
