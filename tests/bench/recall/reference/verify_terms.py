"""Per-conversation recall of recall.py, as reference (default) or as the C port reads text and
asks (what tests/bench/locomo_check -S 0 prints, hit for hit, on every development set:
agreement.py runs both):

  --terms-c  core/recall/terms.c's words in every script (terms_c.py: ICU, libstemmer's
             Snowball stemmers, the stop lists and the language identification of lang.c)
             and relevance_words.c's question: question-framing words, surface words and
             spelling neighbours in bytes, time expressions and date terms as the C reads
             them, at most MP_RELEVANCE_MAX_GROUPS groups and MP_RELEVANCE_MAX_MEMBERS terms;
  --prf-c    the C port's feedback round: the best items' terms read up to
             MP_RELEVANCE_MAX_PRF_CAND pairs, and the feedback terms add to the first round's
             candidates only (relevance.h, "feedback"); and its session share, in both rounds:
             to the items it looks at only, the candidates and the items of their windows
             (relevance.h, "smooth"; the rest of the session is never read).

Usage: verify_terms.py [--terms-c] [--prf-c] [-v] [-b B,B...] [FILE.json...]
(the files: LoCoMo-shaped, to_locomo.py; default the LoCoMo dev conversations of data.py).
-v: each question's hits, as locomo_check -v prints them ("q N HITS hits: item:score...",
the items with a score above 0 by position, N counted per file and kind).
"""
import sys

import data
import recall
import terms_c

BUDGETS = (500, 1500, 3000)


MAX_GROUPS = 64      # MP_RELEVANCE_MAX_GROUPS: groups of one query, words of one question
MAX_NEIGHBOURS = 64  # relevance.c: spelling neighbours of one word
MAX_MEMBERS = 1024   # MP_RELEVANCE_MAX_MEMBERS: terms of one query
MONTHS_B = [m.encode() for m in recall.MONTHS]
TEMPORAL_PHRASES = [p.encode() for p in (
    'how long', 'what year', 'what month', 'what date', 'what day', 'what time', 'what week',
    'which year', 'which month', 'which day', 'which week', 'how many years', 'how many months',
    'how many weeks', 'how many days', 'since when', 'how old', 'how recent')]


def surface_word(word):
    """mp_relevance_surface_word: the bytes a word is spelled by (possessive and apostrophes
    off), None for a word with a digit or a dot, or an English stop word."""
    b = word.encode('utf-8', 'surrogatepass')
    if b.endswith(b"'s"):
        b = b[:-2]
    out = bytearray()
    for c in b:
        if 0x30 <= c <= 0x39 or c == 0x2E:
            return None
        if c != 0x27 and len(out) < terms_c.TERMS_MAX:
            out.append(c)
    if not out or out.decode('utf-8', 'surrogateescape') in terms_c.EN_STOP:
        return None
    return bytes(out)


def is_timex_word(w):
    return w in recall.TIME_WORDS or recall.is_year(w)


def edit1(a, b):
    """relevance.c's edit1: one insertion, deletion, substitution or adjacent swap, in bytes."""
    return recall.edit1(a, b)  # the reference's, on bytes objects


class IndexC(recall.Index):
    """recall.Index with terms.c's words: terms, surface words (bytes, the first of each kept)
    and time expressions (any folded word, stop words too)."""

    def __init__(self, items):
        self.items = items
        self.n = len(items)
        self.post, self.length, self.timex, self.tf, self.surface = {}, [], [], [], {}
        total = 0
        for i, it in enumerate(items):
            ws = terms_c.words(it['content'])
            tc, tk = {}, {}
            for w, t, _ in ws:
                if t is not None:
                    tc[t] = tc.get(t, 0) + 1
                    sw = surface_word(w)
                    if sw is not None:
                        self.surface.setdefault(sw, t)
            for t in terms_c.terms(it['key']):
                tk[t] = tk.get(t, 0) + 1
            td = {t: 1 for t in recall.date_terms(it['time'])}
            for t in sorted(set(tc) | set(tk) | set(td), key=lambda x: x.encode('utf-8', 'surrogatepass')):
                self.post.setdefault(t, []).append((i, tc.get(t, 0), tk.get(t, 0), td.get(t, 0)))
            L = sum(tc.values())
            self.length.append(L)
            total += L
            self.timex.append(any(is_timex_word(w) for w, _, _ in ws))
            self.tf.append(tc)
        self.avglen = total / self.n if self.n else 1.0


def question_words(text):
    """relevance_words.c's on_word: (term, surface bytes or None) of each question word that
    makes a group: a term not seen, not a question-framing word; at most MAX_GROUPS."""
    out, seen = [], set()
    for w, t, _ in terms_c.words(text):
        if len(out) >= MAX_GROUPS:
            break
        if t is None or t in seen or w in recall.QSTOP:
            continue
        sw = surface_word(w)
        if sw is not None and sw.decode('utf-8', 'surrogateescape') in recall.QSTOP:
            continue
        seen.add(t)
        out.append((t, sw))
    return out


