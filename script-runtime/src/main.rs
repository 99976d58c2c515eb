//! `script-runtime`: a Lambda `bootstrap`, shipped as a layer, that runs shell functions and
//! executables unchanged, on lambda-lite's one keep-alive connection.
//!
//! - Shell mode, `_HANDLER=file.function`: one long-lived shell (`bash`, else `sh`) sources
//!   `$LAMBDA_TASK_ROOT/file.sh` once; each event calls `function "$EVENT"` with the event also
//!   on its stdin. Its stdout, less trailing newlines (as `$(…)` would strip them in the classic
//!   bootstrap), is the response. The event travels through a file, not a pipe of the shell's,
//!   so no process is forked per event.
//! - Executable mode, `_HANDLER` names an executable file (relative to `$LAMBDA_TASK_ROOT`, or
//!   absolute): it runs once per event, event on stdin, response from stdout, byte for byte.
//!
//! Both see `LAMBDA_REQUEST_ID`, `LAMBDA_DEADLINE_MS`, `LAMBDA_INVOKED_FUNCTION_ARN` and
//! `_X_AMZN_TRACE_ID` (set, or unset when the invocation has no trace). A non-zero status is
//! posted to `/error` as `Function.ExitStatus<N>` with the last 4 KiB of the handler's stderr;
//! a shell that exits is restarted (the file sourced again) before the next event. Everything
//! the handler writes to stderr is copied to the function's log after each invocation.
//!
//! Shell variables cannot hold NUL bytes: in shell mode NULs are removed from the event.
//!
//! The event and the handler's output travel through files in a work directory that is made
//! fresh for each process (`$TMPDIR/script-runtime-<pid>-<n>`, created exclusively with mode
//! 0700, never an existing one) and removed on every exit the runtime makes. A process killed
//! outright leaves its directory behind; the next one never reuses it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use lambda_lite::{Context, Error, Runtime};

/// Runs in the shell: sources the file once, then serves one event per four control lines.
/// Written for bash and POSIX sh; survives `set -eu` in the user's file.
const DRIVER: &str = r#"__ll_file=$1 __ll_fn=$2 __ll_dir=$3
if . "$__ll_file" </dev/null >"$__ll_dir/err" 2>&1; then :; else echo "source $?"; exit 0; fi
if [ -n "${BASH_VERSION:-}" ]; then
  declare -F "$__ll_fn" >/dev/null 2>&1 || { echo nofunc; exit 0; }
else
  [ "$(command -v "$__ll_fn" 2>/dev/null)" = "$__ll_fn" ] || { echo nofunc; exit 0; }
fi
echo ready
while IFS= read -r LAMBDA_REQUEST_ID; do
  IFS= read -r LAMBDA_DEADLINE_MS; IFS= read -r LAMBDA_INVOKED_FUNCTION_ARN; IFS= read -r __ll_trace
  export LAMBDA_REQUEST_ID LAMBDA_DEADLINE_MS LAMBDA_INVOKED_FUNCTION_ARN
  if [ -n "$__ll_trace" ]; then _X_AMZN_TRACE_ID=$__ll_trace; export _X_AMZN_TRACE_ID; else unset _X_AMZN_TRACE_ID; fi
  if [ -n "${BASH_VERSION:-}" ]; then
    IFS= read -r -d '' __ll_event <"$__ll_dir/event" || :
  else
    __ll_event=$(cat "$__ll_dir/event"; printf x); __ll_event=${__ll_event%x}
  fi
  if "$__ll_fn" "$__ll_event" <"$__ll_dir/event" >"$__ll_dir/out" 2>"$__ll_dir/err"; then echo 0; else echo "$?"; fi
done
"#;

/// How much of the handler's stderr goes into an error message.
const STDERR_TAIL: usize = 4096;

struct Paths {
    dir: PathBuf,
    event: PathBuf,
    out: PathBuf,
    err: PathBuf,
}

impl Paths {
    /// A new, private work directory: created exclusively (an existing directory, link or file
    /// of that name is never used: the next name is tried), mode 0700.
    fn new() -> Result<Paths, Error> {
        Paths::new_in(&std::env::temp_dir(), std::process::id())
    }

    fn new_in(base: &Path, pid: u32) -> Result<Paths, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let mut last = None;
        for n in 0..100u32 {
            let dir = base.join(format!("script-runtime-{pid}-{n}"));
            match fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    return Ok(Paths {
                        event: dir.join("event"),
                        out: dir.join("out"),
                        err: dir.join("err"),
                        dir,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(Error::new(
                        "Runtime.InitError",
                        format!("{}: {e}", dir.display()),
                    ));
                }
            }
        }
        Err(Error::new(
            "Runtime.InitError",
            format!(
                "no fresh work directory in {}: {}",
                base.display(),
                last.map(|e| e.to_string()).unwrap_or_default()
            ),
        ))
    }
}

