/* Words to terms: splitting, folding, stop words, stemming (see terms.h).
 * ASCII words take the table-driven path they always took (English text
 * comes out byte for byte as before languages came); a word with any other
 * character goes through ICU: NFKC with full case folding, split by script,
 * Han, Kana, Thai, Lao, Khmer and Burmese by ICU's dictionary word break
 * (a Han or Kana word of 3+ characters adds its bigrams; Chinese question
 * words dropped), Hangul into overlapping bigrams. Stemmers are
 * libstemmer's, one per language, made when first needed. */
#include "recall/terms.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#include "json/ascii.h"
#include "fnv1a.h"
#include "recall/lang.h"
#include "scan16.h"
#include "status.h"
#include "json/utf8.h"

/* What a folded word without digits comes to (stem_word): its term, or
 * none (a stop word, or a stem that is one). The same word always comes to
 * the same thing, so a tokenizer remembers the words it met last in a
 * table of sets of STEM_WAYS slots: a conversation's words come back
 * request after request, and the stemmer and the stop word search cost more
 * than a hash. Two ways, not one: two words of one question that share a
 * set would otherwise put each other out on every request (about one
 * question in three of 28 words has such a pair). */
#define STEM_SLOTS 1024 /* a power of two; about 144 KiB per tokenizer */
#define STEM_WAYS  2    /* slots of a set: the newest word first */

struct stem_slot {
    uint64_t walk; /* the walk of mp_terms_each_new_word_lang that last handed it (0: none) */
    uint8_t wlen;  /* 0: empty */
    uint8_t tlen;  /* 0: no term */
    uint8_t lang;  /* enum mp_lang of the stemmer and stop list */
    char word[MP_TERMS_MAX];
    char term[MP_TERMS_MAX];
};

/* UTF-16 code units of one run of word characters that ICU reads at a
 * time: a longer run (a Chinese paragraph without punctuation) is read in
 * pieces, losing the one bigram across each cut. */
#define RUN_UNITS 512

struct mp_terms {
    struct sb_stemmer *stemmer;                 /* English */
    struct sb_stemmer *stemmers[MP_LANG_COUNT]; /* made when first needed */
    bool tried[MP_LANG_COUNT];
    struct stem_slot *slots;
    UBreakIterator *brk; /* Thai, Lao, Khmer, Burmese: made when first needed */
    UChar raw[RUN_UNITS];
    UChar norm[RUN_UNITS * 2];
    const struct mp_xlate *xlate; /* borrowed: the deployment's tables (NULL: none) */
    uint64_t walks;               /* walks of mp_terms_each_new_word_lang so far */
};

int mp_terms_new(struct mp_terms **out)
{
    struct mp_terms *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    t->slots = calloc(STEM_SLOTS, sizeof(*t->slots));
    t->stemmer = t->slots != NULL ? sb_stemmer_new("english", "UTF_8") : NULL;
    if (t->stemmer == NULL) {
        int rc = t->slots == NULL ? MP_ENOMEM : MP_EIO;
        free(t->slots);
        free(t);
        return rc;
    }
    t->stemmers[MP_LANG_EN] = t->stemmer;
    t->tried[MP_LANG_EN] = true;
    *out = t;
    return MP_OK;
}

void mp_terms_set_xlate(struct mp_terms *t, const struct mp_xlate *x)
{
    t->xlate = x;
}

const struct mp_xlate *mp_terms_xlate(const struct mp_terms *t)
{
    return t != NULL ? t->xlate : NULL;
}

void mp_terms_free(struct mp_terms *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < MP_LANG_COUNT; i++)
        sb_stemmer_delete(t->stemmers[i]);
    if (t->brk != NULL)
        ubrk_close(t->brk);
    free(t->slots);
    free(t);
}

/* ---- compiled-in word lists (stop words, lexicons) ---- */

/* Whether word[0..len) is the NUL-terminated w: one pass, no strlen. */
static bool same_word(const char *word, size_t len, const char *w)
{
    size_t i = 0;
    for (; i < len && w[i] != '\0'; i++)
        if (word[i] != w[i])
            return false;
    return i == len && w[i] == '\0';
}

long mp_terms_find_hashed(const void *words, size_t size, const uint16_t *slots, size_t nslots,
                          const char *word, size_t len)
{
    return mp_terms_find_hash(words, size, slots, nslots, mp_fnv1a32(MP_FNV1A32_BASIS, word, len),
                              word, len);
}

long mp_terms_find_hash(const void *words, size_t size, const uint16_t *slots, size_t nslots,
                        uint32_t h, const char *word, size_t len)
{
    for (size_t s = h & (nslots - 1);; s = (s + 1) & (nslots - 1)) {
        size_t row = slots[s];
        if (row == 0)
            return -1;
        if (same_word(word, len, *(const char *const *)((const char *)words + (row - 1) * size)))
            return (long)row - 1;
    }
}

bool mp_terms_is_stop(const char *word, size_t len)
{
    return (mp_lang_stop_langs(word, len) & (1u << MP_LANG_EN)) != 0;
}

/* ---- characters ---- */

