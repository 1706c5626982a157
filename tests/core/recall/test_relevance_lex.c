/* Tests for core/recall/relevance_lex.c, the generated lexicon table: lookups of
 * known relations and their weights, one-way relations, misses, the weight of an
 * entry, the question-framing words. The table is compared with its generator's
 * output by tests/bench/recall/test_lexicon.py. */
#include <check.h>
#include <string.h>

#include "recall/relevance_lex.h"

Suite *mp_test_suite(void);

/* The weight of head's relation to rel, or -1 when the table has none. */
static double weight_of(const char *head, const char *rel)
{
    const struct mp_relevance_lex_entry *e = mp_relevance_lex_find(head, strlen(head));
    if (e == NULL)
        return -1;
    for (size_t k = 0; k < e->nrel; k++)
        if (strcmp(e->rel[k], rel) == 0)
            return mp_relevance_lex_weight(e, k);
    return -1;
}

START_TEST(test_relevance_lex_finds_relations_with_their_weights)
{
    /* lexicon.txt: "= mom mother mum mommy", "pet > dog ...", "= dog puppy pup doggy",
     * "hobby > painting ..." (stems; every relation weighs 1) */
    ck_assert_double_eq(weight_of("mom", "mother"), 1.0);
    ck_assert_double_eq(weight_of("mother", "mommi"), 1.0);
    ck_assert_double_eq(weight_of("pet", "dog"), 1.0);
    ck_assert_double_eq(weight_of("dog", "puppi"), 1.0);
    ck_assert_double_eq(weight_of("hobbi", "paint"), 1.0);
}
END_TEST

START_TEST(test_relevance_lex_hyponyms_are_one_way)
{
    ck_assert_double_eq(weight_of("pet", "dog"), 1.0);
    ck_assert_double_eq(weight_of("dog", "pet"), -1);
}
END_TEST

START_TEST(test_relevance_lex_misses)
{
    ck_assert_ptr_null(mp_relevance_lex_find("zzzz", 4));
    ck_assert_ptr_null(mp_relevance_lex_find("mo", 2));         /* a prefix of "mom" */
    ck_assert_ptr_null(mp_relevance_lex_find("mother", 3));     /* "mot" */
    ck_assert_ptr_nonnull(mp_relevance_lex_find("mothers", 6)); /* "mother" */
    ck_assert_double_eq(weight_of("mom", "mom"), -1);           /* never itself */
}
END_TEST

START_TEST(test_relevance_lex_entries_are_sorted_and_weighted)
{
    static const char *const heads[] = {"mom", "pet", "dog", "hobbi", "famili", "job"};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        const struct mp_relevance_lex_entry *e = mp_relevance_lex_find(heads[i], strlen(heads[i]));
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_gt(e->nrel, 0);
        for (size_t k = 0; k < e->nrel; k++) {
            ck_assert_uint_ge(e->q[k], 1);
            ck_assert_uint_le(e->q[k], MP_RELEVANCE_LEX_Q);
            if (k > 0)
                ck_assert_int_lt(strcmp(e->rel[k - 1], e->rel[k]), 0);
        }
    }
}
END_TEST

START_TEST(test_relevance_lex_every_reachable_head_is_its_own_entry)
{
    /* the heads met from a few, relation by relation: each found through
     * the hash table is the entry of that very stem */
    const char *todo[512] = {"mom", "pet", "dog", "hobbi", "famili", "job", "car", "paint"};
    size_t n = 8, found = 0;
    for (size_t i = 0; i < n; i++) {
        const struct mp_relevance_lex_entry *e = mp_relevance_lex_find(todo[i], strlen(todo[i]));
        if (e == NULL)
            continue;
        found++;
        ck_assert_str_eq(e->head, todo[i]);
        for (size_t k = 0; k < e->nrel && n < sizeof(todo) / sizeof(todo[0]); k++) {
            size_t j = 0;
            while (j < n && strcmp(todo[j], e->rel[k]) != 0)
                j++;
            if (j == n)
                todo[n++] = e->rel[k];
        }
    }
    ck_assert_uint_gt(found, 20);
    ck_assert(mp_relevance_lex_is_qstop("kinds", 5));
    ck_assert(!mp_relevance_lex_is_qstop("kindss", 6));
}
END_TEST

START_TEST(test_relevance_lex_weight_is_q_over_lex_q)
{
    static const char *const rel[] = {"a", "b", "c"};
    static const uint8_t q[] = {25, 100, 1};
    const struct mp_relevance_lex_entry e = {"x", rel, q, 3};
    ck_assert_double_eq(mp_relevance_lex_weight(&e, 0), 0.25);
    ck_assert_double_eq(mp_relevance_lex_weight(&e, 1), 1.0);
    ck_assert_double_eq(mp_relevance_lex_weight(&e, 2), 1.0 / MP_RELEVANCE_LEX_Q);
}
END_TEST

START_TEST(test_relevance_lex_question_framing_words)
{
    ck_assert(mp_relevance_lex_is_qstop("kind", 4));
    ck_assert(mp_relevance_lex_is_qstop("mentioned", 9));
    ck_assert(!mp_relevance_lex_is_qstop("dog", 3));
    ck_assert(!mp_relevance_lex_is_qstop("kin", 3));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("relevance_lex");
    TCase *tc = tcase_create("relevance_lex");
    tcase_add_test(tc, test_relevance_lex_finds_relations_with_their_weights);
    tcase_add_test(tc, test_relevance_lex_hyponyms_are_one_way);
    tcase_add_test(tc, test_relevance_lex_misses);
    tcase_add_test(tc, test_relevance_lex_entries_are_sorted_and_weighted);
    tcase_add_test(tc, test_relevance_lex_every_reachable_head_is_its_own_entry);
    tcase_add_test(tc, test_relevance_lex_weight_is_q_over_lex_q);
    tcase_add_test(tc, test_relevance_lex_question_framing_words);
    suite_add_tcase(s, tc);
    return s;
}
