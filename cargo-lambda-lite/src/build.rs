//! `build`: a function's (or an extension's) static musl binary in the size profile, packed
//! the way Lambda, SAM and CDK expect.
//!
//! Layout (cargo-lambda's, with the architecture kept apart):
//! - a function: `target/lambda/<name>/bootstrap` and `bootstrap.zip` (x86_64), or
//!   `target/lambda/<name>-arm64/…` (arm64), so neither build replaces the other; `--layer`
//!   adds `layer.zip` (the bootstrap at the root, as `/opt/bootstrap`);
//! - an extension (`--extension`): `target/lambda/extensions/<name>` and `<name>.zip`, whose
//!   one entry is `extensions/<name>` (arm64: `target/lambda/extensions-arm64/`).
//!
//! Each folder also gets `build.json` (architecture, panic mode, target, features), and a build
//! that replaces a different panic mode in the same folder says so.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pack;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub fn target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// What to build and how.
pub struct Options {
    pub manifest: Option<PathBuf>,
    pub bins: Vec<String>,
    pub examples: Vec<String>,
    pub arch: Arch,
    pub panic: String,
    pub layer: bool,
    pub extension: bool,
    pub nightly: bool,
    pub no_pie: bool,
    pub features: Option<String>,
    pub out: Option<PathBuf>,
    /// Give each artifact its own event, `events/<name>.json` beside the manifest (it must
    /// exist: checked before building).
    pub own_events: bool,
    /// Exactly one function is wanted (`deploy`, `template`): a package of several without
    /// `--bin`/`--example` is refused before anything is built.
    pub one: bool,
}

/// One built artifact.
pub struct Artifact {
    pub name: String,
    /// Its own event, `events/<name>.json` beside the manifest (with `own_events`).
    pub event_file: Option<PathBuf>,
    /// The executable (`bootstrap`, or the extension named after itself).
    pub binary: PathBuf,
    pub zips: Vec<PathBuf>,
    pub panic_mode: String,
}

