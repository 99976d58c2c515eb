#!/usr/bin/env python3
"""`cargo lambda-lite watch` beside `cargo lambda watch` (cargo-lambda's prebuilt wheel from
PyPI), serving the same function (a copy of tests/fixture, built by each tool's own cargo), in
one interleaved run:

- the warm invoke round trip through each tool's Invoke API (one keep-alive client, blocks of
  100 invocations alternating between the two, the first 50 of each side dropped as warm-up);
- the time from saving a one-line change to the first answer of the new build (a client
  invoking all the time; three edits per tool, alternating);
- each tool's own resident memory (VmRSS, then VmHWM, of the tool's process alone: not cargo's,
  not the function's) after the run, after a burst of 200 invocations 10 at once, and once
  idle (lambda-lite with `--idle-timeout 5`: when it has retired the burst's environments;
  cargo-lambda, which retires none, after the same wait).

Writes size-report/WATCH.md. Usage: python3 size-report/watch_bench.py [INVOKES]
(default 2000 per tool). Installs cargo-lambda into target/cargo-lambda when missing and
builds cargo-lambda-lite (release, watch only).
"""
import http.client
import json
from concurrent.futures import ThreadPoolExecutor
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "watch-bench")
INVOKES = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
CARGO_LAMBDA_VERSION = "1.9.2"


def step(text):
    print(f"watch_bench: [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def cargo_lambda():
    found = shutil.which("cargo-lambda")
    if found:
        return found
    venv = os.path.join(ROOT, "target", "cargo-lambda")
    exe = os.path.join(venv, "bin", "cargo-lambda")
    if not os.access(exe, os.X_OK):
        step(f"installing cargo-lambda {CARGO_LAMBDA_VERSION} from PyPI into {venv}…")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q",
                        f"cargo-lambda=={CARGO_LAMBDA_VERSION}"], check=True)
    return exe


def our_tool():
    step("building cargo-lambda-lite (release, --features watch)…")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "cargo-lambda-lite",
                    "--no-default-features", "--features", "watch"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "cargo-lambda-lite")


def function_copy(name):
    """A copy of the fixture to edit, depending on this checkout."""
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "src"))
    fixture = os.path.join(ROOT, "tests", "fixture")
    manifest = open(os.path.join(fixture, "Cargo.toml")).read()
    open(os.path.join(d, "Cargo.toml"), "w").write(
        manifest.replace('path = "../.."', f"path = {json.dumps(ROOT)}"))
    shutil.copy(os.path.join(fixture, "Cargo.lock"), d)
    shutil.copy(os.path.join(fixture, "src", "main.rs"), os.path.join(d, "src"))
    return d


