#!/usr/bin/env bash
# Regenerates size-report/REPORT.md: builds lambda-lite's candidates and the official crates'
# counterparts (lambda_runtime, its streaming and run_concurrent, lambda-extension, the AWS SDK
# function on both) and minlambda and the C floor, in the same configurations, then measures
# them interleaved in one run with cargo-lambda-lite's benchmarks.
# Usage: cargo lambda-lite report  (or ./build.sh --report, or size-report/run.sh)
# Env: SPAWNS (default 201), WARM (default 2000), STREAM_MIB (default 100); SMOKE=1 makes a tiny
# report of the same machinery (lambda-lite's echo and json echo beside the C floor, the size
# table, the bench table, the byte breakdown) in target/report/REPORT-smoke.md, for the tests.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$root/target/report"
mkdir -p "$work/bin"
spawns=${SPAWNS:-201}
warm=${WARM:-2000}
stream_mib=${STREAM_MIB:-100}
musl=x86_64-unknown-linux-musl
step() { echo "run.sh: [$(date -u +%H:%M:%S)] $*" >&2; }

need() { # command, Debian package
  command -v "$1" >/dev/null && return
  step "installing $2…"
  { apt-get update -qq && apt-get install -y -qq "$2"; } >&2 || { echo "run.sh: need $1 (apt-get install $2)" >&2; exit 1; }
}
need musl-gcc musl-tools
need zip zip
need curl curl
rustup target list --installed | grep -qx "$musl" || rustup target add "$musl"
smoke=${SMOKE:-}
[ -n "$smoke" ] || python3 -c "import moto.server, boto3, flask" 2>/dev/null || {
  step "installing moto[server] (the local DynamoDB of the AWS SDK comparison)…"
  python3 -m pip install --quiet 'moto[server]' || { echo "run.sh: need moto (python3 -m pip install 'moto[server]')" >&2; exit 1; }
}

if [ -n "$smoke" ] && [ -n "${LAMBDA_LITE_TOOL:-}" ]; then
  tool=$LAMBDA_LITE_TOOL # the tool that runs this (cargo lambda-lite report)
else
  step "building cargo-lambda-lite (release, without deploy: the benchmarks run in it)"
  cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p cargo-lambda-lite --no-default-features # the benchmarks need no AWS SDK
  tool="$root/target/release/cargo-lambda-lite"
fi

size_profile() { # panic mode → the size profile, as cargo lambda-lite build passes it
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
  export CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_PANIC=$1
}
default_profile() {
  unset CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS \
        CARGO_PROFILE_RELEASE_STRIP CARGO_PROFILE_RELEASE_DEBUG CARGO_PROFILE_RELEASE_PANIC
}
rows=()   # name|config|binary|deps
add() { rows+=("$1|$2|$3|$4"); }
deps_of() { # manifest → number of normal dependencies (unique crates, the package itself excluded)
  (cd "$(dirname "$1")" && cargo tree -e normal --prefix none --target "$musl" --format '{p}' 2>/dev/null |
    awk '{print $1}' | sort -u | wc -l | awk '{print $1 - 1}')
}
build() { # label manifest kind name config target [RUSTFLAGS] [features]
  local label=$1 manifest=$2 kind=$3 name=$4 config=$5 target=$6 flags=${7:-} features=${8:-}
  local dir="$work/build/$label"
  step "building $label"
  CC_x86_64_unknown_linux_musl=musl-gcc RUSTFLAGS="$flags" cargo build --quiet --release --manifest-path "$manifest" \
    --target "$target" --target-dir "$dir" "--$kind" "$name" ${features:+--features "$features"}
  local out="$dir/$target/release/$name"
  [ "$kind" = example ] && out="$dir/$target/release/examples/$name"
  cp "$out" "$work/bin/$label"
  strip -s "$work/bin/$label"
  add "$label" "$config" "$work/bin/$label" "$(deps_of "$manifest")"
}

