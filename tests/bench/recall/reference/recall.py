"""memproxy issue 8 -- relevance-ranked memory: reference implementation.

Select the memory items (facts or past turns) to inject for one request, within a token
budget. Deterministic; no network, no embeddings; one pass over an inverted index.

Port function by function:
  words / item_terms / query_words   tokenizer (case fold, split, stop words, Snowball stem)
  Index                              per-user inverted index + BM25F statistics
  query_groups                       weighted query: question words, lexicon, spelling, dates
  bm25f                              BM25F over the fields content / key / date
  smooth                             neighbour smoothing (same session, in sequence)
  speaker_boost                      items whose key field holds a question word
  prf                                pseudo-relevance feedback (one round)
  temporal_boost                     "when ..." questions prefer items with a time expression
  pack                               greedy by score / tokens^PACK_POW within the budget

Data files beside this file: stopwords.txt (Snowball English list), querystop.txt
(question-framing words, dropped from the question only), lexicon.tsv (the lexicon as stems
with a weight per relation, written by gen_wordnet.py: from the handwritten lexicon.txt, or
from WordNet).  Requires Debian's python3-snowballstemmer (same algorithm as libstemmer).
"""
import math
import os
import re

import snowballstemmer

HERE = os.path.dirname(os.path.abspath(__file__))

# ============================================================== constants
# One parameter set per kind of item. Tuned by coordinate ascent on five LoCoMo
# conversations (leave-one-conversation-out checked; see README.md).
FACTS = dict(
    K1=0.8,            # BM25 term-frequency saturation
    B=0.5,             # BM25 length normalisation (content length)
    W_CONTENT=1.0,     # field weight: body (fact value / turn text)
    W_KEY=2.0,         # field weight: key (fact key / speaker name)
    W_DATE=0.5,        # field weight: "@month" "@year" terms of the item's date
    PREV_W=0.3,        # weight of words of the turn before the question (when there is one)
    LEX_W=0.5,         # weight of a lexicon expansion (relative to the word it expands)
    FUZZY_W=0.8,       # weight of a spelling neighbour of a question word absent from the index
    FUZZY_MINLEN=5,    # question words shorter than this get no spelling neighbours
    NB_PREV=0.35,      # smoothing: share of a preceding item's score
    NB_NEXT=0.5,       # smoothing: share of a following item's score
    NB_WINDOW=3,       # smoothing: items on each side
    NB_DECAY=0.5,      # smoothing: factor per step beyond distance 1
    SESS_W=0.0,        # smoothing: share of the best score in the item's session
    SPK_BOOST=1.0,     # item whose key holds a question word: score * (1 + SPK_BOOST)
    PRF_DOCS=5,        # feedback: best items read
    PRF_TERMS=8,       # feedback: terms added
    PRF_MIN_DOCS=2,    # feedback: a term must occur in at least this many of those items
    PRF_W=0.3,         # feedback: weight of the best added term (others proportional)
    TEMP_BOOST=0.5,    # temporal question: items with a time expression * (1 + TEMP_BOOST)
    PACK_POW=0.4,      # packing order: score / tokens^PACK_POW
)
TURNS = dict(
    K1=1.2, B=0.75, W_CONTENT=1.0, W_KEY=2.0, W_DATE=2.0, PREV_W=0.3,
    LEX_W=0.7, FUZZY_W=0.8, FUZZY_MINLEN=5,
    NB_PREV=0.5, NB_NEXT=0.5, NB_WINDOW=3, NB_DECAY=0.8, SESS_W=0.05,
    SPK_BOOST=1.0,
    PRF_DOCS=8, PRF_TERMS=5, PRF_MIN_DOCS=2, PRF_W=0.2,
    TEMP_BOOST=0.5, PACK_POW=0.2,
)

# Feedback leaves out a term held by more than this many items (both kinds; the C port's
# MP_RELEVANCE_PRF_DF_MAX): a common word adds little and costs the most to read.
PRF_DF_MAX = 128

MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
          'september', 'october', 'november', 'december']
WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
# A word from this set (case-folded, before stemming), or a year 19xx/20xx, marks an item
# as holding a time expression.
TIME_WORDS = set(MONTHS + WEEKDAYS + [
    'yesterday', 'today', 'tonight', 'tomorrow', 'ago', 'last', 'next', 'weekend', 'week',
    'weeks', 'month', 'months', 'year', 'years', 'recently', 'lately', 'since', 'earlier',
    'later', 'soon', 'morning', 'evening', 'night', 'afternoon', 'day', 'days', 'summer',
    'winter', 'spring', 'fall', 'autumn', 'before', 'after', 'during'])
# A question is temporal when it matches this (case-insensitive).
TEMPORAL_Q = re.compile(r"^\W*when\b|\bhow long\b|\bwhat (year|month|date|day|time|week)\b|"
                        r"\bwhich (year|month|day|week)\b|\bhow many (years|months|weeks|days)\b|"
                        r"\bsince when\b|\bhow (old|recent)\b", re.I)


def _load_words(name):
    out = []
    for line in open(os.path.join(HERE, name), encoding='utf-8'):
        line = line.strip()
        if line and not line.startswith('#'):
            out.append(line)
    return out


STOP = set(_load_words('stopwords.txt'))
QSTOP = set(_load_words('querystop.txt'))
_stemmer = snowballstemmer.stemmer('english')


def stem(word):
    return _stemmer.stemWord(word)


# ============================================================== tokenizer
# A word: a run of letters/digits (Unicode), with apostrophes inside it kept ("don't").
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*", re.UNICODE)


def words(text):
    """Case-folded words; the typographic apostrophe becomes "'", "_" is dropped."""
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0).casefold().replace('\u2019', "'").replace('_', '')
        if w:
            out.append(w)
    return out


def normalize(w, extra_stop=None):
    """Stop-word test, possessive "'s" and apostrophes removed; None when dropped.
    The stop test is done on the word as written ("don't") and again after stripping."""
    if w in STOP or (extra_stop is not None and w in extra_stop):
        return None
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", '')
    if not w or w in STOP or (extra_stop is not None and w in extra_stop):
        return None
    return w


def item_terms(text):
    out = []
    for w in words(text):
        w = normalize(w)
        if w is not None:
            out.append(stem(w))
    return out


def query_words(text):
    """(surface word, stem) of the question, without stop and question-framing words."""
    out = []
    for w in words(text):
        w = normalize(w, QSTOP)
        if w is not None:
            out.append((w, stem(w)))
    return out


def is_year(w):
    return len(w) == 4 and w.isdigit() and w[:2] in ('19', '20')


def has_time_expr(text):
    for w in words(text):
        if w in TIME_WORDS or is_year(w):
            return True
    return False


def date_terms(dt):
    """Terms of an item's date field: '@may', '@2023'."""
    return ['@' + MONTHS[dt.month - 1], '@%d' % dt.year]


def query_date_terms(text):
    """Month names written with a capital (so the verb 'may' is not one) and years."""
    out = []
    for m in re.finditer(r"\w+", text):
        w = m.group(0)
        if w.lower() in MONTHS and w[0].isupper():
            out.append('@' + w.lower())
        elif is_year(w):
            out.append('@' + w)
    return out


# ============================================================== lexicon
LEX_Q = 100  # a relation's weight is q / LEX_Q (q in 1..LEX_Q, lexicon.tsv)


def load_lexicon(path=os.path.join(HERE, 'lexicon.tsv')):
    """stem -> [(related stem, q)] sorted by stem bytes, from lexicon.tsv (gen_wordnet.py's
    output: "head<TAB>stem:q stem:q ..."; the words are stems already)."""
    lex = {}
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith('#') or not line.strip():
            continue
        head, rels = line.split('\t')
        lex[head] = [(r, int(q)) for r, q in (x.rsplit(':', 1) for x in rels.split())]
    return lex


def load_handwritten(path):
    """stem -> sorted list of related stems, from the handwritten lexicon.txt format:
    '= a b c': each relates to the others; 'head > a b c': head relates to a, b, c (one way)."""
    lex = {}

    def add(a, b):
        if a != b:
            lex.setdefault(a, set()).add(b)
    for line in open(path, encoding='utf-8'):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('='):
            group = [stem(w.casefold()) for w in line[1:].split()]
            for a in group:
                for b in group:
                    add(a, b)
        elif '>' in line:
            head, rest = line.split('>', 1)
            h = stem(head.strip().casefold())
            for w in rest.split():
                add(h, stem(w.casefold()))
    return {k: sorted(v) for k, v in lex.items()}


