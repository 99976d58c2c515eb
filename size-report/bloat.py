#!/usr/bin/env python3
"""Where the bytes go: symbol sizes (nm) of unstripped builds, grouped by origin.
usage: bloat.py NAME=BINARY ...  → a markdown table on stdout."""
import subprocess
import sys

GROUPS = [
    ("lambda-lite (runtime, examples)", ("lambda_lite::", "echo::", "json_echo::", "http_api::", "hello::")),
    ("minlambda", ("minlambda::", "minlambda_echo::")),
    ("httparse", ("httparse::",)),
    ("serde_json, serde and their deps", ("serde_json::", "serde::", "serde_core::", "itoa::", "ryu::", "zmij::")),
    ("memchr, std_detect (shared by std's symbolizer and serde_json)", ("memchr::", "std_detect::")),
    ("std: panic, backtrace symbolizer", ("gimli::", "addr2line::", "miniz_oxide::", "rustc_demangle::", "std::backtrace", "std::panicking", "<std::backtrace")),
    ("libunwind", ("libunwind::", "_Unwind", "unw_", "__unw")),
    ("std / core / alloc, other", ("std::", "core::", "alloc::", "<std::", "<core::", "<alloc::", "<&", "<[", "<(", "<str", "<u", "<i", "<bool", "<char", "<dyn", "<f")),
]


def group_of(name):
    bare = name.lstrip("<&*")
    for label, prefixes in GROUPS:
        if any(bare.startswith(p.lstrip("<")) or (p.endswith("::") and f"<{p}" in name) for p in prefixes):
            return label
    return "musl libc and other C" if "::" not in name else "other Rust"


def sizes(path):
    out = subprocess.run(["nm", "-S", "-C", "--size-sort", path], capture_output=True, text=True, check=True).stdout
    totals = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) != 4 or parts[2].lower() in ("b", "u", "w"):
            continue
        g = group_of(parts[3])
        totals[g] = totals.get(g, 0) + int(parts[1], 16)
    return totals


def main():
    cols = [arg.split("=", 1) for arg in sys.argv[1:]]
    data = [(name, sizes(path)) for name, path in cols]
    labels = [g for g, _ in GROUPS] + ["musl libc and other C", "other Rust"]
    print("| origin | " + " | ".join(name for name, _ in data) + " |")
    print("|---|" + "--:|" * len(data))
    for label in labels:
        if any(d.get(label) for _, d in data):
            print(f"| {label} | " + " | ".join(f"{d.get(label, 0):,}" for _, d in data) + " |")
    print("| **all symbols** | " + " | ".join(f"**{sum(d.values()):,}**" for _, d in data) + " |")


main()
