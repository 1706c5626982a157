"""The terms of core/recall/terms.c and the language identification of core/recall/lang.c,
ported rule for rule (issue 52), for verify_terms.py --terms-c: what the C port indexes and
asks by, word by word, in every script.

  words(text, lang=AUTO)   [(folded word, term or None, position)]: mp_terms_each_word_lang
  detect(text, prior=EN)   the language id of text: mp_lang_detect_prior

Lengths are counted in UTF-8 bytes where the C counts bytes (MP_TERMS_MAX, the 510-byte
pieces ICU reads, the first 4 KiB read for the language). Han and Kana terms are made by one
function, cjk_terms(): a change of the Han method is a change there.

Debian 12 packages: python3-icu (PyICU over the libicu72 the C links: normalization, scripts,
general categories, the dictionary word break) and python3-stemmer (PyStemmer, linked to
Debian's libstemmer0d, the very library the C calls: the same stems by construction).
"""
import os

import icu
import Stemmer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..'))
STOP_DIR = os.path.join(ROOT, 'core', 'recall', 'stopwords')

TERMS_MAX = 64   # MP_TERMS_MAX: bytes of a term
RUN_BYTES = 510  # RUN_UNITS - 2: bytes of a run ICU reads at a time
NORM_UNITS = 1024  # RUN_UNITS * 2: UTF-16 units of the normalized piece

# ---- languages (core/recall/lang.h: enum mp_lang, never renumbered) ----
CODES = ['', 'en', 'da', 'nl', 'fi', 'fr', 'de', 'hu', 'it', 'no', 'pt', 'es', 'sv', 'tr', 'ru', 'ne',
         'ar', 'hi', 'el', 'hy', 'ta', 'ca', 'eu', 'ga', 'id', 'lt', 'ro', 'sr', 'yi', 'zh', 'ja', 'ko',
         'th', 'he']
L = {c: i for i, c in enumerate(CODES)}
NONE, EN, DA, TR, COUNT = 0, L['en'], L['da'], L['tr'], len(CODES)
AUTO = 255
S = icu.UScriptCode
STEMMERS = {'en': 'english', 'da': 'danish', 'nl': 'dutch', 'fi': 'finnish', 'fr': 'french',
            'de': 'german', 'hu': 'hungarian', 'it': 'italian', 'no': 'norwegian', 'pt': 'portuguese',
            'es': 'spanish', 'sv': 'swedish', 'tr': 'turkish', 'ru': 'russian', 'ne': 'nepali',
            'ar': 'arabic', 'hi': 'hindi', 'el': 'greek', 'hy': 'armenian', 'ta': 'tamil',
            'ca': 'catalan', 'eu': 'basque', 'ga': 'irish', 'id': 'indonesian', 'lt': 'lithuanian',
            'ro': 'romanian', 'sr': 'serbian', 'yi': 'yiddish'}
LATIN_LANGS = 'en da nl fi fr de hu it no pt es sv tr ca eu ga id lt ro'.split()
SCRIPT_OF = {L[c]: S.LATIN for c in LATIN_LANGS}
SCRIPT_OF.update({L['ru']: S.CYRILLIC, L['sr']: S.CYRILLIC, L['ne']: S.DEVANAGARI, L['hi']: S.DEVANAGARI,
                  L['ar']: S.ARABIC, L['el']: S.GREEK, L['hy']: S.ARMENIAN, L['ta']: S.TAMIL,
                  L['yi']: S.HEBREW, L['he']: S.HEBREW, L['zh']: S.HAN, L['ja']: S.JAPANESE,
                  L['ko']: S.HANGUL, L['th']: S.THAI})
# mp_lang_of_script: a script's first language
FIRST_LANG = {S.LATIN: EN, S.CYRILLIC: L['ru'], S.ARABIC: L['ar'], S.DEVANAGARI: L['hi'],
              S.GREEK: L['el'], S.ARMENIAN: L['hy'], S.TAMIL: L['ta']}


def _english_stop():
    with open(os.path.join(HERE, 'stopwords.txt'), encoding='utf-8') as f:
        return {ln.strip() for ln in f if ln.strip() and not ln.startswith('#')}


