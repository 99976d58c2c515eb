#!/usr/bin/env bash
# build.sh — this repository's one-command entry, a thin wrapper over `cargo lambda-lite`
# (cargo-lambda-lite/, built on first use):
#
#   ./build.sh                          every example → target/lambda/<name>/bootstrap{,.zip}
#   ./build.sh --invoke-events          … then run each on a local Runtime API with its own
#                                       events/<name>.json, with REPORT lines
#   ./build.sh --invoke '{"a":1}'       … or each with this one event
#   ./build.sh --example echo --check-budget     check size-report/budgets.toml
#   ./build.sh --report                 regenerate size-report/REPORT.md (tens of minutes)
#
# Every other option is `cargo lambda-lite build`'s (`./build.sh --help` lists them):
# --bin/--example, --manifest-path, --arm64, --panic abort|unwind, --layer, --extension,
# --nightly, --no-pie, --features, --out, --invoke/--invoke-file/--invoke-stdin/--invoke-events,
# --env K=V, --handler, --task-root, --timeout, --memory.
#
# Exit status: 0 every event was answered; 1 something could not be built or run; 2 the
# command line was not understood; 3 a function answered an event with an error, timed out or
# crashed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v cargo >/dev/null || { echo "build.sh: cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
args=()
report=0
for a in "$@"; do
  case "$a" in
    --report) report=1 ;;
    --check-budget) args+=(--check-budget "$here/size-report/budgets.toml") ;;
    *) args+=("$a") ;;
  esac
done
tool=(cargo run --quiet --manifest-path "$here/Cargo.toml" -p cargo-lambda-lite --)
if [ "$report" = 1 ]; then
  exec "${tool[@]}" report --repo "$here"
fi
exec "${tool[@]}" build "${args[@]}"
