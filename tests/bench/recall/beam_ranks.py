#!/usr/bin/env python3
"""Where plain BM25 ranks the evidence of the BEAM development split, by category: for every
question, each chat's turns scored by BM25 (k1 1.2, b 0.75; lower-cased runs of letters and
digits, no stemming; the question's words less STOP) and the rank of each evidence turn (1:
the best; ties by turn order). Prints per category the evidence turns, their median rank and
the share in the top 20 (about what 1,500 tokens hold). It says which evidence a lexical
score can reach at all (tests/bench/recall/README.md, "The answer judge").

Usage: beam_ranks.py DEV_SPLIT_JSON
"""

import collections
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import beam  # noqa: E402

WORD = re.compile(r'[a-z0-9]+')
# Question words that name no topic (the templates' own words included).
STOP = set('a an the and or of to in on for with is are was were be been i you my your me we '
           'our it this that what how did do does can could would should about which when who '
           'whom from by as at into through throughout conversations conversation order mention '
           'items item'.split())
K1, B, TOP = 1.2, 0.75, 20


def ranks_of(chat):
    """category -> [rank of each evidence turn] over the questions of chat (a
    beam.Conversation)."""
    docs = [WORD.findall(t['content'].lower()) for t in chat.turns]
    n = len(docs)
    avg = sum(map(len, docs)) / n
    df = collections.Counter(w for d in docs for w in set(d))
    tfs = [collections.Counter(d) for d in docs]
    out = collections.defaultdict(list)
    for q in chat.questions:
        words = [w for w in set(WORD.findall(q['q'].lower())) if w not in STOP]
        scores = []
        for i, tf in enumerate(tfs):
            s = 0.0
            for w in words:
                if w in tf:
                    idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                    s += idf * tf[w] * (K1 + 1) / (tf[w] + K1 * (1 - B + B * len(docs[i]) / avg))
            scores.append((-s, i))
        rank = {e: r + 1 for r, (_, i) in enumerate(sorted(scores)) for e in chat.turns[i]['ids']}
        out[q['cat']].extend(rank[e] for e in q['ev'] if e in rank)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    ranks = collections.defaultdict(list)
    for chat in beam.load(sys.argv[1]):
        for cat, r in ranks_of(chat).items():
            ranks[cat].extend(r)
    print('| category | evidence turns | median rank | in the top %d |' % TOP)
    print('|---|---:|---:|---:|')
    for cat in (c for c in beam.CATEGORIES if ranks[c]):
        r = ranks[cat]
        print('| %s | %d | %.0f | %.1f%% |' % (cat, len(r), statistics.median(r),
                                              100.0 * sum(x <= TOP for x in r) / len(r)))


if __name__ == '__main__':
    main()
