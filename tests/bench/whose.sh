#!/usr/bin/env bash
# memproxy "whose words" benchmark (issue 63, requirement 4): every
# development set (LoCoMo, BEAM, ml-dev in 13 languages) replayed through
# one memproxy as a full-history client, a stateless app and a structured
# app (the stateless app's requests under a JSON schema), then each
# user turn sent compared with what memproxy stored: recorded verbatim,
# dropped or changed by its recognition of client text; the client-text
# metrics of each replay. Reported, not asserted.
# See tests/bench/README.md "Whose words: user turns lost to recognition".
#
# Usage: tests/bench/whose.sh [--short] [--build DIR] [--out FILE]
#                             [--locomo DIR] [--beam DIR] [--ml FILE]
#                             [--sets LIST] [--convs LIST] [--sessions N]
#                             [--beam-convs LIST] [--beam-sessions N]
#                             [--langs LIST] [--ml-messages N] [--ml-session N]
#                             [--workers N] [--keep-tmp]
# Data: $MEMPROXY_LOCOMO_DIR (else data/locomo-dev), $MEMPROXY_BEAM_DIR
# (else data/beam-dev, holding beam-500k-dev.json), $MEMPROXY_ML_DEV (else
# data/ml-dev/needles-dev.json), from the repository root.
# Exit: 0 valid run, 1 setup error, 2 invalid run.
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/whose/bench.py" "$@"
