/* The words of relevance (see relevance_words.h). */
#include "recall/relevance_words.h"

#include <string.h>

#include "decimal.h"
#include "recall/relevance.h"
#include "recall/relevance_lex.h"
#include "scan16.h"
#include "status.h"
#include "recall/userlang.h"
#include "recall/xlate.h"

/* A word with its length (the question's loops would measure it per word). */
struct lit {
    const char *s;
    size_t n;
};
#define LIT(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const struct lit months[12] = {LIT("january"), LIT("february"), LIT("march"),
                                      LIT("april"),   LIT("may"),      LIT("june"),
                                      LIT("july"),    LIT("august"),   LIT("september"),
                                      LIT("october"), LIT("november"), LIT("december")};

static const struct lit time_words[] = {
    LIT("january"),  LIT("february"), LIT("march"),     LIT("april"),     LIT("may"),
    LIT("june"),     LIT("july"),     LIT("august"),    LIT("september"), LIT("october"),
    LIT("november"), LIT("december"), LIT("monday"),    LIT("tuesday"),   LIT("wednesday"),
    LIT("thursday"), LIT("friday"),   LIT("saturday"),  LIT("sunday"),    LIT("yesterday"),
    LIT("today"),    LIT("tonight"),  LIT("tomorrow"),  LIT("ago"),       LIT("last"),
    LIT("next"),     LIT("weekend"),  LIT("week"),      LIT("weeks"),     LIT("month"),
    LIT("months"),   LIT("year"),     LIT("years"),     LIT("recently"),  LIT("lately"),
    LIT("since"),    LIT("earlier"),  LIT("later"),     LIT("soon"),      LIT("morning"),
    LIT("evening"),  LIT("night"),    LIT("afternoon"), LIT("day"),       LIT("days"),
    LIT("summer"),   LIT("winter"),   LIT("spring"),    LIT("fall"),      LIT("autumn"),
    LIT("before"),   LIT("after"),    LIT("during"),
};

static bool is_year(const char *w, size_t n)
{
    if (n != 4 || !((w[0] == '1' && w[1] == '9') || (w[0] == '2' && w[1] == '0')))
        return false;
    return w[2] >= '0' && w[2] <= '9' && w[3] >= '0' && w[3] <= '9';
}

bool mp_relevance_timex_word(const char *word, size_t wlen)
{
    if (is_year(word, wlen))
        return true;
    for (size_t k = 0; k < sizeof(time_words) / sizeof(time_words[0]); k++)
        if (time_words[k].n == wlen && memcmp(word, time_words[k].s, wlen) == 0)
            return true;
    return false;
}

static int on_timex(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                    uint32_t pos)
{
    bool *out = arg;
    (void)term;
    (void)len;
    (void)pos;
    *out = *out || mp_relevance_timex_word(word, wlen);
    return MP_OK;
}

int mp_relevance_timex(struct mp_terms *terms, const char *text, size_t len, bool *out)
{
    bool hit = false;
    int rc = mp_terms_each_word(terms, text, len, on_timex, &hit);
    if (rc == MP_OK)
        *out = hit;
    return rc;
}

int mp_relevance_date_terms(unsigned year, unsigned month, char mon[MP_RELEVANCE_DATE_MAX],
                            char yr[MP_RELEVANCE_DATE_MAX])
{
    if (month < 1 || month > 12 || year > 999999)
        return MP_EINVAL;
    mon[0] = '@';
    memcpy(mon + 1, months[month - 1].s, months[month - 1].n + 1);
    char digits[MP_DECIMAL_U64_MAX];
    size_t n = mp_decimal_u64(year, digits); /* at most 6 digits: checked above */
    yr[0] = '@';
    memcpy(yr + 1, digits, n);
    yr[1 + n] = '\0';
    return MP_OK;
}

