/* Tests for core/recall/relevance.c: BM25F and each later stage with exact scores on
 * hand-built tiny indexes, gaps in the ids, packing, determinism, the no-match
 * case, and the cost on a synthetic index of a million items. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/relevance.h"
#include "recall/relevance_lex.h"
#include "status.h"
#include "recall/terms.h"
#include "terms_texts.h"

Suite *mp_test_suite(void);

/* ---- a tiny index in arrays: postings sorted by term, then item ---- */

struct tpost {
    const char *t;
    uint32_t item, tc, tk, td;
};

struct tix {
    const struct tpost *p;
    size_t np;
    const struct mp_relevance_item *it; /* by id */
    uint32_t n;                         /* ids 0..n-1, and n for idf */
    const char *const *surface;         /* word, stem, word, stem, ..., NULL */
    uint64_t gaps;                      /* bit id: no item at id < 64 */
    unsigned item_calls;
};

static bool term_is(const struct tpost *p, const char *t, size_t len)
{
    return strlen(p->t) == len && memcmp(p->t, t, len) == 0;
}

static uint32_t t_df(void *ctx, const char *t, size_t len)
{
    const struct tix *x = ctx;
    uint32_t df = 0;
    for (size_t k = 0; k < x->np; k++)
        df += term_is(&x->p[k], t, len);
    return df;
}

static int t_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct tix *x = ctx;
    for (size_t k = 0; k < x->np; k++) {
        struct mp_relevance_posting p = {x->p[k].item, x->p[k].tc, x->p[k].tk, x->p[k].td, 0, 0,
                                         false};
        if (!term_is(&x->p[k], t, len))
            continue;
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static uint32_t t_max_asked; /* the greatest id t_item was asked for */

static int t_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    struct tix *x = ctx;
    x->item_calls++;
    t_max_asked = id > t_max_asked ? id : t_max_asked;
    if (id >= x->n || (id < 64 && (x->gaps >> id & 1) != 0))
        return MP_NOTFOUND;
    *out = x->it[id];
    return MP_OK;
}

static int t_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    const struct tix *x = ctx;
    for (size_t k = 0; k < x->np; k++)
        if (x->p[k].item == id && x->p[k].tc > 0)
            fn(arg, x->p[k].t, strlen(x->p[k].t), x->p[k].tc);
    return MP_OK;
}

/* Every surface word, whatever word is: scoring filters them. */
static int t_surface(void *ctx, const char *word, size_t wlen, mp_relevance_surface_fn fn,
                     void *arg)
{
    const struct tix *x = ctx;
    (void)word;
    (void)wlen;
    for (size_t k = 0; x->surface != NULL && x->surface[k] != NULL; k += 2)
        fn(arg, x->surface[k], strlen(x->surface[k]), x->surface[k + 1], strlen(x->surface[k + 1]));
    return MP_OK;
}

/* The items in [lo, hi] in one call, as a store's range read gives them. */
static int t_items(void *ctx, uint32_t lo, uint32_t hi, mp_relevance_item_fn fn, void *arg)
{
    struct tix *x = ctx;
    for (uint32_t id = lo; id <= hi && id < x->n; id++) {
        if (id < 64 && (x->gaps >> id & 1) != 0)
            continue;
        int rc = fn(arg, id, &x->it[id]);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static bool ranged;          /* view() offers t_items */
static uint32_t view_last;   /* view()'s last */
static uint32_t view_sample; /* view()'s sample (0: every term whole) */

static struct mp_relevance_index view(struct tix *x)
{
    double total = 0;
    for (uint32_t i = 0; i < x->n; i++)
        total += x->it[i].len;
    struct mp_relevance_index v = {x,
                                   x->n,
                                   x->n ? total / x->n : 1.0,
                                   t_df,
                                   t_postings,
                                   ranged ? t_items : NULL,
                                   t_item,
                                   t_item_terms,
                                   t_surface,
                                   view_last,
                                   0,
                                   NULL,
                                   NULL,
                                   view_sample};
    return v;
}

/* The TURNS set with every stage after BM25F off. */
static struct mp_relevance_params plain(void)
{
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    p.nb_prev = p.nb_next = p.sess_w = p.spk_boost = p.temp_boost = 0;
    p.prf_docs = 0;
    return p;
}

/* Scores q (after prev, NULL: none) into s[0..x->n), 0 where no hit, checking
 * that the hits are items of the view, by id ascending, with score > 0. */
static void score_prev(struct tix *x, const struct mp_relevance_params *p, const char *q,
                       const char *prev, double *s)
{
    struct mp_terms *t = NULL;
    struct mp_relevance_index v = view(x);
    struct mp_relevance_hit *h = NULL;
    size_t nh = 99;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(
        mp_relevance_score(t, &v, p, q, strlen(q), prev, prev ? strlen(prev) : 0, &h, &nh), MP_OK);
    mp_terms_free(t);
    ck_assert(nh == 0 ? h == NULL : h != NULL);
    for (uint32_t i = 0; i < x->n; i++)
        s[i] = 0.0;
    for (size_t k = 0; k < nh; k++) {
        ck_assert_uint_lt(h[k].item, x->n);
        ck_assert(k == 0 || h[k - 1].item < h[k].item);
        ck_assert(h[k].score > 0);
        s[h[k].item] = h[k].score;
    }
    free(h);
}

static void score(struct tix *x, const struct mp_relevance_params *p, const char *q, double *s)
{
    score_prev(x, p, q, NULL, s);
}

/* BM25 of one posting: w * idf * tf (k1 + 1) / (tf + k1 (1 - b + b len/avglen)). */
static double bm25(const struct mp_relevance_params *p, double w, uint32_t n, uint32_t df,
                   double tf, double len, double avglen)
{
    double idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
    return w * idf * tf * (p->k1 + 1.0) / (tf + p->k1 * (1.0 - p->b + p->b * len / avglen));
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-12)

/* four items in two sessions: 0 1 2 | 3 */
static const struct mp_relevance_item items4[] = {
    {2, 1, 10, false}, {4, 1, 10, false}, {2, 1, 10, true}, {4, 2, 10, false}};

START_TEST(test_relevance_bm25f_fields_and_length)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"cat", 1, 2, 1, 0}, {"dog", 2, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 4, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "the cats", s);
    /* avglen 3; tf of item 1 = 1 * 2 (content) + 2 * 1 (key) */
    EQ(s[0], bm25(&p, 1, 4, 2, 1, 2, 3));
    EQ(s[1], bm25(&p, 1, 4, 2, 4, 4, 3));
    EQ(s[2], 0);
    EQ(s[3], 0);
}
END_TEST