impl Drop for Paths {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What a shell is started from: the program, the file it sources, the function it calls.
struct ShellSpec {
    program: PathBuf,
    file: PathBuf,
    function: String,
}

/// The long-lived shell that sourced the function's file.
struct Shell {
    child: Child,
    control: ChildStdin,
    status: BufReader<ChildStdout>,
}

impl Shell {
    fn start(spec: &ShellSpec, paths: &Paths) -> Result<Shell, Error> {
        let ShellSpec {
            program,
            file,
            function,
        } = spec;
        let mut child = Command::new(program)
            .arg("-c")
            .arg(DRIVER)
            .arg("script-runtime")
            .arg(file)
            .arg(function)
            .arg(&paths.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::new(
                    "Runtime.InitError",
                    format!("cannot start {}: {e}", program.display()),
                )
            })?;
        let (Some(control), Some(status)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(Error::new("Runtime.InitError", "the shell has no pipes"));
        };
        let mut shell = Shell {
            child,
            control,
            status: BufReader::new(status),
        };
        let mut line = String::new();
        let read = shell.status.read_line(&mut line);
        let output = forward_stderr(&paths.err);
        let shown = || {
            if output.is_empty() {
                String::new()
            } else {
                format!(": {}", tail(&output))
            }
        };
        match (read, line.trim_end()) {
            (Ok(_), "ready") => Ok(shell),
            (Ok(_), "nofunc") => Err(Error::new(
                "Runtime.HandlerNotFound",
                format!("{} does not define a function {function}", file.display()),
            )),
            (Ok(_), other) if other.starts_with("source ") => Err(Error::new(
                "Runtime.InitScriptError",
                format!(
                    "sourcing {} failed with status {}{}",
                    file.display(),
                    &other[7..],
                    shown()
                ),
            )),
            _ => {
                let status = shell
                    .child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                Err(Error::new(
                    "Runtime.InitScriptError",
                    format!(
                        "the shell exited ({status}) while sourcing {}{}",
                        file.display(),
                        shown()
                    ),
                ))
            }
        }
    }

    /// Runs the function for one event; `Ok(status)`, or `Err` if the shell died.
    fn call(&mut self, ctx: &Context) -> std::io::Result<i32> {
        let trace = ctx.xray_trace_id.unwrap_or("");
        let header = format!(
            "{}\n{}\n{}\n{}\n",
            ctx.request_id, ctx.deadline, ctx.invoked_function_arn, trace
        );
        self.control.write_all(header.as_bytes())?;
        self.control.flush()?;
        let mut line = String::new();
        if self.status.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        line.trim_end()
            .parse()
            .map_err(|_| std::io::ErrorKind::InvalidData.into())
    }
}

enum Handler {
    /// `shell` is `None` after the shell died and could not be started again yet.
    Shell {
        spec: ShellSpec,
        shell: Option<Shell>,
        paths: Paths,
    },
    Executable {
        path: PathBuf,
        paths: Paths,
    },
}

fn find_shell() -> PathBuf {
    if let Some(forced) = std::env::var_os("SCRIPT_RUNTIME_SHELL") {
        return forced.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join("bash"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| "sh".into())
}

fn is_executable_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn setup() -> Result<Handler, Error> {
    let root = PathBuf::from(std::env::var_os("LAMBDA_TASK_ROOT").unwrap_or_else(|| ".".into()));
    let handler = std::env::var("_HANDLER")
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::new(
                "Runtime.NoSuchHandler",
                "_HANDLER is not set: expected file.function or an executable",
            )
        })?;
    let paths = Paths::new()?;
    let as_path = root.join(&handler);
    if is_executable_file(&as_path) {
        return Ok(Handler::Executable {
            path: as_path,
            paths,
        });
    }
    let Some((file, function)) = handler
        .rsplit_once('.')
        .filter(|(f, n)| !f.is_empty() && !n.is_empty())
    else {
        return Err(Error::new(
            "Runtime.NoSuchHandler",
            format!(
                "_HANDLER={handler} is neither an executable in {} nor file.function",
                root.display()
            ),
        ));
    };
    let file = root.join(format!("{file}.sh"));
    match fs::metadata(&file) {
        Err(e) => {
            return Err(Error::new(
                "Runtime.HandlerNotFound",
                format!("{}: {e}", file.display()),
            ));
        }
        Ok(m) if !m.is_file() => {
            return Err(Error::new(
                "Runtime.HandlerNotFound",
                format!("{}: not a regular file", file.display()),
            ));
        }
        Ok(_) => {}
    }
    if let Err(e) = fs::File::open(&file).and_then(|mut f| f.read(&mut [0u8; 1])) {
        return Err(Error::new(
            "Runtime.HandlerNotReadable",
            format!("{}: {e}", file.display()),
        ));
    }
    let spec = ShellSpec {
        program: find_shell(),
        file,
        function: function.to_owned(),
    };
    let shell = Shell::start(&spec, &paths)?;
    Ok(Handler::Shell {
        spec,
        shell: Some(shell),
        paths,
    })
}