bool mp_relevance_surface_word(const char *word, size_t wlen, char *out, size_t *n)
{
    if (wlen >= 2 && word[wlen - 2] == '\'' && word[wlen - 1] == 's')
        wlen -= 2;
    size_t k = 0;
    for (size_t i = 0; i < wlen && k < MP_TERMS_MAX; i++) {
        if ((word[i] >= '0' && word[i] <= '9') || word[i] == '.')
            return false;
        if (word[i] != '\'')
            out[k++] = word[i];
    }
    if (k == 0 || mp_terms_is_stop(out, k))
        return false;
    *n = k;
    return true;
}

/* The bytes of a question's raw text by what they may start or make: \w
 * of the reference's regular expressions, with any non-ASCII byte a
 * letter (of ASCII: 0-9, A-Z, _ and a-z); a capital, which may start a
 * month name; '1' and '2', which may start a year; h, w and s in either
 * case, which may start a temporal phrase. A look-up per byte. */
enum { RAW_WORD = 1, RAW_MONTH = 2, RAW_YEAR = 4, RAW_TEMPORAL = 8 };
static const unsigned char raw_class[256] = {
    0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0,
    0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 1, 5, 5, 1, 1, 1, 1,  1, 1, 1,
    0,  0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 11, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 11, 3, 3, 3,
    11, 3, 3, 3, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1,  1, 1, 9, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 9,
    1,  1, 1, 9, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1,
    1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1,
    1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1,
    1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1,
    1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static bool re_word(unsigned char c)
{
    return (raw_class[c] & RAW_WORD) != 0;
}

static bool ieq(const char *s, const char *lit, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[k])
            return false;
    }
    return true;
}

/* The reference's temporal phrases ("how long", "what year", ...) by
 * their first word: a phrase starts only at a word that is one of these
 * (the space after it ends the word). */
static const struct {
    struct lit first;
    struct lit rest[8]; /* the words after the space, ended by an empty one */
} temporal_phrases[] = {
    /* in this order: temporal_at finds an entry by its first letter */
    {LIT("how"),
     {LIT("long"), LIT("many years"), LIT("many months"), LIT("many weeks"), LIT("many days"),
      LIT("old"), LIT("recent")}},
    {LIT("what"), {LIT("year"), LIT("month"), LIT("date"), LIT("day"), LIT("time"), LIT("week")}},
    {LIT("which"), {LIT("year"), LIT("month"), LIT("day"), LIT("week")}},
    {LIT("since"), {LIT("when")}},
};

/* The date term of the word q[i..j) into t (its length; 0: none): a month
 * name written with a capital (so the verb "may" is none), or a year. */
static size_t date_term(const char *q, size_t i, size_t j, char t[MP_RELEVANCE_DATE_MAX])
{
    for (size_t k = 0; k < 12 && q[i] >= 'A' && q[i] <= 'Z'; k++) {
        size_t mn = months[k].n;
        if (j - i == mn && ieq(q + i, months[k].s, mn)) {
            t[0] = '@';
            memcpy(t + 1, months[k].s, mn);
            return mn + 1;
        }
    }
    if (is_year(q + i, j - i)) {
        t[0] = '@';
        memcpy(t + 1, q + i, 4);
        return 5;
    }
    return 0;
}

/* Adds the date term t[0..n) unless the question has it. */
static void add_date(struct mp_relevance_question *qn, const char *t, size_t n)
{
    for (size_t k = 0; k < qn->ndates; k++)
        if (qn->dlen[k] == n && memcmp(qn->date[k], t, n) == 0)
            return;
    memcpy(qn->date[qn->ndates], t, n);
    qn->dlen[qn->ndates++] = (uint8_t)n;
}

/* Whether one of the temporal phrases starts at the word q[s..s+wlen) as
 * whole words (case-insensitive). */
