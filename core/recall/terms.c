/* Words to terms: splitting, folding, stop words, stemming (see terms.h).
 * The stemmer is libstemmer's English (Porter2) algorithm; everything else
 * is here, table-driven, with no locale. */
#include "terms.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "status.h"
#include "utf8.h"

/* What a folded word without digits comes to (stem_word): its term, or
 * none (a stop word, or a stem that is one). The same word always comes to
 * the same thing, so a tokenizer remembers the words it met last in a
 * direct-mapped table: a conversation's words come back request after
 * request, and the stemmer and the stop word search cost more than a hash. */
#define STEM_SLOTS 1024 /* a power of two; about 140 KiB per tokenizer */

struct stem_slot {
    uint8_t wlen; /* 0: empty */
    uint8_t tlen; /* 0: no term */
    char word[MP_TERMS_MAX];
    char term[MP_TERMS_MAX];
};

struct mp_terms {
    struct sb_stemmer *stemmer;
    struct stem_slot *slots;
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
    *out = t;
    return MP_OK;
}

void mp_terms_free(struct mp_terms *t)
{
    if (t == NULL)
        return;
    sb_stemmer_delete(t->stemmer);
    free(t->slots);
    free(t);
}

/* ---- stop words: the Snowball English list, sorted for bsearch ---- */

static const char *const stop_words[] = {
    "a",          "about",   "above",     "after",   "again",    "against",    "all",    "am",
    "an",         "and",     "any",       "are",     "aren't",   "as",         "at",     "be",
    "because",    "been",    "before",    "being",   "below",    "between",    "both",   "but",
    "by",         "can't",   "cannot",    "could",   "couldn't", "did",        "didn't", "do",
    "does",       "doesn't", "doing",     "don't",   "down",     "during",     "each",   "few",
    "for",        "from",    "further",   "had",     "hadn't",   "has",        "hasn't", "have",
    "haven't",    "having",  "he",        "he'd",    "he'll",    "he's",       "her",    "here",
    "here's",     "hers",    "herself",   "him",     "himself",  "his",        "how",    "how's",
    "i",          "i'd",     "i'll",      "i'm",     "i've",     "if",         "in",     "into",
    "is",         "isn't",   "it",        "it's",    "its",      "itself",     "let's",  "me",
    "more",       "most",    "mustn't",   "my",      "myself",   "no",         "nor",    "not",
    "of",         "off",     "on",        "once",    "only",     "or",         "other",  "ought",
    "our",        "ours",    "ourselves", "out",     "over",     "own",        "same",   "shan't",
    "she",        "she'd",   "she'll",    "she's",   "should",   "shouldn't",  "so",     "some",
    "such",       "than",    "that",      "that's",  "the",      "their",      "theirs", "them",
    "themselves", "then",    "there",     "there's", "these",    "they",       "they'd", "they'll",
    "they're",    "they've", "this",      "those",   "through",  "to",         "too",    "under",
    "until",      "up",      "very",      "was",     "wasn't",   "we",         "we'd",   "we'll",
    "we're",      "we've",   "were",      "weren't", "what",     "what's",     "when",   "when's",
    "where",      "where's", "which",     "while",   "who",      "who's",      "whom",   "why",
    "why's",      "with",    "won't",     "would",   "wouldn't", "you",        "you'd",  "you'll",
    "you're",     "you've",  "your",      "yours",   "yourself", "yourselves",
};
#define NSTOP (sizeof(stop_words) / sizeof(stop_words[0]))

/* word[0..len) against the NUL-terminated w in bytes, a prefix first: one
 * pass, no strlen (the lists are searched for every word of a question). */
static int cmp_word(const char *word, size_t len, const char *w)
{
    size_t i = 0;
    for (; i < len && w[i] != '\0'; i++)
        if (word[i] != w[i])
            return (unsigned char)word[i] < (unsigned char)w[i] ? -1 : 1;
    if (i == len)
        return w[i] == '\0' ? 0 : -1;
    return 1;
}

long mp_terms_find_sorted(const void *words, size_t n, size_t size, const char *word, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_word(word, len, *(const char *const *)((const char *)words + mid * size));
        if (c == 0)
            return (long)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

bool mp_terms_is_stop(const char *word, size_t len)
{
    return mp_terms_find_sorted(stop_words, NSTOP, sizeof(stop_words[0]), word, len) >= 0;
}

/* ---- characters ---- */

uint32_t mp_terms_fold(uint32_t cp)
{
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

/* Letters and digits; everything that is not punctuation, a symbol, a
 * space or an emoji counts as a letter outside ASCII. */
static bool is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || is_digit_cp(cp);
    if (cp < 0xC0)
        return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    if (cp == 0xD7 || cp == 0xF7)
        return false;
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFF00 && cp <= 0xFF0F) ||
        (cp >= 0xFFF0 && cp <= 0xFFFF) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
        (cp >= 0xE000 && cp <= 0xF8FF))
        return false;
    return true;
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
};

/* word_add() of an ASCII character: one byte, no encoding (the bulk of
 * most text). */
