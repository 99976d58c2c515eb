//! `new NAME`: a function crate that builds and invokes as it stands.

use std::path::{Path, PathBuf};

/// The dependency line on lambda-lite: a path to the checkout this tool was built from, when
/// it was (before lambda-lite is on crates.io that is the way in), the git repository when the
/// tool was installed with `cargo install --git`, else the registry version.
fn dependency(path: Option<&Path>) -> String {
    let from_checkout = || {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()?
            .to_path_buf();
        let manifest = std::fs::read_to_string(here.join("Cargo.toml")).ok()?;
        manifest.contains("name = \"lambda-lite\"").then_some(here)
    };
    match path.map(Path::to_path_buf).or_else(from_checkout) {
        Some(dir) if path.is_none() && dir.components().any(|c| c.as_os_str() == "checkouts") => {
            format!(
                "lambda-lite = {{ git = {:?}, features = [\"json\"] }}",
                env!("CARGO_PKG_REPOSITORY")
            )
        }
        Some(dir) => format!(
            "lambda-lite = {{ path = {:?}, features = [\"json\"] }}",
            dir.canonicalize().unwrap_or(dir).display().to_string()
        ),
        None => format!(
            "lambda-lite = {{ version = \"{}\", features = [\"json\"] }}",
            env!("CARGO_PKG_VERSION")
        ),
    }
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
pub fn new(name: &str, path: Option<&Path>) -> Result<PathBuf, String> {
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
serde = {{ version = "1", features = ["derive"] }}

# `cargo lambda-lite build` passes the size profile to cargo itself; to build with plain
# `cargo build --release`, uncomment it here:
# [profile.release]
# opt-level = "z"
# lto = "fat"
# codegen-units = 1
# panic = "abort"   # or "unwind": panics are then caught and the function serves on
# strip = true
"#,
            dependency(path)
        ),
    )?;
    write("src/main.rs", &MAIN.replace("NAME", name))?;
    write("events/hello.json", "{\"name\":\"world\"}\n")?;
    write(".gitignore", "/target\n")?;
    Ok(dir)
}