static bool temporal_at(const char *q, size_t n, size_t s, size_t wlen)
{
    char c = (char)(q[s] | 32);
    if ((c != 'h' && c != 'w' && c != 's') || wlen < 3 || wlen > 5)
        return false; /* the first words' first letters and lengths: most words end here */
    /* the entries of c's first words: how; what and which; since */
    size_t from = c == 'h' ? 0 : c == 'w' ? 1 : 3, to = c == 'w' ? 3 : from + 1;
    for (size_t k = from; k < to; k++) {
        if (temporal_phrases[k].first.n != wlen || !ieq(q + s, temporal_phrases[k].first.s, wlen))
            continue;
        if (s + wlen >= n || q[s + wlen] != ' ')
            return false;
        size_t r = s + wlen + 1;
        for (const struct lit *rest = temporal_phrases[k].rest; rest->n > 0; rest++) {
            size_t e = r + rest->n;
            if (e <= n && (e == n || !re_word((unsigned char)q[e])) && ieq(q + r, rest->s, rest->n))
                return true;
        }
        return false;
    }
    return false;
}

/* What the word q[i..) (a \w run whose first byte may lead one: RAW_MONTH,
 * RAW_YEAR or RAW_TEMPORAL) adds to the question: its date term, and
 * TEMPORAL_Q when it is the first word and "when", or a phrase starts at
 * it. */
static void raw_word(struct mp_relevance_question *qn, const char *q, size_t qlen, size_t i,
                     bool first)
{
    unsigned char k = raw_class[(unsigned char)q[i]];
    size_t j = i + 1;
    while (j < qlen && re_word((unsigned char)q[j]))
        j++;
    if (!qn->temporal && (k & RAW_TEMPORAL))
        qn->temporal =
            (first && j - i == 4 && ieq(q + i, "when", 4)) || temporal_at(q, qlen, i, j - i);
    char t[MP_RELEVANCE_DATE_MAX];
    size_t n = qn->ndates < MP_RELEVANCE_MAX_GROUPS && (k & (RAW_MONTH | RAW_YEAR))
                   ? date_term(q, i, j, t)
                   : 0;
    if (n > 0)
        add_date(qn, t, n);
}

#ifdef __SSE2__
#endif

/* raw_class of the 16 bytes at p as bits, byte k as bit k: *word the \w
 * bytes (RAW_WORD), *lead those that may start a date term or a phrase
 * (RAW_MONTH, RAW_YEAR, RAW_TEMPORAL). */
static inline void raw_masks(const unsigned char *p, unsigned *word, unsigned *lead)
{
#ifdef __SSE2__
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* a letter folded (only letters fold in) */
    __m128i w =
        _mm_or_si128(_mm_or_si128(mp_scan16_in_range(l, 'a', 'z'), mp_scan16_in_range(x, '0', '9')),
                     _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
    __m128i hws = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(l, _mm_set1_epi8('h')), _mm_cmpeq_epi8(l, _mm_set1_epi8('w'))),
        _mm_cmpeq_epi8(l, _mm_set1_epi8('s')));
    __m128i lead_bytes = _mm_or_si128(
        _mm_or_si128(mp_scan16_in_range(x, 'A', 'Z'), mp_scan16_in_range(x, '1', '2')), hws);
    /* a byte past ASCII is a letter: its top bit is the mask's */
    *word = (unsigned)_mm_movemask_epi8(w) | (unsigned)_mm_movemask_epi8(x);
    *lead = (unsigned)_mm_movemask_epi8(lead_bytes);
#else
    unsigned wm = 0, lm = 0;
    for (unsigned k = 0; k < 16; k++) {
        unsigned char c = raw_class[p[k]];
        wm |= (unsigned)(c & RAW_WORD) << k;
        lm |= (unsigned)((c & (RAW_MONTH | RAW_YEAR | RAW_TEMPORAL)) != 0) << k;
    }
    *word = wm;
    *lead = lm;
#endif
}

