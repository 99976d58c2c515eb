//! Hostile sizes are refused without being allocated: a counting allocator tracks what the
//! runtime's thread allocates while it reads `Content-Length: 99999999999` or a chunk of
//! `ffffffffffff` bytes, and answers the invocation with an error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly
#![allow(unsafe_code)] // a counting GlobalAlloc cannot be written without it
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use support::*;

struct Counting;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only const-initialised
// thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if TRACK.with(Cell::get) {
            let live = LIVE.with(|l| {
                l.set(l.get() + layout.size());
                l.get()
            });
            PEAK.with(|p| p.set(p.get().max(live)));
        }
        // SAFETY: same layout contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if TRACK.with(Cell::get) {
            LIVE.with(|l| l.set(l.get().saturating_sub(layout.size())));
        }
        // SAFETY: same layout contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` with this thread's allocations counted; returns its result and the peak bytes
/// allocated at once.
fn tracked<R>(f: impl FnOnce() -> R) -> (R, usize) {
    PEAK.with(|p| p.set(0));
    LIVE.with(|l| l.set(0));
    TRACK.with(|t| t.set(true));
    let result = f();
    TRACK.with(|t| t.set(false));
    (result, PEAK.with(Cell::get))
}

/// Runs one step against `hostile` (a `/next` answer), checks that the invocation was answered
/// as an event over the 8 MiB cap, and returns the peak bytes the runtime's thread had
/// allocated at once.
fn peak_for(hostile: &[u8]) -> usize {
    let api = FakeApi::start();
    api.push(Reply::Partial(hostile.to_vec()));
    api.push(accepted());
    let mut rt = runtime(&api);
    let (result, peak) = tracked(|| rt.step(&mut echo));
    result.unwrap();
    let posts = api.wait_for(2);
    assert!(posts[1].path.ends_with("/error"), "{}", posts[1].path);
    let err: serde_json::Value = serde_json::from_slice(&posts[1].body).unwrap();
    assert_eq!(err["errorType"], "Runtime.InvalidEvent");
    let message = err["errorMessage"].as_str().unwrap();
    assert!(message.contains("larger than 8 MiB"), "{message}");
    peak
}

#[test]
fn huge_content_length_is_refused_without_allocating_it() {
    let peak = peak_for(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r\r\nContent-Length: 99999999999\r\n\r\n");
    assert!(peak < 64 * 1024, "peak {peak} B");
}

#[test]
fn huge_chunk_is_refused_without_allocating_it() {
    let peak = peak_for(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nxx");
    assert!(peak < 64 * 1024, "peak {peak} B");
}

#[test]
fn chunks_adding_up_past_the_cap_stop_at_the_cap() {
    // Many 1 MiB chunks: the runtime reads up to its 8 MiB cap, then refuses. The receive buffer
    // doubles as it grows, so while it grows to the cap the old half (4 MiB) and the new buffer
    // are both allocated (the new one is fresh calloc'd memory, not resident until written).
    let mut hostile = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..12 {
        hostile.extend_from_slice(b"100000\r\n");
        hostile.extend(std::iter::repeat_n(b'a', 0x100000));
        hostile.extend_from_slice(b"\r\n");
    }
    let peak = peak_for(&hostile);
    assert!(peak < 12 * 1024 * 1024 + 256 * 1024, "peak {peak} B");
}

#[test]
fn steady_state_invocations_allocate_nothing_in_the_runtime() {
    // After the first events (which size the buffers), serving another event of the same size
    // allocates nothing but what the handler itself returns (here: nothing).
    let api = FakeApi::start();
    let mut rt = runtime(&api);
    let mut handler = |_: &[u8], _: &lambda_lite::Context| Ok(Vec::new());
    for i in 0..3 {
        api.push_event(
            event(&format!("warm-{i}"), vec![b'x'; 5000])
                .like_lambda()
                .header("Lambda-Runtime-Trace-Id", "Root=1-a"),
        );
        rt.step(&mut handler).unwrap();
    }
    for (i, trace) in [(0, true), (1, false), (2, true)] {
        let mut next = event(&format!("steady-{i}"), vec![b'y'; 5000]).like_lambda();
        if trace {
            next = next.header("Lambda-Runtime-Trace-Id", "Root=1-b");
        }
        api.push_event(next);
        let (result, peak) = tracked(|| rt.step(&mut handler));
        result.unwrap();
        assert_eq!(peak, 0, "bytes allocated while serving steady-{i}");
    }
    // Each of the six events was fetched and answered in turn, on the one kept connection.
    let reqs = api.wait_for(12);
    let ids = [
        "warm-0", "warm-1", "warm-2", "steady-0", "steady-1", "steady-2",
    ];
    let want: Vec<(&str, String)> = ids
        .iter()
        .flat_map(|id| {
            [
                ("GET", "/2018-06-01/runtime/invocation/next".to_owned()),
                (
                    "POST",
                    format!("/2018-06-01/runtime/invocation/{id}/response"),
                ),
            ]
        })
        .collect();
    let got: Vec<(&str, String)> = reqs
        .iter()
        .map(|r| (r.method.as_str(), r.path.clone()))
        .collect();
    assert_eq!(got, want);
    assert!(
        reqs.iter().all(|r| r.body.is_empty()),
        "the handler answered nothing"
    );
    assert_eq!(api.connections(), 1);
}
