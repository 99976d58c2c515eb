//! The only module allowed `unsafe`: process-environment mutation (unsafe since edition 2024).
//! Each block is one call, preceded by why it is sound here.

const TRACE_ENV: &str = "_X_AMZN_TRACE_ID";

/// Sets `_X_AMZN_TRACE_ID` to this invocation's trace header, or removes it when there is
/// none, so an SDK never attaches a request to a previous invocation's trace.
pub(crate) fn set_trace_id(value: Option<&str>) {
    match value.filter(|v| !v.contains('\0')) {
        // SAFETY: `set_var` is unsafe because another thread could read the environment through
        // libc's `getenv` at the same time. The runtime calls this between invocations, outside
        // any handler; the crate documents that handlers must not leave threads reading the
        // environment with non-std code across invocations. Key and value hold no NUL or '='
        // in the key, so `set_var` cannot panic.
        Some(v) => unsafe { std::env::set_var(TRACE_ENV, v) },
        // SAFETY: as above, for removal.
        None => unsafe { std::env::remove_var(TRACE_ENV) },
    }
}