def _stop_lists():
    """word -> set of language ids, from core/recall/stopwords/*.txt as its gen.py reads them."""
    names = {v: L[k] for k, v in STEMMERS.items()}
    names.update({'chinese': L['zh'], 'japanese': L['ja']})  # lists without a stemmer (gen.py)
    out = {}
    for f in sorted(os.listdir(STOP_DIR)):
        if not f.endswith('.txt') or f[:-4] not in names:
            continue
        with open(os.path.join(STOP_DIR, f), encoding='utf-8') as fh:
            for ln in fh:
                w = ln.split('|')[0].strip().lower()
                if w:
                    out.setdefault(w, set()).add(names[f[:-4]])
    return out


EN_STOP = _english_stop()
STOPS = _stop_lists()


def is_stop(lang, w):
    """mp_lang_is_stop"""
    if lang == EN:
        return w in EN_STOP
    if lang <= NONE or lang >= 32:
        return False
    return lang in STOPS.get(w, ())


def lang_of_script(lang, script):
    """mp_lang_of_script"""
    if NONE < lang < COUNT and SCRIPT_OF.get(lang) == script:
        return lang
    return FIRST_LANG.get(script, NONE)


_stemmers = {}


def stemmer(lang):
    if lang not in _stemmers:
        name = STEMMERS.get(CODES[lang]) if 0 < lang < COUNT else None
        _stemmers[lang] = Stemmer.Stemmer(name) if name else None
    return _stemmers[lang]


# ---- characters ----
def gc(cp):
    """1..5 letters (L), 6..8 marks (M), 9..11 numbers (N): ICU's general category."""
    return icu.Char.charType(cp)


def script(cp):
    return icu.Script.getScript(chr(cp)).getScriptCode()


def fold(cp):
    """mp_terms_fold: simple folding of ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic."""
    if cp < 0x80:
        return cp + 32 if 0x41 <= cp <= 0x5A else cp
    if 0xC0 <= cp <= 0xDE and cp != 0xD7:
        return cp + 32
    if 0x100 <= cp <= 0x17F:
        if cp == 0x130:
            return 0x69
        if cp == 0x178:
            return 0xFF
        if cp == 0x17F:
            return 0x73
        odd = 0x139 <= cp <= 0x148 or 0x179 <= cp <= 0x17E
        if cp in (0x131, 0x138, 0x149):
            return cp
        return ((cp + 1 if cp & 1 else cp) if odd else (cp if cp & 1 else cp + 1))
    if 0x391 <= cp <= 0x3A9 and cp != 0x3A2:
        return cp + 32
    if cp == 0x3C2:
        return 0x3C3
    if 0x410 <= cp <= 0x42F:
        return cp + 32
    if 0x400 <= cp <= 0x40F:
        return cp + 80
    if cp == 0x2019:
        return 0x27
    return cp


def is_digit(cp):
    return 0x30 <= cp <= 0x39


def is_word(cp):
    """is_word_cp: letters, marks, numbers of every script; not variation selectors."""
    if cp < 0x80:
        return 0x61 <= (cp | 0x20) <= 0x7A or is_digit(cp)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or cp > 0x10FFFF:
        return False
    return 1 <= gc(cp) <= 11


def is_ignored(cp):
    """Arabic tashkeel and tatweel"""
    return 0x064B <= cp <= 0x065F or cp == 0x0670 or cp == 0x0640


def utf8_cut(b, n):
    """mp_utf8_cut: b cut to at most n bytes at a character."""
    if len(b) <= n:
        return b
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n]


class Word:
    """struct word: the folded bytes (at most TERMS_MAX), a digit seen, all ASCII."""
    __slots__ = ('buf', 'digit', 'ascii')

    def __init__(self):
        self.buf = bytearray()
        self.digit = False
        self.ascii = True

    def add(self, cp):
        if cp < 0x80:
            if len(self.buf) < TERMS_MAX:
                self.buf.append(fold(cp))
            self.digit = self.digit or is_digit(cp)
            return
        if cp != 0x2019:
            self.ascii = False
        enc = chr(fold(cp)).encode('utf-8', 'surrogatepass')
        if len(self.buf) + len(enc) > TERMS_MAX:
            return
        self.buf += enc


def scan_word(cps, i, w):
    """Where the word starting at cps[i] ends, its characters added to w."""
    n = len(cps)
    prev = 0
    while i < n:
        cp = cps[i]
        joiner = cp in (0x27, 0x2019, 0x2E)
        if not is_word(cp) and not joiner:
            break
        if joiner:
            if i + 1 >= n or not is_word(prev):
                break
            nx = cps[i + 1]
            ok = (is_digit(prev) and is_digit(nx)) if cp == 0x2E else \
                (is_word(nx) and not is_digit(prev) and not is_digit(nx))
            if not ok:
                break
        w.add(cp)
        prev = cp
        i += 1
    return i


