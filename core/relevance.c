/* Relevance scoring and packing over an abstract index (see relevance.h). It
 * neither builds nor stores the index, and renders nothing.
 *
 * The order of floating-point operations follows the reference (recall.py) so
 * that the C and Python figures agree: group contributions are added to an
 * item's score in group order; smoothing takes the best neighbour, then adds the
 * session share. Working memory is per call and O(n): the per-item fields are
 * read once through ix->item so that the inner loops touch arrays only. */
#include "relevance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "relevance_lex.h"
#include "status.h"

void mp_relevance_preset(enum mp_relevance_kind kind, struct mp_relevance_params *out)
{
    static const struct mp_relevance_params facts = {
        .k1 = 0.8,
        .b = 0.5,
        .w_content = 1.0,
        .w_key = 2.0,
        .w_date = 0.5,
        .prev_w = 0.3,
        .lex_w = 0.5,
        .fuzzy_w = 0.8,
        .fuzzy_minlen = 5,
        .nb_prev = 0.35,
        .nb_next = 0.5,
        .nb_decay = 0.5,
        .nb_window = 3,
        .sess_w = 0.0,
        .spk_boost = 1.0,
        .prf_docs = 5,
        .prf_terms = 8,
        .prf_min_docs = 2,
        .prf_w = 0.3,
        .temp_boost = 0.5,
        .pack_pow = 0.4,
    };
    static const struct mp_relevance_params turns = {
        .k1 = 1.2,
        .b = 0.75,
        .w_content = 1.0,
        .w_key = 2.0,
        .w_date = 2.0,
        .prev_w = 0.3,
        .lex_w = 0.7,
        .fuzzy_w = 0.8,
        .fuzzy_minlen = 5,
        .nb_prev = 0.5,
        .nb_next = 0.5,
        .nb_decay = 0.8,
        .nb_window = 3,
        .sess_w = 0.05,
        .spk_boost = 1.0,
        .prf_docs = 8,
        .prf_terms = 5,
        .prf_min_docs = 2,
        .prf_w = 0.2,
        .temp_boost = 0.5,
        .pack_pow = 0.2,
    };
    *out = kind == MP_RELEVANCE_FACTS ? facts : turns;
}

/* ---- words ---- */

static const char *const months[12] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};

static const char *const time_words[] = {
    "january",   "february",  "march",   "april",    "may",      "june",      "july",
    "august",    "september", "october", "november", "december", "monday",    "tuesday",
    "wednesday", "thursday",  "friday",  "saturday", "sunday",   "yesterday", "today",
    "tonight",   "tomorrow",  "ago",     "last",     "next",     "weekend",   "week",
    "weeks",     "month",     "months",  "year",     "years",    "recently",  "lately",
    "since",     "earlier",   "later",   "soon",     "morning",  "evening",   "night",
    "afternoon", "day",       "days",    "summer",   "winter",   "spring",    "fall",
    "autumn",    "before",    "after",   "during",
};

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

static bool is_year(const char *w, size_t n)
{
    if (n != 4 || !((w[0] == '1' && w[1] == '9') || (w[0] == '2' && w[1] == '0')))
        return false;
    return w[2] >= '0' && w[2] <= '9' && w[3] >= '0' && w[3] <= '9';
}

static int on_timex(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                    uint32_t pos)
{
    bool *out = arg;
    (void)term;
    (void)len;
    (void)pos;
    if (is_year(word, wlen)) {
        *out = true;
        return MP_OK;
    }
    for (size_t k = 0; k < sizeof(time_words) / sizeof(time_words[0]) && !*out; k++)
        *out = word_is(word, wlen, time_words[k]);
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
    memcpy(mon + 1, months[month - 1], strlen(months[month - 1]) + 1);
    char digits[8];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + year % 10);
        year /= 10;
    } while (year > 0);
    yr[0] = '@';
    for (size_t k = 0; k < n; k++)
        yr[1 + k] = digits[n - 1 - k];
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

/* a and b differ by exactly one insertion, deletion, substitution or adjacent
 * swap (bytes). */