def re_word(c):
    return c >= 0x80 or c == 0x5F or 0x30 <= c <= 0x39 or 0x61 <= (c | 0x20) <= 0x7A


def parse_raw(text):
    """relevance_words.c's parse_raw: the date terms of the question (a month name written
    with a capital, a year), and whether it is temporal; words are runs of ASCII letters,
    digits, '_' and any byte of a character outside ASCII."""
    q = text.encode('utf-8', 'surrogatepass')
    n, i, first, temporal, dates = len(q), 0, True, False, []
    while i < n and (len(dates) < MAX_GROUPS or not temporal):
        if not re_word(q[i]):
            i += 1
            continue
        j = i
        while j < n and re_word(q[j]):
            j += 1
        w = q[i:j]
        if not temporal:
            temporal = (first and w.lower() == b'when') or any(
                q[i:i + len(p)].lower() == p and (i + len(p) == n or not re_word(q[i + len(p)]))
                for p in TEMPORAL_PHRASES)
        first = False
        t = None
        if len(dates) < MAX_GROUPS:
            if 0x41 <= w[0] <= 0x5A and w.lower() in MONTHS_B:
                t = '@' + w.lower().decode()
            elif len(w) == 4 and w[:2] in (b'19', b'20') and w[2:].isdigit():
                t = '@' + w.decode()
        if t is not None and t not in dates:
            dates.append(t)
        i = j
    return dates, temporal


def question_dump(lines):
    """What tests/bench/terms_dump -q prints for lines: each line read as a question."""
    out = []
    for n, line in enumerate(lines):
        for t, sw in question_words(line):
            out.append('%d q %s %s' % (n, t, '-' if sw is None else sw.decode('utf-8', 'surrogateescape')))
        dates, temporal = parse_raw(line)
        timex = any(is_timex_word(w) for w, _, _ in terms_c.words(line))
        out.append('%d dates%s temporal %d timex %d' % (n, ''.join(' ' + d for d in dates), temporal, timex))
    return out


class Query(list):
    """relevance.c's query: groups ({term: weight}) within MAX_GROUPS groups and MAX_MEMBERS
    members in all (words, relations and feedback terms past them are ignored)."""

    def __init__(self):
        super().__init__()
        self.members = 0

    def open(self):
        if len(self) >= MAX_GROUPS or self.members >= MAX_MEMBERS:
            return False
        self.append({})
        return True

    def add(self, t, w):
        if len(t.encode('utf-8', 'surrogatepass')) > terms_c.TERMS_MAX or self.members >= MAX_MEMBERS \
                or t in self[-1]:
            return
        self[-1][t] = w
        self.members += 1


def query_groups(ix, question, prev, P):
    """relevance.c's build_query over question_words: a group per word (its term, lexicon
    relations, and spelling neighbours at one byte edit when no item holds the term and its
    surface has FUZZY_MINLEN bytes or more), then the date terms."""
    qy, heads = Query(), set()

    def add(t, sw, w0):
        if t in heads or not qy.open():
            return
        heads.add(t)
        qy.add(t, w0)
        for r, q in recall.LEXICON.get(t, ()):
            qy.add(r, w0 * P['LEX_W'] * (q / recall.LEX_Q))
        if sw is not None and len(sw) >= P['FUZZY_MINLEN'] and t not in ix.post:
            nb = []
            for s in sorted(ix.surface):
                if len(nb) < MAX_NEIGHBOURS and edit1(sw, s) and ix.surface[s] not in nb:
                    nb.append(ix.surface[s])
            for r in sorted(nb, key=lambda x: x.encode('utf-8', 'surrogatepass')):
                qy.add(r, w0 * P['FUZZY_W'])
    for t, sw in question_words(question):
        add(t, sw, 1.0)
    for t in parse_raw(question)[0]:
        if t not in heads and qy.open():
            heads.add(t)
            qy.add(t, 1.0)
    if prev:
        for t, sw in question_words(prev):
            add(t, sw, P['PREV_W'])
    return qy


def temporal_boost(ix, s, question, P):
    if not parse_raw(question)[1]:
        return s
    return [s[i] * (1.0 + P['TEMP_BOOST']) if ix.timex[i] else s[i] for i in range(ix.n)]


MAX_PRF_CAND = 1024  # MP_RELEVANCE_MAX_PRF_CAND: (item, term) pairs feedback reads


def prf_c(ix, groups, s, P):
    """recall.prf as the C port reads the best items' terms: (item, term) pairs in order (best
    item first, its content terms in their first order), at most MAX_PRF_CAND of them."""
    order = sorted(range(ix.n), key=lambda i: (-s[i], i))
    top = [i for i in order[:P['PRF_DOCS']] if s[i] > 0]
    have = set()
    for g in groups:
        have.update(g)
    count, pairs = {}, 0
    for i in top:
        for t in ix.tf[i]:
            if pairs < MAX_PRF_CAND and t not in have:
                count[t] = count.get(t, 0) + 1
                pairs += 1
    cand = sorted(((c * ix.idf(t), t) for t, c in count.items()
                   if c >= P['PRF_MIN_DOCS'] and len(ix.post.get(t, ())) <= recall.PRF_DF_MAX),
                  key=lambda x: (-x[0], x[1].encode('utf-8', 'surrogatepass')))[:P['PRF_TERMS']]
    if not cand:
        return groups
    out = Query()
    out.extend(groups)
    out.members = groups.members
    for v, t in cand:
        if not out.open():
            break
        out.add(t, P['PRF_W'] * v / cand[0][0])
    return out


