//! SnapStart runtime hooks. Where it applies: AWS documents the custom runtime's part of
//! SnapStart only for functions deployed as container images ("Implementing SnapStart hooks
//! for container images", which names Lambda's `provided.al2023` base image); it documents
//! nothing of the kind for zip-packaged `provided.al2023` functions, so use an image.
//!
//! When `AWS_LAMBDA_INITIALIZATION_TYPE` is `snap-start` and hooks were registered, the
//! runtime, after its one-time init and before its first `GET /next`: runs the
//! before-snapshot hooks (in reverse order of registration), calls
//! `GET /runtime/restore/next` (answered once the snapshot has been restored), drops every
//! connection made before the snapshot, and runs the after-restore hooks (in order of
//! registration). A failing before-snapshot hook is posted to `/init/error`, a failing
//! after-restore hook to `/restore/error`; either way the process exits with status 1.
//!
//! Without registered hooks nothing of this runs or is linked; a container image that needs
//! no hooks declares `LABEL com.amazonaws.lambda.feature.snapstart="Allow"` instead, as AWS
//! documents. The connections the runtime makes later (and the graceful-shutdown helper's,
//! which is replaced when it fails after the restore) need no hook.

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::fatal;
use crate::panic::Phase;
use crate::runtime::{self, Runtime};

type Hook = Box<dyn FnOnce() -> Result<()> + Send>;

struct Hooks {
    before_snapshot: Vec<Hook>,
    after_restore: Vec<Hook>,
}

static HOOKS: Mutex<Hooks> = Mutex::new(Hooks {
    before_snapshot: Vec::new(),
    after_restore: Vec::new(),
});

/// Runs `hook` before Lambda takes the snapshot of the initialised environment (release what
/// must not be shared by every restored copy: connections, cached credentials, seeds).
/// Before-snapshot hooks run in reverse order of registration; an error (or panic) is posted
/// to `/init/error` and the process exits. Register hooks before the first event, in `main`
/// or in one-time init; they only run when SnapStart is on
/// (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`).
pub fn register_before_snapshot(hook: impl FnOnce() -> Result<()> + Send + 'static) {
    lock().before_snapshot.push(Box::new(hook));
    runtime::before_first_next(run_hooks);
}

/// Runs `hook` after Lambda restored the environment from its snapshot, before the first
/// event (re-open connections, refresh credentials, re-seed). After-restore hooks run in
/// order of registration; an error (or panic) is posted to `/restore/error` and the process
/// exits.
pub fn register_after_restore(hook: impl FnOnce() -> Result<()> + Send + 'static) {
    lock().after_restore.push(Box::new(hook));
    runtime::before_first_next(run_hooks);
}

/// Whether this environment is initialised for SnapStart
/// (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`).
pub fn is_snapstart() -> bool {
    std::env::var_os("AWS_LAMBDA_INITIALIZATION_TYPE").is_some_and(|t| t == "snap-start")
}

fn lock() -> std::sync::MutexGuard<'static, Hooks> {
    HOOKS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The SnapStart sequence, which the first registration hands to the runtime to run before
/// its first `GET /next` (a pointer: a function that registers no hook never links it).
fn run_hooks(runtime: &mut Runtime) {
    if !is_snapstart() {
        return;
    }
    let (before, after) = {
        let mut hooks = lock();
        (
            std::mem::take(&mut hooks.before_snapshot),
            std::mem::take(&mut hooks.after_restore),
        )
    };
    for hook in before.into_iter().rev() {
        if let Err(error) = runtime.run_user(Phase::Init, hook) {
            runtime.fail_init(&error);
        }
    }
    if let Err(fatal) = runtime.restore_next() {
        runtime.fail_init(&Error::new("Runtime.RestoreError", fatal.message()));
    }
    for hook in after {
        if let Err(error) = runtime.run_user(Phase::Restore, hook) {
            fatal::fail_and_exit("an after-restore hook", &error, &mut || {
                runtime.send_restore_error(&error)
            });
        }
    }
}