zip_size() { # deterministic zip of the binary named bootstrap
  local tmp; tmp=$(mktemp -d)
  cp "$1" "$tmp/bootstrap"; TZ=UTC touch -t 198001010000 "$tmp/bootstrap"
  (cd "$tmp" && zip -q -X -9 b.zip bootstrap && stat -c %s b.zip)
  rm -rf "$tmp"
}
b() { echo "$work/bin/$1"; }
size_table() { # the Size section's table, of every row added so far
  echo "| binary | configuration | stripped B | zip -9 B | normal deps |"
  echo "|---|---|--:|--:|--:|"
  for row in "${rows[@]}"; do
    IFS='|' read -r name config bin deps <<<"$row"
    echo "| $name | $config | $(stat -c %s "$bin") | $(zip_size "$bin") | $deps |"
  done
}
unstripped() { # label manifest kind name [features]: a build with symbols, for bloat.py
  local label=$1 manifest=$2 kind=$3 name=$4 features=${5:-} src
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --quiet --release --manifest-path "$manifest" --target $musl \
    --target-dir "$work/build/$label-syms" "--$kind" "$name" ${features:+--features "$features"}
  if [ "$kind" = example ]; then src="$work/build/$label-syms/$musl/release/examples/$name"; else src="$work/build/$label-syms/$musl/release/$name"; fi
  cp "$src" "$work/bin/$label-syms"
}

lite="$root/Cargo.toml" official="$here/official/Cargo.toml" minl="$here/minlambda/Cargo.toml"
bench_pkg="$here/lite-bench/Cargo.toml" more="$here/official-more/Cargo.toml"
sdk_lite="$root/examples/aws-sdk/Cargo.toml" sdk_official="$here/official-aws-sdk/Cargo.toml"
aws_lite="$root/examples/dynamodb/Cargo.toml"
if [ -n "$smoke" ]; then
  size_profile abort
  build lite-echo-abort "$lite" example echo "musl, size profile, panic=abort" $musl
  build lite-json-echo-abort "$lite" example json_echo "musl, size profile, panic=abort, feature json" $musl "" json
  musl-gcc -Os -s -static "$here/c-floor/floor.c" -o "$work/bin/c-floor"
  add c-floor "C, musl-gcc -Os -static (the floor)" "$work/bin/c-floor" 0
  step "measuring (smoke: $spawns spawns, $warm invocations)…"
  bench=$("$tool" bench --reference c-floor --spawns "$spawns" --warm "$warm" --candidate "lite-echo-abort=$(b lite-echo-abort)" \
    --candidate "lite-json-echo-abort=$(b lite-json-echo-abort)" --candidate "c-floor=$(b c-floor)")
  unstripped lite-echo "$lite" example echo
  bloat=$(python3 "$here/bloat.py" "lite-echo-abort=$work/bin/lite-echo-syms")
  default_profile
  { echo "# Size and cold-start report (smoke)"; echo; echo "## Size"; echo; size_table; echo
    echo "## Cold start, warm cycle, memory"; echo; echo "$bench"; echo
    echo "## Where the bytes go"; echo; echo "$bloat"; } > "$work/REPORT-smoke.md"
  step "wrote $work/REPORT-smoke.md"
  exit 0
fi

for panic in abort unwind; do
  size_profile $panic
  build "lite-echo-$panic" "$lite" example echo "musl, size profile, panic=$panic" $musl
  build "lite-hello-$panic" "$lite" example hello "musl, size profile, panic=$panic" $musl
  build "lite-json-echo-$panic" "$lite" example json_echo "musl, size profile, panic=$panic, feature json" $musl "" json
  build "official-echo-$panic" "$official" bin official-echo "musl, size profile, panic=$panic" $musl
  build "minlambda-echo-$panic" "$minl" bin minlambda-echo "musl, size profile, panic=$panic" $musl