START_TEST(test_relevance_group_takes_its_best_member)
{
    /* mom -> mother in the lexicon (at its weight): an item holding both counts the best once */
    static const struct tpost ps[] = {{"mom", 0, 1, 0, 0},
                                      {"mother", 0, 1, 0, 0},
                                      {"mother", 1, 1, 0, 0},
                                      {"tea", 2, 1, 0, 0},
                                      {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 5, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "mom", s);
    const struct mp_relevance_lex_entry *e = mp_relevance_lex_find("mom", 3);
    size_t k = 0;
    ck_assert_ptr_nonnull(e);
    while (k < e->nrel && strcmp(e->rel[k], "mother") != 0)
        k++;
    ck_assert_uint_lt(k, e->nrel);
    double lw = p.lex_w * mp_relevance_lex_weight(e, k);
    double own = bm25(&p, 1, 4, 1, 1, 2, 3);
    double rel0 = bm25(&p, lw, 4, 2, 1, 2, 3);
    ck_assert(own > rel0);
    EQ(s[0], own);
    EQ(s[1], bm25(&p, lw, 4, 2, 1, 4, 3));
}
END_TEST

START_TEST(test_relevance_groups_add_up)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"dog", 0, 1, 0, 0}, {"dog", 1, 1, 0, 0}};
    struct tix x = {ps, 3, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "cat and dog", s);
    EQ(s[0], bm25(&p, 1, 4, 1, 1, 2, 3) + bm25(&p, 1, 4, 2, 1, 2, 3));
}
END_TEST

static int on_term_copy(void *arg, const char *term, size_t len, uint32_t pos)
{
    char *out = arg;
    (void)pos;
    ck_assert_uint_lt(len, 16);
    memcpy(out, term, len);
    out[len] = '\0';
    return MP_OK;
}