/* One walk of the question's words (\w runs) for what is read from its
 * raw text: its date terms (each once, in order, at most
 * MP_RELEVANCE_MAX_GROUPS) and the reference's TEMPORAL_Q (it starts with
 * "when", or holds one of the phrases as whole words). Most words can
 * start neither (their first byte says so), so the text is read 16 bytes
 * at a time as bits, and only the words that may are looked at. */
static void parse_raw(struct mp_relevance_question *qn, const char *q, size_t qlen)
{
    bool first = true;  /* no word has started before this block */
    unsigned carry = 0; /* the byte before the block is a \w byte */
    qn->temporal = false;
    for (size_t b = 0; b < qlen && (qn->ndates < MP_RELEVANCE_MAX_GROUPS || !qn->temporal);
         b += 16) {
        unsigned word = 0, lead = 0;
        if (qlen - b >= 16) {
            raw_masks((const unsigned char *)q + b, &word, &lead);
        } else { /* the last bytes, NUL after them: a byte of no word */
            unsigned char tail[16] = {0};
            memcpy(tail, q + b, qlen - b);
            raw_masks(tail, &word, &lead);
        }
        unsigned starts = word & ~((word << 1) | carry);
        carry = (word >> 15) & 1;
        for (unsigned m = starts & lead; m != 0; m &= m - 1) {
            unsigned k = (unsigned)__builtin_ctz(m);
            raw_word(qn, q, qlen, b + k, first && (starts & ((1u << k) - 1)) == 0);
        }
        first = first && starts == 0;
    }
}

/* ---- the question ---- */

/* Whether the question has a group of term[0..len) (len > 0) already: the
 * way out for most words of a text that says the same things again, so the
 * first bytes are compared before memcmp is called. */
static bool seen(const struct mp_relevance_question *qn, const char *term, size_t len)
{
    for (size_t k = 0; k < qn->n; k++)
        if (qn->w[k].len == len && qn->w[k].term[0] == term[0] &&
            memcmp(qn->w[k].term, term, len) == 0)
            return true;
    return false;
}

/* The group of a word not seen before, unless it frames the question. */
static void add_group(struct mp_relevance_question *qn, const char *word, size_t wlen,
                      const char *term, size_t len)
{
    struct mp_relevance_qword *w = &qn->w[qn->n];
    size_t sn = 0;
    if (mp_relevance_lex_is_qstop(word, wlen))
        return;
    w->alpha = mp_relevance_surface_word(word, wlen, w->surface, &sn);
    /* a surface as long as the word is the word (it only drops bytes) */
    if (w->alpha && sn != wlen && mp_relevance_lex_is_qstop(w->surface, sn))
        return;
    memcpy(w->term, term, len);
    w->len = (uint8_t)len;
    w->slen = (uint8_t)sn;
    w->lex = mp_relevance_lex_find(term, len);
    qn->n++;
}

/* One text's walk: the question, and what translating its words needs. */
struct walk {
    struct mp_relevance_question *qn;
    struct mp_terms *terms;
    const struct mp_xlate *xlate; /* NULL: no translation */
    uint64_t to;                  /* the languages to translate into */
    uint64_t restem;              /* the languages to stem each word as (mp_terms_restem) */
    int lang;                     /* the text's */
    /* the word before, when it made a group: a two-word headword's first */
    bool prev;
    uint32_t prev_pos;
    char prev_term[MP_TERMS_MAX], prev_word[MP_TERMS_MAX];
    uint8_t prev_len, prev_wlen;
    /* the translation being added */
    const char *from;
    size_t flen;
    uint8_t group;
};

/* Adds term[0..len) of lang as a translation of the open word (same: the
 * word itself as lang stems it), unless the word has it already or it is
 * the word's own stem (a name). */