LEXICON = load_lexicon()


# ============================================================== index
class Index:
    """Per-user inverted index over items. Each item is a dict with
      content  str       fact value / turn text (without the speaker prefix)
      key      str       fact key / speaker name
      time     datetime  recorded time (turns: session time, in order)
      session  int       items of one session are neighbours; items are in sequence order
      tokens   int       token estimate of the text as injected: 4 + ceil(bytes / 4)
    """

    def __init__(self, items):
        self.items = items
        self.n = len(items)
        self.post = {}       # term -> list of (item, tf_content, tf_key, tf_date), item ascending
        self.length = []     # content length in terms
        self.timex = []      # item holds a time expression
        self.tf = []         # item -> {term: tf_content}, for feedback
        self.surface = {}    # case-folded alphabetic word -> stem, for spelling neighbours
        total = 0
        for i, it in enumerate(items):
            tc = {}
            for t in item_terms(it['content']):
                tc[t] = tc.get(t, 0) + 1
            tk = {}
            for t in item_terms(it['key']):
                tk[t] = tk.get(t, 0) + 1
            td = {}
            for t in date_terms(it['time']):
                td[t] = 1
            for t in sorted(set(tc) | set(tk) | set(td)):
                self.post.setdefault(t, []).append((i, tc.get(t, 0), tk.get(t, 0), td.get(t, 0)))
            for w in words(it['content']):
                w = normalize(w)
                if w is not None and w.isalpha():
                    self.surface[w] = stem(w)
            L = sum(tc.values())
            self.length.append(L)
            total += L
            self.timex.append(has_time_expr(it['content']))
            self.tf.append(tc)
        self.avglen = total / self.n if self.n else 1.0

    def idf(self, t):
        df = len(self.post.get(t, ()))
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))


# ============================================================== query
def edit1(a, b):
    """a and b differ by exactly one insertion, deletion, substitution or adjacent swap."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1 or a == b:
        return False
    i = 0
    while i < la and i < lb and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    if la > lb:
        return a[i + 1:] == b[i:]
    return a[i:] == b[i + 1:]


def spelling_neighbours(ix, word):
    out = set()
    for w in sorted(ix.surface):
        if edit1(word, w):
            out.add(ix.surface[w])
    return sorted(out)


def query_groups(ix, question, prev, P):
    """The query as a list of groups {term: weight}; a group scores an item by its best
    member. One group per distinct question stem: the stem (weight w0), its lexicon
    relations (w0*LEX_W*q/LEX_Q) and, if the stem is not in the index, spelling neighbours of the
    word (w0*FUZZY_W). Then one group per date term, then the previous turn's stems."""
    groups = []
    seen = set()

    def add_text(text, w0):
        for w, t in query_words(text):
            if t in seen:
                continue
            seen.add(t)
            g = {t: w0}
            for r, q in LEXICON.get(t, ()):
                if r not in g:
                    g[r] = w0 * P['LEX_W'] * (q / LEX_Q)
            if t not in ix.post and len(w) >= P['FUZZY_MINLEN'] and w.isalpha():
                for r in spelling_neighbours(ix, w):
                    if r not in g:
                        g[r] = w0 * P['FUZZY_W']
            groups.append(g)
    add_text(question, 1.0)
    for t in query_date_terms(question):
        if t not in seen:
            seen.add(t)
            groups.append({t: 1.0})
    if prev:
        add_text(prev, P['PREV_W'])
    return groups


# ============================================================== scoring
def bm25f(ix, groups, P):
    """score[i] = sum over groups of max over members t of
         w_t * idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len_i / avglen))
       with tf = W_CONTENT*tf_content + W_KEY*tf_key + W_DATE*tf_date."""
    s = [0.0] * ix.n
    k1, b = P['K1'], P['B']
    for g in groups:
        best = {}
        for t, w in g.items():
            plist = ix.post.get(t)
            if not plist:
                continue
            idf = ix.idf(t)
            for i, tc, tk, td in plist:
                tf = P['W_CONTENT'] * tc + P['W_KEY'] * tk + P['W_DATE'] * td
                if tf <= 0:
                    continue
                v = w * idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * ix.length[i] / ix.avglen))
                if v > best.get(i, 0.0):
                    best[i] = v
        for i, v in best.items():
            s[i] += v
    return s


