//! `Context`, what one invocation knows (borrowed from the `/next` response head), and
//! `Config`, what the function knows for its whole life (read once from the environment).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::proto::request::Invocation;
use crate::proto::{Span, header};
use crate::text;

/// The headers of a `/next` response that make a [`Context`], in the order of `found` below.
pub(crate) const NEXT_HEADERS: [&str; 8] = [
    header::REQUEST_ID,
    header::DEADLINE_MS,
    header::FUNCTION_ARN,
    header::TRACE_ID,
    header::CLIENT_CONTEXT,
    header::COGNITO_IDENTITY,
    header::TENANT_ID,
    header::INVOCATION_ID,
];

/// What one invocation knows about itself, from the `Lambda-Runtime-*` headers of `/next`.
///
/// Every string borrows from the runtime's receive buffer: building a `Context` allocates
/// nothing. A missing or malformed optional header is `None` (or empty), never an error.
/// Field names follow the official `lambda_runtime` crate, so code ports field by field.
///
/// To unit-test a handler, build one by hand:
///
/// ```
/// use lambda_lite::{Config, Context};
///
/// let config = Config { function_name: "orders".into(), ..Config::default() };
/// let ctx = Context { request_id: "req-1", ..Context::new("req-1", 0, &config) };
/// assert_eq!(ctx.env_config.function_name, "orders");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context<'a> {
    /// `Lambda-Runtime-Aws-Request-Id`: the invocation's id (never empty when served).
    pub request_id: &'a str,
    /// `Lambda-Runtime-Deadline-Ms`: the deadline in Unix epoch milliseconds; 0 when the
    /// header was missing or not a number.
    pub deadline: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`: the ARN the caller invoked (may carry an alias
    /// or version qualifier); empty when absent.
    pub invoked_function_arn: &'a str,
    /// `Lambda-Runtime-Trace-Id`: the X-Ray trace header (`Root=…;Parent=…;Sampled=…`).
    pub xray_trace_id: Option<&'a str>,
    /// `Lambda-Runtime-Client-Context`: the mobile client context, as raw JSON.
    pub client_context: Option<&'a str>,
    /// `Lambda-Runtime-Cognito-Identity`: the Cognito identity, as raw JSON
    /// (`{"cognitoIdentityId":…,"cognitoIdentityPoolId":…}`).
    pub identity: Option<&'a str>,
    /// `Lambda-Runtime-Aws-Tenant-Id`: the tenant of a tenant-isolation function.
    pub tenant_id: Option<&'a str>,
    /// `Lambda-Runtime-Invocation-Id`: the per-attempt nonce the runtime echoes on its answer.
    pub invocation_id: Option<&'a str>,
    /// The function's configuration, read once from the environment.
    pub env_config: &'a Config,
}

impl<'a> Context<'a> {
    /// A context with the given request id, deadline (epoch ms, 0 for none) and
    /// configuration, and every optional field empty. Meant for tests of handlers.
    pub fn new(request_id: &'a str, deadline: u64, env_config: &'a Config) -> Context<'a> {
        Context {
            request_id,
            deadline,
            invoked_function_arn: "",
            xray_trace_id: None,
            client_context: None,
            identity: None,
            tenant_id: None,
            invocation_id: None,
            env_config,
        }
    }

    /// Time left before the deadline: zero once it has passed, `Duration::MAX` when the
    /// deadline is unknown (`deadline == 0`).
    pub fn remaining(&self) -> Duration {
        remaining(self.deadline)
    }

    /// The deadline as a point in time (the official crate's `Context::deadline()`); the Unix
    /// epoch when it is unknown.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline)
    }

    /// An owned copy, `Send + 'static`, to move into a thread or keep past the invocation.
    pub fn to_owned_context(&self) -> OwnedContext {
        let text = |v: Option<&str>| v.map(str::to_owned);
        OwnedContext {
            request_id: self.request_id.to_owned(),
            deadline: self.deadline,
            invoked_function_arn: self.invoked_function_arn.to_owned(),
            xray_trace_id: text(self.xray_trace_id),
            client_context: text(self.client_context),
            identity: text(self.identity),
            tenant_id: text(self.tenant_id),
            invocation_id: text(self.invocation_id),
            env_config: std::sync::Arc::new(self.env_config.clone()),
        }
    }

    /// The client context (`Lambda-Runtime-Client-Context`), parsed; `None` when absent or
    /// not the JSON object Lambda documents (feature `json`).
    #[cfg(feature = "json")]
    pub fn client_context(&self) -> Option<ClientContext> {
        ClientContext::parse(self.client_context?)
    }

    /// The Cognito identity (`Lambda-Runtime-Cognito-Identity`), parsed; `None` when absent or
    /// malformed (feature `json`).
    #[cfg(feature = "json")]
    pub fn identity(&self) -> Option<CognitoIdentity> {
        CognitoIdentity::parse(self.identity?)
    }

    /// Builds the context of a `/next` response; `None` without a usable request id.
    /// The invocation this context is for, as a post names it.
    pub(crate) fn invocation(&self) -> Invocation<'a> {
        Invocation {
            request_id: self.request_id.as_bytes(),
            invocation_id: self.invocation_id.map(str::as_bytes),
        }
    }

    pub(crate) fn from_next(
        inbox: &'a [u8],
        found: &[Option<Span>],
        env_config: &'a Config,
    ) -> Option<Context<'a>> {
        let text = |i: usize| {
            found
                .get(i)
                .copied()
                .flatten()
                .map(|s| s.of(inbox))
                .and_then(|v| std::str::from_utf8(v).ok())
                .filter(|v| !v.is_empty())
        };
        Some(Context {
            request_id: text(0)?,
            deadline: found
                .get(1)
                .copied()
                .flatten()
                .and_then(|s| text::parse_decimal(s.of(inbox)))
                .unwrap_or(0),
            invoked_function_arn: text(2).unwrap_or_default(),
            xray_trace_id: text(3),
            client_context: text(4),
            identity: text(5),
            tenant_id: text(6),
            invocation_id: text(7),
            env_config,
        })
    }
}

