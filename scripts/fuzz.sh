#!/bin/sh
# libFuzzer over every parser of network input (tests/fuzz/fuzz_*.c), in a
# clang build with ASan+UBSan (build-fuzz/).
# Usage: scripts/fuzz.sh [--short|--long]
#   --short (default, used by scripts/test.sh): 10 s per target
#   --long: 10 min per target. FUZZ_SECONDS=N overrides either.
# Crashes stop the run and leave the input in build-fuzz/crash-*.
set -eu
cd "$(dirname "$0")/.."
case "${1:---short}" in
--short) secs=10 ;;
--long) secs=600 ;;
*) echo "usage: scripts/fuzz.sh [--short|--long]" >&2; exit 2 ;;
esac
secs=${FUZZ_SECONDS:-$secs}
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=true -Dbuildtype=debug >/dev/null
fi
ninja -C build-fuzz >/dev/null
status=0
for exe in build-fuzz/tests/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    corpus=build-fuzz/corpus/$name
    mkdir -p "$corpus"
    printf '%s: %s s ... ' "$name" "$secs"
    if (cd build-fuzz && "../$exe" -max_total_time="$secs" -print_final_stats=0 \
        "../$corpus" >"$name.log" 2>&1); then
        echo "ok ($(grep -o 'Done [0-9]* runs' "build-fuzz/$name.log" | head -1))"
    else
        echo "FAILED (see build-fuzz/$name.log)"
        tail -30 "build-fuzz/$name.log"
        status=1
    fi
done
exit $status