fn fail(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Runs `rustup` with the toolchain override, if any.
fn rustup(nightly: bool) -> Command {
    let mut c = Command::new("rustup");
    if nightly {
        c.arg("+nightly");
    }
    c
}

/// A dependency that compiles C (the `cc` crate: ring and aws-lc-sys, the AWS SDK's TLS) needs
/// a C compiler for musl: musl-gcc from Debian's `musl-tools`, installed with apt-get when
/// running as root, otherwise asked for by name before anything is built.
fn ensure_musl_c_compiler(pkg: &Package, options: &Options) -> Result<(), String> {
    let target = options.arch.target();
    let cc_var = format!("CC_{}", target.replace('-', "_"));
    if options.arch != Arch::X86_64 || which("musl-gcc") || std::env::var_os(&cc_var).is_some() {
        return Ok(());
    }
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(&pkg.manifest)
        .other_options(vec!["--filter-platform".to_owned(), target.to_owned()])
        .exec()
        .map_err(|e| fail("cargo metadata", e))?;
    if !meta.packages.iter().any(|p| p.name.as_str() == "cc") {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if root && which("apt-get") {
        eprintln!(
            "cargo-lambda-lite: a dependency compiles C for musl; installing Debian's musl-tools (apt-get, as root)…"
        );
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(["-o", "DPkg::Lock::Timeout=300", "-qq"])
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        if apt(&["update"]) && apt(&["install", "-y", "musl-tools"]) && which("musl-gcc") {
            return Ok(());
        }
    }
    Err(format!(
        "{} has a dependency that compiles C (the `cc` crate), which for {target} needs a musl C compiler: install musl-tools (Debian/Ubuntu: `sudo apt-get install musl-tools`) or set {cc_var}, then retry",
        pkg.name
    ))
}

/// A lock held while the toolchain is looked at and completed, shared by every
/// cargo-lambda-lite on the machine (`None` if the lock file cannot be made: then unguarded).
fn toolchain_lock() -> Option<std::fs::File> {
    let file =
        std::fs::File::create(std::env::temp_dir().join("cargo-lambda-lite-rustup.lock")).ok()?;
    file.lock().ok()?;
    Some(file)
}

/// Installs what the build needs (the target's std, rust-src for `--nightly`), saying so.
fn ensure_toolchain(arch: Arch, nightly: bool) -> Result<(), String> {
    let target = arch.target();
    let installed = rustup(nightly)
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        // No rustup: the target's std must already be there.
        let libdir = Command::new("rustc")
            .args(["--print", "target-libdir", "--target", target])
            .output();
        return match libdir {
            Ok(o)
                if o.status.success()
                    && Path::new(String::from_utf8_lossy(&o.stdout).trim()).exists() =>
            {
                Ok(())
            }
            _ => Err(format!(
                "rustup is not installed and the {target} standard library is missing; install rustup (https://rustup.rs) or the {target} std for your toolchain"
            )),
        };
    };
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        eprintln!(
            "cargo-lambda-lite: installing the {target} target (rustup target add; the first time only, a download of tens of MB)…"
        );
        let ok = rustup(nightly)
            .args(["target", "add", target])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "could not install {target}: run `rustup {}target add {target}` by hand (it needs the rustup download server), then retry",
                if nightly { "+nightly " } else { "" }
            ));
        }
    }
    if nightly {
        let components = rustup(true)
            .args(["component", "list", "--installed"])
            .output()
            .map_err(|e| fail("rustup", e))?;
        if !String::from_utf8_lossy(&components.stdout)
            .lines()
            .any(|l| l.starts_with("rust-src"))
        {
            eprintln!(
                "cargo-lambda-lite: installing rust-src for nightly (needed by -Z build-std)…"
            );
            let ok = rustup(true)
                .args(["component", "add", "rust-src"])
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(
                    "could not install rust-src: run `rustup +nightly component add rust-src`"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// What cargo metadata says about the package to build.
struct Package {
    manifest: PathBuf,
    target_dir: PathBuf,
    name: String,
    bins: Vec<String>,
    /// Examples and their required features.
    examples: Vec<(String, Vec<String>)>,
}

fn package(manifest: Option<&Path>) -> Result<Package, String> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps();
    if let Some(m) = manifest {
        cmd.manifest_path(m);
    }
    let meta = cmd.exec().map_err(|e| fail("cargo metadata", e))?;
    let wanted = match manifest {
        Some(m) => Some(
            m.canonicalize()
                .map_err(|e| fail(&m.display().to_string(), e))?,
        ),
        None => None,
    };
    let root = meta.root_package().map(|p| p.id.clone());
    let pkg = meta
        .packages
        .iter()
        .find(|p| match &wanted {
            Some(w) => p.manifest_path.as_std_path() == w,
            None => Some(&p.id) == root.as_ref(),
        })
        .or_else(|| meta.packages.first())
        .ok_or("no package in this workspace")?;
    Ok(Package {
        manifest: pkg.manifest_path.clone().into_std_path_buf(),
        target_dir: meta.target_directory.clone().into_std_path_buf(),
        name: pkg.name.to_string(),
        bins: pkg
            .targets
            .iter()
            .filter(|t| t.is_bin())
            .map(|t| t.name.clone())
            .collect(),
        examples: pkg
            .targets
            .iter()
            .filter(|t| t.is_example())
            .map(|t| (t.name.clone(), t.required_features.clone()))
            .collect(),
    })
}

/// Builds everything `options` names; prints one summary line per artifact.
pub fn build(options: &Options) -> Result<Vec<Artifact>, String> {
    let pkg = package(options.manifest.as_deref())?;
    let mut todo: Vec<(&str, String)> = options.bins.iter().map(|b| ("bin", b.clone())).collect();
    todo.extend(options.examples.iter().map(|e| ("example", e.clone())));
    if todo.is_empty() {
        if pkg.name == "lambda-lite" {
            // This repository: every example that is a function (the extension examples are
            // built with `--extension`, by name).
            let function = |req: &Vec<String>| !req.iter().any(|f| f == "extension");
            todo.extend(
                pkg.examples
                    .iter()
                    .filter(|(_, req)| function(req))
                    .map(|(e, _)| ("example", e.clone())),
            );
        } else {
            todo.extend(pkg.bins.iter().map(|b| ("bin", b.clone())));
        }
    }
    if todo.is_empty() {
        return Err(format!(
            "{} has no binary to build (name one with --bin or --example)",
            pkg.manifest.display()
        ));
    }
    if options.one && todo.len() > 1 {
        let names: Vec<&str> = todo.iter().map(|(_, n)| n.as_str()).collect();
        return Err(format!(
            "this package has several functions ({}): name one with --bin NAME (or --example NAME); nothing was built",
            names.join(", ")
        ));
    }
    let mut event_files = Vec::new();
    if options.own_events {
        let dir = pkg
            .manifest
            .parent()
            .unwrap_or(Path::new("."))
            .join("events");
        for (_, name) in &todo {
            let file = dir.join(format!("{name}.json"));
            if !file.is_file() {
                return Err(format!(
                    "--invoke-events: {} is missing: write the event {name} should get there (JSON), or use --invoke EVENT",
                    file.display()
                ));
            }
            event_files.push((name.clone(), file));
        }
    }
    {
        // Two builds at once (parallel tests, two terminals) must not install the same thing
        // together: rustup fails renaming its partial download, apt-get finds its lock taken.
        let _one_at_a_time = toolchain_lock();
        ensure_toolchain(options.arch, options.nightly)?;
        ensure_musl_c_compiler(&pkg, options)?;
    }
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| pkg.target_dir.join("lambda"));
    std::fs::create_dir_all(&out).map_err(|e| fail(&out.display().to_string(), e))?;
    let panic_mode = if options.nightly {
        "immediate-abort".to_owned()
    } else {
        options.panic.clone()
    };
    let mut config = format!("{}-{panic_mode}", options.arch.name());
    if options.no_pie {
        config.push_str("-nopie");
    }
    let build_dir = pkg.target_dir.join("lambda-build").join(&config);
    let mut artifacts = Vec::new();
    for (kind, name) in todo {
        let mut features: Vec<String> = options
            .features
            .iter()
            .flat_map(|f| f.split(',').map(str::to_owned))
            .collect();
        if let Some((_, req)) = pkg
            .examples
            .iter()
            .find(|(e, _)| kind == "example" && *e == name)
        {
            features.extend(req.iter().cloned());
        }
        eprintln!(
            "cargo-lambda-lite: building {kind} {name} for {} (panic={panic_mode}{}){}",
            options.arch.name(),
            if options.no_pie { ", non-PIE" } else { "" },
            if features.is_empty() {
                String::new()
            } else {
                format!(", features {}", features.join(","))
            }
        );
        // `+nightly` is understood by rustup's cargo proxy, not by the toolchain's own cargo,
        // which $CARGO names when this tool runs under `cargo run` or as a cargo subcommand.
        let mut cargo = if options.nightly {
            let mut proxy = Command::new("rustup");
            proxy.args(["run", "nightly", "cargo"]);
            proxy
        } else {
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        };
        cargo
            .args(["build", "--release", "--manifest-path"])
            .arg(&pkg.manifest)
            .args(["--target", options.arch.target(), "--target-dir"])
            .arg(&build_dir)
            .arg(format!("--{kind}"))
            .arg(&name);
        if !features.is_empty() {
            cargo.args(["--features", &features.join(",")]);
        }
        // The size profile, through the environment: the user's Cargo.toml needs no [profile].
        cargo
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "z")
            .env("CARGO_PROFILE_RELEASE_LTO", "fat")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
        let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
        if options.no_pie {
            rustflags.push_str(" -C relocation-model=static");
        }
        if options.nightly {
            cargo.env("CARGO_PROFILE_RELEASE_PANIC", "abort");
            rustflags.push_str(" -Zunstable-options -Cpanic=immediate-abort");
            cargo.args([
                "-Z",
                "build-std=std,panic_abort",
                "-Z",
                "build-std-features=optimize_for_size",
            ]);
        } else {
            cargo.env("CARGO_PROFILE_RELEASE_PANIC", &options.panic);
        }
        cargo.env("RUSTFLAGS", rustflags.trim());
        if options.arch == Arch::Arm64 {
            cargo.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld");
        }
        // Dependencies with C inside (ring, aws-lc-sys: the AWS SDK's TLS) need a C compiler
        // for musl: musl-gcc, when there is one and none was chosen.
        let cc_var = format!("CC_{}", options.arch.target().replace('-', "_"));
        if options.arch == Arch::X86_64 && std::env::var_os(&cc_var).is_none() && which("musl-gcc")
        {
            cargo.env(&cc_var, "musl-gcc");
        }
        let status = cargo.status().map_err(|e| fail("cargo", e))?;
        if !status.success() {
            let hint = if options.arch == Arch::X86_64 && !which("musl-gcc") {
                " (if a dependency compiles C for musl, install a musl C compiler: Debian/Ubuntu `sudo apt-get install musl-tools`)"
            } else {
                ""
            };
            return Err(format!("cargo build of {kind} {name} failed{hint}"));
        }
        let built = match kind {
            "example" => build_dir
                .join(options.arch.target())
                .join("release/examples")
                .join(&name),
            _ => build_dir
                .join(options.arch.target())
                .join("release")
                .join(&name),
        };
        let mut artifact = place(&out, &name, &built, options, &panic_mode, &features)?;
        artifact.event_file = event_files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone());
        artifacts.push(artifact);
    }
    Ok(artifacts)
}