static bool edit1(const char *a, size_t la, const char *b, size_t lb)
{
    if ((la > lb ? la - lb : lb - la) > 1 || (la == lb && memcmp(a, b, la) == 0))
        return false;
    size_t i = 0;
    while (i < la && i < lb && a[i] == b[i])
        i++;
    if (la == lb) {
        if (memcmp(a + i + 1, b + i + 1, la - i - 1) == 0)
            return true;
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
               memcmp(a + i + 2, b + i + 2, la - i - 2) == 0;
    }
    if (la > lb)
        return memcmp(a + i + 1, b + i, lb - i) == 0;
    return memcmp(a + i, b + i + 1, la - i) == 0;
}

/* ---- the query ---- */

struct member {
    char t[MP_TERMS_MAX + 1];
    uint8_t len;
    double w;
};

struct query {
    struct member m[MP_RELEVANCE_MAX_MEMBERS];
    uint32_t gstart[MP_RELEVANCE_MAX_GROUPS + 1]; /* group g: m[gstart[g]..gstart[g+1]) */
    size_t ng, nm;
};

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Is t one of the members m[from..to)? */
static bool query_has(const struct query *qy, const char *t, size_t n, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++)
        if (qy->m[k].len == n && memcmp(qy->m[k].t, t, n) == 0)
            return true;
    return false;
}

static bool query_seen(const struct query *qy, const char *t, size_t n)
{
    for (size_t g = 0; g < qy->ng; g++) {
        const struct member *m = &qy->m[qy->gstart[g]];
        if (m->len == n && memcmp(m->t, t, n) == 0)
            return true;
    }
    return false;
}

static bool group_open(struct query *qy)
{
    if (qy->ng >= MP_RELEVANCE_MAX_GROUPS || qy->nm >= MP_RELEVANCE_MAX_MEMBERS)
        return false;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
    qy->ng++;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
    return true;
}

/* Adds t to the open (last) group unless it is already in it. */
static void group_add(struct query *qy, const char *t, size_t n, double w)
{
    if (n > MP_TERMS_MAX || qy->nm >= MP_RELEVANCE_MAX_MEMBERS)
        return;
    if (query_has(qy, t, n, qy->gstart[qy->ng - 1], qy->nm))
        return;
    struct member *m = &qy->m[qy->nm++];
    memcpy(m->t, t, n);
    m->len = (uint8_t)n;
    m->w = w;
    qy->gstart[qy->ng] = (uint32_t)qy->nm;
}

#define MAX_NEIGHBOURS 64

struct neighbours {
    const char *word;
    size_t wlen;
    struct member m[MAX_NEIGHBOURS];
    size_t n;
};

static int on_surface(void *arg, const char *word, size_t wlen, const char *stem, size_t slen)
{
    struct neighbours *nb = arg;
    if (nb->n >= MAX_NEIGHBOURS || slen > MP_TERMS_MAX || !edit1(nb->word, nb->wlen, word, wlen))
        return MP_OK;
    memcpy(nb->m[nb->n].t, stem, slen);
    nb->m[nb->n].len = (uint8_t)slen;
    nb->n++;
    return MP_OK;
}

static int cmp_member(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

/* The stems of the index's surface words one edit away from word, in byte
 * order, into the open group. */
static int add_neighbours(struct query *qy, const struct mp_relevance_index *ix, const char *word,
                          size_t wlen, double w)
{
    struct neighbours nb = {.word = word, .wlen = wlen, .n = 0};
    int rc = ix->surface(ix->ctx, on_surface, &nb);
    if (rc != MP_OK)
        return rc;
    qsort(nb.m, nb.n, sizeof(nb.m[0]), cmp_member);
    for (size_t k = 0; k < nb.n; k++)
        group_add(qy, nb.m[k].t, nb.m[k].len, w);
    return MP_OK;
}

struct text_arg {
    struct query *qy;
    const struct mp_relevance_index *ix;
    const struct mp_relevance_params *p;
    double w0;
};

/* One group per distinct question stem: the stem, its lexicon relations and,
 * when no item holds it, its spelling neighbours. */
static int on_query_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                         uint32_t pos)
{
    struct text_arg *a = arg;
    char sw[MP_TERMS_MAX];
    size_t sn = 0;
    (void)pos;
    if (term == NULL || len > MP_TERMS_MAX || mp_relevance_lex_is_qstop(word, wlen))
        return MP_OK;
    bool alpha = mp_relevance_surface_word(word, wlen, sw, &sn);
    if (alpha && mp_relevance_lex_is_qstop(sw, sn))
        return MP_OK;
    if (query_seen(a->qy, term, len) || !group_open(a->qy))
        return MP_OK;
    group_add(a->qy, term, len, a->w0);
    const struct mp_relevance_lex_entry *e = mp_relevance_lex_find(term, len);
    for (size_t k = 0; e != NULL && k < e->nrel; k++)
        group_add(a->qy, e->rel[k], strlen(e->rel[k]), a->w0 * a->p->lex_w);
    if (!alpha || sn < a->p->fuzzy_minlen || a->ix->surface == NULL)
        return MP_OK;
    if (a->ix->df(a->ix->ctx, term, len) > 0)
        return MP_OK;
    return add_neighbours(a->qy, a->ix, sw, sn, a->w0 * a->p->fuzzy_w);
}