uint32_t mp_terms_fold(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        cp -= 0xFEE0; /* full-width ASCII: what NFKC makes of it */
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 32; /* Latin-1 capitals */
    if (cp >= 0x100 && cp <= 0x17F) {
        /* Latin Extended-A: capital/small pairs, even/odd or odd/even */
        if (cp == 0x130)
            return 'i';
        if (cp == 0x178)
            return 0xFF;
        if (cp == 0x17F)
            return 's';
        bool odd_pairs = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if (cp == 0x131 || cp == 0x138 || cp == 0x149)
            return cp;
        return odd_pairs ? ((cp & 1) ? cp + 1 : cp) : ((cp & 1) ? cp : cp + 1);
    }
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
        return cp + 32; /* Greek capitals */
    if (cp == 0x3C2)
        return 0x3C3; /* final sigma */
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 32; /* Cyrillic capitals */
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 80;
    if (cp == 0x2019)
        return '\'';
    return cp;
}

static bool is_digit_cp(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

/* Letters, combining marks and numbers of every script (Unicode general
 * categories L, M, Nd, Nl, No); punctuation of every script (。、，！？ ، ؛
 * ؟ ۔ । and the full-width forms), symbols, spaces, emoji and their
 * variation selectors separate words. */
bool mp_terms_is_word_char(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || is_digit_cp(cp);
    if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) || cp > 0x10FFFF)
        return false;
    return (U_GET_GC_MASK((UChar32)cp) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

static bool is_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2019;
}

/* Decodes one code point at s[i..n) into *cp; returns its length (invalid
 * bytes: 1, with *cp = 0, which is no word character). */
static size_t next_cp(const char *s, size_t n, size_t i, uint32_t *cp)
{
    size_t k = mp_utf8_decode((const unsigned char *)s + i, n - i, cp);
    if (k == 0) {
        *cp = 0;
        return 1;
    }
    return k;
}

/* ---- the walk ---- */

struct word {
    char buf[MP_TERMS_MAX + 4];
    size_t len;
    bool digit;
    bool ascii; /* every character ASCII: the table-driven path */
    bool apos;  /* an apostrophe was added: elide() has something to read */
};

/* An empty word: buf is written as the word grows, so it is not zeroed
 * (a walk starts one per word). */
static void word_start(struct word *w)
{
    w->len = 0;
    w->digit = false;
    w->ascii = true;
    w->apos = false;
}

/* word_add() of an ASCII character: one byte, no encoding (the bulk of
 * most text); mp_terms_fold of ASCII is mp_ascii_lower. */
static void word_add_ascii(struct word *w, unsigned char c)
{
    if (w->len < MP_TERMS_MAX)
        w->buf[w->len++] = (char)mp_ascii_lower(c);
    w->digit = w->digit || mp_ascii_is_digit(c);
    w->apos = w->apos || c == '\'';
}

static void word_add(struct word *w, uint32_t cp)
{
    unsigned char enc[4];
    if (cp < 0x80) {
        word_add_ascii(w, (unsigned char)cp);
        return;
    }
    w->apos = w->apos || cp == 0x2019;
    if (cp != 0x2019) /* folds to ' */
        w->ascii = false;
    size_t k = mp_utf8_encode(mp_terms_fold(cp), enc);
    if (w->len + k > MP_TERMS_MAX)
        return; /* cut at a code point: the rest of a very long word is dropped */
    memcpy(w->buf + w->len, enc, k);
    w->len += k;
    w->digit = w->digit || is_digit_cp(cp);
}

/* The run of ASCII letters and digits at s[i..n) added to w, as
 * word_add_ascii() adds each: the bulk of most text, in one tight loop (no
 * decoding, no joiner). Returns where the run ends. */
static size_t scan_ascii(const char *s, size_t n, size_t i, struct word *w)
{
    size_t len = w->len;
    bool digit = false;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i], l = c | 0x20; /* l: c folded, if a letter */
        if (l >= 'a' && l <= 'z')
            c = l;
        else if (mp_ascii_is_digit(c))
            digit = true;
        else
            break;
        if (len < MP_TERMS_MAX)
            w->buf[len++] = (char)c;
    }
    w->len = len;
    w->digit = w->digit || digit;
    return i;
}

/* Where the word that starts at i ends (its code points added to w). */
static size_t scan_word(const char *s, size_t n, size_t i, struct word *w)
{
    uint32_t cp = 0, prev = 0, nx = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        if (mp_ascii_is_alnum(b)) {
            i = scan_ascii(s, n, i, w);
            prev = (unsigned char)s[i - 1];
            continue;
        }
        if (b < 0x80 && b != '\'' && b != '.')
            break; /* ASCII that is neither a word character nor a joiner */
        size_t k = next_cp(s, n, i, &cp);
        bool joiner = is_apostrophe(cp) || cp == '.';
        if (!mp_terms_is_word_char(cp) && !joiner)
            break;
        if (joiner) {
            /* an apostrophe between letters, a dot between digits */
            if (i + k >= n || !mp_terms_is_word_char(prev))
                break;
            next_cp(s, n, i + k, &nx);
            bool ok = cp == '.'
                          ? is_digit_cp(prev) && is_digit_cp(nx)
                          : mp_terms_is_word_char(nx) && !is_digit_cp(prev) && !is_digit_cp(nx);
            if (!ok)
                break;
        }
        word_add(w, cp);
        prev = cp;
        i += k;
    }
    return i;
}

/* The term of word w (no digit) into *term and *n, NULL when it is dropped:
 * the stop word check, the stemmer, the check of the stem. */
