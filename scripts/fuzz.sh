#!/bin/sh
# libFuzzer over every parser of network input and over the store's upkeep
# of its heads of common words (tests/fuzz/fuzz_*.c), in a clang build with
# ASan+UBSan (build-fuzz/); undefined behaviour stops a target as a crash does.
# Usage: scripts/fuzz.sh [--short|--long]
#   --short (default, used by scripts/test.sh): 3 s per target
#   --long: 10 min per target. FUZZ_SECONDS=N overrides either.
# Crashes stop the run and leave the input in build-fuzz/crash-*. A target's
# valid example inputs in tests/fuzz/seeds/<target>/ start its corpus.
# Fails when a target of tests/fuzz/ was not built or did not run, so a
# build-fuzz/ configured without -Dfuzz=true (or with gcc) cannot pass by
# running nothing: such a directory is reconfigured (or set up again).
set -eu
cd "$(dirname "$0")/.."
case "${1:---short}" in
--short) secs=3 ;;
--long) secs=600 ;;
*) echo "usage: scripts/fuzz.sh [--short|--long]" >&2; exit 2 ;;
esac
secs=${FUZZ_SECONDS:-$secs}

# Whether build-fuzz/ compiles C with clang (meson 1.0 has no introspection
# of compilers: the command of a C source of any target tells).
built_with_clang() {
    meson introspect build-fuzz --targets 2>/dev/null | python3 -c '
import json, os, sys
try:
    targets = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
for t in targets:
    for s in t.get("target_sources", []):
        if s.get("language") == "c" and s.get("compiler"):
            sys.exit(0 if any("clang" in os.path.basename(c) for c in s["compiler"]) else 1)
sys.exit(1)'
}

if [ -f build-fuzz/build.ninja ] && ! built_with_clang; then
    echo "build-fuzz/ was not set up with clang: setting it up again" >&2
    rm -rf build-fuzz
fi
if [ -f build-fuzz/build.ninja ]; then
    meson configure build-fuzz -Dfuzz=true -Dtests=true >/dev/null
else
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true -Dbuildtype=debug >/dev/null
fi
# the fuzz targets only: the rest of the tree is built and tested by
# scripts/test.sh's two builds
targets=""
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] && targets="$targets tests/fuzz/$(basename "$src" .c)"
done
# shellcheck disable=SC2086
ninja -C build-fuzz $targets >/dev/null
status=0
ran=0
for src in tests/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue # the pattern matched nothing
    name=$(basename "$src" .c)
    exe=build-fuzz/tests/fuzz/$name
    if [ ! -x "$exe" ]; then
        echo "$name: FAILED (not built: $exe is missing)"
        status=1
        continue
    fi
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus"
    seeds=tests/fuzz/seeds/$name # valid inputs to start from (read, never written)
    printf '%s: %s s ... ' "$name" "$secs"
    if (cd build-fuzz && "../$exe" -max_total_time="$secs" -print_final_stats=0 \
        "../$corpus" $([ -d "$seeds" ] && echo "../$seeds") >"$name.log" 2>&1); then
        echo "ok ($(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" | head -1))"
    else
        echo "FAILED (see build-fuzz/$name.log)"
        tail -30 "build-fuzz/$name.log"
        status=1
    fi
    ran=$((ran + 1))
done
if [ "$ran" -eq 0 ]; then
    echo "no fuzzer ran: tests/fuzz/ has no target or none was built" >&2
    exit 1
fi
echo "$ran fuzz targets ran"
exit $status