# ---- terms of one word ----
MIN_STEM = 2  # characters of a stem made of a longer word


def stem_word(lang, buf, digit):
    """The term (bytes) of a folded word, None when it is dropped."""
    if len(buf) == 0 or len(buf) > TERMS_MAX:
        return None
    w = bytes(buf).decode('utf-8', 'surrogatepass')
    if digit:
        return None if is_stop(lang, w) else bytes(buf)
    if is_stop(lang, w):
        return None
    sb = stemmer(lang)
    if sb is None:
        return bytes(buf)
    st = sb.stemWord(w)
    if not st or is_stop(lang, st):
        return None
    if len(st) < MIN_STEM and len(st) < len(w):  # "cunda" -> "ç": the folded word
        return bytes(buf)
    return utf8_cut(st.encode('utf-8', 'surrogatepass'), TERMS_MAX)


def elide(lang, buf):
    """French, Italian, Catalan: the word after an article's apostrophe (at most 5 bytes
    before it, a vowel or h after it); Turkish: the noun before the suffixes' apostrophe."""
    if lang not in (L['fr'], L['it'], L['ca'], TR):
        return buf
    at = buf.find(b"'")
    if at < 0:
        return buf
    if lang == TR:
        return buf[:at]
    if at == 0 or at > 5 or at + 1 >= len(buf) or buf[at + 1] in b'bcdfgjklmnpqrstvwxz':
        return buf
    return buf[at + 1:]


# ---- words of other scripts ----
NONE_K, OTHER, CJK, HANGUL, BREAK = range(5)


def kind_of(cp, cur):
    if 9 <= gc(cp) <= 11:
        return OTHER
    sc = script(cp)
    if sc in (S.HAN, S.HIRAGANA, S.KATAKANA):
        return CJK
    if sc == S.HANGUL:
        return HANGUL
    if sc in (S.THAI, S.LAO, S.KHMER, S.MYANMAR):
        return BREAK
    if sc in (S.COMMON, S.INHERITED):
        return cur if cur != NONE_K else OTHER
    return OTHER


_brk = None


def dictionary_words(u):
    """The words of ICU's (root locale) word break over the UTF-16 string u: [(a, b)]."""
    global _brk
    if _brk is None:
        _brk = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
    _brk.setText(u)
    out = []
    a = _brk.first()
    for b in _brk:
        if _brk.getRuleStatus() >= 100:  # UBRK_WORD_NUMBER and above: not space or punctuation
            out.append((a, b))
        a = b
    return out


def bigrams(cps):
    """Overlapping bigrams of cps (a lone character is its own term), as Lucene's CJKBigramFilter."""
    n = len(cps)
    if n == 0:
        return []
    if n == 1:
        return [chr(cps[0])]
    return [chr(cps[i]) + chr(cps[i + 1]) for i in range(n - 1)]


def cjk_lang(lang, word):
    """terms.c's cjk_lang: the language whose stop words a Han or Kana word is checked against:
    Japanese for a word with Kana or in a Japanese text, else Chinese."""
    if lang == L['ja'] or any(script(ord(c)) in (S.HIRAGANA, S.KATAKANA) for c in word):
        return L['ja']
    return L['zh']


def broken_terms(u, inner, lang=None):
    """Thai, Lao, Khmer, Burmese (and Han, Kana): ICU's dictionary words of u (a UnicodeString),
    each followed, with inner, by its bigrams when it has three characters or more. With lang
    (a Han or Kana run read in a text of that language), a word that is a stop word of
    cjk_lang() is (word, None): it takes a position, has no term and adds no bigram."""
    out = []
    for a, b in dictionary_words(u):
        word = str(u[a:b])
        if lang is not None and is_stop(cjk_lang(lang, word), word):
            out.append((word, None))
            continue
        if len(word.encode('utf-8', 'surrogatepass')) <= TERMS_MAX:
            out.append(word)
        if inner:
            cps = [ord(c) for c in word][:TERMS_MAX]
            if len(cps) >= 3:
                out.extend(bigrams(cps))
    return out


