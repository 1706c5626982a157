#!/bin/sh
# The README's test command: installs what is missing, then builds and runs
# every suite twice, in a plain build (build/) and in an ASan+UBSan build
# (build-asan/), then scans every log memproxy wrote during them for the
# tests' canaries and secrets, then runs the fuzzers and the benchmarks in
# their short modes. Exits non-zero on the first failing build or suite.
#
# --quick: the day-to-day tier. The same dependencies and every suite (the
# demo included) in the plain build only, with the log scan; no ASan+UBSan
# run, no fuzzers, no benchmarks. CI (.ci/run) runs the full command.
set -eu
cd "$(dirname "$0")/.."
quick=false
case ${1:-} in
--quick) quick=true ;;
'') ;;
*)
    echo "usage: scripts/test.sh [--quick]" >&2
    exit 2
    ;;
esac
scripts/install-deps.sh --test
echo "== the client SDKs the SDK tests drive memproxy with (tests/sdk/package-lock.json)"
npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
echo "== the coding-agent CLIs the real-client tests run through memproxy (tests/clients/package-lock.json)"
npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error
run_suites() {
    dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" -Dtests=true
    else
        meson setup "$dir" -Dtests=true "$@"
    fi
    ninja -C "$dir"
    rm -rf "$dir/memproxy-logs" && mkdir -p "$dir/memproxy-logs"
    # three suites at a time on a 2-CPU machine: the proxy suites wait on
    # sockets most of the time (one at a time they used a quarter of the
    # CPUs); the few that fill the machine run alone (tests/proxy/meson.build)
    MEMPROXY_TEST_LOG_DIR="$PWD/$dir/memproxy-logs" \
        meson test -C "$dir" --print-errorlogs --num-processes 3
    echo "== log scan ($dir): no canary, user text or secret in any memproxy log"
    python3 tests/proxy/scan_logs.py --self-test
    python3 tests/proxy/scan_logs.py "$dir/memproxy-logs"
}
echo "== plain build"
run_suites build
echo "== the README's start command, configuration checked (scripts/run.sh --check-config)"
scripts/run.sh --check-config
if $quick; then
    echo "quick tier passed: every suite in the plain build (no ASan+UBSan run, fuzzers or benchmarks)"
    exit 0
fi
echo "== ASan+UBSan build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
echo "== fuzz (short mode: 3 s per parser)"
scripts/fuzz.sh --short
echo "== benchmark smoke (short mode; ratios are reported, not asserted)"
tests/bench/run.sh --short --build build
echo "== streams against nginx (short mode, with both event loops timed; reported, not asserted)"
tests/bench/streams.sh --short --build build --loopwatch
echo "== durable acknowledgement cost and store growth soak (short modes; reported, not asserted)"
tests/bench/durable.sh --short --build build
tests/bench/soak.sh --short --build build
echo "== resident memory with the default configuration (reported; the idle goal: under 10 MB)"
tests/bench/idle.sh --build build
# Memory relevance on one LoCoMo conversation (30) at 1,500 tokens: the goals of issue 8 as
# floors (measured 94.0 facts, 84.9 turns; deterministic, so a drop is a real change); BEAM's
# chat 1 reported too when its data is at MEMPROXY_BEAM_DIR, else data/beam-dev (no floor).
# The data is not part of the repository: MEMPROXY_LOCOMO_DIR, else data/locomo-dev (ignored by
# git; tests/bench/recall/README.md says where to get it).
locomo=${MEMPROXY_LOCOMO_DIR:-data/locomo-dev}
if [ -f "$locomo/30.json" ]; then
    tests/bench/recall.sh --short --build build --min-facts 90 --min-turns 80 "$locomo"
else
    echo "== recall benchmark NOT RUN: no LoCoMo data at $locomo (set MEMPROXY_LOCOMO_DIR)"
fi
# Cross-language recall (issue 66), reported, not asserted: ml-dev's needles asked across
# languages (tests/bench/recall/xlang/), German, Japanese and Russian with English, at 300, 500
# and 1,500 tokens beside same-language; the goal (within 15 points at 1,500) is said, not checked.
# The needles: MEMPROXY_ML_DEV, else data/ml-dev/needles-dev.json (ignored by git).
ml_dev=${MEMPROXY_ML_DEV:-data/ml-dev/needles-dev.json}
if [ -f "$ml_dev" ]; then
    echo "== cross-language recall (short mode; reported, not asserted)"
    tests/bench/xlang.sh --short --build build --ml "$ml_dev"
else
    echo "== cross-language recall NOT RUN: no ml-dev needles at $ml_dev (set MEMPROXY_ML_DEV)"
fi
# What memory does to the client's prompt cache (issue 32), reported, not asserted: the same
# data as above, and BEAM's chats at MEMPROXY_BEAM_DIR, else data/beam-dev.
if [ -f "$locomo/30.json" ] && [ -d "${MEMPROXY_BEAM_DIR:-data/beam-dev}" ]; then
    echo "== prompt caching, direct against through memproxy (short mode; reported, not asserted)"
    tests/bench/cache.sh --short --build build
else
    echo "== prompt caching benchmark NOT RUN: no LoCoMo or BEAM data (set MEMPROXY_LOCOMO_DIR, MEMPROXY_BEAM_DIR)"
fi
# Whose words (issue 63): user turns memproxy's recognition of client text drops or changes,
# reported, not asserted: the same data as above, BEAM's chats and ml-dev's needles when there
# (MEMPROXY_BEAM_DIR, else data/beam-dev; MEMPROXY_ML_DEV, else data/ml-dev/needles-dev.json).
if [ -f "$locomo/30.json" ]; then
    echo "== whose words, user turns lost to recognition (short mode; reported, not asserted)"
    tests/bench/whose.sh --short --build build
else
    echo "== whose words benchmark NOT RUN: no LoCoMo data at $locomo (set MEMPROXY_LOCOMO_DIR)"
fi
echo "all suites passed in both builds"