static void word_add_ascii(struct word *w, unsigned char c)
{
    if (w->len < MP_TERMS_MAX)
        w->buf[w->len++] = (char)mp_terms_fold(c);
    w->digit = w->digit || is_digit_cp(c);
}

static void word_add(struct word *w, uint32_t cp)
{
    unsigned char enc[4];
    if (cp < 0x80) {
        word_add_ascii(w, (unsigned char)cp);
        return;
    }
    size_t k = mp_utf8_encode(mp_terms_fold(cp), enc);
    if (w->len + k > MP_TERMS_MAX)
        return; /* cut at a code point: the rest of a very long word is dropped */
    memcpy(w->buf + w->len, enc, k);
    w->len += k;
    w->digit = w->digit || is_digit_cp(cp);
}

/* Where the word that starts at i ends (its code points added to w). */
static size_t scan_word(const char *s, size_t n, size_t i, struct word *w)
{
    uint32_t cp = 0, prev = 0, nx = 0;
    while (i < n) {
        unsigned char b = (unsigned char)s[i];
        if (mp_ascii_is_alnum(b)) { /* the bulk of most text: no decoding, no joiner */
            word_add_ascii(w, b);
            prev = b;
            i++;
            continue;
        }
        size_t k = next_cp(s, n, i, &cp);
        bool joiner = is_apostrophe(cp) || cp == '.';
        if (!is_word_cp(cp) && !joiner)
            break;
        if (joiner) {
            /* an apostrophe between letters, a dot between digits */
            if (i + k >= n || !is_word_cp(prev))
                break;
            next_cp(s, n, i + k, &nx);
            bool ok = cp == '.' ? is_digit_cp(prev) && is_digit_cp(nx)
                                : is_word_cp(nx) && !is_digit_cp(prev) && !is_digit_cp(nx);
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
static int stem_fresh(struct mp_terms *t, const struct word *w, const char **term, size_t *n)
{
    if (mp_terms_is_stop(w->buf, w->len))
        return MP_OK;
    const sb_symbol *st = sb_stemmer_stem(t->stemmer, (const sb_symbol *)w->buf, (int)w->len);
    if (st == NULL)
        return MP_ENOMEM;
    int k = sb_stemmer_length(t->stemmer);
    if (k <= 0 || mp_terms_is_stop((const char *)st, (size_t)k))
        return MP_OK; /* "doings" stems to "do" */
    *term = (const char *)st;
    *n = (size_t)k;
    return MP_OK;
}

/* The slot of word[0..len): FNV-1a, direct-mapped. */
static struct stem_slot *slot_of(struct mp_terms *t, const char *word, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)word[i]) * 16777619u;
    return &t->slots[h & (STEM_SLOTS - 1)];
}

/* The term of word w into *term and *n: NULL when it is dropped as a stop
 * word. A word with a digit is its own term unless it is a stop word (none
 * is); the others go through the table of words met. */
static int stem_word(struct mp_terms *t, const struct word *w, const char **term, size_t *n)
{
    *term = NULL;
    *n = 0;
    if (w->len == 0 || w->len > MP_TERMS_MAX)
        return MP_OK;
    if (w->digit) {
        if (!mp_terms_is_stop(w->buf, w->len)) {
            *term = w->buf;
            *n = w->len;
        }
        return MP_OK;
    }
    struct stem_slot *sl = slot_of(t, w->buf, w->len);
    if (sl->wlen == w->len && memcmp(sl->word, w->buf, w->len) == 0) {
        *term = sl->tlen > 0 ? sl->term : NULL;
        *n = sl->tlen;
        return MP_OK;
    }
    int rc = stem_fresh(t, w, term, n);
    if (rc != MP_OK || *n > MP_TERMS_MAX)
        return rc;
    memcpy(sl->word, w->buf, w->len);
    sl->wlen = (uint8_t)w->len;
    if (*term != NULL)
        memcpy(sl->term, *term, *n);
    sl->tlen = (uint8_t)*n;
    *term = *n > 0 ? sl->term : NULL;
    return MP_OK;
}

int mp_terms_each_word(struct mp_terms *t, const char *text, size_t len, mp_terms_word_fn fn,
                       void *arg)
{
    size_t i = 0;
    uint32_t pos = 0;
    while (i < len) {
        uint32_t cp = 0;
        size_t k = next_cp(text, len, i, &cp);
        if (!is_word_cp(cp)) {
            i += k;
            continue;
        }
        struct word w; /* buf is written as the word grows: no zeroing per word */
        w.len = 0;
        w.digit = false;
        i = scan_word(text, len, i, &w);
        const char *term = NULL;
        size_t n = 0;
        int rc = stem_word(t, &w, &term, &n);
        if (rc == MP_OK)
            rc = fn(arg, w.buf, w.len, term, n, pos++);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
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

int mp_terms_each(struct mp_terms *t, const char *text, size_t len, mp_terms_fn fn, void *arg)
{
    struct each_arg a = {fn, arg};
    return mp_terms_each_word(t, text, len, on_word, &a);
}