static struct sb_stemmer *stemmer_of(struct mp_terms *t, int lang)
{
    if (lang <= MP_LANG_NONE || lang >= MP_LANG_COUNT)
        return NULL;
    if (!t->tried[lang]) {
        const char *name = mp_lang_stemmer(lang);
        t->tried[lang] = true;
        t->stemmers[lang] = name != NULL ? sb_stemmer_new(name, "UTF_8") : NULL;
    }
    return t->stemmers[lang];
}

/* A stem of fewer than MIN_STEM characters made of a longer word meets
 * unrelated words: the Turkish stemmer makes "ç" of "cunda" (a place's
 * name); the folded word is the term instead. English never gets one (its
 * stems of one letter are of stop words). */
#define MIN_STEM 2

static bool stem_too_short(const sb_symbol *st, size_t k, size_t wlen)
{
    size_t chars = 0;
    for (size_t i = 0; i < k; i++)
        chars += (st[i] & 0xC0) != 0x80;
    return chars < MIN_STEM && k < wlen;
}

static int stem_fresh(struct mp_terms *t, int lang, const struct word *w, const char **term,
                      size_t *n)
{
    if (mp_lang_is_stop(lang, w->buf, w->len))
        return MP_OK;
    struct sb_stemmer *sb = stemmer_of(t, lang);
    if (sb == NULL) { /* a language without a stemmer: the folded word */
        *term = w->buf;
        *n = w->len;
        return MP_OK;
    }
    const sb_symbol *st = sb_stemmer_stem(sb, (const sb_symbol *)w->buf, (int)w->len);
    if (st == NULL)
        return MP_ENOMEM;
    int k = sb_stemmer_length(sb);
    if (k <= 0 || mp_lang_is_stop(lang, (const char *)st, (size_t)k))
        return MP_OK; /* "doings" stems to "do" */
    *term = (const char *)st;
    *n = (size_t)k;
    if (stem_too_short(st, (size_t)k, w->len)) {
        *term = w->buf;
        *n = w->len;
    }
    return MP_OK;
}

/* The 8 bytes at p (8 readable there), as a little-endian word. */
static inline uint64_t load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

/* The set hash of the word w of lang: its bytes 8 at a time (the last
 * ones with zeros after them; w->buf has room to read past w->len), each
 * mixed in by a multiply, from a seed of the language (the languages'
 * words apart). Not FNV-1a byte by byte: a word is one or two steps. */
static inline uint32_t word_hash(int lang, const struct word *w)
{
    static const uint64_t k = 0x9E3779B97F4A7C15ull; /* 2^64 / the golden ratio */
    uint64_t h = (uint64_t)lang * k;
    size_t i = 0;
    for (; i + 8 <= w->len; i += 8)
        h = (h ^ load8(w->buf + i)) * k;
    if (i < w->len)
        h = (h ^ (load8(w->buf + i) & (~0ull >> (8 * (8 - (w->len - i)))))) * k;
    h = (h ^ (h >> 32)) * k; /* the high bytes into the bits that choose the set */
    return (uint32_t)(h >> 32);
}

/* The set (its STEM_WAYS slots) of a word whose word_hash is h. */
static struct stem_slot *set_at(struct mp_terms *t, uint32_t h)
{
    return &t->slots[(h & (STEM_SLOTS / STEM_WAYS - 1)) * STEM_WAYS];
}

/* Whether a[0..len) and b[0..len) are the same bytes, len <= MP_TERMS_MAX,
 * both buffers at least MP_TERMS_MAX bytes long (read 8 at a time: a
 * short word is one or two loads, no call). */
static inline bool same_bytes(const char *a, const char *b, size_t len)
{
    size_t k = 0;
    for (; k + 8 <= len; k += 8) {
        uint64_t x, y;
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        if (x != y)
            return false;
    }
    if (k == len)
        return true;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x, y; /* k + 8 <= MP_TERMS_MAX: the bytes past len are shifted out */
    memcpy(&x, a + k, 8);
    memcpy(&y, b + k, 8);
    return ((x ^ y) << (8 * (8 - (len - k)))) == 0;
#else
    return memcmp(a + k, b + k, len - k) == 0;
#endif
}

/* The slot of set that holds w in lang, NULL when none does: what most
 * words of a text come to (inline: a call would cost as much). */
static inline struct stem_slot *stem_find(struct stem_slot *set, int lang, const struct word *w)
{
    for (struct stem_slot *sl = set; sl < set + STEM_WAYS; sl++)
        if (sl->wlen == w->len && sl->lang == lang && same_bytes(sl->word, w->buf, w->len))
            return sl;
    return NULL;
}

/* stem_in of a word the table does not hold: stemmed, and put in the
 * first slot of its set. */
static int stem_new(struct mp_terms *t, int lang, const struct word *w, struct stem_slot *set,
                    const char **term, size_t *n, struct stem_slot **slot)
{
    int rc = stem_fresh(t, lang, w, term, n);
    if (rc != MP_OK)
        return rc;
    if (*n > MP_TERMS_MAX) /* a stemmer that lengthens (Turkish, on a long word) */
        *n = mp_utf8_cut(*term, *n, MP_TERMS_MAX);
    /* the word takes the first slot, the others move one on (the last goes);
     * *term is the stemmer's or w's, never a slot's */
    memmove(set + 1, set, (STEM_WAYS - 1) * sizeof(*set));
    struct stem_slot *sl = set;
    if (*term == w->buf) { /* not stemmed: copy before the slot's word is written */
        memcpy(sl->term, w->buf, w->len);
        *term = sl->term;
    }
    memcpy(sl->word, w->buf, w->len);
    sl->wlen = (uint8_t)w->len;
    sl->lang = (uint8_t)lang;
    sl->walk = 0;
    if (*term != NULL && *term != sl->term)
        memcpy(sl->term, *term, *n);
    sl->tlen = (uint8_t)*n;
    *term = *n > 0 ? sl->term : NULL;
    *slot = sl;
    return MP_OK;
}

