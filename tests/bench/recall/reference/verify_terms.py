"""Per-conversation recall of recall.py, as reference (default) or with the tokenizer of
core/recall/terms.c (--terms-c: apostrophes kept inside words and the possessive left to the
stemmer; a stem that is a stop word dropped, e.g. "others" -> "other"). With --terms-c the
figures are those tests/bench/recall/locomo_check prints for the C port, hit for hit."""
import sys

import data
import recall

BUDGETS = (500, 1500, 3000)


def terms_c():
    stop, qstop, stem = recall.STOP, recall.QSTOP, recall.stem

    def normalize(w, extra_stop=None):
        if w in stop or (extra_stop is not None and w in extra_stop):
            return None
        if w.endswith("'s") and extra_stop is not None and w[:-2] in extra_stop:
            return None
        return w

    def item_terms(text):
        out = []
        for w in recall.words(text):
            w = normalize(w)
            if w is not None and stem(w) not in stop:
                out.append(stem(w))
        return out

    def query_words(text):
        out = []
        for w in recall.words(text):
            w = normalize(w, qstop)
            if w is not None and stem(w) not in stop:
                out.append((w, stem(w)))
        return out
    recall.normalize = normalize
    recall.item_terms = item_terms
    recall.query_words = query_words


def main():
    if '--terms-c' in sys.argv:
        terms_c()
    for c in data.CONVS:
        C = data.load(c)
        for kind, P in (('facts', recall.FACTS), ('turns', recall.TURNS)):
            items = C[kind]
            ix = recall.Index(items)
            cover = set().union(*[it['ids'] for it in items])
            hit, tot = {B: 0 for B in BUDGETS}, 0
            for q in C['qs']:
                ev = [e for e in q['ev'] if e in cover]
                if not ev:
                    continue
                s = recall.score(ix, q['q'], None, P)
                tot += len(ev)
                for B in BUDGETS:
                    got = set()
                    for i in recall.pack(ix, s, B, P)[0]:
                        got |= items[i]['ids']
                    hit[B] += sum(e in got for e in ev)
            print(c, kind, tot, ' '.join('%d:%.1f(%d)' % (B, 100.0 * hit[B] / tot, hit[B])
                                         for B in BUDGETS), flush=True)


if __name__ == '__main__':
    main()
