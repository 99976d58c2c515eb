#!/usr/bin/env bash
# Regenerates size-report/REPORT.md: builds lambda-lite's examples, the same echo on the
# official lambda_runtime and on minlambda, and the C floor, in the same configurations, then
# measures them interleaved in one run. Usage: ./build.sh --report  (or size-report/run.sh)
# Env: SPAWNS (default 201), WARM (default 2000).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work="$root/target/report"
mkdir -p "$work/bin"
spawns=${SPAWNS:-201}
warm=${WARM:-2000}
musl=x86_64-unknown-linux-musl

need() { # command, Debian package
  command -v "$1" >/dev/null && return
  echo "run.sh: installing $2…" >&2
  { apt-get update -qq && apt-get install -y -qq "$2"; } >&2 || { echo "run.sh: need $1 (apt-get install $2)" >&2; exit 1; }
}
need musl-gcc musl-tools
need zip zip
need curl curl
rustup target list --installed | grep -qx "$musl" || rustup target add "$musl"

size_profile() { # panic mode → the size profile, as build.sh passes it
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
  echo "run.sh: building $label" >&2
  RUSTFLAGS="$flags" cargo build --quiet --release --manifest-path "$manifest" --target "$target" --target-dir "$dir" \
    "--$kind" "$name" ${features:+--features "$features"}
  local out="$dir/$target/release/$name"
  [ "$kind" = example ] && out="$dir/$target/release/examples/$name"
  cp "$out" "$work/bin/$label"
  strip -s "$work/bin/$label"
  add "$label" "$config" "$work/bin/$label" "$(deps_of "$manifest")"
}

lite="$root/Cargo.toml" official="$here/official/Cargo.toml" minl="$here/minlambda/Cargo.toml"
for panic in abort unwind; do
  size_profile $panic
  build "lite-echo-$panic" "$lite" example echo "musl, size profile, panic=$panic" $musl
  build "lite-hello-$panic" "$lite" example hello "musl, size profile, panic=$panic" $musl
  build "lite-json-echo-$panic" "$lite" example json_echo "musl, size profile, panic=$panic, feature json" $musl "" json
  build "official-echo-$panic" "$official" bin official-echo "musl, size profile, panic=$panic" $musl
  build "minlambda-echo-$panic" "$minl" bin minlambda-echo "musl, size profile, panic=$panic" $musl
done
default_profile
gnu=x86_64-unknown-linux-gnu
build lite-echo-gnu "$lite" example echo "gnu, default release (reference)" $gnu
build lite-hello-gnu "$lite" example hello "gnu, default release (reference)" $gnu
build lite-json-echo-gnu "$lite" example json_echo "gnu, default release (reference), feature json" $gnu "" json
size_profile abort
build lite-http-api-abort "$lite" example http_api "musl, size profile, panic=abort, feature json" $musl "" json
default_profile
build official-echo-gnu "$official" bin official-echo "gnu, default release (reference)" $gnu
build minlambda-echo-gnu "$minl" bin minlambda-echo "gnu, default release (reference)" $gnu
musl-gcc -Os -s -static "$here/c-floor/floor.c" -o "$work/bin/c-floor"
add c-floor "C, musl-gcc -Os -static (the floor)" "$work/bin/c-floor" 0
nightly_note="not built (no nightly toolchain)"
if cargo +nightly --version >/dev/null 2>&1; then
  "$root/build.sh" --nightly --example echo --out "$work/nightly" >/dev/null
  cp "$work/nightly/echo/bootstrap" "$work/bin/lite-echo-nightly"
  add lite-echo-nightly "musl, build.sh --nightly (build-std, immediate-abort)" "$work/bin/lite-echo-nightly" 1
  nightly_note=""
fi

# Levers, measured on the echo bootstrap (musl, size profile, panic=abort).
size_profile abort
build lever-static-reloc "$lite" example echo "lever: -C relocation-model=static" $musl "-C relocation-model=static"
lever_dir="$work/lever-httparse-std"
rm -rf "$lever_dir" && mkdir -p "$lever_dir"
cp -r "$root/src" "$root/examples" "$root/README.md" "$root/Cargo.toml" "$root/Cargo.lock" "$lever_dir/"
sed -i 's/^httparse = { version = "1.10", default-features = false }/httparse = "1.10"/' "$lever_dir/Cargo.toml"
build lever-httparse-std "$lever_dir/Cargo.toml" example echo "lever: httparse default features (SIMD + CPU detection)" $musl
RUSTFLAGS="" cargo build --quiet --release --manifest-path "$lite" --target $musl --target-dir "$work/build/lever-dns" --example echo --features dns
cp "$work/build/lever-dns/$musl/release/examples/echo" "$work/bin/lever-dns" && strip -s "$work/bin/lever-dns"
add lever-dns "lever: feature dns (getaddrinfo linked)" "$work/bin/lever-dns" 1
default_profile