static int stem_in(struct mp_terms *t, int lang, const struct word *w, struct stem_slot *set,
                   const char **term, size_t *n, struct stem_slot **slot)
{
    struct stem_slot *sl = stem_find(set, lang, w);
    if (sl == NULL)
        return stem_new(t, lang, w, set, term, n, slot);
    *term = sl->tlen > 0 ? sl->term : NULL;
    *n = sl->tlen;
    *slot = sl;
    return MP_OK;
}

/* The term of a word with a digit: itself unless it is a stop word (none
 * is). */
static void digit_term(int lang, const struct word *w, const char **term, size_t *n)
{
    if (!mp_lang_is_stop(lang, w->buf, w->len)) {
        *term = w->buf;
        *n = w->len;
    }
}

/* The term of word w into *term and *n: NULL when it is dropped as a stop
 * word. A word with a digit is its own term unless it is a stop word (none
 * is); the others go through the table of words met. */
static int stem_word(struct mp_terms *t, int lang, const struct word *w, const char **term,
                     size_t *n)
{
    *term = NULL;
    *n = 0;
    if (w->len == 0 || w->len > MP_TERMS_MAX)
        return MP_OK;
    if (w->digit) {
        digit_term(lang, w, term, n);
        return MP_OK;
    }
    struct stem_slot *sl;
    return stem_in(t, lang, w, set_at(t, word_hash(lang, w)), term, n, &sl);
}

/* The part of w that is stemmed in language lang: French, Italian and
 * Catalan elide an article or pronoun before an apostrophe and a vowel or
 * h ("l'affitto", "dell'auto", "qu'il", "l'hôtel": the word after it, as
 * Lucene's ElisionFilter; "Tom's" and "O'Brien" are no elision);
 * Turkish writes a proper noun's suffixes after one ("Cunda'daki": the
 * noun). Other languages keep the word whole ("don't"). */
static void elide(int lang, struct word *w)
{
    bool romance = lang == MP_LANG_FR || lang == MP_LANG_IT || lang == MP_LANG_CA;
    if (!romance && lang != MP_LANG_TR)
        return;
    const char *ap = memchr(w->buf, '\'', w->len);
    if (ap == NULL)
        return;
    size_t at = (size_t)(ap - w->buf);
    if (lang == MP_LANG_TR) {
        w->len = at;
        return;
    }
    if (at == 0 || at > 5 || at + 1 >= w->len || strchr("bcdfgjklmnpqrstvwxz", ap[1]) != NULL)
        return;
    memmove(w->buf, ap + 1, w->len - at - 1);
    w->len -= at + 1;
}

/* ---- words of other scripts: ICU ---- */

enum piece_kind { PIECE_NONE, PIECE_OTHER, PIECE_CJK, PIECE_HANGUL, PIECE_BREAK };

/* A walk of one text: where the terms go and the next position. */
struct walk {
    struct mp_terms *t;
    int lang;
    mp_terms_word_fn fn;
    void *arg;
    uint32_t pos;
};

/* Arabic tashkeel (harakat, tanween, shadda, sukun, superscript alef) and
 * tatweel: ignored, as if not written. */
static bool is_ignored(UChar32 c)
{
    return (c >= 0x064B && c <= 0x065F) || c == 0x0670 || c == 0x0640;
}

static enum piece_kind kind_of(UChar32 c, enum piece_kind cur)
{
    if (U_GET_GC_MASK(c) & U_GC_N_MASK)
        return PIECE_OTHER; /* digits stay whole, also inside CJK ("2023年") */
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(c, &err);
    switch (sc) {
    case USCRIPT_HAN:
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
        return PIECE_CJK;
    case USCRIPT_HANGUL:
        return PIECE_HANGUL;
    case USCRIPT_THAI:
    case USCRIPT_LAO:
    case USCRIPT_KHMER:
    case USCRIPT_MYANMAR:
        return PIECE_BREAK;
    case USCRIPT_COMMON:
    case USCRIPT_INHERITED:
        return cur != PIECE_NONE ? cur : PIECE_OTHER; /* marks, ー */
    default:
        return PIECE_OTHER;
    }
}

static int emit(struct walk *wk, const char *term, size_t n)
{
    if (n == 0 || n > MP_TERMS_MAX)
        return MP_OK;
    return wk->fn(wk->arg, term, n, term, n, wk->pos++);
}

/* A word of letters that are not Han, Kana, Hangul or Thai-like: stop
 * words and stemmer of the language its script takes. */
static int emit_other(struct walk *wk, const struct word *w, UChar32 first)
{
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(first, &err);
    int lang = mp_lang_of_script(wk->lang, sc == USCRIPT_COMMON ? USCRIPT_LATIN : sc);
    const char *term = NULL;
    size_t n = 0;
    struct word e = *w;
    elide(lang, &e);
    int rc = stem_word(wk->t, lang, &e, &term, &n);
    if (rc == MP_OK)
        rc = wk->fn(wk->arg, w->buf, w->len, term, n, wk->pos++);
    return rc;
}

