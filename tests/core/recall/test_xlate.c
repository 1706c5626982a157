/* Tests for core/recall/xlate.c (the tables of a deployment: the setting,
 * straight and pivot lookups) and for the question's translated terms
 * (core/recall/relevance_words.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "recall/relevance_words.h"
#include "status.h"
#include "recall/terms.h"
#include "recall/userlang.h"
#include "recall/xlate.h"

Suite *mp_test_suite(void);

static unsigned char *tabs[4];
static size_t lens[4];

static unsigned char *table(int src, int dst, const char *const *pairs, size_t n, size_t *len)
{
    struct mp_xlatetab_builder *b = NULL;
    unsigned char *p = NULL;
    ck_assert_int_eq(mp_xlatetab_builder_new(src, dst, &b), MP_OK);
    for (size_t i = 0; i < n; i += 2)
        ck_assert_int_eq(mp_xlatetab_builder_add(b, pairs[i], strlen(pairs[i]), pairs[i + 1],
                                                 strlen(pairs[i + 1])),
                         MP_OK);
    ck_assert_int_eq(mp_xlatetab_builder_finish(b, &p, len), MP_OK);
    mp_xlatetab_builder_free(b);
    return p;
}

/* en->de, de->en, en->fr: enough for straight lookups both ways and a
 * pivot German -> English -> French. */
static void setup(struct mp_xlate *x)
{
    static const char *const en_de[] = {"doctor",        "arzt",      "doctor",  "doktor",
                                        "blood pressur", "blutdruck", "pressur", "druck"};
    static const char *const de_en[] = {"arzt",      "doctor",    "arzt",
                                        "physician", "blutdruck", "blood pressur"};
    static const char *const en_fr[] = {"doctor",  "medecin",   "physician",
                                        "medecin", "physician", "docteur"};
    tabs[0] = table(MP_LANG_EN, MP_LANG_DE, en_de, 8, &lens[0]);
    tabs[1] = table(MP_LANG_DE, MP_LANG_EN, de_en, 6, &lens[1]);
    tabs[2] = table(MP_LANG_EN, MP_LANG_FR, en_fr, 6, &lens[2]);
    mp_xlate_init(x);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(mp_xlate_add(x, tabs[i], lens[i]), MP_OK);
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        free(tabs[i]);
}

struct got {
    char t[16][64];
    int lang[16];
    double w[16];
    size_t n;
};

static int on_x(void *arg, int lang, const char *term, size_t len, double w)
{
    struct got *g = arg;
    if (g->n < 16 && len < 64) {
        memcpy(g->t[g->n], term, len);
        g->t[g->n][len] = '\0';
        g->lang[g->n] = lang;
        g->w[g->n++] = w;
    }
    return MP_OK;
}

START_TEST(test_xlate_setting_all_none_and_codes)
{
    uint64_t m = 0;
    char why[128];
    ck_assert_int_eq(mp_xlate_parse_langs("all", &m, why, sizeof(why)), MP_OK);
    ck_assert(m == mp_xlate_dict_langs());
    ck_assert(m & MP_XLATE_BIT(MP_LANG_DE));
    ck_assert(!(m & MP_XLATE_BIT(MP_LANG_ZH)));
    ck_assert_int_eq(mp_xlate_parse_langs("none", &m, why, sizeof(why)), MP_OK);
    ck_assert(m == 0);
    ck_assert_int_eq(mp_xlate_parse_langs("de,fr", &m, why, sizeof(why)), MP_OK);
    ck_assert(m ==
              (MP_XLATE_BIT(MP_LANG_DE) | MP_XLATE_BIT(MP_LANG_FR) | MP_XLATE_BIT(MP_LANG_EN)));
    ck_assert_int_eq(mp_xlate_parse_langs("de,zh", &m, why, sizeof(why)), MP_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "no dictionary for \"zh\""));
    ck_assert_int_eq(mp_xlate_parse_langs("de,,fr", &m, why, sizeof(why)), MP_EINVAL);
    ck_assert_int_eq(mp_xlate_parse_langs("klingon", &m, why, sizeof(why)), MP_EINVAL);
    ck_assert_int_eq(mp_xlate_parse_langs("", &m, why, sizeof(why)), MP_EINVAL);
}
END_TEST

