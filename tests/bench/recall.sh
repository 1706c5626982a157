#!/usr/bin/env bash
# memproxy relevance benchmark on LoCoMo (issue 8): evidence recall of the
# memory memproxy injects, facts and turns, per token budget, for today's
# order (retrieval = recent) next to relevance (retrieval = relevant), with
# the real binary and the fake upstream. See tests/bench/recall/README.md.
#
# Usage: tests/bench/recall.sh [DATA_DIR] [--short] [--build DIR] [--out FILE]
#                              [--convs LIST] [--budgets LIST] [--measures LIST]
#                              [--retrieval relevant|recent|both|default]
#                              [--archive true|false|omit] [--load import|put]
#                              [--min-facts PCT] [--min-turns PCT] [--keep-tmp]
# DATA_DIR: the LoCoMo files (default data/locomo-dev from the repository root, which git ignores).
# --short: conversation 30, budget 1500 (CI smoke).
# Exit: 0 valid run, 1 setup error, 2 memproxy or the fake upstream failed,
#       3 recall at 1500 below --min-facts / --min-turns.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/recall/bench.py" "$@"