static void add_xterm(struct walk *wk, int lang, const char *term, size_t len, double w, bool same)
{
    struct mp_relevance_question *qn = wk->qn;
    const struct mp_relevance_qword *own = &qn->w[wk->group];
    if (qn->nx >= MP_RELEVANCE_MAX_XTERMS || len == 0 || len > MP_TERMS_MAX ||
        (own->len == len && memcmp(own->term, term, len) == 0))
        return;
    for (size_t k = qn->nx; k > 0 && qn->x[k - 1].group == wk->group; k--)
        if (qn->x[k - 1].len == len && memcmp(qn->x[k - 1].term, term, len) == 0)
            return;
    struct mp_relevance_xterm *x = &qn->x[qn->nx++];
    memcpy(x->term, term, len);
    x->len = (uint8_t)len;
    memcpy(x->from, wk->from, wk->flen);
    x->flen = (uint8_t)wk->flen;
    x->lang = (uint8_t)lang;
    x->group = wk->group;
    x->same = same;
    x->w = (float)w;
}

/* A translation: one term, or a phrase's terms each at MP_RELEVANCE_PHRASE_W. */
static int on_xlate(void *arg, int lang, const char *term, size_t len, double w)
{
    struct walk *wk = arg;
    const char *sp = memchr(term, ' ', len);
    if (sp == NULL) {
        add_xterm(wk, lang, term, len, w, false);
        return MP_OK;
    }
    for (const char *p = term, *end = term + len; p < end;) {
        const char *e = memchr(p, ' ', (size_t)(end - p));
        size_t n = e != NULL ? (size_t)(e - p) : (size_t)(end - p);
        add_xterm(wk, lang, p, n, w * MP_RELEVANCE_PHRASE_W, false);
        p += n + 1;
    }
    return MP_OK;
}

/* Looks up key[0..klen), from the folded from[0..flen), into group g. */
static int translate(struct walk *wk, const char *key, size_t klen, const char *from, size_t flen,
                     size_t g)
{
    if (wk->qn->nx >= MP_RELEVANCE_MAX_XTERMS || flen > MP_TERMS_MAX)
        return MP_OK;
    wk->from = from;
    wk->flen = flen;
    wk->group = (uint8_t)g;
    return mp_xlate_word(wk->xlate, wk->lang, wk->to, key, klen, on_xlate, wk);
}

/* The word[0..wlen) of group g as each language of wk->restem stems it,
 * where that differs from its own stem. */
static int restem(struct walk *wk, const char *word, size_t wlen, size_t g)
{
    if (wk->restem == 0 || wlen > MP_TERMS_MAX)
        return MP_OK;
    wk->from = word;
    wk->flen = wlen;
    wk->group = (uint8_t)g;
    for (uint64_t left = wk->restem & ~(uint64_t)1; left != 0; left &= left - 1) {
        int lang = __builtin_ctzll(left); /* each language of restem, in order */
        if (lang >= MP_LANG_COUNT)
            break;
        const char *term = NULL;
        size_t n = 0;
        int rc = mp_terms_restem(wk->terms, word, wlen, wk->lang, lang, &term, &n);
        if (rc != MP_OK)
            return rc;
        if (term != NULL)
            add_xterm(wk, lang, term, n, MP_RELEVANCE_RESTEM_W, true);
    }
    return MP_OK;
}

/* The translations of the group just made of word[0..wlen), term: the
 * two-word headword the word before and it make, then its own. */