START_TEST(test_xlate_straight_both_ways_and_pivot)
{
    struct mp_xlate x;
    struct got g = {.n = 0};
    setup(&x);
    ck_assert(mp_xlate_reach(&x, MP_LANG_EN) ==
              (MP_XLATE_BIT(MP_LANG_DE) | MP_XLATE_BIT(MP_LANG_FR)));
    ck_assert(mp_xlate_reach(&x, MP_LANG_DE) ==
              (MP_XLATE_BIT(MP_LANG_EN) | MP_XLATE_BIT(MP_LANG_FR)));
    ck_assert(mp_xlate_reach(&x, MP_LANG_FR) == 0); /* no fr->en table */
    ck_assert(mp_xlate_reach(NULL, MP_LANG_EN) == 0);
    ck_assert_int_eq(mp_xlate_word(&x, MP_LANG_EN, MP_XLATE_BIT(MP_LANG_DE), "doctor", 6, on_x, &g),
                     MP_OK);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.t[0], "arzt");
    ck_assert(g.w[0] > g.w[1]);
    g.n = 0;
    ck_assert_int_eq(mp_xlate_word(&x, MP_LANG_DE, MP_XLATE_BIT(MP_LANG_EN), "arzt", 4, on_x, &g),
                     MP_OK);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.t[0], "doctor");
    /* German -> English (doctor, physician) -> French */
    g.n = 0;
    ck_assert_int_eq(mp_xlate_word(&x, MP_LANG_DE, MP_XLATE_BIT(MP_LANG_FR), "arzt", 4, on_x, &g),
                     MP_OK);
    ck_assert_uint_eq(g.n, 3);
    ck_assert_str_eq(g.t[0], "medecin");
    ck_assert_int_eq(g.lang[0], MP_LANG_FR);
    ck_assert_str_eq(g.t[2], "docteur");
    ck_assert(g.w[2] < g.w[0]);
    teardown();
}
END_TEST

/* The question's words meet German memory: "doctor" gives arzt, the two
 * words "blood pressure" the German compound; the English word is the
 * group's own and is kept. A memory all in English looks nothing up. */
START_TEST(test_xlate_question_terms_in_the_memorys_language)
{
    struct mp_xlate x;
    struct mp_terms *t = NULL;
    struct mp_relevance_question *qn = malloc(sizeof(*qn));
    const char *q = "What did the doctor say about my blood pressure?";
    setup(&x);
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    mp_terms_set_xlate(t, &x);
    struct mp_userlang_prior prior = MP_USERLANG_PRIOR(NULL, 0);
    prior.held = MP_XLATE_BIT(MP_LANG_DE) | MP_XLATE_BIT(MP_LANG_EN);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    bool arzt = false, blutdruck = false;
    for (size_t i = 0; i < qn->nx; i++) {
        const struct mp_relevance_xterm *xt = &qn->x[i];
        ck_assert_int_eq(xt->lang, MP_LANG_DE);
        if (xt->len == 4 && memcmp(xt->term, "arzt", 4) == 0) {
            arzt = true;
            ck_assert_int_eq(memcmp(qn->w[xt->group].term, "doctor", 6), 0);
        }
        if (xt->len == 9 && memcmp(xt->term, "blutdruck", 9) == 0) {
            blutdruck = true;
            ck_assert_int_eq(xt->flen, 14);
            ck_assert_int_eq(memcmp(xt->from, "blood pressure", 14), 0);
        }
    }
    ck_assert(arzt && blutdruck);
    prior = (struct mp_userlang_prior)MP_USERLANG_PRIOR(NULL, 0);
    prior.held = MP_XLATE_BIT(MP_LANG_EN);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    ck_assert_uint_eq(qn->nx, 0);
    mp_terms_set_xlate(t, NULL); /* no tables: nothing either */
    prior.held = MP_XLATE_BIT(MP_LANG_DE);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    ck_assert_uint_eq(qn->nx, 0);
    mp_terms_free(t);
    free(qn);
    teardown();
}
END_TEST

