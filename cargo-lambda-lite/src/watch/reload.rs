//! Building what `watch` serves (a host build of the package, each binary copied into a
//! generation of its own so a rebuild never touches a running one), and rebuilding when a
//! source changes: the old build serves until the new one is ready; a failed build is shown
//! and the old one kept.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::{Args, Watch};
use crate::environment::Config;

/// The package and how its functions run.
pub struct Project {
    manifest: PathBuf,
    root: PathBuf,
    target_dir: PathBuf,
    bins: Vec<String>,
    examples: Vec<String>,
    features: Option<String>,
    env: Vec<(String, String)>,
    /// Per function, then for all (key "").
    timeouts: BTreeMap<String, Duration>,
    memory_mb: u32,
    /// External extensions started beside each function.
    extensions: Vec<PathBuf>,
    generation: u64,
    /// This watch's copies of its builds, one folder per generation.
    pub generations: PathBuf,
}

fn seconds(text: &str) -> Result<Duration, String> {
    let s = crate::settings::timeout_seconds(text).map_err(|e| format!("--timeout {e}"))?;
    Ok(Duration::from_secs(u64::from(s)))
}

impl Project {
    pub fn load(args: &Args) -> Result<Project, String> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(m) = &args.manifest_path {
            cmd.manifest_path(m);
        }
        let meta = cmd.exec().map_err(|e| {
            format!("cargo metadata: {e} (run watch in a function's crate, or --manifest-path)")
        })?;
        let package = meta
            .root_package()
            .ok_or("no package here: run watch in a function's crate (not a workspace root), or --manifest-path")?;
        let settings = &package.metadata["lambda-lite"]["deploy"];
        // The developer's AWS credentials and region as Lambda gives its role's, under the user's.
        let flags = crate::settings::Flags {
            env: &args.env,
            env_file: args.env_file.as_deref(),
            memory: args.memory,
            ..Default::default()
        };
        let merged = crate::settings::Settings::merge(settings, &flags)?;
        let mut env = crate::identity::environment();
        env.extend_from_slice(&merged.env);
        // The package's timeout for every function, under `--timeout [NAME=]SECONDS`.
        let mut timeouts = BTreeMap::new();
        if let Some(t) = merged.timeout {
            timeouts.insert(String::new(), Duration::from_secs(u64::from(t)));
        }
        for t in &args.timeouts {
            match t.split_once('=') {
                Some((name, s)) => timeouts.insert(name.trim().to_owned(), seconds(s)?),
                None => timeouts.insert(String::new(), seconds(t)?),
            };
        }
        let memory_mb = merged.memory_or_default();
        let manifest = package.manifest_path.clone().into_std_path_buf();
        let root = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
        let target_dir = meta.target_directory.clone().into_std_path_buf();
        // As Lambda starts every extension of /opt/extensions: those `build --extension` made.
        let mut extensions = args.extensions.clone();
        if !args.no_extensions
            && let Ok(dir) = std::fs::read_dir(target_dir.join("lambda/extensions"))
        {
            let mut built: Vec<PathBuf> = dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_none())
                .collect();
            built.sort();
            extensions.extend(built);
        }
        let extensions = extensions
            .iter()
            .map(|e| {
                e.canonicalize()
                    .map_err(|err| format!("--extension {}: {err}", e.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let generations = target_dir
            .join("lambda-lite-watch")
            .join(std::process::id().to_string());
        Ok(Project {
            generations,
            manifest,
            root,
            target_dir,
            bins: args.bins.clone(),
            examples: args.examples.clone(),
            features: args.features.clone(),
            env,
            timeouts,
            memory_mb,
            extensions,
            generation: 0,
        })
    }

    /// A host build of the functions (cargo's diagnostics on the terminal); each binary is
    /// copied into a folder of this generation. Returns their configurations.
    pub fn build(&mut self) -> Result<Vec<Config>, String> {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--message-format=json-render-diagnostics"])
            .arg("--manifest-path")
            .arg(&self.manifest);
        if self.bins.is_empty() && self.examples.is_empty() {
            cmd.arg("--bins");
        }
        for b in &self.bins {
            cmd.args(["--bin", b]);
        }
        for e in &self.examples {
            cmd.args(["--example", e]);
        }
        if let Some(f) = &self.features {
            cmd.args(["--features", f]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let mut built = Vec::new();
        if let Some(out) = child.stdout.take() {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let Ok(m) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                let kinds = m["target"]["kind"].as_array().cloned().unwrap_or_default();
                let runnable = kinds.iter().any(|k| k == "bin" || k == "example");
                if m["reason"] == "compiler-artifact"
                    && runnable
                    && let (Some(name), Some(exe)) =
                        (m["target"]["name"].as_str(), m["executable"].as_str())
                {
                    built.push((name.to_owned(), PathBuf::from(exe)));
                }
            }
        }
        let status = child.wait().map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("the build failed (cargo's errors above)".into());
        }
        self.generation += 1;
        let mut configs = Vec::new();
        for (name, exe) in built {
            let dir = self
                .generations
                .join(&name)
                .join(self.generation.to_string());
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let bootstrap = dir.join("bootstrap");
            std::fs::copy(&exe, &bootstrap)
                .map_err(|e| format!("{} → {}: {e}", exe.display(), bootstrap.display()))?;
            // The last two builds are kept: an environment of the one before that was idle
            // or busy through a whole rebuild, and is gone unless it is still busy (then its
            // next fresh init fails, and it is retired when its invocations are done).
            if let Some(old) = self.generation.checked_sub(2) {
                let _ = std::fs::remove_dir_all(self.generations.join(&name).join(old.to_string()));
            }
            let timeout = self
                .timeouts
                .get(&name)
                .or_else(|| self.timeouts.get(""))
                .copied()
                .unwrap_or(Duration::from_secs(3));
            configs.push(Config {
                name,
                bootstrap,
                env: self.env.clone(),
                handler: None,
                task_root: Some(self.root.clone()),
                timeout,
                memory_mb: self.memory_mb,
                wrapper: None,
                extensions: self.extensions.clone(),
                inherit_output: false,
            });
        }
        Ok(configs)
    }

    /// The names of the external extensions started beside each function.
    pub fn extensions(&self) -> Vec<String> {
        self.extensions
            .iter()
            .map(|e| e.display().to_string())
            .collect()
    }

    /// Whether a changed path can change the build: Rust sources, manifests and lock files,
    /// and anything under `src/` (`include_str!`ed files), not the build's output or VCS.
    fn is_source(&self, path: &Path) -> bool {
        let Ok(inside) = path.strip_prefix(&self.root) else {
            return false;
        };
        if path.starts_with(&self.target_dir)
            || inside
                .components()
                .any(|c| c.as_os_str() == ".git" || c.as_os_str() == "target")
        {
            return false;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.ends_with(".rs")
            || name == "Cargo.toml"
            || name == "Cargo.lock"
            || inside.starts_with("src")
    }
}

/// Rebuilds in the background when a source of the package changes; a good build replaces
/// what each function serves.
pub fn watch_sources(mut project: Project, watch: Arc<Watch>, limit: usize) -> Result<(), String> {
    let (tx, rx) = channel();
    let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
        if let Ok(e) = e
            && !matches!(e.kind, notify::EventKind::Access(_))
        {
            let _ = tx.send(e.paths);
        }
    })
    .map_err(|e| format!("cannot watch the sources: {e}"))?;
    watcher
        .watch(&project.root, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", project.root.display()))?;
    println!(
        "watch: rebuilding when a file under {} changes",
        project.root.display()
    );
    std::thread::spawn(move || {
        let _watcher = watcher; // watches as long as this thread runs
        loop {
            let Ok(paths) = rx.recv() else { return };
            if !paths.iter().any(|p| project.is_source(p)) {
                continue;
            }
            // Editors write in bursts: wait until the sources are quiet for a moment (at most
            // a second, so a file written all the time does not hold the rebuild back).
            let until = Instant::now() + Duration::from_secs(1);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(left.min(Duration::from_millis(150))) {
                    Ok(_) => continue,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            let t0 = Instant::now();
            println!("watch: a source changed: rebuilding (the last build serves meanwhile)");
            match project.build() {
                Ok(configs) => {
                    watch.functions.update(configs, limit);
                    println!(
                        "watch: rebuilt in {:.1} s: the next invocation runs the new build",
                        t0.elapsed().as_secs_f64()
                    );
                }
                Err(e) => println!("watch: {e}; the last good build keeps serving"),
            }
        }
    });
    Ok(())
}
