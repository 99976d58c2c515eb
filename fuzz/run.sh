#!/usr/bin/env bash
# Runs both fuzz targets side by side for SECONDS (default 60) each and prints libFuzzer's
# final statistics. Installs cargo-fuzz and the nightly toolchain pieces it needs when missing.
# Crashes land in fuzz/artifacts/<target>/; turn each into a test in src/fuzz.rs.
#   fuzz/run.sh 1800      # the 30-minute run quoted in TESTING.md
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
cargo +nightly --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/response_parser corpus/client
# Seeds: real /next responses (Content-Length, chunked with extensions and trailers).
printf 'HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: 8476a536\r\nLambda-Runtime-Deadline-Ms: 1542409706888\r\nContent-Length: 17\r\n\r\n{"hello":"world"}' > corpus/response_parser/cl
printf 'HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n' > corpus/response_parser/chunked
for f in corpus/response_parser/*; do printf '\x03\x00\x07\x01' | cat - "$f" > "corpus/client/$(basename "$f")"; done
pids=()
for target in response_parser client; do
  cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 \
    > "fuzz-$target.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for target in response_parser client; do
  echo "== $target"
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|cov: " "fuzz-$target.log" | tail -5
  ls "artifacts/$target" 2>/dev/null | sed 's/^/crash: /' || true
done
exit $status