START_TEST(test_relevance_query_grows_past_its_first_members)
{
    /* 40 words, a group each: the query's members outgrow the first 32
     * (on the stack) and move; item 0 holds the last word, item 1 the
     * first, and each scores as one word alone */
    static char words[40][8], terms[40][16];
    char q[400];
    size_t n = 0;
    struct mp_terms *t = NULL;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    for (int k = 0; k < 40; k++) {
        snprintf(words[k], sizeof(words[k]), "zq%c%c", 'b' + k / 8, 'k' + k % 8);
        ck_assert_int_eq(mp_terms_each(t, words[k], strlen(words[k]), on_term_copy, terms[k]),
                         MP_OK);
        n += (size_t)snprintf(q + n, sizeof(q) - n, "%s ", words[k]);
    }
    mp_terms_free(t);
    struct tpost ps[] = {{terms[39], 0, 1, 0, 0}, {terms[0], 1, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, q, s);
    EQ(s[0], bm25(&p, 1, 4, 1, 1, 2, 3));
    EQ(s[1], bm25(&p, 1, 4, 1, 1, 4, 3));
    EQ(s[2], 0);
}
END_TEST

START_TEST(test_relevance_spelling_neighbour_only_for_unknown_words)
{
    static const struct tpost ps[] = {{"guitar", 1, 1, 0, 0}, {"violin", 2, 1, 0, 0}};
    static const char *const surface[] = {"guitar", "guitar", "violin", "violin", NULL};
    struct tix x = {ps, 2, items4, 4, surface, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "guittar", s);
    EQ(s[1], bm25(&p, p.fuzzy_w, 4, 1, 1, 4, 3));
    EQ(s[2], 0);
    score(&x, &p, "gitar", s); /* deletion neighbour too; "guit" would be too short */
    EQ(s[1], bm25(&p, p.fuzzy_w, 4, 1, 1, 4, 3));
    score(&x, &p, "guit", s);
    EQ(s[1], 0);
}
END_TEST

START_TEST(test_relevance_date_groups_need_a_capital)
{
    static const struct tpost ps[] = {
        {"@2023", 0, 0, 0, 1}, {"@may", 0, 0, 0, 1}, {"@june", 1, 0, 0, 1}, {"@june", 2, 0, 0, 1}};
    struct tix x = {ps, 4, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "what may happen in 2023", s);
    EQ(s[0], bm25(&p, 1, 4, 1, p.w_date, 2, 3));
    score(&x, &p, "in May", s);
    EQ(s[0], bm25(&p, 1, 4, 1, p.w_date, 2, 3));
    EQ(s[1], 0);
}
END_TEST

START_TEST(test_relevance_smoothing_stays_in_the_session)
{
    static const struct tpost ps[] = {{"cat", 2, 1, 0, 0}};
    struct tix x = {ps, 1, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    p.nb_prev = 0.5;
    p.nb_next = 0.25;
    p.nb_decay = 0.5;
    p.sess_w = 0.1;
    double s[4];
    score(&x, &p, "cat", s);
    double v = bm25(&p, 1, 4, 1, 1, 2, 3);
    EQ(s[2], v + 0.1 * v);
    EQ(s[1], 0.25 * v + 0.1 * v);       /* the next item's share */
    EQ(s[0], 0.25 * 0.5 * v + 0.1 * v); /* two steps: one decay */
    EQ(s[3], 0);                        /* another session */
}
END_TEST

/* A hit says whether it holds a word of the question itself, or is the
 * item right next to one that does in its session: smoothing reaches
 * further (two steps here), matching does not (recall's floor reads it). */
START_TEST(test_relevance_hit_holds_or_is_beside)
{
    static const struct mp_relevance_item it[] = {{2, 1, 10, false}, {2, 1, 10, false},
                                                  {2, 1, 10, false}, {2, 1, 10, false},
                                                  {2, 1, 10, false}, {2, 2, 10, false}};
    static const struct tpost ps[] = {{"cat", 2, 1, 0, 0}};
    static const bool holds[] = {false, false, true, false, false};
    static const bool beside[] = {false, true, false, true, false};
    struct tix x = {ps, 1, it, 6, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    struct mp_relevance_index v = view(&x);
    struct mp_terms *t = NULL;
    struct mp_relevance_hit *h = NULL;
    size_t nh = 0;
    p.nb_prev = p.nb_next = 0.5;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "cat", 3, NULL, 0, &h, &nh), MP_OK);
    mp_terms_free(t);
    ck_assert_uint_eq(nh, 5); /* the whole session, not item 5 */
    for (size_t k = 0; k < nh; k++) {
        ck_assert_uint_eq(h[k].item, k);
        ck_assert(h[k].holds == holds[k]);
        ck_assert(h[k].beside == beside[k]);
    }
    free(h);
}
END_TEST

START_TEST(test_relevance_speaker_boost_on_the_key)
{
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"melani", 1, 0, 1, 0}, {"tea", 1, 1, 0, 0}, {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 4, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    p.spk_boost = 1.0;
    double s[4];
    score(&x, &p, "Melanie tea", s);
    double key = bm25(&p, 1, 4, 1, p.w_key, 4, 3);
    EQ(s[1], 2.0 * (key + bm25(&p, 1, 4, 2, 1, 4, 3)));
    EQ(s[3], bm25(&p, 1, 4, 2, 1, 4, 3));
}
END_TEST

/* Feedback's index: items 0 and 1 hold the question word "cat" and
 * "zebra"; item 3 only "zebra"; "lion" one item. */
static const struct tpost feedback_ps[] = {{"cat", 0, 1, 0, 0},   {"cat", 1, 1, 0, 0},
                                           {"zebra", 0, 1, 0, 0}, {"zebra", 1, 1, 0, 0},
                                           {"zebra", 3, 1, 0, 0}, {"lion", 0, 1, 0, 0}};

/* plain() with a feedback round: a term held by 2 of the best 8 items. */
static struct mp_relevance_params feedback_params(void)
{
    struct mp_relevance_params p = plain();
    p.prf_docs = 8;
    p.prf_terms = 5;
    p.prf_min_docs = 2;
    p.prf_w = 0.2;
    return p;
}

/* Feedback's terms add to the first round's candidates only: item 3,
 * which holds zebra alone, is not made one (finding it would read its
 * window, relevance.h). */
START_TEST(test_relevance_feedback_adds_shared_terms)
{
    struct tix x = {feedback_ps, 6, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = feedback_params();
    double s[4];
    score(&x, &p, "cat", s);
    /* zebra is the only term held by 2 of the best items: weight prf_w */
    EQ(s[0], bm25(&p, 1, 4, 2, 1, 2, 3) + bm25(&p, p.prf_w, 4, 3, 1, 2, 3));
    EQ(s[1], bm25(&p, 1, 4, 2, 1, 4, 3) + bm25(&p, p.prf_w, 4, 3, 1, 4, 3));
    EQ(s[2], 0);
    EQ(s[3], 0);
}
END_TEST

/* Feedback keeps no candidate the index samples (relevance.h, the
 * sample): the feedback test's index with a sample of 2, which "zebra"
 * (3 items) exceeds and the question's "cat" (2) does not. */
START_TEST(test_relevance_feedback_leaves_out_a_sampled_candidate)
{
    struct tix x = {feedback_ps, 6, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = feedback_params();
    double whole[4], s[4];
    score(&x, &p, "cat", whole);
    view_sample = 2;
    score(&x, &p, "cat", s);
    view_sample = 0;
    /* without the sample, zebra's round adds to item 0 */
    EQ(whole[0], bm25(&p, 1, 4, 2, 1, 2, 3) + bm25(&p, p.prf_w, 4, 3, 1, 2, 3));
    EQ(s[3], 0);
    EQ(s[0], bm25(&p, 1, 4, 2, 1, 2, 3));
    EQ(s[1], bm25(&p, 1, 4, 2, 1, 4, 3));
    EQ(s[2], 0);
}
END_TEST

START_TEST(test_relevance_temporal_question_boosts_time_expressions)
{
    static const struct tpost ps[] = {{"cat", 1, 1, 0, 0}, {"cat", 2, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    p.temp_boost = 0.5;
    double s[4], t[4];
    score(&x, &p, "Where is the cat?", s);
    score(&x, &p, "  When did the cat come?", t);
    EQ(t[1], s[1]);
    EQ(t[2], 1.5 * s[2]);
    score(&x, &p, "For how long has the cat stayed?", t);
    EQ(t[2], 1.5 * s[2]);
    score(&x, &p, "Whenever the cat", t);
    EQ(t[2], s[2]);
}
END_TEST

START_TEST(test_relevance_question_reads_dates_and_time_phrases_in_one_walk)
{
    /* The question's raw words give its date terms (a capital month, not
     * the verb; years; each once, in order) and whether it is temporal
     * (it starts with "when", or holds a phrase as whole words): past 64
     * dates the phrase at the end still counts, and a phrase inside a
     * word or "when" not first does not. */
    struct mp_terms *t;
    static struct mp_relevance_question qn;
    static char q[1024];
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    const char *a = "Did we meet in May 2023, or may we in June? 2023 it was, in May.";
    ck_assert_int_eq(mp_relevance_question_parse(t, a, strlen(a), NULL, 0, NULL, &qn), MP_OK);
    ck_assert_uint_eq(qn.ndates, 3);
    ck_assert_str_eq(qn.date[0], "@may");
    ck_assert_str_eq(qn.date[1], "@2023");
    ck_assert_str_eq(qn.date[2], "@june");
    ck_assert(!qn.temporal);
    size_t n = 0;
    for (unsigned y = 1900; y < 1980; y++)
        n += (size_t)snprintf(q + n, sizeof(q) - n, "%u ", y);
    n += (size_t)snprintf(q + n, sizeof(q) - n, "and for How many days?");
    ck_assert_int_eq(mp_relevance_question_parse(t, q, n, NULL, 0, NULL, &qn), MP_OK);
    ck_assert_uint_eq(qn.ndates, MP_RELEVANCE_MAX_GROUPS);
    ck_assert_str_eq(qn.date[63], "@1963");
    ck_assert(qn.temporal);
    const char *b = "So when did it happen, showhow long?";
    ck_assert_int_eq(mp_relevance_question_parse(t, b, strlen(b), NULL, 0, NULL, &qn), MP_OK);
    ck_assert(!qn.temporal);
    const char *c = "...when";
    ck_assert_int_eq(mp_relevance_question_parse(t, c, strlen(c), NULL, 0, NULL, &qn), MP_OK);
    ck_assert(qn.temporal);
    mp_terms_free(t);
}
END_TEST

/* The raw walk of the question as it was first written (a flat list of
 * phrases, \w by comparisons): what mp_relevance_question_parse's faster
 * one must still find. */
static bool ref_re_word(unsigned char c)
{
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static bool ref_ieq(const char *s, const char *lit, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if ((s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]) != lit[k])
            return false;
    return true;
}

static bool ref_temporal_at(const char *q, size_t n, size_t s)
{
    static const char *const phrases[] = {
        "how long",   "what year",      "what month",      "what date",      "what day",
        "what time",  "what week",      "which year",      "which month",    "which day",
        "which week", "how many years", "how many months", "how many weeks", "how many days",
        "since when", "how old",        "how recent",
    };
    for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++) {
        size_t m = strlen(phrases[k]);
        if (s + m <= n && (s + m == n || !ref_re_word((unsigned char)q[s + m])) &&
            ref_ieq(q + s, phrases[k], m))
            return true;
    }
    return false;
}

/* The reference's dates as "@may @2023 " and its temporal flag. */
static bool ref_parse_raw(const char *q, size_t n, char *dates, size_t cap)
{
    static const char *const months[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};
    bool temporal = false;
    size_t used = 0;
    dates[0] = '\0';
    for (size_t i = 0, first = 1; i < n;) {
        if (!ref_re_word((unsigned char)q[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && ref_re_word((unsigned char)q[j]))
            j++;
        temporal = temporal || (first && j - i == 4 && ref_ieq(q + i, "when", 4)) ||
                   ref_temporal_at(q, n, i);
        first = 0;
        char t[16] = "";
        for (size_t k = 0; k < 12 && q[i] >= 'A' && q[i] <= 'Z'; k++)
            if (j - i == strlen(months[k]) && ref_ieq(q + i, months[k], j - i))
                snprintf(t, sizeof(t), "@%s ", months[k]);
        if (j - i == 4 && (q[i] == '1' || q[i] == '2') && q[i + 1] == (q[i] == '1' ? '9' : '0') &&
            q[i + 2] >= '0' && q[i + 2] <= '9' && q[i + 3] >= '0' && q[i + 3] <= '9')
            snprintf(t, sizeof(t), "@%.4s ", q + i);
        if (t[0] != '\0' && strstr(dates, t) == NULL)
            used += (size_t)snprintf(dates + used, cap - used, "%s", t);
        i = j;
    }
    return temporal;
}

START_TEST(test_relevance_question_raw_walk_agrees_with_the_reference)
{
    /* pieces ('|' apart) glued without spaces, so that phrases meet every
     * neighbour */
    static const char pool[] =
        "how|How| |  |\t|@|[|`|{|/|:|^|long|LONG|many|days|years|what|WHAT|which|since|when|When|"
        "week|time|old|recent|_|-|'|?|.|May|may|June|2023|1999|20234|x|\u00e9|"
        "\u043a\u043e\u0433\u0434\u0430|\u4f55\u65f6|how long|what year|since when|how many months|"
        "How recent|how old|which week|what time|how many weeks|what date|Which day|how many years|"
        "which month";
    const char *pieces[64];
    size_t plen[64], np = 0;
    for (const char *p = pool; np < 64; p = strchr(p, '|') + 1) {
        const char *end = strchr(p, '|');
        pieces[np] = p;
        plen[np++] = end != NULL ? (size_t)(end - p) : strlen(p);
        if (end == NULL)
            break;
    }
    struct mp_terms *t;
    static struct mp_relevance_question qn;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    uint32_t seed = 7;
    size_t ntexts = sizeof(terms_texts) / sizeof(terms_texts[0]);
    for (int round = 0; round < 6000 + (int)ntexts; round++) {
        char q[2048], want[1024], got[1024];
        size_t n = 0, used = 0;
        /* texts of 1 to 8 pieces, one in eight of 1 to 64 (past several
         * 16-byte blocks), then the real texts of 13 languages */
        int count = round % 8 == 7 ? 1 + round % 64 : 1 + round % 8;
        for (int p = 0; round < 6000 && p < count; p++) {
            seed = seed * 1103515245u + 12345u;
            size_t k = (seed >> 8) % np;
            memcpy(q + n, pieces[k], plen[k]);
            n += plen[k];
        }
        if (round >= 6000) {
            n = strlen(terms_texts[round - 6000]);
            memcpy(q, terms_texts[round - 6000], n);
        }
        bool temporal = ref_parse_raw(q, n, want, sizeof(want));
        ck_assert_int_eq(mp_relevance_question_parse(t, q, n, NULL, 0, NULL, &qn), MP_OK);
        got[0] = '\0';
        for (size_t k = 0; k < qn.ndates; k++)
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%.*s ", (int)qn.dlen[k],
                                     qn.date[k]);
        ck_assert_msg(qn.temporal == temporal && strcmp(got, want) == 0, "%.*s: %d %s, want %d %s",
                      (int)n, q, qn.temporal, got, temporal, want);
    }
    mp_terms_free(t);
}
END_TEST

START_TEST(test_relevance_pack_fits_the_budget_and_skips)
{
    static const struct mp_relevance_item it[] = {
        {1, 1, 50, false}, {1, 1, 30, false}, {1, 1, 30, false}, {1, 1, 10, false}};
    struct tix x = {NULL, 0, it, 4, NULL, 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    p.pack_pow = 0;
    struct mp_relevance_hit h[4] = {
        {0, 4.0, 0, 0, 0}, {1, 3.0, 0, 0, 0}, {2, 3.0, 0, 0, 0}, {3, 0.0, 0, 0, 0}};
    uint32_t out[4];
    size_t n = 9;
    uint32_t used = 9;
    /* 50 fits, the first 30 does not, the second neither; 0-score item never */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 4, 70, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(used, 50);
    /* 50 does not fit: skipped, not a stop; the first 30 fits, the second not */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 4, 40, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(used, 30);
    h[0].score = 1.0; /* now the 30s come first, ties by id */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 4, 65, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 2);
    ck_assert_uint_le(used, 65);
}
END_TEST

START_TEST(test_relevance_pack_by_value_per_token)
{
    static const struct mp_relevance_item it[] = {{1, 1, 50, false}, {1, 1, 30, false}};
    struct tix x = {NULL, 0, it, 2, NULL, 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    const struct mp_relevance_hit h[2] = {{0, 4.0, 0, 0, 0}, {1, 3.0, 0, 0, 0}};
    uint32_t out[2], used = 0;
    size_t n = 0;
    p.pack_pow = 1.0; /* 4/50 < 3/30 */
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 2, 100, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(out[1], 0);
    ck_assert_uint_eq(used, 80);
}
END_TEST

START_TEST(test_relevance_pack_never_exceeds_the_budget_ties_by_lower_id)
{
    /* ids 0..39, tokens 5..17, the scores in 4 tiers, hits given in id order
     * descending to pack (its order must not come from the input) */
    struct mp_relevance_item it[40];
    struct mp_relevance_hit h[40];
    for (uint32_t i = 0; i < 40; i++) {
        it[i] = (struct mp_relevance_item){1, 1, 5 + (i * 7) % 13, false};
        h[i] = (struct mp_relevance_hit){39 - i, 1.0 + (double)((39 - i) % 4), 0, 0, 0};
    }
    struct tix x = {NULL, 0, it, 40, NULL, 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    p.pack_pow = 0;
    for (uint32_t budget = 0; budget <= 500; budget += 7) {
        uint32_t out[40], used = 0, sum = 0;
        size_t n = 0;
        ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 40, budget, out, &n, &used), MP_OK);
        for (size_t k = 0; k < n; k++) {
            sum += it[out[k]].tokens;
            if (k == 0)
                continue;
            /* by score descending, equal scores by lower id first */
            double sa = 1.0 + out[k - 1] % 4, sb = 1.0 + out[k] % 4;
            ck_assert(sa > sb || (sa == sb && out[k - 1] < out[k]));
        }
        ck_assert_uint_eq(used, sum);
        ck_assert_uint_le(used, budget);
    }
}
END_TEST

START_TEST(test_relevance_pack_skips_a_hit_whose_item_is_gone)
{
    static const struct mp_relevance_item it[] = {{1, 1, 10, false}, {1, 1, 10, false}};
    struct tix x = {NULL, 0, it, 2, NULL, 1u << 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p = plain();
    const struct mp_relevance_hit h[2] = {{0, 9.0, 0, 0, 0}, {1, 1.0, 0, 0, 0}};
    uint32_t out[2], used = 0;
    size_t n = 0;
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h, 2, 100, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0], 1);
    ck_assert_uint_eq(used, 10);
    ck_assert_int_eq(mp_relevance_pack(&v, &p, NULL, 0, 100, out, &n, &used), MP_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(test_relevance_no_match_selects_nothing)
{
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL, 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_FACTS, &p);
    struct mp_terms *t = NULL;
    struct mp_relevance_hit *h = (struct mp_relevance_hit *)&x; /* must become NULL */
    size_t nh = 7;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    const char *q = "When did the parrot sing?";
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, q, strlen(q), NULL, 0, &h, &nh), MP_OK);
    ck_assert_uint_eq(nh, 0);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "", 0, NULL, 0, &h, &nh), MP_OK);
    ck_assert_uint_eq(nh, 0);
    struct tix e = {NULL, 0, NULL, 0, NULL, 0, 0}; /* an empty index alike */
    struct mp_relevance_index ve = view(&e);
    ck_assert_int_eq(mp_relevance_score(t, &ve, &p, "cat", 3, NULL, 0, &h, &nh), MP_OK);
    ck_assert_uint_eq(nh, 0);
    mp_terms_free(t);
}
END_TEST

START_TEST(test_relevance_full_method_is_deterministic_and_within_budget)
{
    static const struct tpost ps[] = {
        {"@2023", 0, 0, 0, 1},  {"@2023", 1, 0, 0, 1},  {"@2023", 2, 0, 0, 1},
        {"@2023", 3, 0, 0, 1},  {"cat", 0, 1, 0, 0},    {"cat", 2, 2, 0, 0},
        {"melani", 0, 0, 1, 0}, {"melani", 2, 0, 1, 0}, {"tea", 1, 1, 0, 0},
        {"tea", 2, 1, 0, 0},    {"tea", 3, 1, 0, 0}};
    struct tix x = {ps, 11, items4, 4, NULL, 0, 0};
    struct mp_relevance_index v = view(&x);
    struct mp_terms *t = NULL;
    const char *q = "When did Melanie's cat drink tea in 2023?";
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    for (int kind = 0; kind < 2; kind++) {
        struct mp_relevance_params p;
        mp_relevance_preset(kind == 0 ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, &p);
        struct mp_relevance_hit *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        ck_assert_int_eq(mp_relevance_score(t, &v, &p, q, strlen(q), NULL, 0, &a, &na), MP_OK);
        ck_assert_int_eq(mp_relevance_score(t, &v, &p, q, strlen(q), NULL, 0, &b, &nb), MP_OK);
        ck_assert_uint_eq(na, 4);
        ck_assert_uint_eq(nb, na);
        for (size_t k = 0; k < na; k++) {
            ck_assert_uint_eq(a[k].item, b[k].item);
            ck_assert(a[k].score == b[k].score);
        }
        for (uint32_t budget = 0; budget <= 45; budget += 5) {
            uint32_t out[4], used = 0;
            size_t n = 0;
            ck_assert_int_eq(mp_relevance_pack(&v, &p, a, na, budget, out, &n, &used), MP_OK);
            ck_assert_uint_le(used, budget);
            ck_assert_uint_eq(used, 10 * n);
        }
        free(a);
        free(b);
    }
    mp_terms_free(t);
}
END_TEST

START_TEST(test_relevance_previous_turn_weighs_less)
{
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}, {"dog", 3, 1, 0, 0}};
    struct tix x = {ps, 2, items4, 4, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score_prev(&x, &p, "cat", "the dog and the cat", s);
    EQ(s[0], bm25(&p, 1, 4, 1, 1, 2, 3)); /* cat already asked: once, at 1 */
    EQ(s[3], bm25(&p, p.prev_w, 4, 1, 1, 4, 3));
}
END_TEST