static int translate_group(struct walk *wk, const char *word, size_t wlen, const char *term,
                           size_t len, uint32_t pos)
{
    size_t g = wk->qn->n - 1;
    int rc = restem(wk, word, wlen, g);
    if (rc == MP_OK && wk->prev && wk->prev_pos + 1 == pos &&
        wk->prev_len + 1 + len <= MP_TERMS_MAX && wk->prev_wlen + 1 + wlen <= MP_TERMS_MAX) {
        char key[MP_TERMS_MAX], from[MP_TERMS_MAX];
        size_t klen = 0, flen = 0;
        memcpy(key, wk->prev_term, wk->prev_len);
        key[wk->prev_len] = ' ';
        memcpy(key + wk->prev_len + 1, term, len);
        klen = wk->prev_len + 1 + len;
        memcpy(from, wk->prev_word, wk->prev_wlen);
        from[wk->prev_wlen] = ' ';
        memcpy(from + wk->prev_wlen + 1, word, wlen);
        flen = wk->prev_wlen + 1 + wlen;
        rc = translate(wk, key, klen, from, flen, g);
    }
    if (rc == MP_OK && wk->qn->w[g].alpha)
        rc = translate(wk, term, len, word, wlen, g);
    return rc;
}

/* A word that makes a group: its stem not seen before, at most
 * MP_RELEVANCE_MAX_GROUPS of them (a query has no more groups; a repeated
 * stem would make none, so dropping it here changes nothing). */
static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    struct walk *wk = arg;
    struct mp_relevance_question *qn = wk->qn;
    size_t n = qn->n;
    if (qn->n >= MP_RELEVANCE_MAX_GROUPS)
        return MP_ETOOBIG; /* full: no later word can change it, so the walk stops */
    /* mp_terms hands no empty term; seen first: the cheapest way out */
    if (term == NULL || len == 0 || len > MP_TERMS_MAX || seen(qn, term, len)) {
        wk->prev = false;
        return MP_OK;
    }
    add_group(qn, word, wlen, term, len);
    if (wk->xlate == NULL || qn->n == n) {
        wk->prev = false;
        return MP_OK;
    }
    /* term points into the stem cache, where restem()'s stems may land:
       the group's own copy from here on */
    term = qn->w[n].term;
    int rc = translate_group(wk, word, wlen, term, len, pos);
    wk->prev = wlen <= MP_TERMS_MAX;
    wk->prev_pos = pos;
    wk->prev_len = (uint8_t)len;
    memcpy(wk->prev_term, term, len);
    wk->prev_wlen = (uint8_t)(wlen <= MP_TERMS_MAX ? wlen : 0);
    memcpy(wk->prev_word, word, wk->prev_wlen);
    return rc;
}

/* Walks one text read as lang into out, translated into the languages of
 * held that tables reach. */
static int walk_text(struct mp_terms *terms, const char *text, size_t len, int lang, uint64_t held,
                     struct mp_relevance_question *out)
{
    struct walk wk = {.qn = out, .terms = terms, .lang = lang};
    const struct mp_xlate *x = mp_terms_xlate(terms);
    uint64_t to = held & mp_xlate_reach(x, lang);
    if (x != NULL && lang > MP_LANG_NONE && lang < MP_LANG_COUNT)
        wk.restem = held & ~MP_XLATE_BIT(lang) & ~(uint64_t)1;
    if (to != 0 || wk.restem != 0) {
        wk.xlate = x;
        wk.to = to;
    }
    /* a repeated word changes nothing here (on_word: its stem is seen, or
     * frames the question again): each is read once */
    return mp_terms_each_new_word_lang(terms, text, len, lang, on_word, &wk);
}

int mp_relevance_question_parse(struct mp_terms *terms, const char *q, size_t qlen,
                                const char *prev, size_t prevlen, struct mp_userlang_prior *prior,
                                struct mp_relevance_question *out)
{
    uint64_t held = prior != NULL ? prior->held : 0;
    out->n = out->nq = out->ndates = out->nx = 0;
    out->lang = mp_userlang_question(q, qlen, prior);
    int rc = walk_text(terms, q, qlen, out->lang, held, out);
    out->nq = out->n;
    if (rc == MP_OK && prev != NULL)
        rc = walk_text(terms, prev, prevlen, mp_userlang_question(prev, prevlen, prior), held, out);
    if (rc == MP_ETOOBIG)
        rc = MP_OK; /* on_word's stop */
    parse_raw(out, q, qlen);
    return rc;
}