/* \w of the reference's regular expressions, with any non-ASCII byte a letter. */
static bool re_word(unsigned char c)
{
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
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

/* Groups of the date terms of the question: month names written with a capital
 * (so the verb "may" is none) and years. */
static void add_date_groups(struct query *qy, const char *q, size_t qlen)
{
    size_t i = 0;
    while (i < qlen) {
        if (!re_word((unsigned char)q[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < qlen && re_word((unsigned char)q[j]))
            j++;
        char t[MP_RELEVANCE_DATE_MAX];
        size_t n = 0;
        for (size_t k = 0; k < 12 && n == 0; k++) {
            size_t mn = strlen(months[k]);
            if (j - i == mn && q[i] >= 'A' && q[i] <= 'Z' && ieq(q + i, months[k], mn)) {
                t[0] = '@';
                memcpy(t + 1, months[k], mn);
                n = mn + 1;
            }
        }
        if (n == 0 && is_year(q + i, j - i)) {
            t[0] = '@';
            memcpy(t + 1, q + i, 4);
            n = 5;
        }
        if (n > 0 && !query_seen(qy, t, n) && group_open(qy))
            group_add(qy, t, n, 1.0);
        i = j;
    }
}

static int build_query(struct query *qy, struct mp_terms *terms,
                       const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                       const char *q, size_t qlen, const char *prev, size_t prevlen)
{
    struct text_arg a = {qy, ix, p, 1.0};
    int rc = mp_terms_each_word(terms, q, qlen, on_query_word, &a);
    if (rc != MP_OK)
        return rc;
    add_date_groups(qy, q, qlen);
    if (prev == NULL)
        return MP_OK;
    a.w0 = p->prev_w;
    return mp_terms_each_word(terms, prev, prevlen, on_query_word, &a);
}

static const char *const temporal_phrases[] = {
    "how long",   "what year",      "what month",      "what date",      "what day",
    "what time",  "what week",      "which year",      "which month",    "which day",
    "which week", "how many years", "how many months", "how many weeks", "how many days",
    "since when", "how old",        "how recent",
};

/* The reference's TEMPORAL_Q: starts with "when", or holds one of the phrases
 * as whole words (case-insensitive). */
static bool temporal_q(const char *q, size_t n)
{
    size_t i = 0;
    while (i < n && !re_word((unsigned char)q[i]))
        i++;
    if (n - i >= 4 && ieq(q + i, "when", 4) && (n - i == 4 || !re_word((unsigned char)q[i + 4])))
        return true;
    for (size_t k = 0; k < sizeof(temporal_phrases) / sizeof(temporal_phrases[0]); k++) {
        size_t m = strlen(temporal_phrases[k]);
        for (size_t s = 0; s + m <= n; s++) {
            if (s > 0 && re_word((unsigned char)q[s - 1]))
                continue;
            if (s + m < n && re_word((unsigned char)q[s + m]))
                continue;
            if (ieq(q + s, temporal_phrases[k], m))
                return true;
        }
    }
    return false;
}

/* ---- scoring ---- */

struct run {
    const struct mp_relevance_index *ix;
    const struct mp_relevance_params *p;
    struct mp_relevance_item *items;
    double *s0, *s1, *best;
    uint32_t *touched;
    bool *hit;
    size_t ntouched;
    double w, idf; /* of the member being read */
};

static double idf_of(const struct mp_relevance_index *ix, uint32_t df)
{
    return log(1.0 + ((double)ix->n - (double)df + 0.5) / ((double)df + 0.5));
}

static int on_posting(void *arg, const struct mp_relevance_posting *ps)
{
    struct run *r = arg;
    const struct mp_relevance_params *p = r->p;
    if (ps->item >= r->ix->n)
        return MP_EINVAL;
    double tf = p->w_content * ps->tc + p->w_key * ps->tk + p->w_date * ps->td;
    if (tf <= 0)
        return MP_OK;
    double len = (double)r->items[ps->item].len;
    double v = r->w * r->idf * tf * (p->k1 + 1.0) /
               (tf + p->k1 * (1.0 - p->b + p->b * len / r->ix->avglen));
    if (v > r->best[ps->item]) {
        if (r->best[ps->item] == 0.0)
            r->touched[r->ntouched++] = ps->item;
        r->best[ps->item] = v;
    }
    return MP_OK;
}

/* s0[i] = sum over groups of the best member's BM25F value. */
static int bm25f(struct run *r, const struct query *qy)
{
    const struct mp_relevance_index *ix = r->ix;
    memset(r->s0, 0, ix->n * sizeof(r->s0[0]));
    for (size_t g = 0; g < qy->ng; g++) {
        r->ntouched = 0;
        for (size_t k = qy->gstart[g]; k < qy->gstart[g + 1]; k++) {
            uint32_t df = ix->df(ix->ctx, qy->m[k].t, qy->m[k].len);
            if (df == 0)
                continue;
            r->w = qy->m[k].w;
            r->idf = idf_of(ix, df);
            int rc = ix->postings(ix->ctx, qy->m[k].t, qy->m[k].len, on_posting, r);
            if (rc != MP_OK)
                return rc;
        }
        for (size_t k = 0; k < r->ntouched; k++) {
            uint32_t i = r->touched[k];
            r->s0[i] += r->best[i];
            r->best[i] = 0.0;
        }
    }
    return MP_OK;
}

/* s1 = s0 + the best decayed neighbour in the session + sess_w * session best.
 * Sessions are runs of consecutive items. */
static void smooth(struct run *r)
{
    const struct mp_relevance_params *p = r->p;
    const struct mp_relevance_item *it = r->items;
    const double *s = r->s0;
    uint32_t n = r->ix->n;
    for (uint32_t i = 0; i < n; i++) {
        double best = 0.0, f = 1.0;
        for (uint32_t d = 1; d <= p->nb_window; d++) {
            if (i >= d && it[i - d].session == it[i].session && p->nb_prev * f * s[i - d] > best)
                best = p->nb_prev * f * s[i - d];
            if (i + d < n && it[i + d].session == it[i].session && p->nb_next * f * s[i + d] > best)
                best = p->nb_next * f * s[i + d];
            f *= p->nb_decay;
        }
        r->s1[i] = s[i] + best;
    }
    if (p->sess_w <= 0)
        return;
    for (uint32_t a = 0; a < n;) {
        uint32_t e = a;
        double m = 0.0;
        while (e < n && it[e].session == it[a].session) {
            m = s[e] > m ? s[e] : m;
            e++;
        }
        for (uint32_t i = a; i < e; i++)
            r->s1[i] += p->sess_w * m;
        a = e;
    }
}

static int on_key_posting(void *arg, const struct mp_relevance_posting *ps)
{
    struct run *r = arg;
    if (ps->item >= r->ix->n)
        return MP_EINVAL;
    if (ps->tk > 0)
        r->hit[ps->item] = true;
    return MP_OK;
}

/* out = s1, times 1 + spk_boost where the key holds a group's own term. */
static int speaker(struct run *r, const struct query *qy, double *out)
{
    const struct mp_relevance_index *ix = r->ix;
    memset(r->hit, 0, ix->n * sizeof(r->hit[0]));
    for (size_t g = 0; g < qy->ng; g++) {
        const struct member *m = &qy->m[qy->gstart[g]];
        int rc = ix->postings(ix->ctx, m->t, m->len, on_key_posting, r);
        if (rc != MP_OK)
            return rc;
    }
    for (uint32_t i = 0; i < ix->n; i++)
        out[i] = r->hit[i] ? r->s1[i] * (1.0 + r->p->spk_boost) : r->s1[i];
    return MP_OK;
}

static int rank_once(struct run *r, const struct query *qy, double *out)
{
    int rc = bm25f(r, qy);
    if (rc != MP_OK)
        return rc;
    smooth(r);
    return speaker(r, qy, out);
}

/* ---- feedback ---- */

#define MAX_PRF_DOCS 64

struct cand {
    char t[MP_TERMS_MAX + 1];
    uint8_t len;
    uint32_t c;
    double v;
};

struct prf_arg {
    const struct query *qy;
    struct cand *c;
    size_t n;
};

static int on_item_term(void *arg, const char *term, size_t len, uint32_t tc)
{
    struct prf_arg *a = arg;
    if (tc == 0 || len > MP_TERMS_MAX || a->n >= MP_RELEVANCE_MAX_PRF_CAND)
        return MP_OK;
    if (query_has(a->qy, term, len, 0, a->qy->nm))
        return MP_OK;
    memcpy(a->c[a->n].t, term, len);
    a->c[a->n].len = (uint8_t)len;
    a->c[a->n].c = 1;
    a->n++;
    return MP_OK;
}

static int cmp_member_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

static int cmp_cand_value(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return cmp_bytes(x->t, x->len, y->t, y->len);
}

/* The ids of the k best scores > 0 (ties: lower id), best first. */
static size_t top_items(const double *s, uint32_t n, uint32_t *top, size_t k)
{
    size_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i] <= 0 || (m == k && s[i] <= s[top[m - 1]]))
            continue;
        size_t j = m < k ? m++ : m - 1;
        while (j > 0 && s[top[j - 1]] < s[i]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return m;
}

/* Counts the candidate terms (sorted, duplicates folded into c), values them
 * c * idf and keeps those held by prf_min_docs items, best first. */
static int value_cands(const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                       struct prf_arg *a)
{
    qsort(a->c, a->n, sizeof(a->c[0]), cmp_member_cand);
    size_t m = 0;
    for (size_t k = 0; k < a->n; k++) {
        if (m > 0 && cmp_bytes(a->c[m - 1].t, a->c[m - 1].len, a->c[k].t, a->c[k].len) == 0) {
            a->c[m - 1].c++;
            continue;
        }
        a->c[m++] = a->c[k];
    }
    size_t kept = 0;
    for (size_t k = 0; k < m; k++) {
        if (a->c[k].c < p->prf_min_docs)
            continue;
        a->c[kept] = a->c[k];
        a->c[kept].v = a->c[k].c * idf_of(ix, ix->df(ix->ctx, a->c[k].t, a->c[k].len));
        kept++;
    }
    qsort(a->c, kept, sizeof(a->c[0]), cmp_cand_value);
    a->n = kept;
    return MP_OK;
}

/* One round of pseudo-relevance feedback: new groups of one term each. */
static int prf(struct run *r, struct query *qy, const double *s)
{
    const struct mp_relevance_params *p = r->p;
    uint32_t top[MAX_PRF_DOCS];
    size_t k = p->prf_docs < MAX_PRF_DOCS ? p->prf_docs : MAX_PRF_DOCS;
    size_t ntop = top_items(s, r->ix->n, top, k);
    struct prf_arg a = {qy, calloc(MP_RELEVANCE_MAX_PRF_CAND, sizeof(struct cand)), 0};
    if (a.c == NULL)
        return MP_ENOMEM;
    int rc = MP_OK;
    for (size_t j = 0; j < ntop && rc == MP_OK; j++)
        rc = r->ix->item_terms(r->ix->ctx, top[j], on_item_term, &a);
    if (rc == MP_OK)
        rc = value_cands(r->ix, p, &a);
    size_t nt =
        p->prf_terms < MP_RELEVANCE_MAX_PRF_TERMS ? p->prf_terms : MP_RELEVANCE_MAX_PRF_TERMS;
    for (size_t j = 0; rc == MP_OK && j < a.n && j < nt; j++) {
        if (!group_open(qy))
            break;
        group_add(qy, a.c[j].t, a.c[j].len, p->prf_w * a.c[j].v / a.c[0].v);
    }
    free(a.c);
    return rc;
}

/* ---- the entry points ---- */

static int load_items(const struct mp_relevance_index *ix, struct mp_relevance_item *items)
{
    for (uint32_t i = 0; i < ix->n; i++) {
        int rc = ix->item(ix->ctx, i, &items[i]);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static void temporal(const struct run *r, const char *q, size_t qlen, double *s)
{
    if (!temporal_q(q, qlen))
        return;
    for (uint32_t i = 0; i < r->ix->n; i++)
        if (r->items[i].timex)
            s[i] *= 1.0 + r->p->temp_boost;
}

int mp_relevance_score(struct mp_terms *terms, const struct mp_relevance_index *ix,
                       const struct mp_relevance_params *p, const char *q, size_t qlen,
                       const char *prev, size_t prevlen, double *scores)
{
    size_t n = ix->n > 0 ? ix->n : 1;
    struct run r = {.ix = ix, .p = p};
    struct query *qy = calloc(1, sizeof(*qy));
    r.items = calloc(n, sizeof(r.items[0]));
    r.s0 = calloc(n, sizeof(double));
    r.s1 = calloc(n, sizeof(double));
    r.best = calloc(n, sizeof(double));
    r.touched = calloc(n, sizeof(r.touched[0]));
    r.hit = calloc(n, sizeof(r.hit[0]));
    int rc = MP_ENOMEM;
    if (qy == NULL || r.items == NULL || r.s0 == NULL || r.s1 == NULL || r.best == NULL ||
        r.touched == NULL || r.hit == NULL)
        goto out;
    rc = load_items(ix, r.items);
    if (rc == MP_OK)
        rc = build_query(qy, terms, ix, p, q, qlen, prev, prevlen);
    if (rc == MP_OK)
        rc = rank_once(&r, qy, scores);
    if (rc == MP_OK && p->prf_docs > 0) {
        rc = prf(&r, qy, scores);
        if (rc == MP_OK)
            rc = rank_once(&r, qy, scores);
    }
    if (rc == MP_OK)
        temporal(&r, q, qlen, scores);
out:
    free(qy);
    free(r.items);
    free(r.s0);
    free(r.s1);
    free(r.best);
    free(r.touched);
    free(r.hit);
    return rc;
}

struct pack_key {
    double v;
    uint32_t id, tokens;
};

static int cmp_pack(const void *a, const void *b)
{
    const struct pack_key *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int mp_relevance_pack(const struct mp_relevance_index *ix, const struct mp_relevance_params *p,
                      const double *scores, uint32_t budget, uint32_t *out, size_t *nout,
                      uint32_t *used)
{
    struct pack_key *keys = calloc(ix->n > 0 ? ix->n : 1, sizeof(*keys));
    if (keys == NULL)
        return MP_ENOMEM;
    size_t m = 0;
    int rc = MP_OK;
    for (uint32_t i = 0; i < ix->n && rc == MP_OK; i++) {
        struct mp_relevance_item it;
        if (scores[i] <= 0)
            continue;
        rc = ix->item(ix->ctx, i, &it);
        double cost = it.tokens > 0 ? (double)it.tokens : 1.0;
        keys[m++] = (struct pack_key){scores[i] / pow(cost, p->pack_pow), i, it.tokens};
    }
    if (rc != MP_OK)
        goto out;
    qsort(keys, m, sizeof(*keys), cmp_pack);
    size_t k = 0;
    uint64_t u = 0;
    for (size_t j = 0; j < m; j++) {
        if (u + keys[j].tokens > budget)
            continue;
        out[k++] = keys[j].id;
        u += keys[j].tokens;
    }
    *nout = k;
    *used = (uint32_t)u;
out:
    free(keys);
    return rc;
}