fn remaining(deadline: u64) -> Duration {
    if deadline == 0 {
        return Duration::MAX;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(deadline).saturating_sub(now)
}

/// An owned [`Context`] ([`Context::to_owned_context`]): the same fields as `String`s, so it
/// can move into a thread (`Send + 'static`) and outlive the invocation. Its fields have the
/// official crate's names and types, except `client_context` and `identity`, which stay raw
/// JSON (parse them with [`Context::client_context`] and [`Context::identity`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedContext {
    /// See [`Context::request_id`].
    pub request_id: String,
    /// See [`Context::deadline`](struct.Context.html#structfield.deadline).
    pub deadline: u64,
    /// See [`Context::invoked_function_arn`].
    pub invoked_function_arn: String,
    /// See [`Context::xray_trace_id`].
    pub xray_trace_id: Option<String>,
    /// See [`Context::client_context`](struct.Context.html#structfield.client_context).
    pub client_context: Option<String>,
    /// See [`Context::identity`](struct.Context.html#structfield.identity).
    pub identity: Option<String>,
    /// See [`Context::tenant_id`].
    pub tenant_id: Option<String>,
    /// See [`Context::invocation_id`].
    pub invocation_id: Option<String>,
    /// The function's configuration.
    pub env_config: std::sync::Arc<Config>,
}

impl OwnedContext {
    /// See [`Context::remaining`].
    pub fn remaining(&self) -> Duration {
        remaining(self.deadline)
    }

    /// See [`Context::deadline`](Context::deadline()).
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.deadline)
    }

    /// A borrowed [`Context`] over this copy, for code that takes one.
    pub fn as_context(&self) -> Context<'_> {
        Context {
            request_id: &self.request_id,
            deadline: self.deadline,
            invoked_function_arn: &self.invoked_function_arn,
            xray_trace_id: self.xray_trace_id.as_deref(),
            client_context: self.client_context.as_deref(),
            identity: self.identity.as_deref(),
            tenant_id: self.tenant_id.as_deref(),
            invocation_id: self.invocation_id.as_deref(),
            env_config: &self.env_config,
        }
    }
}

/// The mobile client context of an invocation (feature `json`), as the official crate types
/// it: every key optional.
#[cfg(feature = "json")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// `client`.
    pub client: ClientApplication,
    /// `custom`: the caller's own keys.
    pub custom: std::collections::HashMap<String, String>,
    /// `env` (mobile SDKs) or `environment`.
    pub environment: std::collections::HashMap<String, String>,
}

/// The `client` of a [`ClientContext`].
#[cfg(feature = "json")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientApplication {
    /// `installation_id`.
    pub installation_id: String,
    /// `app_title`.
    pub app_title: String,
    /// `app_version_name`.
    pub app_version_name: String,
    /// `app_version_code`.
    pub app_version_code: String,
    /// `app_package_name`.
    pub app_package_name: String,
}

/// The Cognito identity of an invocation (feature `json`).
#[cfg(feature = "json")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CognitoIdentity {
    /// `cognitoIdentityId`.
    pub identity_id: String,
    /// `cognitoIdentityPoolId`.
    pub identity_pool_id: String,
}