# The Han and Kana method of terms.c's build (emit_piece): 'dict+inner' (the default), or what
# MP_TERMS_CJK_BIGRAMS ('bigrams'), MP_TERMS_CJK_UNIBI ('unibi'), MP_TERMS_CJK_DICT ('dict') and
# MP_TERMS_CJK_BOTH ('both') build.
CJK_METHOD = 'dict+inner'


def cjk_terms(s, lang=None, method=None):
    """The terms of a run s of Han and Kana (NFKC case folded) in a text of language lang,
    terms.c's emit_piece: by default ICU's dictionary words, each followed by its bigrams when
    it has three characters or more (杭州市: 杭州市 杭州 州市), a Chinese question word (什么)
    as (word, None). The one function a change of the Han method changes."""
    method = method or CJK_METHOD
    cps = [ord(c) for c in s if not is_ignored(ord(c))]
    if method == 'bigrams':
        return bigrams(cps)
    if method == 'unibi':
        return ([chr(c) for c in cps] if len(cps) > 1 else []) + bigrams(cps)
    words = broken_terms(icu.UnicodeString(s), method == 'dict+inner', NONE if lang is None else lang)
    if method == 'both':
        words += bigrams(cps)
    return words


class Walk:
    def __init__(self, lang):
        self.lang = lang
        self.pos = 0
        self.out = []

    def emit(self, term):
        """A term of a Han, Kana, Hangul or broken word (word and term the same)."""
        b = term.encode('utf-8', 'surrogatepass') if isinstance(term, str) else term
        if len(b) == 0 or len(b) > TERMS_MAX:
            return
        s = b.decode('utf-8', 'surrogatepass')
        self.out.append((s, s, self.pos))
        self.pos += 1

    def word(self, buf, term):
        self.out.append((bytes(buf).decode('utf-8', 'surrogatepass'),
                         None if term is None else term.decode('utf-8', 'surrogatepass'), self.pos))
        self.pos += 1


def emit_other(wk, w, first):
    sc = script(first)
    lang = lang_of_script(wk.lang, S.LATIN if sc == S.COMMON else sc)
    wk.word(w.buf, stem_word(lang, elide(lang, bytes(w.buf)), w.digit))


def emit_piece(wk, kind, piece):
    if kind == OTHER:
        w = Word()
        first = 0
        for ch in piece:
            c = ord(ch)
            if is_ignored(c):
                continue
            if first == 0 and 1 <= gc(c) <= 5:
                first = c
            w.add(0x27 if c == 0x2019 else c)
        if len(w.buf) > 0:
            emit_other(wk, w, first)
        return
    if kind == CJK:
        for t in cjk_terms(piece, wk.lang):
            if isinstance(t, tuple):
                wk.word(t[0].encode('utf-8', 'surrogatepass'), None)
            else:
                wk.emit(t)
        return
    if kind == BREAK:
        for t in broken_terms(icu.UnicodeString(piece), False):
            wk.emit(t)
        return
    cps = [ord(c) for c in piece if not is_ignored(ord(c))]  # Hangul: syllable bigrams
    for t in bigrams(cps):
        wk.emit(t)


def emit_pieces(wk, u):
    """Normalized text u (a str) in pieces by script."""
    cur, start = NONE_K, 0
    for i, ch in enumerate(u):
        c = ord(ch)
        k = cur if is_ignored(c) else kind_of(c, cur)
        joiner = c in (0x27, 0x2019, 0x2E)
        if not joiner and not is_word(c) and not is_ignored(c):
            k = NONE_K
        if k == cur:
            continue
        if cur != NONE_K:
            emit_piece(wk, cur, u[start:i])
        cur = k
        start = i + 1 if k == NONE_K else i
    if cur != NONE_K:
        emit_piece(wk, cur, u[start:])


_nfkc_cf = None


def emit_run(wk, run):
    """A run of word characters with a character outside ASCII, read in pieces of at most
    RUN_BYTES bytes cut at a character."""
    global _nfkc_cf
    if _nfkc_cf is None:
        _nfkc_cf = icu.Normalizer2.getNFKCCasefoldInstance()
    b = run.encode('utf-8', 'surrogatepass')
    while b:
        k = len(b)
        if k > RUN_BYTES:
            k = RUN_BYTES
            while k > 0 and (b[k] & 0xC0) == 0x80:
                k -= 1
        u = _nfkc_cf.normalize(b[:k].decode('utf-8', 'surrogatepass'))
        if len(u.encode('utf-16-le', 'surrogatepass')) // 2 <= NORM_UNITS:
            emit_pieces(wk, u)
        b = b[k:]


