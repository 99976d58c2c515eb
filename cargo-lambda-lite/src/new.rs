//! `new NAME`: a function crate that builds and invokes as it stands.

use std::path::{Path, PathBuf};

/// The dependency line on lambda-lite, from where this tool came: `--lambda-lite-path` if
/// given; else the source `cargo install` recorded for it (the same git repository and commit,
/// the checkout it was installed from by path, or the registry version); else, for a tool run
/// from a checkout (`cargo run`, `build.sh`), that checkout; else the registry version.
fn dependency(path: Option<&Path>, feature: &str) -> String {
    let path_dep = |dir: PathBuf| {
        format!(
            "lambda-lite = {{ path = {:?}, features = [{feature:?}] }}",
            dir.canonicalize().unwrap_or(dir).display().to_string()
        )
    };
    let version = || {
        format!(
            "lambda-lite = {{ version = \"{}\", features = [{feature:?}] }}",
            env!("CARGO_PKG_VERSION")
        )
    };
    if let Some(dir) = path {
        return path_dep(dir.to_path_buf());
    }
    match install_source() {
        Some(Source::Git { url, rev }) => {
            return format!(
                "lambda-lite = {{ git = {url:?}, rev = {rev:?}, features = [{feature:?}] }}"
            );
        }
        Some(Source::Path(tool_dir)) => {
            if let Some(repo) = tool_dir.parent().filter(|r| is_lambda_lite(r)) {
                return path_dep(repo.to_path_buf());
            }
        }
        Some(Source::Registry) => return version(),
        None => {}
    }
    match Path::new(env!("CARGO_MANIFEST_DIR")).parent() {
        Some(repo) if is_lambda_lite(repo) => path_dep(repo.to_path_buf()),
        _ => version(),
    }
}

fn is_lambda_lite(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|m| m.contains("name = \"lambda-lite\""))
}

/// Where `cargo install` took this tool from.
enum Source {
    Git {
        url: String,
        rev: String,
    },
    /// The tool's package folder (`cargo-lambda-lite/` of a checkout).
    Path(PathBuf),
    Registry,
}

/// The source `cargo install` recorded for this executable in `$CARGO_HOME/.crates2.json`
/// (`None` when this executable is not the one in `$CARGO_HOME/bin`).
fn install_source() -> Option<Source> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cargo"),
    };
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    if exe.parent()? != home.join("bin").canonicalize().ok()? {
        return None;
    }
    let installs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".crates2.json")).ok()?).ok()?;
    // Keys read "cargo-lambda-lite 0.1.0 (git+https://host/repo?branch=main#<commit>)".
    let key = installs["installs"]
        .as_object()?
        .keys()
        .find(|k| k.starts_with("cargo-lambda-lite "))?;
    let source = key.split_once('(')?.1.strip_suffix(')')?;
    if let Some(git) = source.strip_prefix("git+") {
        let (url, rev) = git.split_once('#')?;
        let url = url.split_once('?').map_or(url, |(u, _)| u);
        return Some(Source::Git {
            url: url.to_owned(),
            rev: rev.to_owned(),
        });
    }
    if let Some(path) = source.strip_prefix("path+file://") {
        return Some(Source::Path(PathBuf::from(path)));
    }
    source.starts_with("registry+").then_some(Source::Registry)
}

const MAIN: &str = r#"//! A Lambda function on lambda-lite: `{"name":"…"}` in, a greeting out.
//!
//! `cargo lambda-lite build --invoke-file events/hello.json --env GREETING=Hi` builds
//! `target/lambda/NAME/bootstrap.zip` and runs it locally with Lambda's REPORT lines.
use std::borrow::Cow;

use lambda_lite::{Context, Error, lambda_main};
use serde::{Deserialize, Serialize};

/// What stays across invocations: read once, before the first event.
struct Greeter {
    greeting: String,
}

fn setup() -> Result<Greeter, Error> {
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".into());
    Ok(Greeter { greeting })
}

#[derive(Deserialize)]
struct Request<'a> {
    /// Borrowed from the event when it can be, owned when the JSON string holds an escape
    /// (`"Zo\u00eb"`, `"a\nb"`): every valid event is accepted.
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Serialize)]
struct Response {
    message: String,
    request_id: String,
}

fn handler(greeter: &mut Greeter, event: Request<'_>, ctx: &Context) -> Result<Response, Error> {
    Ok(Response {
        message: format!("{}, {}!", greeter.greeting, event.name),
        request_id: ctx.request_id.to_owned(),
    })
}

lambda_main!(json init = setup, handler = handler);
"#;

/// Writes the crate `name` into `./name`.
/// The HTTP template's sample events, one per source (`new --http`).
const HTTP_EVENTS: [(&str, &str); 4] = [
    (
        "function_url",
        include_str!("http_events/function_url.json"),
    ),
    ("http_api", include_str!("http_events/http_api.json")),
    ("rest_api", include_str!("http_events/rest_api.json")),
    ("alb", include_str!("http_events/alb.json")),
];

const HTTP_MAIN: &str = r#"//! An HTTP function on lambda-lite: a Lambda Function URL, an API Gateway HTTP or REST API or
//! an Application Load Balancer calls it, and the answer goes back in the shape each expects.
//!
//! `cargo lambda-lite build --invoke-file events/function_url.json` builds it and runs it
//! locally; events/ holds a request from each source.
use lambda_lite::http::{Request, Response};
use lambda_lite::{Context, Error, lambda_main};

fn handler(req: Request<'_>, _ctx: &Context) -> Result<Response, Error> {
    let name = req.query("name").unwrap_or("world");
    Response::new(200).json(&serde_json::json!({
        "message": format!("Hello, {name}!"),
        "path": req.path(),
    }))
}

lambda_main!(http handler);
"#;

/// Writes the crate `name` into `./name`: a JSON function, or with `http` an HTTP one.
pub fn new(name: &str, path: Option<&Path>, http: bool) -> Result<PathBuf, String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !valid {
        return Err(format!(
            "{name:?} is not a crate name (letters, digits, - and _; not starting with a digit)"
        ));
    }
    let dir = PathBuf::from(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(
        "Cargo.toml",
        &format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[dependencies]
{}
{}

# `cargo lambda-lite build` passes the size profile to cargo itself; to build with plain
# `cargo build --release`, uncomment it here:
# [profile.release]
# opt-level = "z"
# lto = "fat"
# codegen-units = 1
# panic = "abort"   # or "unwind": panics are then caught and the function serves on
# strip = true
"#,
            dependency(path, if http { "http" } else { "json" }),
            if http {
                "serde_json = \"1\""
            } else {
                "serde = { version = \"1\", features = [\"derive\"] }"
            }
        ),
    )?;
    if http {
        write("src/main.rs", HTTP_MAIN)?;
        for (source, event) in HTTP_EVENTS {
            write(&format!("events/{source}.json"), event)?;
        }
    } else {
        write("src/main.rs", &MAIN.replace("NAME", name))?;
        write("events/hello.json", "{\"name\":\"world\"}\n")?;
    }
    write(".gitignore", "/target\n")?;
    Ok(dir)
}