# Unstripped twins, for the symbol breakdown (same profile, strip off).
echo "run.sh: building unstripped copies for the byte breakdown" >&2
size_profile abort
export CARGO_PROFILE_RELEASE_STRIP=false
for spec in "lite-echo|$lite|example|echo|" "lite-json-echo|$lite|example|json_echo|json" "minlambda-echo|$minl|bin|minlambda-echo|"; do
  IFS='|' read -r label manifest kind name features <<<"$spec"
  cargo build --quiet --release --manifest-path "$manifest" --target $musl --target-dir "$work/build/$label-syms" \
    "--$kind" "$name" ${features:+--features "$features"}
  if [ "$kind" = example ]; then src="$work/build/$label-syms/$musl/release/examples/$name"; else src="$work/build/$label-syms/$musl/release/$name"; fi
  cp "$src" "$work/bin/$label-syms"
done
default_profile
bloat=$(python3 "$here/bloat.py" "lite-echo-abort=$work/bin/lite-echo-syms" "lite-json-echo-abort=$work/bin/lite-json-echo-syms" \
  "minlambda-echo-abort=$work/bin/minlambda-echo-syms")

zip_size() { # deterministic zip of the binary named bootstrap, as build.sh makes it
  local tmp; tmp=$(mktemp -d)
  cp "$1" "$tmp/bootstrap"; TZ=UTC touch -t 198001010000 "$tmp/bootstrap"
  (cd "$tmp" && zip -q -X -9 b.zip bootstrap && stat -c %s b.zip)
  rm -rf "$tmp"
}

harness="$root/target/harness/release/lambda-harness"
cargo build --quiet --release --manifest-path "$here/harness/Cargo.toml" --target-dir "$root/target/harness"

cands=()
for name in lite-echo-abort lite-echo-unwind lite-hello-abort lite-json-echo-abort lite-http-api-abort lite-echo-nightly official-echo-abort official-echo-unwind \
            minlambda-echo-abort minlambda-echo-unwind lite-echo-gnu official-echo-gnu minlambda-echo-gnu c-floor lever-static-reloc; do
  [ -f "$work/bin/$name" ] && cands+=(--candidate "$name=$work/bin/$name")
done
echo "run.sh: measuring (cold start: $spawns spawns each, warm: $warm invocations each, interleaved)…" >&2
bench=$("$harness" bench --reference official-echo-abort --spawns "$spawns" --warm "$warm" "${cands[@]}")

# Script handlers: script-runtime in shell and executable mode against the classic curl-loop
# bootstrap, on the same local Runtime API, the AWS tutorial's echo handler.
"$root/build.sh" --bin script-runtime --out "$work/script" >/dev/null
scripts="$root/tests/fixtures/scripts"
echo "run.sh: measuring script handlers…" >&2
script_bench=$("$harness" bench --reference classic-curl-loop --spawns "$(( spawns / 4 + 1 ))" --warm 500 \
  --candidate "classic-curl-loop=$scripts/classic-bootstrap.sh" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=function.handler \
  --candidate "script-runtime-shell=$work/script/script-runtime/bootstrap" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=function.handler \
  --candidate "script-runtime-exec=$work/script/script-runtime/bootstrap" --env "LAMBDA_TASK_ROOT=$scripts" --env _HANDLER=echo-handler.sh)

instr=""
if command -v valgrind >/dev/null; then
  for name in lite-echo-abort lite-echo-unwind lite-json-echo-abort lite-echo-nightly lever-static-reloc official-echo-abort minlambda-echo-abort c-floor; do
    [ -f "$work/bin/$name" ] || continue
    "$harness" serve-one "$work/bin/$name" --wrapper "$(command -v valgrind) --tool=callgrind --callgrind-out-file=$work/cg.out"
    instr+="| $name | $(sed -n 's/^totals: //p' "$work/cg.out") |"$'\n'
  done
fi

{
  echo "# Size and cold-start report"
  echo
  echo "Regenerate with \`./build.sh --report\` (about 10 minutes). This run: $(date -u '+%Y-%m-%d %H:%M UTC') on"
  echo "$(nproc) × $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(rustc --version)."
  echo "Absolute times on this 2-core machine are noisy; compare the ratios, which come from one interleaved run."
  echo
  echo "## Size"
  echo
  echo "| binary | configuration | stripped B | zip -9 B | normal deps |"
  echo "|---|---|--:|--:|--:|"
  for row in "${rows[@]}"; do
    IFS='|' read -r name config bin deps <<<"$row"
    echo "| $name | $config | $(stat -c %s "$bin") | $(zip_size "$bin") | $deps |"
  done
  [ -n "$nightly_note" ] && echo && echo "Nightly: $nightly_note."
  echo
  echo "## Cold start, warm cycle, memory"
  echo
  echo "Cold start = exec → first \`GET /next\` received by the local Runtime API (median and p90 of $spawns spawns"
  echo "per candidate, candidates interleaved A B C …). Warm cycle = event sent → the next \`GET /next\` received"
  echo "(response POST and its 202 included), median of $warm invocations on one process, in blocks of 100"
  echo "interleaved across candidates. RSS = VmHWM. Ratios are to \`official-echo-abort\`."
  echo
  echo "$bench"
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
echo "run.sh: wrote $here/REPORT.md" >&2
