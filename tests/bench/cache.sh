#!/usr/bin/env bash
# memproxy prompt-cache benchmark (issue 32): LoCoMo and BEAM chats replayed
# as a full-history client, direct to the fake upstream and through
# memproxy (hybrid mode): prompt tokens, cached share, billed input; the
# lifetime-history against newest-message comparison; evidence of questions
# asked as a later session's newest turn; the same replay as a front end
# that opens a new chat per session (X-OpenWebUI-Chat-Id), evidence split
# by how many sessions back it lies. Reported, not asserted.
# See tests/bench/README.md "Prompt caching".
#
# Usage: tests/bench/cache.sh [--short] [--build DIR] [--out FILE]
#                             [--locomo DIR] [--beam DIR] [--convs LIST]
#                             [--beam-convs LIST|none] [--sessions N]
#                             [--beam-sessions N] [--budget N] [--no-seed]
#                             [--no-chats]
#                             [--no-idle] [--memory KEY=VALUE]
#                             [--workers N] [--connection new|keep]
#                             [--parallel N] [--keep-tmp]
#        tests/bench/cache.sh --routing [--rates LIST] [--strategies LIST]
#                             [--sides LIST] [--machines M] ... (--help)
#        (prompt_cache_key across OpenAI's machines: cache/routing.py)
# Data: $MEMPROXY_LOCOMO_DIR (else data/locomo-dev) and $MEMPROXY_BEAM_DIR
# (else data/beam-dev, holding beam-500k-dev.json), from the repository root.
# Exit: 0 valid run (goals met or missed), 1 setup error, 2 invalid run.
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --routing ]; then
    shift
    exec python3 "$here/cache/routing.py" "$@"
fi
exec python3 "$here/cache/bench.py" "$@"
