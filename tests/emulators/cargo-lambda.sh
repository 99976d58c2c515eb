#!/usr/bin/env bash
# The examples under cargo-lambda's emulator: `cargo lambda watch` serves the Runtime API as
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
watch() { # args… ; starts the emulator and waits until it answers
  cargo lambda watch --invoke-port "$port" "$@" >"$log" 2>&1 &
  watcher=$!
  for _ in $(seq 1 120); do
    if cargo lambda invoke -P "$port" --data-ascii '"ping"' >/dev/null 2>&1; then return; fi
    sleep 1
  done
  cat "$log"; echo "cargo-lambda.sh: the emulator did not come up"; exit 1
}
stop() { kill "$watcher" 2>/dev/null || true; pkill -f "cargo-lambda lambda watch --invoke-port $port" || true; wait 2>/dev/null || true; }
trap stop EXIT

watch --example echo
for size in 17 102400 1048576; do
  payload="\"$(head -c $((size - 2)) /dev/zero | tr '\0' x)\""
  printf '%s' "$payload" > "$log.event"
  got=$(cargo lambda invoke -P "$port" --data-file "$log.event")
  check "echo answers a $size B event" "$payload" "$got"
done
sleep 6
check "echo answers after a 6 s idle gap" '{"after":"gap"}' "$(cargo lambda invoke -P "$port" --data-ascii '{"after":"gap"}')"
stop

watch --manifest-path tests/fixture/Cargo.toml --env-var FIXTURE_MODE=echo
err=$(cargo lambda invoke -P "$port" --data-ascii '"fail"' 2>&1 || true)
case "$err" in *Function.Failed*"failed on purpose"*) echo "ok   a handler error comes back as the error JSON" ;;
  *) echo "FAIL handler error: $err"; fail=1 ;; esac
check "the fixture serves on after an error" '"after"' "$(cargo lambda invoke -P "$port" --data-ascii '"after"')"
stop
rm -f "$log" "$log.event"
exit $fail