done
size_profile abort
build lite-http-api-abort "$lite" example http_api "musl, size profile, panic=abort, feature json" $musl "" json
build lite-stream-example "$lite" example stream "musl, size profile, panic=abort (examples/stream.rs, SSE)" $musl
build lite-stream-bench "$bench_pkg" bin stream-bench "musl, size profile, panic=abort" $musl
build official-stream "$more" bin official-stream "musl, size profile, panic=abort" $musl
build lite-concurrent "$bench_pkg" bin concurrent-sleep "musl, size profile, panic=abort" $musl
build official-concurrent "$more" bin official-concurrent "musl, size profile, panic=abort, concurrency-tokio" $musl
build lite-shutdown-echo "$bench_pkg" bin shutdown-echo "musl, size profile, panic=abort (echo + shutdown hook)" $musl
build lite-http "$bench_pkg" bin http-hello "musl, size profile, panic=abort, feature http" $musl
build official-http "$more" bin official-http "musl, size profile, panic=abort (lambda_http)" $musl
build lite-sqs-batch "$bench_pkg" bin sqs-batch "musl, size profile, panic=abort, feature events" $musl
build official-sqs-batch "$more" bin official-sqs-batch "musl, size profile, panic=abort (aws_lambda_events)" $musl
build lite-extension "$lite" example extension "musl, size profile, panic=abort, feature extension" $musl "" extension
build lite-telemetry "$lite" example telemetry "musl, size profile, panic=abort, feature extension" $musl "" extension
build official-extension "$more" bin official-extension "musl, size profile, panic=abort (lambda-extension)" $musl
build lite-echo-log "$lite" example echo "musl, size profile, panic=abort, feature log (bridge)" $musl "" log
build lite-echo-tracing "$lite" example echo "musl, size profile, panic=abort, feature tracing (bridge)" $musl "" tracing
build lite-dynamodb "$aws_lite" bin dynamodb-get-item "musl, size profile, panic=abort (examples/dynamodb, feature aws)" $musl
build lite-aws-sdk "$sdk_lite" bin aws-sdk-get-item "musl, size profile, panic=abort (examples/aws-sdk)" $musl
build official-aws-sdk "$sdk_official" bin official-aws-sdk "musl, size profile, panic=abort" $musl
default_profile
build lite-stream-bench-release "$bench_pkg" bin stream-bench "musl, default release" $musl
build official-stream-release "$more" bin official-stream "musl, default release" $musl
gnu=x86_64-unknown-linux-gnu
build lite-echo-gnu "$lite" example echo "gnu, default release (reference)" $gnu
build lite-hello-gnu "$lite" example hello "gnu, default release (reference)" $gnu
build lite-json-echo-gnu "$lite" example json_echo "gnu, default release (reference), feature json" $gnu "" json
build official-echo-gnu "$official" bin official-echo "gnu, default release (reference)" $gnu
build minlambda-echo-gnu "$minl" bin minlambda-echo "gnu, default release (reference)" $gnu
musl-gcc -Os -s -static "$here/c-floor/floor.c" -o "$work/bin/c-floor"
add c-floor "C, musl-gcc -Os -static (the floor)" "$work/bin/c-floor" 0
nightly_note="not built (no nightly toolchain)"
if cargo +nightly --version >/dev/null 2>&1; then
  step "building lite-echo-nightly"
  "$tool" build --nightly --example echo --manifest-path "$lite" --out "$work/nightly" >/dev/null
  cp "$work/nightly/echo/bootstrap" "$work/bin/lite-echo-nightly"
  add lite-echo-nightly "musl, cargo lambda-lite build --nightly (build-std, immediate-abort)" "$work/bin/lite-echo-nightly" 1
  nightly_note=""
fi

# Levers, measured on the echo bootstrap (musl, size profile, panic=abort).
size_profile abort
build lever-static-reloc "$lite" example echo "lever: -C relocation-model=static" $musl "-C relocation-model=static"
lever_dir="$work/lever-httparse-std"
rm -rf "$lever_dir" && mkdir -p "$lever_dir"
cp -r "$root/src" "$root/examples" "$root/README.md" "$root/Cargo.toml" "$root/Cargo.lock" "$lever_dir/"
python3 - "$lever_dir/Cargo.toml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('httparse = { version = "1.10", default-features = false }', 'httparse = "1.10"')
s = re.sub(r'(?m)^members = \[.*\]\n', '', s)
s = re.sub(r'(?ms)^\[\[test\]\]\n.*?\n\n', '', s)
open(p, "w").write(s)
PY
build lever-httparse-std "$lever_dir/Cargo.toml" example echo "lever: httparse default features (SIMD + CPU detection)" $musl
build lever-dns "$lite" example echo "lever: feature dns (getaddrinfo linked)" $musl "" dns
default_profile

# Unstripped twins, for the symbol breakdown (same profile, strip off).
step "building unstripped copies for the byte breakdown"
size_profile abort
for spec in "lite-echo|$lite|example|echo|" "lite-json-echo|$lite|example|json_echo|json" "minlambda-echo|$minl|bin|minlambda-echo|"; do
  IFS='|' read -r label manifest kind name features <<<"$spec"
  unstripped "$label" "$manifest" "$kind" "$name" "$features"
done
default_profile
bloat=$(python3 "$here/bloat.py" "lite-echo-abort=$work/bin/lite-echo-syms" "lite-json-echo-abort=$work/bin/lite-json-echo-syms" \
  "minlambda-echo-abort=$work/bin/minlambda-echo-syms")