def words(text, lang=AUTO):
    """mp_terms_each_word_lang: [(folded word, term or None, position)] of text."""
    if lang == AUTO:
        lang = detect(text)
    wk = Walk(lang)
    alang = lang_of_script(lang, S.LATIN)
    cps = [ord(c) for c in text]
    i, n = 0, len(cps)
    while i < n:
        if not is_word(cps[i]):
            i += 1
            continue
        w = Word()
        start = i
        i = scan_word(cps, i, w)
        if not w.ascii:
            emit_run(wk, text[start:i])
            continue
        sw = bytes(w.buf) if alang == EN else elide(alang, bytes(w.buf))
        wk.word(w.buf, stem_word(alang, sw, w.digit))
    return wk.out


def terms(text, lang=AUTO):
    """mp_terms_each_lang: the terms of text, in order."""
    return [t for _, t, _ in words(text, lang) if t is not None]


# ---- identification (core/recall/lang.c) ----
DETECT_BYTES = 4096
DETECT_WORDS = 32
UNIT = 12
_HINTS = {0xDF: 'de', 0xF1: 'es', 0xBF: 'es', 0xA1: 'es', 0xE3: 'pt', 0xF5: 'pt', 0xE7: 'fr pt tr',
          0x153: 'fr', 0xEA: 'fr pt', 0xE8: 'fr it', 0xF2: 'it', 0xF9: 'it fr', 0xE6: 'da no',
          0xF8: 'da no', 0xE5: 'sv da no', 0xE4: 'de sv fi', 0xFC: 'de tr hu', 0xF6: 'de tr sv',
          0x131: 'tr', 0x130: 'tr', 0x11F: 'tr', 0x15F: 'tr', 0xED: 'es pt hu', 0xE1: 'es pt hu',
          0xF3: 'es pt hu', 0xFA: 'es pt hu', 0xE0: 'fr pt it', 0xE2: 'fr pt', 0xF4: 'fr pt',
          0xEC: 'it', 0x151: 'hu', 0x171: 'hu'}
HINTS = {cp: [L[c] for c in v.split()] for cp, v in _HINTS.items()}
_COUNTED = {S.LATIN: 'latin', S.HAN: 'han', S.HIRAGANA: 'kana', S.KATAKANA: 'kana', S.HANGUL: 'hangul',
            S.CYRILLIC: 'cyrillic', S.ARABIC: 'arabic', S.DEVANAGARI: 'devanagari', S.GREEK: 'greek',
            S.THAI: 'thai', S.HEBREW: 'hebrew'}
SCRIPTS = ['latin', 'han', 'kana', 'hangul', 'cyrillic', 'arabic', 'devanagari', 'greek', 'thai',
           'hebrew', 'other']


class Tally:
    def __init__(self):
        self.n = dict.fromkeys(SCRIPTS, 0)
        self.ascii = self.words = self.accented = 0
        self.english = False
        self.hits = [0] * COUNT
        self.hits1 = [0] * COUNT
        self.letters = [0] * COUNT
        self.word = bytearray()

    def end_word(self):
        if not self.word or self.words >= DETECT_WORDS:
            self.word = bytearray()
            return
        self.words += 1
        w = bytes(self.word).decode('utf-8', 'surrogatepass')
        bits = set(STOPS.get(w, ()))
        if w in EN_STOP:
            bits.add(EN)
        k = len(bits)
        hits = self.hits1 if len(self.word) == 1 else self.hits
        for lang in bits:
            if lang < 32:
                hits[lang] += UNIT + UNIT // 2 if k == 1 else UNIT
        self.word = bytearray()
        if (self.words >= 8 and self.n['latin'] == self.ascii and self.hits[EN] >= 3 * UNIT
                and sum(v for s, v in self.n.items() if s != 'latin') == 0):
            other = max(self.hits[lang] + 2 * UNIT * self.letters[lang] for lang in range(DA, TR + 1))
            self.english = 2 * other < self.hits[EN]

    def hint(self, cp):
        for lang in HINTS.get(cp, ()):
            self.letters[lang] += 1

    def add_letter(self, cp):
        if cp < 0x80:
            self.n['latin'] += 1
            self.ascii += 1
            cp = cp + 32 if 0x41 <= cp <= 0x5A else cp
        else:
            self.n[_COUNTED.get(script(cp), 'other')] += 1
            cp = icu.Char.foldCase(cp)
            if cp < 0x250:
                self.accented += 1
                self.hint(cp)
        enc = chr(cp).encode('utf-8', 'surrogatepass')
        if len(self.word) + len(enc) <= TERMS_MAX:
            self.word += enc