/* What restem_read makes of a word besides a script (a UScriptCode). */
#define RESTEM_NONE  (-2) /* nothing to restem: a number, no letter, a script no stemmer reads */
#define RESTEM_OTHER (-3) /* not all ASCII: restem_read's to read */

/* word[0..wlen) (at most MP_TERMS_MAX bytes) into w when it is all ASCII:
 * the script of its letters (Latin), RESTEM_NONE for a number or a word
 * without a letter, RESTEM_OTHER when a byte is not ASCII. What
 * restem_read makes of an ASCII word, without ICU. */
static int restem_read_ascii(struct word *w, const char *word, size_t wlen)
{
    bool letter = false, apos = false;
    for (size_t i = 0; i < wlen; i++) {
        unsigned char c = (unsigned char)word[i];
        if (c >= 0x80)
            return RESTEM_OTHER;
        if (c == 0 || mp_ascii_is_digit(c))
            return RESTEM_NONE; /* a number is its own term in every language */
        letter = letter || mp_ascii_is_alpha(c);
        apos = apos || c == '\'';
        w->buf[i] = (char)c; /* copied as read: restem_read starts w again */
    }
    word_start(w);
    w->len = wlen;
    w->apos = apos;
    return letter ? USCRIPT_LATIN : RESTEM_NONE;
}

/* word[0..wlen) (at most MP_TERMS_MAX bytes) into w: the script of its
 * first letter (Common and Inherited read as Latin), or RESTEM_NONE. */
static int restem_read(struct word *w, const char *word, size_t wlen)
{
    UChar32 first = 0;
    word_start(w);
    for (size_t i = 0; i < wlen;) {
        uint32_t cp = 0;
        size_t k = next_cp(word, wlen, i, &cp);
        if (cp == 0 || is_digit_cp(cp) || (U_GET_GC_MASK((UChar32)cp) & U_GC_N_MASK))
            return RESTEM_NONE; /* a number is its own term in every language */
        if (first == 0 && (U_GET_GC_MASK((UChar32)cp) & U_GC_L_MASK))
            first = (UChar32)cp;
        w->ascii = w->ascii && cp < 0x80;
        w->apos = w->apos || cp == '\'';
        memcpy(w->buf + w->len, word + i, k);
        w->len += k;
        i += k;
    }
    if (first == 0 || kind_of(first, PIECE_NONE) != PIECE_OTHER)
        return RESTEM_NONE; /* Han, Kana, Hangul, Thai-like: no stemmer reads them */
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(first, &err);
    if (sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED)
        sc = USCRIPT_LATIN;
    return (int)sc;
}

int mp_terms_restem(struct mp_terms *t, const char *word, size_t wlen, int from, int lang,
                    const char **term, size_t *n)
{
    *term = NULL;
    *n = 0;
    if (wlen == 0 || wlen > MP_TERMS_MAX)
        return MP_OK;
    struct word w;
    int sc = restem_read_ascii(&w, word, wlen);
    if (sc == RESTEM_OTHER)
        sc = restem_read(&w, word, wlen);
    if (sc == RESTEM_NONE)
        return MP_OK;
    int a = mp_lang_of_script(from, sc), b = mp_lang_of_script(lang, sc);
    if (b == MP_LANG_NONE)
        return MP_OK;
    /* the text's language wrote the word: its elision and English
     * possessive go ("Алиса's" in English is Алиса, which Russian stems) */
    size_t len = w.len;
    if (w.apos) {
        elide(from, &w);
        if (from == MP_LANG_EN && w.len > 2 && w.buf[w.len - 2] == '\'' && w.buf[w.len - 1] == 's')
            w.len -= 2;
        elide(b, &w);
    }
    if (a == b && w.len == len)
        return MP_OK; /* stemmed as the memory stems it already */
    return stem_word(t, b, &w, term, n);
}

/* Hangul (and Han and Kana with MP_TERMS_CJK_BIGRAMS): the overlapping
 * bigrams of cps[0..n) (a lone character is its own term), as Lucene's
 * CJKBigramFilter makes them; with unigrams, each character first (its
 * outputUnigrams). */
static int emit_bigrams(struct walk *wk, const UChar32 *cps, size_t n, bool unigrams)
{
    for (size_t i = 0; unigrams && n > 1 && i < n; i++) {
        unsigned char buf[4];
        int rc = emit(wk, (const char *)buf, mp_utf8_encode((uint32_t)cps[i], buf));
        if (rc != MP_OK)
            return rc;
    }
    for (size_t i = 0; i == 0 || i + 1 < n; i++) {
        unsigned char buf[8];
        size_t k = mp_utf8_encode((uint32_t)cps[i], buf);
        if (i + 1 < n)
            k += mp_utf8_encode((uint32_t)cps[i + 1], buf + k);
        int rc = emit(wk, (const char *)buf, k);
        if (rc != MP_OK || n == 0)
            return rc;
    }
    return MP_OK;
}

/* The bigrams of a dictionary word u[0..n) of three characters or more
 * (杭州市: 杭州, 州市), so that a compound meets its parts. */
