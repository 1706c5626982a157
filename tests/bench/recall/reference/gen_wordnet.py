"""Writes lexicon.tsv, the relevance lexicon as stems with a weight per relation, from WordNet's
files (Debian's wordnet-base: /usr/share/wordnet) or from the handwritten lexicon.txt (every
relation weight 1; the one in use: WordNet's best loses 2 points on LoCoMo facts to it, ../README.md,
"The lexicon"). Run from this folder:

    /usr/bin/python3 gen_wordnet.py --handwritten lexicon.txt > lexicon.tsv   # in use
    /usr/bin/python3 gen_wordnet.py > lexicon.tsv                             # WordNet
    /usr/bin/python3 gen_lexicon.py > ../../../../core/recall/relevance_lex.c

recall.py loads lexicon.tsv and gen_lexicon.py compiles what recall.py loaded, so the C table and
the reference read one file. The options override the constants below (measurements);
`--with-handwritten lexicon.txt` adds the handwritten relations to WordNet's.

A head is a one-word lemma WordNet has sense counts for (cntlist.rev: how often each sense was
tagged in a corpus); its senses tagged less than MIN_SHARE times as often as its most frequent
sense are dropped. From each kept sense (synset) S, with f = tags(S) / tags(best sense):

    synonym     the other lemmas of S                          weight W['syn'] * f
    hyponym     the lemmas of the synsets one step below S     weight W['hypo'] * f
                (a question's "pet" should reach the "dog" the conversation names)
    hyponym2    the lemmas two steps below S (off by default)  weight W['hypo2'] * f
    hypernym    the lemmas one step above S (off by default)   weight W['hyper'] * f
    derivation  the lemmas S's derivation pointers name for    weight W['deriv'] * f
                this lemma (lexical "+" pointers: "paint" -> "painter")

and, apart from the senses, each irregular form of WordNet's exception lists (*.exc, what
morphy reads: "bought buy") and its base form, both ways, when the corpus tags the base form:
weight W['exc'] (the stemmer leaves "bought" and "buy" apart; a question in one tense should
reach a turn in the other).

Every word is case-folded, stop words dropped and stemmed as recall.py does; a relation to the
head's own stem is dropped; lemmas of one stem merge (a relation keeps its largest weight).
A head keeps its CAP heaviest relations (ties: the target used more often, then bytes).
Weights are written as q in 1..LEX_Q (recall.LEX_Q: weight = q / LEX_Q, the same double in C and
Python).
"""
import argparse
import os
import re
import sys

import recall

# The best WordNet configuration on LoCoMo (chosen there, checked on BEAM:
# ../README.md, "The lexicon"); the lexicon in use is still the handwritten one.
W = dict(syn=0.5, hypo=0.5, hypo2=0.0, hyper=0.0, deriv=0.5, exc=0.5)
MIN_SHARE = 1.0     # senses tagged less than this share of the best sense's tags are dropped
TARGET_SHARE = 1.0  # a target word's own sense: dropped under this share, else weight * share
CAP = 12            # relations kept per head stem (not tuned)

POS = (('noun', 'n', 1), ('verb', 'v', 2), ('adj', 'a', 3), ('adv', 'r', 4))
WORD = re.compile(r'^[a-z]+$')
KIND_PTRS = dict(syn=(), hypo=('~', '~i'), hypo2=(), hyper=('@', '@i'), deriv=('+',))
EXC = ('noun', 'verb', 'adj', 'adv')  # the exception lists, NAME.exc


def lines(path):
    with open(path, encoding='utf-8') as f:
        return f.readlines()


def read_counts(d):
    """(lemma, pos letter, sense number) -> tag count, from cntlist.rev."""
    cnt = {}
    sstype = {'1': 'n', '2': 'v', '3': 'a', '4': 'r', '5': 'a'}
    for line in lines(os.path.join(d, 'cntlist.rev')):
        f = line.split()
        if len(f) != 3:
            continue
        lemma, rest = f[0].split('%', 1)
        cnt[(lemma, sstype[rest[0]], int(f[1]))] = int(f[2])
    return cnt