def smooth(ix, s, P):
    """out[i] = s[i] + max over j in the same session, 1 <= |i-j| <= NB_WINDOW, of
         (NB_PREV if j < i else NB_NEXT) * NB_DECAY^(|i-j|-1) * s[j]
       + SESS_W * max over j in i's session of s[j]."""
    items = ix.items
    out = list(s)
    for i in range(ix.n):
        best = 0.0
        f = 1.0
        for d in range(1, P['NB_WINDOW'] + 1):
            j = i - d
            if j >= 0 and items[j]['session'] == items[i]['session']:
                best = max(best, P['NB_PREV'] * f * s[j])
            j = i + d
            if j < ix.n and items[j]['session'] == items[i]['session']:
                best = max(best, P['NB_NEXT'] * f * s[j])
            f *= P['NB_DECAY']
        out[i] += best
    if P['SESS_W'] > 0:
        smax = {}
        for i in range(ix.n):
            k = items[i]['session']
            if s[i] > smax.get(k, 0.0):
                smax[k] = s[i]
        for i in range(ix.n):
            out[i] += P['SESS_W'] * smax.get(items[i]['session'], 0.0)
    return out


def speaker_boost(ix, s, groups, P):
    """Items whose key field holds the first (own) term of a group: * (1 + SPK_BOOST).
    When the question names both speakers every item is boosted: no effect."""
    hit = [False] * ix.n
    for g in groups:
        t = next(iter(g))
        for i, tc, tk, td in ix.post.get(t, ()):
            if tk > 0:
                hit[i] = True
    return [s[i] * (1.0 + P['SPK_BOOST']) if hit[i] else s[i] for i in range(ix.n)]


def rank_once(ix, groups, P):
    return speaker_boost(ix, smooth(ix, bm25f(ix, groups, P), P), groups, P)


def prf(ix, groups, s, P):
    """One round of feedback: among the PRF_DOCS best items (score > 0; ties by position),
    each content term not already in the query, held by c >= PRF_MIN_DOCS of them and by
    at most PRF_DF_MAX items of the index, has
    value c * idf; the PRF_TERMS best (ties by term) join as groups of one with weight
    PRF_W * value / best value."""
    order = sorted(range(ix.n), key=lambda i: (-s[i], i))
    top = [i for i in order[:P['PRF_DOCS']] if s[i] > 0]
    have = set()
    for g in groups:
        have.update(g)
    count = {}
    for i in top:
        for t in ix.tf[i]:
            if t not in have:
                count[t] = count.get(t, 0) + 1
    cand = sorted(((c * ix.idf(t), t) for t, c in count.items()
                   if c >= P['PRF_MIN_DOCS'] and len(ix.post.get(t, ())) <= PRF_DF_MAX),
                  key=lambda x: (-x[0], x[1]))[:P['PRF_TERMS']]
    if not cand:
        return groups
    out = list(groups)
    for v, t in cand:
        out.append({t: P['PRF_W'] * v / cand[0][0]})
    return out


def temporal_boost(ix, s, question, P):
    if not TEMPORAL_Q.search(question):
        return s
    return [s[i] * (1.0 + P['TEMP_BOOST']) if ix.timex[i] else s[i] for i in range(ix.n)]


def score(ix, question, prev, P):
    groups = query_groups(ix, question, prev, P)
    s = rank_once(ix, groups, P)
    if P['PRF_DOCS'] > 0:
        s = rank_once(ix, prf(ix, groups, s, P), P)
    return temporal_boost(ix, s, question, P)


# ============================================================== packing
def pack(ix, s, budget, P):
    """Items with score > 0 in order of s / tokens^PACK_POW (ties by position); each is
    taken when it still fits in the budget (a larger one may be skipped, smaller ones after
    it still taken). Returns (item indices in that order, tokens used)."""
    order = sorted((i for i in range(ix.n) if s[i] > 0),
                   key=lambda i: (-s[i] / ix.items[i]['tokens'] ** P['PACK_POW'], i))
    used, out = 0, []
    for i in order:
        c = ix.items[i]['tokens']
        if used + c <= budget:
            out.append(i)
            used += c
    return out, used


def select(ix, question, budget, prev=None, P=FACTS):
    """The items to inject for one request."""
    return pack(ix, score(ix, question, prev, P), budget, P)