cands=()
for name in lite-echo-abort lite-echo-unwind lite-hello-abort lite-json-echo-abort lite-http-api-abort lite-echo-nightly official-echo-abort official-echo-unwind \
            minlambda-echo-abort minlambda-echo-unwind lite-echo-gnu official-echo-gnu minlambda-echo-gnu c-floor lever-static-reloc; do
  [ -f "$work/bin/$name" ] && cands+=(--candidate "$name=$work/bin/$name")
done
cands+=(--candidate "lite-concurrent-1=$(b lite-concurrent)" --env AWS_LAMBDA_MAX_CONCURRENCY=1)
cands+=(--candidate "lite-concurrent-8=$(b lite-concurrent)" --env AWS_LAMBDA_MAX_CONCURRENCY=8)
step "measuring cold start and warm cycle ($spawns spawns, $warm invocations each, interleaved)…"
bench=$("$tool" bench --reference official-echo-abort --spawns "$spawns" --warm "$warm" "${cands[@]}")

step "measuring the HTTP function on both runtimes (a Function URL request)…"
http_bench=$("$tool" bench --reference official-http --spawns "$spawns" --warm "$warm" --event-file "$root/events/http_api.json" \
  --candidate "lite-http=$(b lite-http)" --candidate "official-http=$(b official-http)" \
  --candidate "lite-http-api=$(b lite-http-api-abort)")

step "measuring the SQS consumer on both runtimes, and event parsing…"
sqs_bench=$("$tool" bench --reference official-sqs-batch --spawns "$spawns" --warm "$warm" \
  --event-file "$root/src/testkit/samples/sqs.json" \
  --candidate "lite-sqs-batch=$(b lite-sqs-batch)" --candidate "official-sqs-batch=$(b official-sqs-batch)")
default_profile
parse_bench=$(cargo run --quiet --release --manifest-path "$here/events-bench/Cargo.toml" --target-dir "$work/build/events-bench" -- 200)
size_profile abort

step "measuring the shutdown hook's cost at start-up…"
shutdown_bench=$("$tool" bench-init --spawns "$spawns" --candidate "lite-echo-abort=$(b lite-echo-abort)" \
  --candidate "lite-shutdown-echo=$(b lite-shutdown-echo)")

step "measuring streams ($stream_mib MiB in 64 KiB writes, and small streams)…"
stream_bench=$("$tool" bench-stream --mib "$stream_mib" --runs 9 --small 200 \
  --candidate "lite-stream-bench=$(b lite-stream-bench)" --candidate "official-stream=$(b official-stream)" \
  --candidate "lite-stream-bench (default release)=$(b lite-stream-bench-release)" \
  --candidate "official-stream (default release)=$(b official-stream-release)")

step "measuring concurrency (5 ms handlers, 1/2/4/8 workers)…"
conc=()
for n in 1 2 4 8; do
  conc+=(--candidate "lite-concurrent=$(b lite-concurrent)" --env "AWS_LAMBDA_MAX_CONCURRENCY=$n")
  conc+=(--candidate "official-concurrent=$(b official-concurrent)" --env "AWS_LAMBDA_MAX_CONCURRENCY=$n")
done
conc_bench=$("$tool" bench-concurrency --invocations 2000 "${conc[@]}")

step "measuring extension start-up…"
ext_log=$(mktemp)
ext_bench=$("$tool" bench-extension --spawns "$spawns" \
  --candidate "lite-extension=$(b lite-extension)" --env "EXTENSION_LOG=$ext_log" \
  --candidate "official-extension=$(b official-extension)" --env "EXTENSION_LOG=$ext_log")
rm -f "$ext_log"

step "measuring the AWS SDK function on both runtimes against moto…"
moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$moto_port" && break; sleep 0.1; done
python3 - "$moto_port" <<'PY'
import boto3, sys
d = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test")
d.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
               AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
d.put_item(TableName="orders", Item={"id": {"S": "k1"}, "name": {"S": "first order"}})
PY
sdk_env=(--env TABLE=orders --env "AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port" --env AWS_REGION=us-east-1
         --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test --env AWS_SESSION_TOKEN=test)