def read_index(d, name, pos):
    """lemma -> its synset offsets in sense order."""
    out = {}
    for line in lines(os.path.join(d, 'index.' + name)):
        if line.startswith(' '):
            continue
        f = line.split()
        nsyn, nptr = int(f[2]), int(f[3])
        out[f[0]] = f[6 + nptr:6 + nptr + nsyn]
    return out


def read_data(d, name):
    """offset -> (lemmas, pointers [(symbol, offset, pos letter, source, target)])."""
    out = {}
    for line in lines(os.path.join(d, 'data.' + name)):
        if line.startswith(' '):
            continue
        f = line.split(' | ', 1)[0].split()
        nw = int(f[3], 16)
        lemmas = [re.sub(r'\(.*\)$', '', f[4 + 2 * k]).casefold() for k in range(nw)]
        k = 4 + 2 * nw
        ptrs = []
        for _ in range(int(f[k])):
            sym, off, p, st = f[k + 1:k + 5]
            ptrs.append((sym, off, 'a' if p == 's' else p, int(st[:2], 16), int(st[2:], 16)))
            k += 4
        out[f[0]] = (lemmas, ptrs)
    return out


def term(word):
    """The stem recall.py indexes word under, or None (not one word, or a stop word)."""
    if not WORD.match(word):
        return None
    w = recall.normalize(word)
    return recall.stem(w) if w is not None else None


def targets(data, pos, off, lemma, kinds):
    """(kind, target lemma, its synset (pos, offset)) of synset (pos, off) seen from lemma."""
    lemmas, ptrs = data[pos][off]
    if 'syn' in kinds:
        for w in lemmas:
            yield 'syn', w, (pos, off)
    if 'hypo2' in kinds:
        for sym, toff, tpos, _, _ in ptrs:
            if sym in KIND_PTRS['hypo']:
                for sym2, off2, pos2, _, _ in data[tpos][toff][1]:
                    if sym2 in KIND_PTRS['hypo']:
                        for w in data[pos2][off2][0]:
                            yield 'hypo2', w, (pos2, off2)
    for kind in kinds:
        for sym, toff, tpos, src, dst in ptrs:
            if sym not in KIND_PTRS[kind]:
                continue
            tl = data[tpos][toff][0]
            if src == 0:
                for w in tl:
                    yield kind, w, (tpos, toff)
            elif src <= len(lemmas) and lemmas[src - 1] == lemma:
                yield kind, tl[dst - 1], (tpos, toff)


def sense_shares(index, cnt, lemma):
    """(pos, offset) -> the share of lemma's tags that sense has against its best sense; a
    lemma without tags: 1 for its only sense, 0 for each of several."""
    senses = [(p, off, cnt.get((lemma, p, k + 1), 0))
              for _, p, _ in POS for k, off in enumerate(index[p].get(lemma, ()))]
    best = max((c for _, _, c in senses), default=0)
    if best == 0:
        return {(p, off): 1.0 if len(senses) == 1 else 0.0 for p, off, _ in senses}
    return {(p, off): c / best for p, off, c in senses}


def build(d, w=None, min_share=MIN_SHARE, cap=CAP, target_share=TARGET_SHARE):
    """head stem -> [(related stem, q)] sorted by stem bytes."""
    w = dict(W if w is None else w)
    kinds = [k for k in ('syn', 'hypo', 'hypo2', 'hyper', 'deriv') if w.get(k, 0) > 0]
    cnt = read_counts(d)
    index = {p: read_index(d, name, p) for name, p, _ in POS}
    data = {p: read_data(d, name) for name, p, _ in POS}
    used = {}  # lemma -> tags over all its senses: which target is the common word
    for (lemma, _, _), c in cnt.items():
        used[lemma] = used.get(lemma, 0) + c
    rel = {}  # head stem -> {target stem: (weight, tags)}
    shares = {}  # target lemma -> sense_shares
    for lemma in sorted(set().union(*index.values())):
        h = term(lemma)
        if h is None:
            continue
        senses = [(p, off, cnt.get((lemma, p, k + 1), 0))
                  for _, p, _ in POS for k, off in enumerate(index[p].get(lemma, ()))]
        best = max(c for _, _, c in senses)
        if best == 0:
            continue
        for p, off, c in senses:
            if c == 0 or c < min_share * best:
                continue
            for kind, tw, ts in targets(data, p, off, lemma, kinds):
                t = term(tw)
                if t is None or t == h:
                    continue
                g = 1.0
                if target_share is not None:
                    if tw not in shares:
                        shares[tw] = sense_shares(index, cnt, tw)
                    g = shares[tw].get(ts, 0.0)
                    if g < target_share or g == 0:
                        continue
                add(rel, h, t, (w[kind] * c / best * g, used.get(tw, 0)))
    if w.get('exc', 0) > 0:
        for form, base in exceptions(d):
            a, b = term(form), term(base)
            if used.get(base, 0) > 0 and a is not None and b is not None and a != b:
                add(rel, a, b, (w['exc'], used[base]))
                add(rel, b, a, (w['exc'], used.get(form, 0)))
    return finish(rel, cap)