/// Copies the built binary into the layout and zips it.
fn place(
    out: &Path,
    name: &str,
    built: &Path,
    options: &Options,
    panic_mode: &str,
    features: &[String],
) -> Result<Artifact, String> {
    let arm = options.arch == Arch::Arm64;
    let (dir, binary_name) = if options.extension {
        (
            out.join(if arm {
                "extensions-arm64"
            } else {
                "extensions"
            }),
            name.to_owned(),
        )
    } else {
        (
            out.join(if arm {
                format!("{name}-arm64")
            } else {
                name.to_owned()
            }),
            "bootstrap".to_owned(),
        )
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail(&dir.display().to_string(), e))?;
    let info_path = if options.extension {
        dir.join(format!("{name}.build.json"))
    } else {
        dir.join("build.json")
    };
    if let Ok(previous) = std::fs::read_to_string(&info_path) {
        let before: serde_json::Value = serde_json::from_str(&previous).unwrap_or_default();
        if before["panic"].as_str().is_some_and(|p| p != panic_mode) {
            eprintln!(
                "cargo-lambda-lite: {} held a panic={} build; it now holds panic={panic_mode}",
                dir.display(),
                before["panic"].as_str().unwrap_or("?")
            );
        }
    }
    let binary = dir.join(&binary_name);
    std::fs::copy(built, &binary).map_err(|e| fail(&binary.display().to_string(), e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| fail("chmod", e))?;
    let mut zips = Vec::new();
    if options.extension {
        let zip = dir.join(format!("{name}.zip"));
        pack::zip_one(&zip, &binary, &format!("extensions/{name}"))?;
        zips.push(zip);
    } else {
        let zip = dir.join("bootstrap.zip");
        pack::zip_one(&zip, &binary, "bootstrap")?;
        zips.push(zip);
        if options.layer {
            let layer = dir.join("layer.zip");
            pack::zip_one(&layer, &binary, "bootstrap")?;
            zips.push(layer);
        }
    }
    let info = serde_json::json!({
        "name": name,
        "architecture": options.arch.name(),
        "target": options.arch.target(),
        "panic": panic_mode,
        // What the linker made (an aarch64 musl build is not PIE whatever was asked).
        "pie": elf_type(&binary) == Some(ET_DYN),
        "features": features,
        "kind": if options.extension { "extension" } else { "function" },
    });
    std::fs::write(&info_path, format!("{info:#}\n"))
        .map_err(|e| fail(&info_path.display().to_string(), e))?;
    Ok(Artifact {
        name: name.to_owned(),
        event_file: None,
        binary,
        zips,
        panic_mode: panic_mode.to_owned(),
    })
}

/// `e_type` of a position-independent executable (a plain one is `ET_EXEC`, 2).
const ET_DYN: u16 = 3;

/// The ELF `e_type` of a file.
fn elf_type(path: &Path) -> Option<u16> {
    use std::io::Read;
    let mut head = [0u8; 18];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    (head[..4] == *b"\x7fELF").then(|| u16::from_le_bytes([head[16], head[17]]))
}

/// The summary: one line per artifact, with its architecture and panic mode.
pub fn summary(artifacts: &[Artifact], arch: Arch) {
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len().to_string())
            .unwrap_or_else(|_| "-".into())
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let show = |p: &Path| p.strip_prefix(&cwd).unwrap_or(p).display().to_string();
    println!(
        "{:<52} {:>7} {:>15} {:>11} {:>11}",
        "artifact", "arch", "panic", "stripped B", "zip B"
    );
    for a in artifacts {
        println!(
            "{:<52} {:>7} {:>15} {:>11} {:>11}",
            show(&a.binary),
            arch.name(),
            a.panic_mode,
            size(&a.binary),
            size(&a.zips[0])
        );
        for z in &a.zips[1..] {
            println!(
                "{:<52} {:>7} {:>15} {:>11} {:>11}",
                show(z),
                arch.name(),
                a.panic_mode,
                "",
                size(z)
            );
        }
    }
}

