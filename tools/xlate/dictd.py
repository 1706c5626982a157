#!/usr/bin/env python3
"""Reads a FreeDict pair of Debian (dictd format: /usr/share/dictd/
freedict-<a>-<b>.index and .dict.dz) into the raw word lists of both
directions between English and one language (issue 66): one line per
headword, its translations best first, tab-separated, as written in the
dictionary (xlate_build stems them and drops stop words).

Usage: dictd.py DICTDIR LANG3 TO_EN.tsv FROM_EN.tsv
  LANG3: the ISO 639-3 code of the other language (deu). A direction takes
  its own dictionary (deu-eng for deu -> eng) first and fills from the
  other one read backwards (eng-deu's "doctor: Arzt" gives "Arzt: doctor");
  a pair Debian does not ship gives an empty list (the table is then
  empty, and the proxy says so at start).

Only the first lines of an entry are translations: indented lines are
examples, notes, synonyms and cross references; (...), [...], <...>,
{...} and /.../ are notes, grammar and pronunciation.
Standard library only."""

import gzip
import os
import re
import sys

B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
RAW_MAX = 8  # translations written per headword: xlate_build keeps 6 after stemming
NOTES = [re.compile(r'\([^()]*\)'), re.compile(r'\[[^\[\]]*\]'), re.compile(r'<[^<>]*>'),
         re.compile(r'\{[^{}]*\}'), re.compile(r'/[^/]*/')]
NUMBERED = re.compile(r'^\s*\d+\.\s*')


def b64(s):
    n = 0
    for c in s:
        n = n * 64 + B64.index(c)
    return n


def strip_notes(line):
    for _ in range(3):  # nested parentheses: (noun (common))
        for rx in NOTES:
            line = rx.sub(' ', line)
    return line


def translations(body):
    """The translations of one entry's text, in order."""
    out = []
    for line in body.split('\n')[1:]:
        if not line or line[0] in ' \t{':
            continue
        line = strip_notes(NUMBERED.sub('', line))
        for part in re.split(r'[,;]', line):
            part = ' '.join(w for w in part.split() if '.' not in w)  # abbreviations: Dr., M.D.
            if part and len(part.encode()) <= 200 and part not in out:
                out.append(part)
    return out


def read(dictdir, name):
    """[(headword, [translation, ...]), ...] in the dictionary's order."""
    base = os.path.join(dictdir, 'freedict-' + name)
    if not os.path.exists(base + '.index'):
        return []
    data = gzip.open(base + '.dict.dz').read()
    entries = []
    with open(base + '.index', encoding='utf-8', errors='replace') as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) != 3 or p[0].startswith('00-database') or p[0].startswith('00database'):
                continue
            off, n = b64(p[1]), b64(p[2])
            body = data[off:off + n].decode('utf-8', errors='replace')
            entries.append((p[0], translations(body)))
    return entries


def rank(pairs):
    """{key: [translation, ...]} from (key, translation, position) in
    dictionary order: a translation scores 1/(1+position) per entry that
    gives it; ties keep the first seen."""
    score, first, order = {}, {}, []
    for key, t, pos in pairs:
        k = key.lower()
        d = score.setdefault(k, {})
        if t not in d:
            first[(k, t)] = len(first)
            d[t] = 0.0
            if len(d) == 1:
                order.append(k)
        d[t] += 1.0 / (1 + pos)
    return {k: sorted(score[k], key=lambda t: (-score[k][t], first[(k, t)])) for k in order}


def direction(own, other):
    """A direction's lists: own's ranking, then other's backwards after it."""
    fwd = rank((h, t, i) for h, ts in own for i, t in enumerate(ts))
    back = rank((t, h, i) for h, ts in other for i, t in enumerate(ts))
    for k, ts in back.items():
        have = fwd.setdefault(k, [])
        have.extend(t for t in ts if t not in have)
    return fwd


def write(path, lists):
    with open(path, 'w', encoding='utf-8') as f:
        for k, ts in lists.items():
            ts = [t for t in ts if '\t' not in t][:RAW_MAX]
            if ts and '\t' not in k:
                f.write(k + '\t' + '\t'.join(ts) + '\n')


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    dictdir, lang, to_en, from_en = sys.argv[1:]
    x_eng, eng_x = read(dictdir, lang + '-eng'), read(dictdir, 'eng-' + lang)
    if not x_eng and not eng_x:
        print('dictd.py: no FreeDict pair for %s in %s (dict-freedict-eng-%s): empty table'
              % (lang, dictdir, lang), file=sys.stderr)
    write(to_en, direction(x_eng, eng_x))
    write(from_en, direction(eng_x, x_eng))


if __name__ == '__main__':
    main()