def add(rel, h, t, v):
    """The relation h -> t at v = (weight, target's tags), unless it has a larger one."""
    r = rel.setdefault(h, {})
    if t not in r or v > r[t]:
        r[t] = v


def exceptions(d):
    """(irregular form, base form) of the exception lists d has (none: nothing)."""
    for name in EXC:
        path = os.path.join(d, name + '.exc')
        if not os.path.exists(path):
            continue
        for line in lines(path):
            f = line.split()
            for base in f[1:]:
                yield f[0], base


def finish(rel, cap):
    out = {}
    for h, r in rel.items():
        top = sorted(r.items(), key=lambda x: (-x[1][0], -x[1][1], x[0].encode('utf-8')))[:cap]
        kept = [(t, max(1, min(recall.LEX_Q, round(v[0] * recall.LEX_Q)))) for t, v in top]
        if kept:
            out[h] = sorted(kept, key=lambda x: x[0].encode('utf-8'))
    return out


def from_handwritten(path):
    """The handwritten lexicon.txt (recall.load_lexicon's old format) with every weight 1."""
    old = recall.load_handwritten(path)
    return {h: [(t, recall.LEX_Q) for t in rs] for h, rs in old.items()}


def merge(a, b):
    """a and b together; a relation in both keeps its larger weight."""
    out = {h: dict(r) for h, r in a.items()}
    for h, r in b.items():
        d = out.setdefault(h, {})
        for t, q in r:
            d[t] = max(q, d.get(t, 0))
    return {h: sorted(d.items(), key=lambda x: x[0].encode('utf-8')) for h, d in out.items()}


def write(lex, out, args=()):
    """lex as lexicon.tsv; its first line names the command that wrote it (args)."""
    out.write('# gen_wordnet.py%s\n' % ''.join(' ' + a for a in args))
    out.write('# Generated: do not edit. A head stem, a tab, then stem:q per relation (weight\n')
    out.write('# q / %d), sorted by bytes.\n' % recall.LEX_Q)
    for h in sorted(lex, key=lambda s: s.encode('utf-8')):
        out.write(h + '\t' + ' '.join('%s:%d' % tq for tq in lex[h]) + '\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--wordnet', default='/usr/share/wordnet')
    ap.add_argument('--handwritten', metavar='LEXICON_TXT')
    ap.add_argument('--with-handwritten', metavar='LEXICON_TXT',
                    help='WordNet and the handwritten relations (weight 1) together')
    for k in W:
        ap.add_argument('--' + k, type=float, default=W[k], help='kind weight (0: off)')
    ap.add_argument('--min-share', type=float, default=MIN_SHARE)
    ap.add_argument('--cap', type=int, default=CAP)
    ap.add_argument('--target-share', type=float, default=TARGET_SHARE, help='negative: off')
    a = ap.parse_args()
    args = sys.argv[1:]
    if a.handwritten:
        lex = from_handwritten(a.handwritten)
    else:
        ts = a.target_share if a.target_share >= 0 else None
        lex = build(a.wordnet, {k: getattr(a, k) for k in W}, a.min_share, a.cap, ts)
        if a.with_handwritten:
            lex = merge(lex, from_handwritten(a.with_handwritten))
    write(lex, sys.stdout, args)


if __name__ == '__main__':
    main()