def _decode(b, i, n):
    """(code point, length) of the UTF-8 character at b[i:n], or (None, 0) when invalid."""
    c = b[i]
    if c < 0x80:
        return c, 1
    k = 2 if 0xC2 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4 if 0xF0 <= c <= 0xF4 else 0
    if k == 0 or i + k > n:
        return None, 0
    try:
        return ord(b[i:i + k].decode('utf-8')), k
    except UnicodeDecodeError:
        return None, 0


LETTERS_OVER_PRIOR = 3


def _latin_lang(t, prior):
    stops = [t.hits[lang] + (t.hits1[lang] if t.accented > 0 else 0) for lang in range(COUNT)]
    score = [stops[lang] + 2 * UNIT * t.letters[lang] for lang in range(COUNT)]
    best = prior
    for lang in range(EN, TR + 1):
        if score[lang] > score[best]:
            best = lang
    if (best != prior and t.hits[prior] > 0 and stops[best] < stops[prior]
            and t.letters[best] < LETTERS_OVER_PRIOR):
        return prior
    need = UNIT if t.accented > 0 else 2 * UNIT
    return best if score[best] >= need else prior


def _decide(t, prior):
    n = t.n
    cjk = 3 * (n['han'] + n['kana'] + n['hangul'])
    most = n['latin']
    lang = _latin_lang(t, prior) if n['latin'] > 0 else prior
    for cnt, code in ((n['cyrillic'], 'ru'), (n['arabic'], 'ar'), (n['devanagari'], 'hi'),
                      (n['greek'], 'el'), (n['thai'], 'th'), (n['hebrew'], 'he'), (3 * n['hangul'], 'ko')):
        if cnt > most:
            most, lang = cnt, L[code]
    if cjk - 3 * n['hangul'] > most:
        lang = L['ja'] if n['kana'] > 0 else L['zh']
    return lang


def detect(text, prior=EN):
    """mp_lang_detect_prior (mp_lang_detect: prior English)."""
    if not (NONE < prior <= TR and SCRIPT_OF.get(prior) == S.LATIN):
        prior = EN
    t = Tally()
    b = text.encode('utf-8', 'surrogatepass')[:DETECT_BYTES]
    n, i = len(b), 0
    while i < n and t.words < DETECT_WORDS and not t.english:
        c = b[i]
        if c < 0x80 and c != 0x27:
            lc = c | 0x20
            if 0x61 <= lc <= 0x7A:
                t.n['latin'] += 1
                t.ascii += 1
                if len(t.word) < TERMS_MAX:
                    t.word.append(lc)
            else:
                t.end_word()
            i += 1
            continue
        cp, k = _decode(b, i, n)
        if cp is None:
            t.end_word()
            i += 1
            continue
        i += k
        if cp in (0x27, 0x2019):
            if 2 < len(t.word) < TERMS_MAX:
                t.word.append(0x27)
            elif i < n and 0x41 <= b[i] <= 0x5A:  # a name's: O'Brien
                t.word = bytearray()
            else:
                t.end_word()
            continue
        if cp in (0xBF, 0xA1):
            t.hint(cp)
        letter = (0x61 <= (cp | 0x20) <= 0x7A) if cp < 0x80 else 1 <= gc(cp) <= 8
        if letter:
            t.add_letter(cp)
        else:
            t.end_word()
    t.end_word()
    return _decide(t, prior)


def dump(lines):
    """What tests/bench/terms_dump prints for lines (without their line ends)."""
    out = []
    for n, line in enumerate(lines):
        out.append('%d lang %s' % (n, CODES[detect(line)]))
        for w, t, pos in words(line):
            out.append('%d %d %s %s' % (n, pos, w, '-' if t is None else t))
    return out


if __name__ == '__main__':
    import sys
    sys.stdout.write(''.join(ln + '\n' for ln in dump(sys.stdin.read().split('\n')[:-1])))
