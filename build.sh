#!/usr/bin/env bash
# build.sh — from source to a deployable Lambda zip, a local invoke, and the size report.
#
#   ./build.sh                          every example of this repo → target/lambda/<name>/bootstrap{,.zip}
#   ./build.sh --example echo           one example (or --bin NAME for a binary)
#   ./build.sh --invoke '{"a":1}'       … then run each bootstrap on a local Runtime API and
#                                       print the response and Lambda's REPORT line
#   ./build.sh --manifest-path ../my-fn/Cargo.toml [--bin NAME]   your own crate's binaries
#
# Options:
#   --panic abort|unwind   panic strategy (default abort; unwind lets the runtime catch panics
#                          and serve on, abort still reports the panic to /error, then dies)
#   --arm64                build for Graviton (aarch64-unknown-linux-musl, linked with rust-lld);
#                          --invoke then runs it under qemu-user
#   --layer                also write target/lambda/<name>/layer.zip (bootstrap at the root → /opt)
#   --no-pie               link a non-PIE static binary (-C relocation-model=static): fewer
#                          start-up instructions, but no ASLR for the binary's own image
#   --nightly              rebuild std with -Z build-std and panic=immediate-abort (smallest;
#                          a panic then kills the process without any report)
#   --features LIST        cargo features to enable
#   --invoke EVENT         invoke with EVENT (repeatable); --invoke-file FILE: one event per file;
#                          --invoke-stdin: one event per line of standard input
#   --check-budget         fail if the echo bootstrap exceeds size-report/budgets.toml
#   --report               regenerate size-report/REPORT.md (builds all candidates; minutes)
#   --out DIR              output directory (default: <target dir>/lambda)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=""
panic=abort
arch=x86_64
layer=0
nightly=0
nopie=0
features=""
names=()
kinds=()
events=()
event_files=()
invoke_stdin=0
check_budget=0
report=0
out=""

die() { echo "build.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --manifest-path) manifest=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --example) kinds+=(example); names+=("$2"); shift 2 ;;
    --bin) kinds+=(bin); names+=("$2"); shift 2 ;;
    --panic) panic=$2; shift 2 ;;
    --arm64) arch=aarch64; shift ;;
    --layer) layer=1; shift ;;
    --nightly) nightly=1; shift ;;
    --no-pie) nopie=1; shift ;;
    --features) features=$2; shift 2 ;;
    --invoke) events+=("$2"); shift 2 ;;
    --invoke-file) event_files+=("$2"); shift 2 ;;
    --invoke-stdin) invoke_stdin=1; shift ;;
    --check-budget) check_budget=1; shift ;;
    --report) report=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$panic" in abort|unwind) ;; *) die "--panic takes abort or unwind" ;; esac
[ -n "$manifest" ] || manifest="$here/Cargo.toml"
[ -f "$manifest" ] || die "no Cargo.toml at $manifest"

if [ "$report" = 1 ]; then
  exec "$here/size-report/run.sh"
fi

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
target="$arch-unknown-linux-musl"
toolchain=()
[ "$nightly" = 1 ] && toolchain=(+nightly)

# The rustup pieces this build needs, installed when missing.
ensure_target() {
  command -v rustup >/dev/null || {
    rustc "${toolchain[@]}" --print target-libdir --target "$target" >/dev/null 2>&1 && return
    die "rustup is not installed and the $target standard library is missing; install rustup, or the $target std for your toolchain"
  }
  if ! rustup "${toolchain[@]}" target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "build.sh: installing the $target target (rustup target add)…" >&2
    rustup "${toolchain[@]}" target add "$target" >&2 ||
      die "could not install $target: run 'rustup ${toolchain[*]} target add $target' by hand (needs the rustup download server), then retry"
  fi
  if [ "$nightly" = 1 ] && ! rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "build.sh: installing rust-src for nightly (needed by -Z build-std)…" >&2
    rustup +nightly component add rust-src >&2 || die "could not install rust-src: run 'rustup +nightly component add rust-src'"
  fi
}
if [ "$nightly" = 1 ] && ! cargo +nightly --version >/dev/null 2>&1; then
  die "--nightly needs a nightly toolchain: rustup toolchain install nightly"