def smooth_c(ix, s, P):
    """recall.smooth as the C port smooths (relevance.h, "smooth", every candidate a survivor
    as locomo_check -S 0 has it): the session share goes to the items it looks at only, the
    candidates (s > 0) and the items within NB_WINDOW of one in its session; every other
    item of the session, which the reference gives the share alone, stays at 0."""
    out = recall.smooth(ix, s, P)
    if P['SESS_W'] <= 0:
        return out
    items = ix.items
    near = [v > 0 for v in s]
    for j in range(ix.n):
        if s[j] <= 0:
            continue
        for d in range(1, P['NB_WINDOW'] + 1):
            for i in (j - d, j + d):
                if 0 <= i < ix.n and items[i]['session'] == items[j]['session']:
                    near[i] = True
    return [out[i] if near[i] else 0.0 for i in range(ix.n)]


def score_c(ix, question, prev, P):
    """recall.score with the C port's feedback round (relevance.h, "feedback"): prf_c's terms,
    whose groups add to the first round's candidates (items with a BM25F sum above 0) and make
    no new one; both rounds smoothed by smooth_c."""
    groups = recall.query_groups(ix, question, prev, P)
    b0 = recall.bm25f(ix, groups, P)
    s = recall.speaker_boost(ix, smooth_c(ix, b0, P), groups, P)
    if P['PRF_DOCS'] > 0:
        more = prf_c(ix, groups, s, P)
        if len(more) > len(groups):
            b = [v if b0[i] > 0 else 0.0 for i, v in enumerate(recall.bm25f(ix, more, P))]
            boosted = recall.speaker_boost(ix, smooth_c(ix, b, P), more, P)
            sm = smooth_c(ix, b, P)
            s = [boosted[i] if b0[i] > 0 else sm[i] for i in range(ix.n)]
    return recall.temporal_boost(ix, s, question, P)


def prf_c_mode():
    recall.score = score_c


def terms_c_mode():
    """recall.py with core/recall/terms.c's words (terms_c.py) and relevance_words.c's
    question: what the C port indexes and asks by."""
    recall.item_terms = terms_c.terms
    recall.Index = IndexC
    recall.query_groups = query_groups
    recall.temporal_boost = temporal_boost


def main(argv):
    """verify_terms.py [--terms-c] [--prf-c] [-v] [-b B,B...] [FILE.json...]: LoCoMo-shaped
    files (default: the LoCoMo dev conversations), per file and pooled, as locomo_check prints
    them."""
    budgets, files, i, verbose = BUDGETS, [], 0, False
    while i < len(argv):
        if argv[i] == '--terms-c':
            terms_c_mode()
        elif argv[i] == '--prf-c':
            prf_c_mode()
        elif argv[i] == '-v':
            verbose = True
        elif argv[i] == '-b':
            i += 1
            budgets = tuple(int(b) for b in argv[i].split(','))
        else:
            files.append(argv[i])
        i += 1
    convs = [(f.rsplit('/', 1)[-1], data.load(None, path=f)) for f in files] if files else \
        [(c + '.json', data.load(c)) for c in data.CONVS]
    pooled = {k: [0, {B: 0 for B in budgets}] for k in ('facts', 'turns')}
    for name, C in convs:
        for kind, P in (('facts', recall.FACTS), ('turns', recall.TURNS)):
            items = C[kind]
            ix = recall.Index(items)
            cover = set().union(*[it['ids'] for it in items])
            hit, tot, nq = {B: 0 for B in budgets}, 0, 0
            for q in C['qs']:
                ev = [e for e in q['ev'] if e in cover]
                if not ev:
                    continue
                s = recall.score(ix, q['q'], None, P)
                if verbose:
                    hits = ['%d:%.9g' % (k, v) for k, v in enumerate(s) if v > 0]
                    print('q %d %d hits:%s' % (nq, len(hits), ''.join(' ' + h for h in hits)))
                nq += 1
                tot += len(ev)
                for B in budgets:
                    got = set()
                    for i in recall.pack(ix, s, B, P)[0]:
                        got |= items[i]['ids']
                    hit[B] += sum(e in got for e in ev)
            show(name, kind, tot, hit)
            pooled[kind][0] += tot
            for B in budgets:
                pooled[kind][1][B] += hit[B]
    for kind in ('facts', 'turns'):
        show('all', kind, *pooled[kind])


def show(name, kind, tot, hit):
    print(name, kind, tot, ' '.join('%d:%.1f(%d)' % (B, 100.0 * h / tot if tot else 0.0, h)
                                    for B, h in hit.items()), flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