START_TEST(test_relevance_stale_posting_is_skipped)
{
    /* item 9 is past the view's ids, item 1 a gap: their postings count in df
     * but name no item */
    static const struct tpost ps[] = {
        {"cat", 1, 1, 0, 0}, {"cat", 2, 1, 0, 0}, {"cat", 9, 1, 0, 0}};
    struct tix x = {ps, 3, items4, 4, NULL, 1u << 1, 0};
    struct mp_relevance_params p = plain();
    double s[4];
    score(&x, &p, "cat", s);
    EQ(s[2], bm25(&p, 1, 4, 3, 1, 2, 3));
    EQ(s[1], 0);
}
END_TEST

/* ---- gaps in the ids ---- */

/* ids 0..7 in sessions 1 1 1 - 1 1 - 2 (3 and 6: no item) */
static const struct mp_relevance_item items8[] = {
    {2, 1, 10, false}, {2, 1, 10, false}, {2, 1, 10, false}, {0, 0, 0, false},
    {2, 1, 10, false}, {2, 1, 10, false}, {0, 0, 0, false},  {2, 2, 10, false}};
#define GAPS8 ((1u << 3) | (1u << 6))

START_TEST(test_relevance_gap_is_an_absent_neighbour)
{
    static const struct tpost ps[] = {{"cat", 2, 1, 0, 0}};
    struct tix x = {ps, 1, items8, 8, NULL, GAPS8, 0};
    struct mp_relevance_params p = plain();
    p.nb_prev = 0.5;
    p.nb_next = 0.25;
    p.nb_decay = 0.5;
    double s[8];
    score(&x, &p, "cat", s);
    double v = bm25(&p, 1, 8, 1, 1, 2, 1.5); /* avglen 12 / 8: view() counts the gaps */
    EQ(s[2], v);
    EQ(s[1], 0.25 * v);
    EQ(s[0], 0.25 * 0.5 * v);
    EQ(s[3], 0);             /* the gap gets nothing, and is no hit */
    EQ(s[4], 0.5 * v);       /* the next item: the gap is no step */
    EQ(s[5], 0.5 * 0.5 * v); /* the second */
    EQ(s[7], 0);             /* past a second gap, another session */
    /* a window that reaches only the gap: no neighbour after it */
    p.nb_window = 1;
    p.nb_reach = 1;
    score(&x, &p, "cat", s);
    EQ(s[1], 0.25 * v);
    EQ(s[4], 0);
    p.nb_reach = 2;
    score(&x, &p, "cat", s);
    EQ(s[4], 0.5 * v);
    EQ(s[5], 0);
}
END_TEST