/// Checks each artifact against `budgets` (`<name>_<arch>_<panic mode>` = bytes).
pub fn check_budgets(artifacts: &[Artifact], arch: Arch, budgets: &Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(budgets).map_err(|e| fail(&budgets.display().to_string(), e))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| fail(&budgets.display().to_string(), e))?;
    for a in artifacts {
        let panic = if a.panic_mode == "immediate-abort" {
            "nightly"
        } else {
            a.panic_mode.as_str()
        };
        let key = format!(
            "{}_{}_{panic}",
            a.name,
            arch.name().replace("arm64", "aarch64")
        );
        let Some(limit) = table.get(&key).and_then(toml::Value::as_integer) else {
            eprintln!(
                "cargo-lambda-lite: no budget '{key}' in {}",
                budgets.display()
            );
            continue;
        };
        let size = std::fs::metadata(&a.binary)
            .map_err(|e| fail("stat", e))?
            .len() as i64;
        if size > limit {
            return Err(format!(
                "{key}: {size} B is over its budget of {limit} B ({})",
                budgets.display()
            ));
        }
        println!("budget {key}: {size} B ≤ {limit} B");
    }
    Ok(())
}

/// Whether `program` is on `PATH`.
fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()))
}

// The command line: `build`'s arguments, and the function `deploy` and `template` build.

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Panic {
    Abort,
    Unwind,
}