#[cfg(feature = "json")]
fn json_map(v: Option<&serde_json::Value>) -> std::collections::HashMap<String, String> {
    v.and_then(serde_json::Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(feature = "json")]
impl ClientContext {
    fn parse(raw: &str) -> Option<ClientContext> {
        let json: serde_json::Value = serde_json::from_str(raw).ok()?;
        json.as_object()?;
        let client = json.get("client").cloned().unwrap_or_default();
        Some(ClientContext {
            client: ClientApplication {
                installation_id: text_of(&client, "installation_id"),
                app_title: text_of(&client, "app_title"),
                app_version_name: text_of(&client, "app_version_name"),
                app_version_code: text_of(&client, "app_version_code"),
                app_package_name: text_of(&client, "app_package_name"),
            },
            custom: json_map(json.get("custom")),
            environment: json_map(json.get("env").or_else(|| json.get("environment"))),
        })
    }
}

#[cfg(feature = "json")]
impl CognitoIdentity {
    fn parse(raw: &str) -> Option<CognitoIdentity> {
        let json: serde_json::Value = serde_json::from_str(raw).ok()?;
        json.as_object()?;
        Some(CognitoIdentity {
            identity_id: text_of(&json, "cognitoIdentityId"),
            identity_pool_id: text_of(&json, "cognitoIdentityPoolId"),
        })
    }
}

impl Default for Context<'static> {
    fn default() -> Self {
        static EMPTY: Config = Config {
            function_name: String::new(),
            memory: 0,
            version: String::new(),
            log_stream: String::new(),
            log_group: String::new(),
        };
        Context::new("", 0, &EMPTY)
    }
}