/* Neighbours read by ranges score exactly as neighbours read one by one,
 * with fewer single reads. */
START_TEST(test_relevance_ranged_reads_match_single_reads)
{
    static const struct tpost ps[] = {
        {"cat", 2, 1, 0, 0}, {"cat", 5, 2, 0, 0}, {"dog", 6, 1, 1, 0}, {"cat", 7, 1, 0, 0}};
    struct tix x = {ps, 4, items8, 8, NULL, GAPS8, 0};
    const char *qs[] = {"cat", "dog", "cat dog", "bird"};
    struct mp_relevance_params ps_[2];
    ps_[0] = plain();
    ps_[0].nb_prev = 0.5;
    ps_[0].nb_next = 0.25;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &ps_[1]);
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
            double a[8], b[8];
            ranged = false;
            x.item_calls = 0;
            score(&x, &ps_[k], qs[i], a);
            unsigned single = x.item_calls;
            ranged = true;
            x.item_calls = 0;
            score(&x, &ps_[k], qs[i], b);
            ranged = false;
            for (size_t j = 0; j < 8; j++)
                ck_assert_msg(a[j] == b[j], "q %s item %zu: %g against %g", qs[i], j, a[j], b[j]);
            ck_assert_uint_le(x.item_calls, single);
        }
    }
}
END_TEST

