//! The developer's AWS credentials and region, handed to a local function as Lambda hands a
//! function its execution role's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_DEFAULT_REGION`), so a function that calls AWS
//! runs locally as it will deployed. Resolved once per command, before any function starts:
//! with the `deploy` feature by aws-config (profiles, SSO, roles, credential processes: what
//! the AWS CLI would use); without it, from the developer's own environment. The instance
//! metadata service is never asked: a developer without AWS configuration waits for nothing.

/// The variables to give every local function, under the user's own (`--env`, metadata).
pub fn environment() -> Vec<(String, String)> {
    let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let mut env = Vec::new();
    #[cfg(feature = "deploy")]
    let region = region.or_else(profile_region);
    if let Some(region) = region {
        env.push(("AWS_REGION".to_owned(), region.clone()));
        env.push(("AWS_DEFAULT_REGION".to_owned(), region));
    }
    if has_credentials() {
        env.extend(credentials());
    }
    env
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether the developer has credentials to resolve: keys, a profile, the shared files, a
/// container or web-identity source (never the instance metadata service alone).
fn has_credentials() -> bool {
    let home_files = var("HOME").is_some_and(|home| {
        let aws = std::path::Path::new(&home).join(".aws");
        aws.join("credentials").exists() || aws.join("config").exists()
    });
    home_files
        || [
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONFIG_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
        ]
        .iter()
        .any(|v| var(v).is_some())
}

#[cfg(feature = "deploy")]
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

/// The active profile's region (the shared files only).
#[cfg(feature = "deploy")]
fn profile_region() -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    runtime()?.block_on(async {
        aws_config::profile::ProfileFileRegionProvider::builder()
            .build()
            .region()
            .await
            .map(|r| r.to_string())
    })
}

#[cfg(feature = "deploy")]
fn credentials() -> Vec<(String, String)> {
    use aws_sdk_lambda::config::ProvideCredentials;
    let Some(runtime) = runtime() else {
        return passed_through();
    };
    runtime.block_on(async {
        // Any region: credentials do not depend on it, and giving one keeps aws-config from
        // asking the instance metadata service for it.
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        let Some(provider) = config.credentials_provider() else {
            return Vec::new();
        };
        match provider.provide_credentials().await {
            Ok(c) => {
                let mut env = vec![
                    ("AWS_ACCESS_KEY_ID".to_owned(), c.access_key_id().to_owned()),
                    ("AWS_SECRET_ACCESS_KEY".to_owned(), c.secret_access_key().to_owned()),
                ];
                if let Some(token) = c.session_token() {
                    env.push(("AWS_SESSION_TOKEN".to_owned(), token.to_owned()));
                }
                env
            }
            Err(e) => {
                eprintln!(
                    "cargo-lambda-lite: your AWS credentials could not be resolved ({e}); local functions get none (`aws configure`, `aws sso login` or AWS_PROFILE gives them some)"
                );
                Vec::new()
            }
        }
    })
}

#[cfg(not(feature = "deploy"))]
fn credentials() -> Vec<(String, String)> {
    passed_through()
}

/// The developer's own keys, as they are.
fn passed_through() -> Vec<(String, String)> {
    [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .iter()
    .filter_map(|name| Some((name.to_string(), var(name)?)))
    .collect()
}