/// The function's configuration, read from the environment once, after the first event
/// arrived (so reading it never delays the first `GET /next`). Missing values are empty / 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory: u32,
    /// `AWS_LAMBDA_FUNCTION_VERSION` (`$LATEST` or a number).
    pub version: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME` (absent under SnapStart).
    pub log_stream: String,
    /// `AWS_LAMBDA_LOG_GROUP_NAME` (absent under SnapStart).
    pub log_group: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Config {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable name to its value), for tests.
    pub fn from_lookup(mut lookup: impl FnMut(&str) -> Option<String>) -> Config {
        let mut get = |name| lookup(name).unwrap_or_default();
        Config {
            function_name: get("AWS_LAMBDA_FUNCTION_NAME"),
            memory: text::parse_decimal(
                get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                    .trim_ascii()
                    .as_bytes(),
            )
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(0),
            version: get("AWS_LAMBDA_FUNCTION_VERSION"),
            log_stream: get("AWS_LAMBDA_LOG_STREAM_NAME"),
            log_group: get("AWS_LAMBDA_LOG_GROUP_NAME"),
        }
    }
}

#[cfg(feature = "json")]
/// The string at `key` of a JSON object, or empty when it is missing or not a string (the
/// optional text fields of the typed client context and identity, extension events and
/// telemetry records).
pub(crate) fn text_of(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::message::{self, Kind};

    fn context_of(head: &str, f: impl FnOnce(Option<Context<'_>>)) {
        let config = Config::default();
        let parsed = message::parse_head(Kind::RESPONSE, head.as_bytes(), &NEXT_HEADERS)
            .unwrap()
            .unwrap();
        f(Context::from_next(head.as_bytes(), &parsed.found, &config))
    }

    #[test]
    fn all_fields_are_read_from_headers_of_any_case() {
        let head = "HTTP/1.1 200 OK\r\nLAMBDA-RUNTIME-AWS-REQUEST-ID: abc\r\nlambda-runtime-deadline-ms: 1542409706888\r\n\
            Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:1:function:f\r\n\
            Lambda-Runtime-Trace-Id: Root=1-5;Parent=6;Sampled=1\r\nLambda-Runtime-Client-Context: {\"custom\":{}}\r\n\
            Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"i\"}\r\nLambda-Runtime-Aws-Tenant-Id: t1\r\n\
            Lambda-Runtime-Invocation-Id: inv-9\r\nContent-Length: 0\r\n\r\n";
        context_of(head, |ctx| {
            let ctx = ctx.unwrap();
            assert_eq!(ctx.request_id, "abc");
            assert_eq!(ctx.deadline, 1542409706888);
            assert_eq!(
                ctx.invoked_function_arn,
                "arn:aws:lambda:us-east-1:1:function:f"
            );
            assert_eq!(ctx.xray_trace_id, Some("Root=1-5;Parent=6;Sampled=1"));
            assert_eq!(ctx.client_context, Some("{\"custom\":{}}"));
            assert_eq!(ctx.identity, Some("{\"cognitoIdentityId\":\"i\"}"));
            assert_eq!(ctx.tenant_id, Some("t1"));
            assert_eq!(ctx.invocation_id, Some("inv-9"));
            assert_eq!(ctx.remaining(), Duration::ZERO);
        });
    }

    #[test]
    fn malformed_optional_headers_are_empty_not_errors() {
        let head = "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: abc\r\nLambda-Runtime-Deadline-Ms: soon\r\n\
            Lambda-Runtime-Client-Context: {\"truncated\r\nLambda-Runtime-Trace-Id:\r\n\r\n";
        context_of(head, |ctx| {
            let ctx = ctx.unwrap();
            assert_eq!(ctx.deadline, 0);
            assert_eq!(ctx.remaining(), Duration::MAX);
            assert_eq!(ctx.client_context, Some("{\"truncated"));
            assert_eq!(ctx.xray_trace_id, None);
            assert_eq!(ctx.invoked_function_arn, "");
        });
    }

    #[test]
    fn no_request_id_means_no_context() {
        context_of(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Deadline-Ms: 1\r\n\r\n",
            |ctx| assert!(ctx.is_none()),
        );
        context_of(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: \r\n\r\n",
            |ctx| assert!(ctx.is_none()),
        );
    }

    #[test]
    fn remaining_counts_down_to_the_deadline() {
        let config = Config::default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let ctx = Context::new("r", now + 60_000, &config);
        let left = ctx.remaining();
        assert!(
            left > Duration::from_secs(50) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }

    #[test]
    fn deadline_is_a_point_in_time_and_owned_copies_move_into_threads() {
        let config = Config {
            function_name: "f".into(),
            ..Config::default()
        };
        let ctx = Context {
            xray_trace_id: Some("Root=1"),
            ..Context::new("r9", 1_700_000_000_123, &config)
        };
        assert_eq!(
            ctx.deadline(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        let owned = ctx.to_owned_context();
        let moved = std::thread::spawn(move || {
            (
                owned.request_id.clone(),
                owned.as_context().xray_trace_id.map(str::to_owned),
                owned.env_config.function_name.clone(),
            )
        })
        .join()
        .unwrap();
        assert_eq!(moved, ("r9".into(), Some("Root=1".into()), "f".into()));
    }

    #[cfg(feature = "json")]
    #[test]
    fn client_context_and_identity_are_typed() {
        let config = Config::default();
        let ctx = Context {
            client_context: Some(
                r#"{"client":{"installation_id":"i-1","app_title":"Shop","app_version_code":"42"},"custom":{"tier":"gold","n":3},"env":{"locale":"fr_FR"}}"#,
            ),
            identity: Some(
                r#"{"cognitoIdentityId":"us-east-1:abc","cognitoIdentityPoolId":"us-east-1:pool"}"#,
            ),
            ..Context::new("r", 0, &config)
        };
        let cc = ctx.client_context().unwrap();
        assert_eq!(cc.client.installation_id, "i-1");
        assert_eq!(cc.client.app_title, "Shop");
        assert_eq!(cc.client.app_version_code, "42");
        assert_eq!(cc.client.app_package_name, "");
        assert_eq!(cc.custom["tier"], "gold");
        assert_eq!(cc.custom["n"], "3");
        assert_eq!(cc.environment["locale"], "fr_FR");
        let id = ctx.identity().unwrap();
        assert_eq!(
            (id.identity_id.as_str(), id.identity_pool_id.as_str()),
            ("us-east-1:abc", "us-east-1:pool")
        );
        let bad = Context {
            client_context: Some("{\"client\":"),
            identity: Some("[]"),
            ..Context::new("r", 0, &config)
        };
        assert_eq!((bad.client_context(), bad.identity()), (None, None));
    }

    #[test]
    fn config_reads_its_variables() {
        let config = Config::from_lookup(|name| {
            Some(
                match name {
                    "AWS_LAMBDA_FUNCTION_NAME" => "f",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => "128",
                    "AWS_LAMBDA_FUNCTION_VERSION" => "$LATEST",
                    "AWS_LAMBDA_LOG_STREAM_NAME" => "s",
                    "AWS_LAMBDA_LOG_GROUP_NAME" => "/aws/lambda/f",
                    _ => return None,
                }
                .to_owned(),
            )
        });
        let want = Config {
            function_name: "f".into(),
            memory: 128,
            version: "$LATEST".into(),
            log_stream: "s".into(),
            log_group: "/aws/lambda/f".into(),
        };
        assert_eq!(config, want);
        assert_eq!(Config::from_lookup(|_| Some("junk".into())).memory, 0);
    }
}