START_TEST(test_relevance_hit_next_to_gaps_and_id_ends)
{
    /* a hit on both sides of the gap 3, on id 0 (nothing before it) and on the
     * last id (nothing after it) */
    static const struct tpost ps[] = {
        {"cat", 0, 1, 0, 0}, {"cat", 2, 1, 0, 0}, {"cat", 4, 1, 0, 0}, {"cat", 7, 1, 0, 0}};
    struct tix x = {ps, 4, items8, 8, NULL, GAPS8, 0};
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    double s[8];
    score(&x, &p, "cat", s);
    EQ(s[3], 0);
    EQ(s[6], 0);
    for (int i = 0; i < 8; i++)
        ck_assert(i == 3 || i == 6 || s[i] > 0);
}
END_TEST

/* The index's last id ends the probes past it (the ids after are gaps): the
 * same scores, and no id above it read. */
START_TEST(test_relevance_last_id_ends_the_probes)
{
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}, {"cat", 7, 1, 0, 0}};
    struct tix x = {ps, 2, items8, 8, NULL, GAPS8, 0};
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    double open[8], bounded[8];
    t_max_asked = 0;
    score(&x, &p, "cat", open);
    ck_assert_uint_gt(t_max_asked, 7); /* without it: the gaps past 7 read one by one */
    view_last = 7;
    t_max_asked = 0;
    x.item_calls = 0;
    score(&x, &p, "cat", bounded);
    view_last = 0;
    ck_assert_uint_le(t_max_asked, 7);
    for (int i = 0; i < 8; i++)
        EQ(bounded[i], open[i]);
    ck_assert(bounded[7] > 0 && bounded[6] == 0);
}
END_TEST

/* One item at the top of the id space: probing past it must not wrap. */
static int top_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    unsigned *calls = ctx;
    (*calls)++;
    if (id != UINT32_MAX && id != 0)
        return MP_NOTFOUND;
    *out = (struct mp_relevance_item){2, 1, 10, false};
    return MP_OK;
}

static uint32_t top_df(void *ctx, const char *t, size_t len)
{
    (void)ctx;
    return len == 3 && memcmp(t, "cat", 3) == 0 ? 2 : 0;
}

static int top_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct mp_relevance_posting ps[2] = {{0, 1, 0, 0, 0, 0, false},
                                               {UINT32_MAX, 1, 0, 0, 0, 0, false}};
    (void)ctx;
    for (size_t k = 0; k < 2 && top_df(NULL, t, len) > 0; k++) {
        int rc = fn(arg, &ps[k]);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int no_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    (void)ctx;
    (void)id;
    (void)fn;
    (void)arg;
    return MP_OK;
}

START_TEST(test_relevance_ids_at_both_ends_of_the_range)
{
    unsigned calls = 0;
    struct mp_relevance_index v = {&calls,   1000, 2.0, top_df, top_postings, NULL, top_item,
                                   no_terms, NULL, 0,   0,      NULL,         NULL, 0};
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    struct mp_terms *t = NULL;
    struct mp_relevance_hit *h = NULL;
    size_t nh = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, &p, "cat", 3, NULL, 0, &h, &nh), MP_OK);
    mp_terms_free(t);
    ck_assert_uint_eq(nh, 2);
    ck_assert_uint_eq(h[0].item, 0);
    ck_assert_uint_eq(h[1].item, UINT32_MAX);
    ck_assert(h[0].score == h[1].score);
    /* each probes nb_reach ids on its one open side */
    ck_assert_uint_eq(calls, 2 + 2 * p.nb_reach);
    free(h);
}
END_TEST

START_TEST(test_relevance_session_share_only_near_candidates)
{
    /* one session of 8 items, a hit on 0: items 1..3 are its window, 4..7
     * were never looked at and get no share (the reference gives them one) */
    static const struct mp_relevance_item it[] = {
        {2, 1, 10, false}, {2, 1, 10, false}, {2, 1, 10, false}, {2, 1, 10, false},
        {2, 1, 10, false}, {2, 1, 10, false}, {2, 1, 10, false}, {2, 1, 10, false}};
    static const struct tpost ps[] = {{"cat", 0, 1, 0, 0}};
    struct tix x = {ps, 1, it, 8, NULL, 0, 0};
    struct mp_relevance_params p = plain();
    p.sess_w = 0.1;
    p.nb_window = 3;
    double s[8];
    score(&x, &p, "cat", s);
    double v = bm25(&p, 1, 8, 1, 1, 2, 2);
    EQ(s[0], v + 0.1 * v);
    for (int i = 1; i <= 3; i++)
        EQ(s[i], 0.1 * v);
    for (int i = 4; i < 8; i++)
        EQ(s[i], 0);
    ck_assert_uint_eq(x.item_calls, 4);
}
END_TEST

/* ---- a million items, 50 of them hit ---- */

/* Every id below BIG_N is an item (session id / 16, fields from the id); the
 * question's terms are on the BIG_HITS items big_hit(k) only. The small view
 * holds the same 50 items with the 3 ids on each side of each, renumbered
 * 0..349 (7 per hit), so that scoring has every neighbour it may look at. */
#define BIG_N    1000000u
#define BIG_HITS 50u
#define BLOCK    7u /* 2 * nb_window + 1 */

struct big {
    bool small;
    unsigned item_calls;
};

static uint32_t big_hit(uint32_t k)
{
    return 1000 + 19997 * k;
}

/* The big id of view id, or false when the view has no such id. */
static bool big_id(const struct big *b, uint32_t id, uint32_t *out)
{
    if (!b->small) {
        *out = id;
        return id < BIG_N;
    }
    if (id >= BIG_HITS * BLOCK)
        return false;
    *out = big_hit(id / BLOCK) + id % BLOCK - BLOCK / 2;
    return true;
}

static uint32_t view_id(const struct big *b, uint32_t k)
{
    return b->small ? k * BLOCK + BLOCK / 2 : big_hit(k);
}

static int big_item(void *ctx, uint32_t id, struct mp_relevance_item *out)
{
    struct big *b = ctx;
    uint32_t g;
    b->item_calls++;
    if (!big_id(b, id, &g))
        return MP_NOTFOUND;
    *out = (struct mp_relevance_item){2 + g % 5, g / 16, 8 + g % 7, g % 3 == 0};
    return MP_OK;
}

