//! What goes into an environment and what comes out: a function's [`Config`], an
//! [`Invocation`], the [`Progress`] it reports, its [`Outcome`] and a [`FunctionError`].

use std::path::PathBuf;
use std::time::Duration;

/// What a function is and how it runs.
pub struct Config {
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, and the label of its log lines).
    pub name: String,
    pub bootstrap: PathBuf,
    pub env: Vec<(String, String)>,
    pub handler: Option<String>,
    pub task_root: Option<PathBuf>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// A command the bootstrap runs under (qemu-user for an arm64 bootstrap).
    pub wrapper: Option<String>,
    /// External extensions, started before the runtime as Lambda starts `/opt/extensions/*`.
    pub extensions: Vec<PathBuf>,
    /// The function's output goes to the terminal as it is (the one-shot run); otherwise
    /// each line is printed labelled with the function's name and kept for `Tail`.
    pub inherit_output: bool,
}

impl Config {
    /// `AWS_LAMBDA_MAX_CONCURRENCY` as the function sees it: how many invocations one process
    /// takes at once (Lambda Managed Instances); 1 otherwise.
    pub fn concurrency(&self) -> usize {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == "AWS_LAMBDA_MAX_CONCURRENCY")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 1)
            .unwrap_or(1)
    }
}

/// One event to run.
pub struct Invocation {
    pub event: Vec<u8>,
    /// Keep what the invocation logged (for the Invoke API's `X-Amz-Log-Type: Tail`).
    pub tail: bool,
    /// What the invoker passed for the runtime (`Lambda-Runtime-Client-Context`,
    /// `Lambda-Runtime-Aws-Tenant-Id`), as headers of its `/next` answer.
    pub headers: Vec<(String, String)>,
    /// Told what becomes of it, on the environment's thread, in order.
    pub progress: Box<dyn FnMut(Progress) + Send>,
}

/// What an environment tells its owner of each invocation's end: its answer, then its end (its
/// REPORT line; from then on the environment takes another event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The caller is about to get its answer; the environment is still busy with it.
    Answered,
    /// The invocation is over.
    Done,
}

/// What becomes of an invocation, in order.
pub enum Progress {
    /// Sent to the function: its `START` line.
    Started {
        line: String,
    },
    /// The answer is streamed: its content type; chunks follow as they arrive.
    Stream {
        content_type: Option<String>,
    },
    Chunk(Vec<u8>),
    /// The answer, as soon as it is known (before the platform's lines, as on Lambda).
    Answered(Outcome),
    /// The end: the platform's lines, the log.
    Done(Done),
}

pub struct Done {
    /// The platform's lines for it: a timeout's or a crash's message, `END`, `REPORT`.
    pub lines: Vec<String>,
    /// With [`Invocation::tail`]: everything logged from `START` to `REPORT`.
    #[cfg_attr(not(feature = "watch"), allow(dead_code))] // `Tail` is watch's
    pub log: Vec<u8>,
    /// A hint for the terminal (what happens next).
    pub note: Option<String>,
}

pub enum Outcome {
    /// A buffered answer.
    Response(Vec<u8>),
    /// A streamed answer ended well.
    Streamed,
    /// The function (or its init) failed; the document is what Lambda answers the caller.
    Error(FunctionError),
}

pub struct FunctionError {
    pub error_type: String,
    pub document: Vec<u8>,
    /// Who failed: the function's own error, or what the platform saw.
    pub cause: Cause,
}

/// Why an invocation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cause {
    /// The function answered with an error (or its answer broke Lambda's limits).
    Function,
    /// It never ran: the init failed, or timed out.
    Init,
    /// The function timeout: the environment was stopped.
    Timeout,
    /// The runtime exited (or was stopped with its environment).
    Exit,
}

impl FunctionError {
    pub(super) fn new(error_type: &str, message: &str) -> FunctionError {
        FunctionError {
            error_type: error_type.to_owned(),
            document: serde_json::json!({"errorType": error_type, "errorMessage": message})
                .to_string()
                .into_bytes(),
            cause: Cause::Function,
        }
    }

    /// An error the platform reports (the function did not say it).
    pub(super) fn platform(cause: Cause, error_type: &str, message: &str) -> FunctionError {
        FunctionError {
            cause,
            ..FunctionError::new(error_type, message)
        }
    }
}
