#!/usr/bin/env bash
# The test fixture (echo, errors, streams) under cargo-lambda's emulator: `cargo lambda watch` serves the Runtime API as
# http://[::]:PORT/.rt/<function>, answers 200 instead of 202 and copies the invoker's framing;
# `cargo lambda invoke` sends the events. Not part of `cargo test` (it compiles the examples with
# its own `cargo run`); run it by hand: tests/emulators/cargo-lambda.sh
#
# Installs cargo-lambda when it is missing: the prebuilt binary from PyPI into
# target/cargo-lambda (seconds), else `cargo install cargo-lambda --locked` (~25 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-lambda >/dev/null; then
  venv=target/cargo-lambda
  if [ ! -x "$venv/bin/cargo-lambda" ]; then
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q cargo-lambda==1.9.2; }; then
      echo "cargo-lambda.sh: no pip; building cargo-lambda from source (~25 minutes)…" >&2
      cargo install cargo-lambda --locked
    fi
  fi
  export PATH="$PWD/$venv/bin:$PATH"
fi

port=${PORT:-9377}
log=$(mktemp)
fail=0
check() { # what, expected, actual
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected ${2:0:120}, got ${3:0:120}"; fail=1; fi
}
# `invoke ARGS…`: `cargo lambda invoke` for the function being watched (named, since the
# workspace has several binaries and the emulator then has no default function).
invoke() { cargo lambda invoke "$fn" -P "$port" "$@"; }
watch() { # args… ; starts the emulator and waits until it answers
  cargo lambda watch --invoke-port "$port" "$@" >"$log" 2>&1 &
  watcher=$!
  for _ in $(seq 1 120); do
    # Up once the function answers, even with the 500 it gives every streamed answer.
    if probe=$(invoke --data-ascii '"ping"' 2>&1); then return; fi
    case "$probe" in *httpstatuses.com/500*|*errorMessage*) return ;; esac
    sleep 1
  done
  cat "$log"; echo "cargo-lambda.sh: the emulator did not come up"; exit 1
}
stop() { kill "$watcher" 2>/dev/null || true; pkill -f "cargo-lambda lambda watch --invoke-port $port" || true; wait 2>/dev/null || true; }
trap stop EXIT

# The fixture is a package of its own with one binary: in this workspace, with several
# binaries, `cargo lambda watch` sees only those and no example.
fn=fixture; watch --manifest-path tests/fixture/Cargo.toml --env-var FIXTURE_MODE=echo
for size in 17 102400 1048576; do
  payload="\"$(head -c $((size - 2)) /dev/zero | tr '\0' x)\""
  printf '%s' "$payload" > "$log.event"
  got=$(invoke --data-file "$log.event")
  check "the echo answers a $size B event" "$payload" "$got"
done
sleep 6
check "the echo answers after a 6 s idle gap" '{"after":"gap"}' "$(invoke --data-ascii '{"after":"gap"}')"
err=$(invoke --data-ascii '"fail"' 2>&1 || true)
case "$err" in *Function.Failed*"failed on purpose"*) echo "ok   a handler error comes back as the error JSON" ;;
  *) echo "FAIL handler error: $err"; fail=1 ;; esac
check "the fixture serves on after an error" '"after"' "$(invoke --data-ascii '"after"')"
stop

# A streamed answer (chunked POST, Response-Mode: streaming). cargo-lambda 1.9 accepts the
# runtime's streamed POST (200) but answers its invoker 500 for any streamed response, so
# `cargo lambda invoke` fails; the check records which of the two it saw, and asserts what is
# ours: the runtime's POST was accepted and the process serves the next event.
fn=fixture; watch --manifest-path tests/fixture/Cargo.toml --env-var FIXTURE_MODE=stream
for attempt in first second; do
  got=$(invoke --data-ascii '"abcdef"' 2>&1 || true)
  case "$got" in
    '"abcdef"') echo "ok   the $attempt streamed answer comes back whole" ;;
    *500*|*errorMessage*) echo "ok   the $attempt streamed answer: cargo-lambda answers its invoker 500 (known, see README)" ;;
    *) echo "FAIL the $attempt streamed answer: ${got:0:300}"; fail=1 ;;
  esac
done
if grep -qi 'panicked\|Runtime\.\|error sending' "$log"; then
  echo "FAIL the runtime reported a problem while streaming:"; tail -20 "$log"; fail=1
else
  echo "ok   the runtime's streamed posts were accepted and it served on"
fi
stop
rm -f "$log" "$log.event"
exit $fail