/* Term t's posting on hit k: "zebra" on all, "lion" on even k (in the key
 * every fourth), "stripe" on k % 3 == 0, "@may" as a date on k % 5 == 0. */
static bool big_posting(const char *t, size_t len, uint32_t k, struct mp_relevance_posting *p)
{
    *p = (struct mp_relevance_posting){0, 0, 0, 0, 0, 0, false};
    if (len == 5 && memcmp(t, "zebra", 5) == 0)
        p->tc = 1 + k % 3;
    else if (len == 4 && memcmp(t, "lion", 4) == 0 && k % 2 == 0)
        p->tc = 1, p->tk = k % 4 == 0;
    else if (len == 6 && memcmp(t, "stripe", 6) == 0 && k % 3 == 0)
        p->tc = 1;
    else if (len == 4 && memcmp(t, "@may", 4) == 0 && k % 5 == 0)
        p->td = 1;
    return p->tc + p->tk + p->td > 0;
}

static uint32_t big_df(void *ctx, const char *t, size_t len)
{
    struct mp_relevance_posting p;
    uint32_t df = 0;
    (void)ctx;
    for (uint32_t k = 0; k < BIG_HITS; k++)
        df += big_posting(t, len, k, &p);
    return df;
}

static int big_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn, void *arg)
{
    const struct big *b = ctx;
    for (uint32_t k = 0; k < BIG_HITS; k++) {
        struct mp_relevance_posting p;
        if (!big_posting(t, len, k, &p))
            continue;
        p.item = view_id(b, k);
        int rc = fn(arg, &p);
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static int big_item_terms(void *ctx, uint32_t id, mp_relevance_term_fn fn, void *arg)
{
    static const char *const terms[] = {"zebra", "lion", "stripe"};
    const struct big *b = ctx;
    for (uint32_t k = 0; k < BIG_HITS; k++) {
        if (view_id(b, k) != id)
            continue;
        for (size_t j = 0; j < 3; j++) {
            struct mp_relevance_posting p;
            if (big_posting(terms[j], strlen(terms[j]), k, &p) && p.tc > 0)
                fn(arg, terms[j], strlen(terms[j]), p.tc);
        }
    }
    return MP_OK;
}

static void big_score(struct big *b, const struct mp_relevance_params *p, const char *q,
                      struct mp_relevance_hit **h, size_t *nh)
{
    struct mp_relevance_index v = {
        b,    BIG_N, 4.0, big_df, big_postings, NULL, big_item, big_item_terms,
        NULL, 0,     0,   NULL,   NULL,         0};
    struct mp_terms *t = NULL;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, p, q, strlen(q), NULL, 0, h, nh), MP_OK);
    mp_terms_free(t);
}

START_TEST(test_relevance_million_items_reads_only_the_windows)
{
    static const char *const qs[] = {"Zebras and lions?", "When did the zebra go in May?"};
    for (int kind = 0; kind < 2; kind++) {
        for (size_t qi = 0; qi < 2; qi++) {
            struct mp_relevance_params p;
            mp_relevance_preset(kind == 0 ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, &p);
            struct big big = {false, 0}, small = {true, 0};
            struct mp_relevance_hit *h = NULL, *hs = NULL;
            size_t nh = 0, nhs = 0;
            big_score(&big, &p, qs[qi], &h, &nh);
            /* each hit read once, each window probed once: no pass over n */
            ck_assert_uint_le(big.item_calls, BIG_HITS * (2 * p.nb_window + 1) + 8);
            ck_assert_uint_gt(nh, BIG_HITS); /* the windows are hits too */
            /* the same items renumbered score the same, bit for bit */
            big_score(&small, &p, qs[qi], &hs, &nhs);
            ck_assert_uint_eq(nh, nhs);
            for (size_t k = 0; k < nh; k++) {
                uint32_t g;
                ck_assert(big_id(&small, hs[k].item, &g));
                ck_assert_uint_eq(h[k].item, g);
                ck_assert(h[k].score == hs[k].score);
            }
            free(h);
            free(hs);
        }
    }
}
END_TEST

START_TEST(test_relevance_million_items_is_deterministic)
{
    struct mp_relevance_params p;
    mp_relevance_preset(MP_RELEVANCE_TURNS, &p);
    struct big b = {false, 0};
    struct mp_relevance_hit *h1 = NULL, *h2 = NULL;
    size_t n1 = 0, n2 = 0;
    big_score(&b, &p, "When did the zebra go in May?", &h1, &n1);
    big_score(&b, &p, "When did the zebra go in May?", &h2, &n2);
    ck_assert_uint_eq(n1, n2);
    for (size_t k = 0; k < n1; k++) {
        ck_assert_uint_eq(h1[k].item, h2[k].item);
        ck_assert(h1[k].score == h2[k].score);
    }
    /* a hit of the 50 outranks its own neighbours */
    for (size_t k = 0; k < n1; k++)
        if (h1[k].item == big_hit(7))
            ck_assert(h1[k].score > h1[k - 1].score && h1[k].score > h1[k + 1].score);
    uint32_t out[1024], used = 0;
    size_t n = 0;
    ck_assert_uint_le(n1, 1024);
    struct mp_relevance_index v = {
        &b,   BIG_N, 4.0, big_df, big_postings, NULL, big_item, big_item_terms,
        NULL, 0,     0,   NULL,   NULL,         0};
    ck_assert_int_eq(mp_relevance_pack(&v, &p, h1, n1, 200, out, &n, &used), MP_OK);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(used, 200);
    free(h1);
    free(h2);
}
END_TEST

static uint32_t work_postings, work_calls, big_read;
static bool work_capped;

static void on_work(void *ctx, uint32_t postings, bool capped)
{
    (void)ctx;
    work_postings = postings;
    work_capped = capped;
    work_calls++;
}

static int counted_postings(void *ctx, const char *t, size_t len, mp_relevance_posting_fn fn,
                            void *arg)
{
    big_read += big_df(ctx, t, len);
    return big_postings(ctx, t, len, fn, arg);
}

/* big_score() under the ceiling max (0: the default), the work told. */
static void capped_score(const struct mp_relevance_params *p, uint32_t max, const char *q,
                         struct mp_relevance_hit **h, size_t *nh)
{
    struct big b = {false, 0};
    struct mp_relevance_index v = {
        &b,  BIG_N,   4.0,  big_df, counted_postings, NULL, big_item, big_item_terms, NULL, 0,
        max, on_work, NULL, 0};
    struct mp_terms *t = NULL;
    work_calls = 0;
    big_read = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_score(t, &v, p, q, strlen(q), NULL, 0, h, nh), MP_OK);
    mp_terms_free(t);
    ck_assert_uint_eq(work_calls, 1);
    ck_assert_uint_le(big_read, work_postings);
    ck_assert_uint_le(work_postings, max > 0 ? max : MP_RELEVANCE_MAX_POSTINGS);
}