sdk_bench=$("$tool" bench --reference official-aws-sdk --spawns "$(( spawns / 4 + 1 ))" --warm 500 --event '{"id":"k1"}' \
  --first-invocation --candidate "lite-dynamodb=$(b lite-dynamodb)" "${sdk_env[@]}" \
  --candidate "lite-aws-sdk=$(b lite-aws-sdk)" "${sdk_env[@]}" --candidate "official-aws-sdk=$(b official-aws-sdk)" "${sdk_env[@]}")
kill $moto_pid 2>/dev/null || true

# Script handlers: script-runtime in shell and executable mode against the classic curl-loop
# bootstrap, on the same local Runtime API, the AWS tutorial's echo handler.
step "building and measuring script handlers…"
"$tool" build --manifest-path "$root/script-runtime/Cargo.toml" --bin script-runtime --out "$work/script" >/dev/null
scripts="$root/tests/fixtures/scripts"
script_bench=$("$tool" bench --reference classic-curl-loop --spawns "$(( spawns / 4 + 1 ))" --warm 500 \
  --candidate "classic-curl-loop=$scripts/classic-bootstrap.sh" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=function.handler \
  --candidate "script-runtime-shell=$work/script/script-runtime/bootstrap" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=function.handler \
  --candidate "script-runtime-exec=$work/script/script-runtime/bootstrap" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=echo-handler.sh)

instr=""
if command -v valgrind >/dev/null; then
  step "counting start-up instructions (valgrind)…"
  for name in lite-echo-abort lite-echo-unwind lite-json-echo-abort lite-echo-nightly lever-static-reloc lite-shutdown-echo official-echo-abort minlambda-echo-abort c-floor; do
    [ -f "$work/bin/$name" ] || continue
    "$tool" serve-one "$work/bin/$name" --wrapper "$(command -v valgrind) --tool=callgrind --callgrind-out-file=$work/cg.out"
    instr+="| $name | $(sed -n 's/^totals: //p' "$work/cg.out") |"$'\n'
  done
fi