static int emit_inner(struct walk *wk, const UChar *u, int32_t n)
{
    UChar32 cps[MP_TERMS_MAX];
    size_t k = 0;
    for (int32_t i = 0; i < n && k < MP_TERMS_MAX;) {
        UChar32 c;
        U16_NEXT(u, i, n, c);
        cps[k++] = c;
    }
    return k >= 3 ? emit_bigrams(wk, cps, k, false) : MP_OK;
}

/* The language whose stop words a Han or Kana word u[0..n) is checked
 * against: Japanese for a word with Kana or in a Japanese text, else
 * Chinese. */
static int cjk_lang(const struct walk *wk, const UChar *u, int32_t n)
{
    if (wk->lang == MP_LANG_JA)
        return MP_LANG_JA;
    for (int32_t i = 0; i < n;) {
        UChar32 c;
        U16_NEXT(u, i, n, c);
        UErrorCode err = U_ZERO_ERROR;
        UScriptCode sc = uscript_getScript(c, &err);
        if (sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA)
            return MP_LANG_JA;
    }
    return MP_LANG_ZH;
}

/* Han, Kana, Thai, Lao, Khmer, Burmese: the words of ICU's dictionary
 * word break over u[0..n). A Han or Kana word (cjk) that is a stop word of
 * its language is handed without a term; inner: the bigrams of the others
 * of 3+ characters too. */
static int emit_broken(struct walk *wk, const UChar *u, int32_t n, bool cjk, bool inner)
{
    UErrorCode err = U_ZERO_ERROR;
    if (wk->t->brk == NULL)
        wk->t->brk = ubrk_open(UBRK_WORD, "", NULL, 0, &err);
    if (wk->t->brk == NULL || U_FAILURE(err))
        return MP_OK;
    ubrk_setText(wk->t->brk, u, n, &err);
    if (U_FAILURE(err))
        return MP_OK;
    int32_t a = ubrk_first(wk->t->brk);
    for (int32_t b = ubrk_next(wk->t->brk); b != UBRK_DONE; a = b, b = ubrk_next(wk->t->brk)) {
        if (ubrk_getRuleStatus(wk->t->brk) < UBRK_WORD_NUMBER)
            continue;
        char buf[MP_TERMS_MAX];
        int32_t k = 0;
        err = U_ZERO_ERROR;
        u_strToUTF8(buf, sizeof(buf), &k, u + a, b - a, &err);
        if (U_FAILURE(err))
            continue;
        if (cjk && mp_lang_is_stop(cjk_lang(wk, u + a, b - a), buf, (size_t)k)) {
            int rc = wk->fn(wk->arg, buf, (size_t)k, NULL, 0, wk->pos++);
            if (rc != MP_OK)
                return rc;
            continue;
        }
        int rc = emit(wk, buf, (size_t)k);
        if (rc == MP_OK && inner)
            rc = emit_inner(wk, u + a, b - a);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

/* One piece of a run: its characters u[a..b) of one kind. */
static int emit_piece(struct walk *wk, enum piece_kind kind, const UChar *u, int32_t a, int32_t b)
{
    UChar32 cps[RUN_UNITS];
    size_t n = 0;
    struct word w;
    word_start(&w);
    UChar32 first = 0;
    for (int32_t i = a; i < b;) {
        UChar32 c;
        U16_NEXT(u, i, b, c);
        if (is_ignored(c))
            continue;
        if (kind == PIECE_OTHER) {
            if (first == 0 && (U_GET_GC_MASK(c) & U_GC_L_MASK))
                first = c;
            word_add(&w, c == 0x2019 ? '\'' : (uint32_t)c);
        } else if (n < RUN_UNITS) {
            cps[n++] = c;
        }
    }
    if (kind == PIECE_OTHER)
        return w.len > 0 ? emit_other(wk, &w, first) : MP_OK;
    /* Han and Kana: ICU's dictionary words, and the bigrams inside a word
     * of three characters or more (杭州市 meets 杭州). Measured against
     * overlapping bigrams (Lucene's), bigrams and unigrams, dictionary words
     * alone and words with every bigram on the needles (zh, ja), MemDaily
     * and MADial-Bench (tests/bench/recall/README.md): the best of the five
     * on the three sets together. MP_TERMS_CJK_BIGRAMS, MP_TERMS_CJK_UNIBI,
     * MP_TERMS_CJK_DICT and MP_TERMS_CJK_BOTH build the others. */
    bool cjk_uni = false;
#if defined(MP_TERMS_CJK_UNIBI)
    bool cjk_words = false, cjk_bigrams = true, cjk_inner = false;
    cjk_uni = true;
#elif defined(MP_TERMS_CJK_BIGRAMS)
    bool cjk_words = false, cjk_bigrams = true, cjk_inner = false;
#elif defined(MP_TERMS_CJK_BOTH)
    bool cjk_words = true, cjk_bigrams = true, cjk_inner = false;
#elif defined(MP_TERMS_CJK_DICT)
    bool cjk_words = true, cjk_bigrams = false, cjk_inner = false;
#else
    bool cjk_words = true, cjk_bigrams = false, cjk_inner = true;
#endif
    if (kind == PIECE_BREAK || (kind == PIECE_CJK && cjk_words)) {
        int rc = emit_broken(wk, u + a, b - a, kind == PIECE_CJK, kind == PIECE_CJK && cjk_inner);
        if (rc != MP_OK || kind == PIECE_BREAK || !cjk_bigrams)
            return rc;
    }
    return n > 0 ? emit_bigrams(wk, cps, n, kind == PIECE_CJK && cjk_uni) : MP_OK;
}

/* Normalized text u[0..n) (NFKC, case folded) into pieces by script. */
static int emit_pieces(struct walk *wk, const UChar *u, int32_t n)
{
    enum piece_kind cur = PIECE_NONE;
    int32_t start = 0;
    for (int32_t i = 0; i < n;) {
        int32_t at = i;
        UChar32 c;
        U16_NEXT(u, i, n, c);
        enum piece_kind k = is_ignored(c) ? cur : kind_of(c, cur);
        bool joiner = c == '\'' || c == 0x2019 || c == '.';
        if (!joiner && !mp_terms_is_word_char((uint32_t)c) && !is_ignored(c))
            k = PIECE_NONE; /* NFKC made a separator: "½" to "1⁄2" */
        if (k == cur)
            continue;
        int rc = cur != PIECE_NONE ? emit_piece(wk, cur, u, start, at) : MP_OK;
        if (rc != MP_OK)
            return rc;
        cur = k;
        start = k == PIECE_NONE ? i : at;
    }
    return cur != PIECE_NONE ? emit_piece(wk, cur, u, start, n) : MP_OK;
}

/* A run of word characters s[0..n) with a character outside ASCII, in
 * pieces of at most RUN_UNITS - 2 bytes cut at a character. */
static int emit_run(struct walk *wk, const char *s, size_t n)
{
    static const size_t cap = RUN_UNITS - 2;
    while (n > 0) {
        size_t k = n;
        if (k > cap) {
            k = cap;
            while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
                k--;
        }
        UErrorCode err = U_ZERO_ERROR;
        int32_t ulen = 0, nlen = 0;
        u_strFromUTF8WithSub(wk->t->raw, RUN_UNITS, &ulen, s, (int32_t)k, 0xFFFD, NULL, &err);
        const UNormalizer2 *nf = U_SUCCESS(err) ? unorm2_getNFKCCasefoldInstance(&err) : NULL;
        if (nf != NULL && U_SUCCESS(err))
            nlen = unorm2_normalize(nf, wk->t->raw, ulen, wk->t->norm,
                                    (int32_t)(sizeof(wk->t->norm) / sizeof(UChar)), &err);
        int rc = U_SUCCESS(err) ? emit_pieces(wk, wk->t->norm, nlen) : MP_OK;
        if (rc != MP_OK)
            return rc;
        s += k;
        n -= k;
    }
    return MP_OK;
}

/* ---- the walk ---- */

/* The language ASCII words take in a text of language lang. */
static int ascii_lang(int lang)
{
    return mp_lang_of_script(lang, USCRIPT_LATIN);
}

/* The byte an ASCII letter or digit folds to in a word ('A' to 'a'); 0 for
 * every other byte (a separator, a joiner, or a byte of a longer UTF-8
 * character): the one look-up per byte of the ASCII words' path. */
static const unsigned char word_byte[256] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '0', '1', '2', '3', '4', '5', '6', '7', '8',
    '9', 0,   0,   0,   0,   0,   0,   0,   'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k',
    'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0,   0,   0,   0,
    0,   0,   'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q',
    'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0,   0,   0,   0,   0,
};

#ifdef __SSE2__
/* scan_fast of a run of fewer than 16 bytes at p (16 readable there): its
 * bytes classified, folded and stored at once (w->buf holds 16). Returns
 * its length, 16 when it is not that short. */
static size_t scan16(const unsigned char *p, struct word *w)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i letter = mp_scan16_in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');
    __m128i digit = mp_scan16_in_range(x, '0', '9');
    unsigned run = (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit));
    unsigned len = (unsigned)__builtin_ctz(~run); /* run has 16 bits: at most 16 */
    if (len == 16)
        return 16;
    _mm_storeu_si128((__m128i *)(void *)w->buf,
                     _mm_or_si128(x, _mm_and_si128(letter, _mm_set1_epi8(0x20))));
    w->len = len;
    w->digit = ((unsigned)_mm_movemask_epi8(digit) & ((1u << len) - 1)) != 0;
    return len;
}
#endif