static void same_hits(const struct mp_relevance_hit *a, size_t na, const struct mp_relevance_hit *b,
                      size_t nb)
{
    ck_assert_uint_eq(na, nb);
    for (size_t k = 0; k < na; k++) {
        ck_assert_uint_eq(a[k].item, b[k].item);
        ck_assert(a[k].score == b[k].score);
    }
}

START_TEST(test_relevance_ceiling_under_it_changes_nothing)
{
    /* zebra 50 postings, lion 25, @may 10: 85 in all */
    for (int kind = 0; kind < 2; kind++) {
        struct mp_relevance_params p;
        mp_relevance_preset(kind == 0 ? MP_RELEVANCE_FACTS : MP_RELEVANCE_TURNS, &p);
        struct mp_relevance_hit *h = NULL, *hc = NULL;
        size_t nh = 0, nhc = 0;
        const char *q = "When did the zebras and lions go in May?";
        capped_score(&p, 0, q, &h, &nh);
        ck_assert(!work_capped);
        ck_assert_uint_ge(work_postings, 85);
        uint32_t all = work_postings;
        capped_score(&p, all, q, &hc, &nhc); /* exactly enough */
        ck_assert(!work_capped);
        ck_assert_uint_eq(work_postings, all);
        same_hits(h, nh, hc, nhc);
        free(h);
        free(hc);
    }
}
END_TEST

START_TEST(test_relevance_ceiling_skips_the_common_term_reads_the_rare)
{
    /* no smoothing, no feedback: the capped question scores as the
       question without the term the ceiling skipped, bit for bit */
    struct mp_relevance_params p = plain();
    struct mp_relevance_hit *h = NULL, *hl = NULL;
    size_t nh = 0, nhl = 0;
    capped_score(&p, 40, "Zebras and lions?", &h, &nh); /* zebra: 50 > 40 */
    ck_assert(work_capped);
    ck_assert_uint_eq(work_postings, 25); /* lion's */
    capped_score(&p, 0, "Lions?", &hl, &nhl);
    ck_assert(!work_capped);
    same_hits(h, nh, hl, nhl);
    ck_assert_uint_eq(nh, 25);
    free(h);
    free(hl);
    /* the full method too stays within it, whatever it skips */
    for (uint32_t max = 1; max < 120; max += 7) {
        struct mp_relevance_params full;
        mp_relevance_preset(MP_RELEVANCE_TURNS, &full);
        capped_score(&full, max, "When did the zebras and lions go in May?", &h, &nh);
        ck_assert(work_capped == (max < 85));
        free(h);
    }
}
END_TEST

START_TEST(test_relevance_index_helpers)
{
    struct mp_terms *t = NULL;
    bool tx = true;
    char mon[MP_RELEVANCE_DATE_MAX], yr[MP_RELEVANCE_DATE_MAX], sw[MP_TERMS_MAX];
    size_t n = 0;
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_relevance_timex(t, "I ran a race", 12, &tx), MP_OK);
    ck_assert(!tx);
    ck_assert_int_eq(mp_relevance_timex(t, "after the race", 14, &tx), MP_OK);
    ck_assert(tx); /* a stop word, still a time word */
    ck_assert_int_eq(mp_relevance_timex(t, "in 1999!", 8, &tx), MP_OK);
    ck_assert(tx);
    mp_terms_free(t);
    ck_assert_int_eq(mp_relevance_date_terms(2023, 5, mon, yr), MP_OK);
    ck_assert_str_eq(mon, "@may");
    ck_assert_str_eq(yr, "@2023");
    ck_assert_int_eq(mp_relevance_date_terms(2023, 13, mon, yr), MP_EINVAL);
    ck_assert(mp_relevance_surface_word("caroline's", 10, sw, &n));
    ck_assert_uint_eq(n, 8);
    ck_assert(mp_relevance_surface_word("o'neil", 6, sw, &n));
    ck_assert_int_eq(memcmp(sw, "oneil", 5), 0);
    ck_assert(!mp_relevance_surface_word("8th", 3, sw, &n));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("relevance");
    TCase *tc = tcase_create("relevance");
    tcase_add_test(tc, test_relevance_bm25f_fields_and_length);
    tcase_add_test(tc, test_relevance_group_takes_its_best_member);
    tcase_add_test(tc, test_relevance_groups_add_up);
    tcase_add_test(tc, test_relevance_query_grows_past_its_first_members);
    tcase_add_test(tc, test_relevance_spelling_neighbour_only_for_unknown_words);
    tcase_add_test(tc, test_relevance_date_groups_need_a_capital);
    tcase_add_test(tc, test_relevance_smoothing_stays_in_the_session);
    tcase_add_test(tc, test_relevance_hit_holds_or_is_beside);
    tcase_add_test(tc, test_relevance_speaker_boost_on_the_key);
    tcase_add_test(tc, test_relevance_feedback_adds_shared_terms);
    tcase_add_test(tc, test_relevance_feedback_leaves_out_a_sampled_candidate);
    tcase_add_test(tc, test_relevance_temporal_question_boosts_time_expressions);
    tcase_add_test(tc, test_relevance_question_raw_walk_agrees_with_the_reference);
    tcase_add_test(tc, test_relevance_question_reads_dates_and_time_phrases_in_one_walk);
    tcase_add_test(tc, test_relevance_pack_fits_the_budget_and_skips);
    tcase_add_test(tc, test_relevance_pack_by_value_per_token);
    tcase_add_test(tc, test_relevance_pack_never_exceeds_the_budget_ties_by_lower_id);
    tcase_add_test(tc, test_relevance_pack_skips_a_hit_whose_item_is_gone);
    tcase_add_test(tc, test_relevance_no_match_selects_nothing);
    tcase_add_test(tc, test_relevance_full_method_is_deterministic_and_within_budget);
    tcase_add_test(tc, test_relevance_previous_turn_weighs_less);
    tcase_add_test(tc, test_relevance_stale_posting_is_skipped);
    tcase_add_test(tc, test_relevance_gap_is_an_absent_neighbour);
    tcase_add_test(tc, test_relevance_ranged_reads_match_single_reads);
    tcase_add_test(tc, test_relevance_hit_next_to_gaps_and_id_ends);
    tcase_add_test(tc, test_relevance_ids_at_both_ends_of_the_range);
    tcase_add_test(tc, test_relevance_last_id_ends_the_probes);
    tcase_add_test(tc, test_relevance_session_share_only_near_candidates);
    tcase_add_test(tc, test_relevance_million_items_reads_only_the_windows);
    tcase_add_test(tc, test_relevance_million_items_is_deterministic);
    tcase_add_test(tc, test_relevance_ceiling_under_it_changes_nothing);
    tcase_add_test(tc, test_relevance_ceiling_skips_the_common_term_reads_the_rare);
    tcase_add_test(tc, test_relevance_index_helpers);
    suite_add_tcase(s, tc);
    return s;
}