{
  echo "# Size and cold-start report"
  echo
  echo "Regenerate with \`cargo lambda-lite report\` (or \`./build.sh --report\`; about 40 minutes). This run: $(date -u '+%Y-%m-%d %H:%M UTC') on"
  echo "$(nproc) × $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(rustc --version)."
  echo "Absolute times on this 2-core machine are noisy; compare the ratios, which come from one interleaved run."
  echo
  echo "## Size"
  echo
  size_table
  [ -n "$nightly_note" ] && echo && echo "Nightly: $nightly_note."
  echo
  echo "## Cold start, warm cycle, memory"
  echo
  echo "Cold start = exec → first \`GET /next\` received by the local Runtime API (median and p90 of $spawns spawns"
  echo "per candidate, candidates interleaved A B C …). Warm cycle = event sent → the next \`GET /next\` received"
  echo "(response POST and its 202 included), median of $warm invocations on one process, in blocks of 100"
  echo "interleaved across candidates. RSS = VmHWM. Ratios are to \`official-echo-abort\`. \`lite-concurrent-1\` and"
  echo "\`lite-concurrent-8\` are one binary (\`run_concurrent\`) with \`AWS_LAMBDA_MAX_CONCURRENCY\` 1 and 8."
  echo
  echo "$bench"
  echo
  echo "## Streaming"
  echo
  echo "A ${stream_mib} MiB stream in 64 KiB writes after an HTTP prelude through the local Runtime API (9 runs each), and 200"
  echo "small streams (the prelude and one short write): time from the event sent to the first byte of the body after the"
  echo "prelude's eight NULs, and how many took over 20 ms (a delayed-ACK stall). Interleaved. Compare the small streams'"
  echo "first byte with the warm cycles above. lambda-lite: size-report/lite-bench \`stream-bench\`; official:"
  echo "\`lambda_runtime::streaming\` (size-report/official-more)."
  echo
  echo "$stream_bench"
  echo
  echo "## Lambda Managed Instances (several invocations at once)"
  echo
  echo "2,000 invocations of a handler that sleeps 5 ms, with as many events outstanding as the candidate has workers"
  echo "(\`AWS_LAMBDA_MAX_CONCURRENCY\`); lambda-lite's \`run_concurrent\` (threads) and the official"
  echo "\`run_concurrent\` (tokio tasks), each alone on the machine while it runs."
  echo
  echo "$conc_bench"
  echo
  echo "## HTTP functions"
  echo
  echo "The same HTTP function (greets \`?name=\`, answers JSON with a cookie) on lambda-lite's \`http\` feature"
  echo "(size-report/lite-bench \`http-hello\`) and on \`lambda_http\` (size-report/official-more \`official-http\`), and"
  echo "examples/http_api.rs (hand-written serde structs, payload 2.0 only), each sent events/http_api.json (a Function"
  echo "URL request) for the warm cycle. Interleaved; ratios to \`official-http\`."
  echo
  echo "$http_bench"
  echo
  echo "## Queues and streams: an SQS consumer with partial batch responses"
  echo
  echo "The same consumer (a message whose body starts with \\`fail\\` is reported in \\`batchItemFailures\\`) on"
  echo "lambda-lite's \\`events\\` (size-report/lite-bench \\`sqs-batch\\`) and on lambda_runtime with aws_lambda_events'"
  echo "SQS types and the response built by hand (size-report/official-more \\`official-sqs-batch\\`), each sent"
  echo "src/testkit/samples/sqs.json. Interleaved; ratios to \\`official-sqs-batch\\`."
  echo
  echo "$sqs_bench"
  echo
  echo "From bytes to typed records (size-report/events-bench, default release profile, gnu): one parse of each batch"
  echo "with lambda-lite's types and with aws_lambda_events' through serde_json; allocations counted by a global"
  echo "allocator (reallocations included); both read the same bodies and data. Then what the test kit costs a unit test."
  echo
  echo "$parse_bench"
  echo
  echo "## The graceful-shutdown hook at start-up"
  echo
  echo "Exec → first \`GET /next\` through the full local API (which answers the internal extension's registration),"
  echo "the echo and the same echo with \`spawn_graceful_shutdown_handler\`, interleaved."
  echo
  echo "$shutdown_bench"
  echo
  echo "## Extensions"
  echo
  echo "Exec → the extension's first \`/extension/event/next\` (what it adds to the function's \`Init Duration\`):"
  echo "examples/extension.rs and the same extension on the official \`lambda-extension\`, interleaved."
  echo
  echo "$ext_bench"
  echo
  echo "## Calling AWS: DynamoDB GetItem, lambda-lite's client and the AWS SDK for Rust"
  echo
  echo "examples/dynamodb (lambda-lite's own blocking client, feature \`aws\`: nothing built in init, the environment read"
  echo "and the connection opened by the first call), examples/aws-sdk (lambda-lite, current-thread tokio built in init,"
  echo "\`block_on\` in the handler) and size-report/official-aws-sdk (lambda_runtime, \`#[tokio::main]\` multi-thread), the"
  echo "same contract, against moto's DynamoDB on 127.0.0.1. The SDKs' cold start includes loading the config and"
  echo "building the client; the second table times each cold start's first invocation, where the lazy client does its"
  echo "setup (the GetItem round trip to moto included in both tables). Ratios to \`official-aws-sdk\`."
  echo
  echo "$sdk_bench"
  echo
  echo "## Script handlers (script-runtime)"
  echo
  echo 'The AWS tutorial'"'"'s `function.sh` echo handler (`_HANDLER=function.handler`) under the classic curl-loop'
  echo "bootstrap (tests/fixtures/scripts/classic-bootstrap.sh) and under script-runtime's shell mode; the same handler as"
  echo 'an executable (`echo-handler.sh`) under its executable mode. Cold start includes sourcing the file. Same'
  echo "measurements as above, ratios to the curl loop; script-runtime's bootstrap is $(stat -c %s "$work/script/script-runtime/bootstrap") B stripped."
  echo
  echo "$script_bench"
  echo
  echo "## Where the bytes go"
  echo
  echo "Symbol sizes (\`nm -S\`) of unstripped builds with the same profile (musl, size profile, panic=abort), grouped by"
  echo "origin (size-report/bloat.py). The stripped file adds section alignment and relocations (static-pie) to these."
  echo
  echo "$bloat"
  if [ -n "$instr" ]; then
    echo
    echo "## Instructions from exec to the first request"
    echo
    echo "\`valgrind --tool=callgrind\`, user-space instructions from exec until SIGTERM arrives in the first \`GET /next\`"
    echo "(deterministic; kernel work not counted)."
    echo
    echo "| binary | instructions (Ir) |"
    echo "|---|--:|"
    printf '%s' "$instr"
  fi
  echo
  cat "$here/LEVERS.md"
} > "$here/REPORT.md"
step "wrote $here/REPORT.md"