/* The run of ASCII letters and digits at s[i..n) (i at one) as a whole
 * word w, its first MP_TERMS_MAX bytes folded. Returns where the run ends.
 * A digit is the only folded byte without 0x40 ('0' is 0x30, 'a' 0x61):
 * the bytes ANDed tell whether one came. */
static size_t scan_fast(const char *s, size_t n, size_t i, struct word *w)
{
    const unsigned char *p = (const unsigned char *)s + i;
    w->ascii = true;
    w->apos = false;
#ifdef __SSE2__
    if (n - i >= 16) { /* most words: one load */
        size_t k = scan16(p, w);
        if (k < 16)
            return i + k;
    }
#endif
    size_t lim = n - i > MP_TERMS_MAX ? MP_TERMS_MAX : n - i, k = 0;
    unsigned char all = 0xFF;
    for (; k < lim; k++) {
        unsigned char c = word_byte[p[k]];
        if (c == 0)
            break;
        w->buf[k] = (char)c;
        all &= c;
    }
    w->len = k;
    if (k == MP_TERMS_MAX) /* past MP_TERMS_MAX: cut */
        for (; k < n - i && word_byte[p[k]] != 0; k++)
            all &= word_byte[p[k]];
    w->digit = (all & 0x40) == 0;
    return i + k;
}