/* A name in a Spanish question, written as the English memory writes it,
 * is also stemmed as English stems it (priya, not the Spanish priy), at
 * the word's own weight; nothing when the memory is all Spanish or no
 * tables are enabled. */
START_TEST(test_xlate_question_words_stemmed_as_the_memory)
{
    struct mp_xlate x;
    struct mp_terms *t = NULL;
    struct mp_relevance_question *qn = malloc(sizeof(*qn));
    const char *q = "¿Dónde trabaja Priya ahora?";
    setup(&x);
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    mp_terms_set_xlate(t, &x);
    struct mp_userlang_prior prior = MP_USERLANG_PRIOR(NULL, 0);
    prior.held = MP_XLATE_BIT(MP_LANG_ES) | MP_XLATE_BIT(MP_LANG_EN);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    ck_assert_int_eq(qn->lang, MP_LANG_ES);
    bool priya = false;
    for (size_t i = 0; i < qn->nx; i++) {
        const struct mp_relevance_xterm *xt = &qn->x[i];
        if (xt->len == 5 && memcmp(xt->term, "priya", 5) == 0) {
            priya = true;
            ck_assert(xt->same);
            ck_assert_int_eq(xt->lang, MP_LANG_EN);
            ck_assert(xt->w == (float)MP_RELEVANCE_RESTEM_W);
            ck_assert_int_eq(qn->w[xt->group].len, 4);
            ck_assert_int_eq(memcmp(qn->w[xt->group].term, "priy", 4), 0);
        }
    }
    ck_assert(priya);
    prior.held = MP_XLATE_BIT(MP_LANG_ES);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    ck_assert_uint_eq(qn->nx, 0);
    mp_terms_set_xlate(t, NULL);
    prior.held = MP_XLATE_BIT(MP_LANG_ES) | MP_XLATE_BIT(MP_LANG_EN);
    ck_assert_int_eq(mp_relevance_question_parse(t, q, strlen(q), NULL, 0, &prior, qn), MP_OK);
    ck_assert_uint_eq(qn->nx, 0);
    mp_terms_free(t);
    free(qn);
    teardown();
}
END_TEST

/* Ranks' weights: 1, 0.8, 0.65, 0.5, then 0.4 for the fifth and sixth
 * and past them. */
START_TEST(test_xlate_rank_weights)
{
    ck_assert(mp_xlate_rank_weight(0) == 1.0);
    ck_assert(mp_xlate_rank_weight(3) == 0.5);
    ck_assert(mp_xlate_rank_weight(4) == 0.4);
    ck_assert(mp_xlate_rank_weight(5) == 0.4);
    ck_assert(mp_xlate_rank_weight(9) == 0.4);
}
END_TEST

/* A language is held from 1 in 20 messages and 2 at least. */
START_TEST(test_xlate_held_languages_need_a_share)
{
    uint32_t n[MP_LANG_COUNT] = {0};
    n[MP_LANG_EN] = 100;
    n[MP_LANG_DA] = 1;
    n[MP_LANG_DE] = 6; /* 6 of 111 */
    n[MP_LANG_FR] = 4;
    uint64_t m = mp_userlang_held_counts(n);
    ck_assert(m == (MP_XLATE_BIT(MP_LANG_EN) | MP_XLATE_BIT(MP_LANG_DE)));
    ck_assert(mp_userlang_held_counts(NULL) == 0);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("xlate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_xlate_setting_all_none_and_codes);
    tcase_add_test(tc, test_xlate_straight_both_ways_and_pivot);
    tcase_add_test(tc, test_xlate_question_terms_in_the_memorys_language);
    tcase_add_test(tc, test_xlate_held_languages_need_a_share);
    tcase_add_test(tc, test_xlate_rank_weights);
    tcase_add_test(tc, test_xlate_question_words_stemmed_as_the_memory);
    suite_add_tcase(s, tc);
    return s;
}