#[derive(clap::Args)]
pub struct Args {
    /// A binary to build (repeatable; default: every binary of the package).
    #[arg(long = "bin")]
    pub bins: Vec<String>,
    /// An example to build (repeatable).
    #[arg(long = "example")]
    pub examples: Vec<String>,
    /// The package's Cargo.toml (default: the one cargo finds from here).
    #[arg(long)]
    pub manifest_path: Option<PathBuf>,
    /// Build for Graviton (aarch64-unknown-linux-musl, linked with rust-lld).
    #[arg(long)]
    pub arm64: bool,
    /// Panic strategy: abort (the smallest; a panic is still reported to Lambda, then the
    /// process dies) or unwind (panics are caught and the function serves on).
    #[arg(long, value_enum, default_value = "abort")]
    pub panic: Panic,
    /// Also write layer.zip (the bootstrap at the root, for /opt).
    #[arg(long)]
    pub layer: bool,
    /// Build an external extension: target/lambda/extensions/<name> and <name>.zip holding
    /// extensions/<name>.
    #[arg(long)]
    pub extension: bool,
    /// Rebuild std with -Z build-std and panic=immediate-abort (smallest; a panic then kills
    /// the process without any report).
    #[arg(long)]
    pub nightly: bool,
    /// Link a non-PIE static binary (-C relocation-model=static): fewer start-up
    /// instructions, but no ASLR for the binary's own image.
    #[arg(long)]
    pub no_pie: bool,
    /// Cargo features to enable.
    #[arg(long)]
    pub features: Option<String>,
    /// Output folder (default: <target dir>/lambda).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Fail if an artifact is over its budget in this TOML file (<name>_<arch>_<panic> = bytes).
    #[arg(long)]
    pub check_budget: Option<PathBuf>,
    /// Then run each bootstrap locally with this event (repeatable).
    #[arg(long = "invoke", value_name = "EVENT")]
    pub invoke: Vec<String>,
    /// … with the event in this file (repeatable).
    #[arg(long = "invoke-file", value_name = "FILE")]
    pub invoke_file: Vec<PathBuf>,
    /// … with one event per line of standard input.
    #[arg(long)]
    pub invoke_stdin: bool,
    /// … each function with its own event: events/<name>.json beside the package's
    /// Cargo.toml (checked before anything is built).
    #[arg(long)]
    pub invoke_events: bool,
    #[command(flatten)]
    pub run: crate::invoke::RunArgs,
}