/* Whether an ASCII run of letters and digits that ends before s[i] (i < n)
 * is a whole word: the byte after it is ASCII and joins nothing (an
 * apostrophe might, a dot after a digit might; any byte of a longer
 * character might be a letter). */
static bool run_is_word(const char *s, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80 || c == '\'')
        return false;
    return c != '.' || !mp_ascii_is_digit((unsigned char)s[i - 1]);
}

/* An ASCII word of the walk (no apostrophe: nothing to elide): handed to
 * fn with its term, unless once and the walk handed it already (the stem
 * table's slot says so: stamp). */
static int walk_ascii(struct walk *wk, int alang, const struct word *w, uint64_t stamp)
{
    const char *term = NULL;
    size_t n = 0;
    if (w->digit) {
        digit_term(alang, w, &term, &n);
    } else {
        struct stem_slot *set = set_at(wk->t, word_hash(alang, w)), *sl = stem_find(set, alang, w);
        if (sl == NULL) {
            int rc = stem_new(wk->t, alang, w, set, &term, &n, &sl);
            if (rc != MP_OK)
                return rc;
        } else if (stamp != 0 && sl->walk == stamp) {
            wk->pos++; /* handed already: a repeat changes nothing for fn */
            return MP_OK;
        } else {
            term = sl->tlen > 0 ? sl->term : NULL;
            n = sl->tlen;
        }
        sl->walk = stamp != 0 ? stamp : sl->walk;
    }
    return wk->fn(wk->arg, w->buf, w->len, term, n, wk->pos++);
}

/* A word the ASCII path does not take whole, at text[i..): its run (ICU's
 * path), or an ASCII word with a joiner. Returns where it ends, or the
 * failure of fn in *rc. */
static size_t walk_other(struct walk *wk, int alang, const char *text, size_t len, size_t i,
                         int *rc)
{
    struct word w;
    word_start(&w);
    size_t start = i;
    i = scan_word(text, len, i, &w);
    if (!w.ascii) {
        *rc = emit_run(wk, text + start, i - start);
        return i;
    }
    const char *term = NULL;
    size_t n = 0;
    struct word e; /* the part stemmed: w itself in English or without an apostrophe */
    const struct word *sw = &w;
    if (alang != MP_LANG_EN && w.apos) {
        e = w;
        elide(alang, &e);
        sw = &e;
    }
    *rc = stem_word(wk->t, alang, sw, &term, &n);
    if (*rc == MP_OK)
        *rc = wk->fn(wk->arg, w.buf, w.len, term, n, wk->pos++);
    return i;
}

/* The walk of mp_terms_each_word_lang; once: mp_terms_each_new_word_lang's. */
static int walk_words(struct mp_terms *t, const char *text, size_t len, int lang,
                      mp_terms_word_fn fn, void *arg, bool once)
{
    if (lang == MP_LANG_AUTO)
        lang = mp_lang_detect(text, len);
    struct walk wk = {t, lang, fn, arg, 0};
    int alang = ascii_lang(lang);
    uint64_t stamp = once ? ++t->walks : 0;
    size_t i = 0;
    while (i < len) {
        unsigned char b = (unsigned char)text[i];
        int rc = MP_OK;
        if (word_byte[b] != 0) { /* the bulk of most text: a word of ASCII letters and digits */
            struct word w;
            size_t end = scan_fast(text, len, i, &w);
            if (end == len || run_is_word(text, end)) {
                i = end < len ? end + 1 : end; /* text[end]: ASCII and no word's, passed */
                rc = walk_ascii(&wk, alang, &w, stamp);
            } else {
                i = walk_other(&wk, alang, text, len, i, &rc);
            }
        } else if (b < 0x80) { /* no word's byte */
            i++;
            continue;
        } else {
            uint32_t cp = 0;
            size_t k = next_cp(text, len, i, &cp);
            if (!mp_terms_is_word_char(cp)) {
                i += k;
                continue;
            }
            i = walk_other(&wk, alang, text, len, i, &rc);
        }
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

int mp_terms_each_word_lang(struct mp_terms *t, const char *text, size_t len, int lang,
                            mp_terms_word_fn fn, void *arg)
{
    return walk_words(t, text, len, lang, fn, arg, false);
}

int mp_terms_each_new_word_lang(struct mp_terms *t, const char *text, size_t len, int lang,
                                mp_terms_word_fn fn, void *arg)
{
    return walk_words(t, text, len, lang, fn, arg, true);
}

int mp_terms_each_word(struct mp_terms *t, const char *text, size_t len, mp_terms_word_fn fn,
                       void *arg)
{
    return mp_terms_each_word_lang(t, text, len, MP_LANG_AUTO, fn, arg);
}

struct each_arg {
    mp_terms_fn fn;
    void *arg;
};

static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    struct each_arg *a = arg;
    (void)word;
    (void)wlen;
    if (term == NULL)
        return MP_OK;
    return a->fn(a->arg, term, len, pos);
}

int mp_terms_each_lang(struct mp_terms *t, const char *text, size_t len, int lang, mp_terms_fn fn,
                       void *arg)
{
    struct each_arg a = {fn, arg};
    return mp_terms_each_word_lang(t, text, len, lang, on_word, &a);
}

int mp_terms_each(struct mp_terms *t, const char *text, size_t len, mp_terms_fn fn, void *arg)
{
    return mp_terms_each_lang(t, text, len, MP_LANG_AUTO, fn, arg);
}