/// Copies what the handler wrote to stderr into the function's log; returns it.
fn forward_stderr(path: &Path) -> Vec<u8> {
    let output = fs::read(path).unwrap_or_default();
    let _ = std::io::stderr().write_all(&output);
    output
}

fn tail(output: &[u8]) -> String {
    String::from_utf8_lossy(&output[output.len().saturating_sub(STDERR_TAIL)..])
        .trim()
        .to_owned()
}

fn failure(status: i32, stderr: &[u8]) -> Error {
    let message = tail(stderr);
    let message = if message.is_empty() {
        format!("the handler exited with status {status}")
    } else {
        message
    };
    Error::new(format!("Function.ExitStatus{status}"), message)
}

fn handle(handler: &mut Handler, event: &[u8], ctx: &Context) -> Result<Vec<u8>, Error> {
    match handler {
        Handler::Shell { spec, shell, paths } => {
            let clean: Vec<u8> = event.iter().copied().filter(|&b| b != 0).collect();
            fs::write(&paths.event, &clean)?;
            let current = match shell {
                Some(s) => s,
                None => shell.insert(Shell::start(spec, paths)?),
            };
            match current.call(ctx) {
                Ok(0) => {
                    forward_stderr(&paths.err);
                    let mut out = fs::read(&paths.out)?;
                    let kept = out.len() - out.iter().rev().take_while(|&&b| b == b'\n').count();
                    out.truncate(kept);
                    Ok(out)
                }
                Ok(status) => Err(failure(status, &forward_stderr(&paths.err))),
                Err(_) => {
                    // The shell itself is gone (`exit` in the function, a fatal error): report
                    // this event, then source the file again for the next one.
                    let code = shell
                        .take()
                        .and_then(|mut dead| dead.child.wait().ok())
                        .and_then(|s| s.code());
                    let stderr = forward_stderr(&paths.err);
                    *shell = Shell::start(spec, paths).ok();
                    Err(failure(code.unwrap_or(-1), &stderr))
                }
            }
        }
        Handler::Executable { path, paths } => {
            fs::write(&paths.event, event)?;
            let output = Command::new(&*path)
                .stdin(fs::File::open(&paths.event)?)
                .env("LAMBDA_REQUEST_ID", ctx.request_id)
                .env("LAMBDA_DEADLINE_MS", ctx.deadline.to_string())
                .env("LAMBDA_INVOKED_FUNCTION_ARN", ctx.invoked_function_arn)
                .output()?;
            let _ = std::io::stderr().write_all(&output.stderr);
            match output.status.code() {
                Some(0) => Ok(output.stdout),
                code => Err(failure(code.unwrap_or(-1), &output.stderr)),
            }
        }
    }
}

/// Stops the shell (if any) and removes the work directory, then exits with status 1.
fn exit_after(mut handler: Option<Handler>, message: &str) -> ! {
    if let Some(Handler::Shell {
        shell: Some(shell), ..
    }) = handler.as_mut()
    {
        let _ = shell.child.kill();
        let _ = shell.child.wait();
    }
    drop(handler);
    eprintln!("script-runtime: {message}");
    std::process::exit(1)
}

fn main() {
    let mut runtime = Runtime::from_env().unwrap_or_else(|f| exit_after(None, f.message()));
    // A failure is posted to /init/error and the process exits (nothing to stop yet).
    let mut handler = runtime.init(setup);
    loop {
        if let Err(fatal) = runtime.step(|event, ctx| handle(&mut handler, event, ctx)) {
            exit_after(Some(handler), fatal.message());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_work_directory_is_fresh_private_and_removed() {
        let base = std::env::temp_dir().join(format!("script-runtime-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        // Someone else's directory and a link where ours would go: neither is used.
        fs::create_dir(base.join("script-runtime-42-0")).unwrap();
        fs::write(base.join("planted"), "x").unwrap();
        std::os::unix::fs::symlink(base.join("planted"), base.join("script-runtime-42-1")).unwrap();
        let paths = Paths::new_in(&base, 42).unwrap();
        assert_eq!(paths.dir, base.join("script-runtime-42-2"));
        let mode = fs::metadata(&paths.dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let other = Paths::new_in(&base, 42).unwrap();
        assert_eq!(
            other.dir,
            base.join("script-runtime-42-3"),
            "never the same twice"
        );
        fs::write(&paths.event, "event").unwrap();
        let dir = paths.dir.clone();
        drop(paths);
        assert!(!dir.exists(), "removed when the runtime is done with it");
        assert!(
            base.join("script-runtime-42-0").is_dir(),
            "the other directory is untouched"
        );
        assert_eq!(fs::read_to_string(base.join("planted")).unwrap(), "x");
        drop(other);
        fs::remove_dir_all(&base).unwrap();
    }
}