/// Which function of the package, built how (deploy and template).
#[derive(clap::Args)]
pub struct Target {
    /// The binary (default: the package's only one).
    #[arg(long = "bin")]
    pub bin: Option<String>,
    /// An example instead of a binary.
    #[arg(long = "example")]
    pub example: Option<String>,
    /// The package's Cargo.toml (default: the one cargo finds from here).
    #[arg(long)]
    pub manifest_path: Option<PathBuf>,
    /// Graviton (arm64) rather than x86_64.
    #[arg(long)]
    pub arm64: bool,
    /// Cargo features to enable.
    #[arg(long)]
    pub features: Option<String>,
}

/// Builds the function `target` names (with a layer.zip when `layer`, as an extension when
/// `extension`); a package of several without `--bin`/`--example` is refused before building.
/// Returns it, the package's manifest and the architecture.
#[cfg(feature = "deploy")]
pub fn build_one(
    target: &Target,
    layer: bool,
    extension: bool,
) -> Result<(Artifact, PathBuf, Arch), String> {
    let (mut artifacts, manifest, arch) = build_target(target, layer, extension, true)?;
    if artifacts.len() != 1 {
        return Err("the build made no function".into());
    }
    Ok((artifacts.remove(0), manifest, arch))
}

/// Builds what `target` names (every function of the package when it names none, unless
/// `one`).
pub fn build_target(
    target: &Target,
    layer: bool,
    extension: bool,
    one: bool,
) -> Result<(Vec<Artifact>, PathBuf, Arch), String> {
    let arch = if target.arm64 {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    let manifest = manifest_of(target.manifest_path.as_deref())?;
    let options = Options {
        manifest: target.manifest_path.clone(),
        bins: target.bin.iter().cloned().collect(),
        examples: target.example.iter().cloned().collect(),
        arch,
        panic: "abort".into(),
        layer,
        extension,
        nightly: false,
        no_pie: false,
        features: target.features.clone(),
        out: None,
        own_events: false,
        one,
    };
    let artifacts = build(&options)?;
    summary(&artifacts, arch);
    Ok((artifacts, manifest, arch))
}

/// The package's Cargo.toml: `--manifest-path`, or the one here or above.
pub fn manifest_of(manifest_path: Option<&std::path::Path>) -> Result<PathBuf, String> {
    match manifest_path {
        Some(m) => Ok(m.to_path_buf()),
        None => std::env::current_dir()
            .map_err(|e| e.to_string())?
            .ancestors()
            .map(|d| d.join("Cargo.toml"))
            .find(|m| m.is_file())
            .ok_or_else(|| "no Cargo.toml here or above".to_owned()),
    }
}