fi
ensure_target

target_dir=$(cargo metadata --manifest-path "$manifest" --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null) ||
  target_dir="$(dirname "$manifest")/target"
[ -n "$out" ] || out="$target_dir/lambda"
out=$(mkdir -p "$out" && cd "$out" && pwd)

# With no --example/--bin: every example of this repo, or every binary of a user's crate.
if [ ${#names[@]} -eq 0 ]; then
  command -v python3 >/dev/null || die "name what to build with --example NAME or --bin NAME (listing them needs python3)"
  if [ "$manifest" = "$here/Cargo.toml" ]; then want=example; else want=bin; fi
  while IFS= read -r n; do kinds+=("$want"); names+=("$n"); done < <(
    cargo metadata --manifest-path "$manifest" --format-version 1 --no-deps | python3 -c '
import json, sys
want, manifest = sys.argv[1], sys.argv[2]
for p in json.load(sys.stdin)["packages"]:
    if p["manifest_path"] == manifest:
        for t in p["targets"]:
            if want in t["kind"]:
                print(t["name"])' "$want" "$manifest")
  [ ${#names[@]} -gt 0 ] || die "no ${want}s found in $manifest"
fi

# The size profile: opt-level z, fat LTO, one codegen unit, strip, chosen panic strategy.
# Passed through the environment, so the user's Cargo.toml needs no [profile] section.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_DEBUG=false
extra=()
rustflags="${RUSTFLAGS:-}"
[ "$nopie" = 1 ] && rustflags="$rustflags -C relocation-model=static"
if [ "$nightly" = 1 ]; then
  export CARGO_PROFILE_RELEASE_PANIC=abort
  rustflags="$rustflags -Zunstable-options -Cpanic=immediate-abort"
  extra=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
  build_dir="$target_dir/lambda-build/nightly"
else
  export CARGO_PROFILE_RELEASE_PANIC=$panic
  build_dir="$target_dir/lambda-build/$panic"
fi
[ "$nopie" = 1 ] && build_dir="$build_dir-nopie"
[ "$arch" = aarch64 ] && export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
[ -n "$features" ] && extra+=(--features "$features")

# Deterministic zip: fixed timestamp, no extra fields; same bootstrap ⇒ same bytes.
make_zip() { # zip_path file_path
  local zip_path=$1 file=$2 tmp
  tmp=$(mktemp -d)
  cp "$file" "$tmp/bootstrap"
  chmod 0755 "$tmp/bootstrap"
  TZ=UTC touch -t 198001010000 "$tmp/bootstrap"
  rm -f "$zip_path"
  if command -v zip >/dev/null; then
    (cd "$tmp" && TZ=UTC zip -q -X -9 "$zip_path.tmp" bootstrap) && mv "$zip_path.tmp" "$zip_path"
  elif command -v python3 >/dev/null; then
    python3 - "$tmp/bootstrap" "$zip_path" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
info.create_system = 3
with zipfile.ZipFile(dst, "w") as z, open(src, "rb") as f:
    z.writestr(info, f.read(), compresslevel=9)
PY
  else
    echo "build.sh: neither zip nor python3 found: left $file without a zip (apt-get install zip)" >&2
  fi
  rm -rf "$tmp"
}

built=()
for i in "${!names[@]}"; do
  name=${names[$i]} kind=${kinds[$i]}
  # Examples may need features (required-features); pass them along.
  req=""
  if [ "$kind" = example ] && command -v python3 >/dev/null; then
    req=$(cargo metadata --manifest-path "$manifest" --format-version 1 --no-deps | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    for t in p["targets"]:
        if t["name"] == sys.argv[1] and "example" in t["kind"]:
            print(",".join(t.get("required-features", [])))' "$name")
  fi
  feat=()
  [ -n "$req" ] && feat=(--features "$req")
  echo "build.sh: building $kind $name ($target, panic=$([ "$nightly" = 1 ] && echo immediate-abort || echo "$panic"))" >&2
  RUSTFLAGS="$rustflags" cargo "${toolchain[@]}" build --quiet --release --manifest-path "$manifest" \
    --target "$target" --target-dir "$build_dir" "--$kind" "$name" "${extra[@]}" "${feat[@]}"
  if [ "$kind" = example ]; then bin="$build_dir/$target/release/examples/$name"; else bin="$build_dir/$target/release/$name"; fi
  dir="$out/$name"
  mkdir -p "$dir"
  cp "$bin" "$dir/bootstrap"
  chmod 0755 "$dir/bootstrap"
  make_zip "$dir/bootstrap.zip" "$dir/bootstrap"
  [ "$layer" = 1 ] && [ -f "$dir/bootstrap.zip" ] && cp "$dir/bootstrap.zip" "$dir/layer.zip"
  built+=("$dir")
done

size_of() { [ -f "$1" ] && stat -c %s "$1" || echo "-"; }
printf '%-44s %12s %12s\n' "artifact" "stripped B" "zip B"
for dir in "${built[@]}"; do
  printf '%-44s %12s %12s\n' "${dir#"$PWD"/}/bootstrap" "$(size_of "$dir/bootstrap")" "$(size_of "$dir/bootstrap.zip")"
  [ "$layer" = 1 ] && printf '%-44s %12s %12s\n' "${dir#"$PWD"/}/layer.zip" "" "$(size_of "$dir/layer.zip")"
done

if [ "$check_budget" = 1 ]; then
  budgets="$here/size-report/budgets.toml"
  for dir in "${built[@]}"; do
    name=$(basename "$dir")
    key="${name}_${arch}_$([ "$nightly" = 1 ] && echo nightly || echo "$panic")"
    limit=$(sed -n "s/^$key *= *\([0-9_]*\).*/\1/p" "$budgets" | tr -d _)
    [ -n "$limit" ] || { echo "build.sh: no budget '$key' in size-report/budgets.toml" >&2; continue; }
    size=$(stat -c %s "$dir/bootstrap")
    if [ "$size" -gt "$limit" ]; then
      die "$key: $size B is over its budget of $limit B (size-report/budgets.toml)"
    fi
    echo "budget $key: $size B ≤ $limit B"
  done
fi

if [ ${#events[@]} -gt 0 ] || [ ${#event_files[@]} -gt 0 ] || [ "$invoke_stdin" = 1 ]; then
  harness="$here/size-report/harness"
  cargo build --quiet --release --manifest-path "$harness/Cargo.toml" --target-dir "$target_dir/harness"
  args=()
  for e in "${events[@]}"; do args+=(--event "$e"); done
  for f in "${event_files[@]}"; do args+=(--event-file "$f"); done
  stdin_events=/dev/null
  if [ "$invoke_stdin" = 1 ]; then
    # Read once, replayed to every bootstrap.
    stdin_events=$(mktemp)
    cat > "$stdin_events"
    args+=(--stdin)
  fi
  if [ "$arch" = aarch64 ]; then
    command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || {
      echo "build.sh: installing qemu-user-static to run the arm64 bootstrap…" >&2
      { apt-get update -qq && apt-get install -y -qq qemu-user-static; } >&2 ||
        die "could not install qemu-user-static (apt-get install qemu-user-static)"
    }
    args+=(--wrapper "$(command -v qemu-aarch64-static || command -v qemu-aarch64)")
  fi
  status=0
  for dir in "${built[@]}"; do
    echo "== $(basename "$dir")" >&2
    rc=0
    "$target_dir/harness/release/lambda-harness" invoke "$dir/bootstrap" "${args[@]}" < "$stdin_events" || rc=$?
    case $rc in
      0) ;;
      3) echo "build.sh: $(basename "$dir") answered with an error (shown above)" >&2 ;;
      *) echo "build.sh: the local run of $(basename "$dir") failed" >&2; status=1 ;;
    esac
  done
  exit $status
fi