class Server:
    def __init__(self, label, cmd, cwd, port, tool_name):
        self.label, self.port, self.cwd = label, port, cwd
        self.log = open(os.path.join(WORK, f"{label}.log"), "w")
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(WORK, f"target-{label}"))
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self.tool_name = tool_name
        self.conn = None

    def invoke(self, payload=b'"env"', timeout=120):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
                self.conn.request("POST", "/2015-03-31/functions/fixture/invocations", payload,
                                  {"content-type": "application/json"})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def wait_ready(self):
        deadline = time.time() + 900
        while time.time() < deadline:
            try:
                status, body = self.invoke()
                if status == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.label} exited: see {self.log.name}")
            time.sleep(0.5)
        raise SystemExit(f"{self.label} never answered: see {self.log.name}")

    def tool_pid(self):
        """The tool's own process (cargo-lambda runs under `cargo`, as `cargo-lambda lambda watch`)."""
        out = subprocess.run(["pgrep", "-s", str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        for p in sorted(int(p) for p in out):
            try:
                argv = open(f"/proc/{p}/cmdline").read().split("\0")
            except OSError:
                continue
            if os.path.basename(argv[0]) == self.tool_name and "watch" in argv:
                return p
        return self.proc.pid

    def memory_kib(self):
        status = open(f"/proc/{self.tool_pid()}/status").read()
        field = lambda k: int(next(l for l in status.splitlines() if l.startswith(k)).split()[1])
        return field("VmRSS:"), field("VmHWM:")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)


def edit(server, n):
    """Saves a one-line change; returns seconds until the first answer of the new build, and
    how many invocations got no answer in 3 s meanwhile (lost across the reload)."""
    main = os.path.join(server.cwd, "src", "main.rs")
    text = open(main).read()
    marker = f"<edit {server.label} {n}>"
    # The answer of the `env` command: its default value.
    anchor = '"FIXTURE_VALUE").unwrap_or_else(|_| "'
    start = text.index(anchor) + len(anchor)
    end = text.index('"', start)
    t0 = time.monotonic()
    open(main, "w").write(text[:start] + marker + text[end:])
    lost = 0
    while time.monotonic() - t0 < 600:
        try:
            server.conn = None  # a fresh connection, so a lost answer is a timeout of its own
            status, body = server.invoke(timeout=3)
            if marker.encode() in body:
                return time.monotonic() - t0, lost
        except OSError:
            lost += 1
        time.sleep(0.02)
    raise SystemExit(f"{server.label}: the edit never answered")


def main():
    os.makedirs(WORK, exist_ok=True)
    ours_exe, theirs_exe = our_tool(), cargo_lambda()
    version = subprocess.run([theirs_exe, "lambda", "--version"], capture_output=True,
                             text=True).stdout.strip()
    ours = Server("lambda-lite", [ours_exe, "watch", "--port", "9461", "--idle-timeout", "5"],
                  function_copy("ours"), 9461, "cargo-lambda-lite")
    step("lambda-lite watch: first build…")
    ours.wait_ready()
    theirs = Server("cargo-lambda", [theirs_exe, "lambda", "watch", "--invoke-port", "9462"],
                    function_copy("theirs"), 9462, "cargo-lambda")
    step("cargo lambda watch: first build…")
    theirs.wait_ready()
    step(f"{INVOKES} warm invocations each, interleaved in blocks of 100…")
    times = {ours.label: [], theirs.label: []}
    for block in range(0, INVOKES + 50, 100):
        for s in (ours, theirs) if block % 200 == 0 else (theirs, ours):
            for _ in range(100):
                t0 = time.perf_counter()
                status, _ = s.invoke(b'"ping"')
                times[s.label].append((time.perf_counter() - t0) * 1e6)
                assert status == 200, (s.label, status)
    step("three saved edits each, alternating…")
    reloads = {ours.label: [], theirs.label: []}
    lost = {ours.label: 0, theirs.label: 0}
    for n in range(3):
        for s in (ours, theirs):
            seconds, missing = edit(s, n)
            reloads[s.label].append(seconds)
            lost[s.label] += missing
            time.sleep(1)
    memory = {s.label: s.memory_kib() for s in (ours, theirs)}
    step("a burst of 200 invocations, 10 at once, then idle…")
    burst, idle = {}, {}
    log = os.path.join(WORK, f"{ours.label}.log")
    retired_before = open(log).read().count("retired")
    for s in (ours, theirs):
        def one(_, port=s.port):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            c.request("POST", "/2015-03-31/functions/fixture/invocations", b'"ping"')
            r = c.getresponse()
            r.read()
            c.close()
            return r.status
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(one, range(200)))
        burst[s.label] = (statuses.count(200), s.memory_kib()[0])
    t0 = time.monotonic()
    while open(log).read().count("retired") == retired_before and time.monotonic() - t0 < 120:
        time.sleep(0.5)
    time.sleep(1)  # every environment of the burst is retired by the same sweep or the next
    waited = time.monotonic() - t0
    for s in (ours, theirs):
        idle[s.label] = s.memory_kib()[0]
    ours.stop()
    theirs.stop()

    def row(label, name):
        t = sorted(times[label][50:])
        p90 = t[int(len(t) * 0.9)]
        rss, hwm = memory[label]
        answered, after_burst = burst[label]
        return (f"| {name} | {statistics.median(t):.0f} | {p90:.0f} | "
                f"{statistics.median(reloads[label]):.2f} ({', '.join(f'{r:.2f}' for r in reloads[label])}) | "
                f"{lost[label]} | {rss / 1024:.1f} / {hwm / 1024:.1f} | "
                f"{after_burst / 1024:.1f} ({answered} of 200 answered) | {idle[label] / 1024:.1f} |")

    m_ours = statistics.median(sorted(times[ours.label][50:]))
    m_theirs = statistics.median(sorted(times[theirs.label][50:]))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    out = f"""# `watch` beside `cargo lambda watch`

Generated by `python3 size-report/watch_bench.py {INVOKES}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},
{os.cpu_count()} vCPU ({cpu}). Both tools serve the same function, a copy of `tests/fixture`
built by each tool's own `cargo build` (debug), in one run: {INVOKES} warm invocations each
through the Invoke API on one keep-alive connection, in blocks of 100 alternating between the two
(the first 50 of each dropped), then three saved one-line edits each, alternating, with a client
invoking all the time on fresh connections (an invocation without an answer in 3 s counts as
unanswered, and the client goes on).

| tool | warm round trip median µs | p90 µs | save → first answer of the new build, s: median (each) | invocations unanswered during the 3 reloads | tool's own RSS now / peak, MiB | RSS after a burst of 200, 10 at once, MiB | RSS idle {waited:.0f} s later, MiB |
|---|---|---|---|---|---|---|---|
{row(ours.label, "cargo lambda-lite watch (release, --features watch)")}
{row(theirs.label, f"cargo lambda watch ({version}, PyPI wheel)")}

Warm round trip, lambda-lite / cargo-lambda: {m_ours / m_theirs:.2f}. The save → answer time is
mostly cargo's incremental rebuild of the function, the same for both; what differs is what
each tool does around it (lambda-lite: a debounce of 150 ms at most 1 s, the build, the old
environment shut down; cargo-lambda: its file watcher, the build, the function restarted).
lambda-lite ran with `--idle-timeout 5`, so the burst's environments were retired once idle
(the default is 300 s, as Lambda keeps an idle environment for minutes); cargo-lambda retires
none.
"""
    open(os.path.join(ROOT, "size-report", "WATCH.md"), "w").write(out)
    print(out)


if __name__ == "__main__":
    main()
