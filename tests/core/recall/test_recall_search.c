/* Tests for core/recall/recall_search.c: a search finds what the relevant
 * strategy calls matched, with relevance.c's own scores, best first, facts
 * and archived messages each when asked, deterministically, and nothing
 * without a tokenizer, a query or an index. The source is
 * recall_source.h's, over the memory fixture's facts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mem_fixture.h"
#include "recall/recall_search.h"
#include "recall_source.h"
#include "recall/relevance.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_recall_found *found;
static size_t nfound;

static void setup(void)
{
    fs_setup();
    found = NULL;
    nfound = 0;
}

static void teardown(void)
{
    free(found);
    fs_teardown();
}

static int search(const char *q, bool facts, bool messages)
{
    free(found);
    found = NULL;
    nfound = 0;
    return mp_recall_search(fs_terms, &fs_src, q, strlen(q), NULL, 0, NULL, facts, messages, &found,
                            &nfound);
}

START_TEST(test_search_best_first_both_kinds)
{
    fs_pets();
    ck_assert_int_eq(search("Rex chewed my climbing shoes", true, true), MP_OK);
    ck_assert_uint_gt(nfound, 2);
    bool fact = false, msg = false;
    for (size_t i = 0; i < nfound; i++) {
        ck_assert(found[i].score > 0);
        if (i > 0)
            ck_assert(found[i - 1].score >= found[i].score);
        fact |= found[i].fact;
        msg |= !found[i].fact;
    }
    ck_assert(fact && msg);
    ck_assert(!found[0].fact);
    ck_assert_uint_eq(found[0].id, 3); /* "Rex chewed my climbing shoes" */
}
END_TEST

START_TEST(test_search_scores_are_relevance_scores)
{
    struct mp_relevance_params rp;
    struct mp_relevance_hit *hits = NULL;
    size_t nhits = 0;
    const char *q = "How old is my dog Rex now?";
    fs_pets();
    ck_assert_int_eq(search(q, true, false), MP_OK);
    mp_relevance_preset(MP_RELEVANCE_FACTS, &rp);
    ck_assert_int_eq(
        mp_relevance_score(fs_terms, fs_src.facts, &rp, q, strlen(q), NULL, 0, &hits, &nhits),
        MP_OK);
    ck_assert_uint_eq(nfound, nhits);
    for (size_t i = 0; i < nfound; i++) {
        ck_assert(found[i].fact);
        size_t j = 0;
        while (j < nhits && hits[j].item != found[i].id)
            j++;
        ck_assert_uint_lt(j, nhits);
        ck_assert(hits[j].score == found[i].score);
    }
    free(hits);
    ck_assert_str_eq(fx_ents[found[0].id].key, "pet");
}
END_TEST

START_TEST(test_search_kinds_asked)
{
    fs_pets();
    ck_assert_int_eq(search("Rex shoes", false, true), MP_OK);
    ck_assert_uint_gt(nfound, 0);
    for (size_t i = 0; i < nfound; i++)
        ck_assert(!found[i].fact);
    ck_assert_int_eq(search("Rex shoes", false, false), MP_OK);
    ck_assert_uint_eq(nfound, 0);
    ck_assert_ptr_null(found);
}
END_TEST

START_TEST(test_search_nothing_without_query_terms_or_index)
{
    fs_pets();
    ck_assert_int_eq(search("", true, true), MP_OK);
    ck_assert_uint_eq(nfound, 0);
    ck_assert_int_eq(search("zebra quantum", true, true), MP_OK);
    ck_assert_uint_eq(nfound, 0);
    ck_assert_int_eq(
        mp_recall_search(NULL, &fs_src, "Rex", 3, NULL, 0, NULL, true, true, &found, &nfound),
        MP_OK);
    ck_assert_uint_eq(nfound, 0);
}
END_TEST

START_TEST(test_search_nothing_without_index)
{
    fs_build(); /* nothing stored: no index */
    ck_assert_int_eq(search("Rex", true, true), MP_OK);
    ck_assert_uint_eq(nfound, 0);
}
END_TEST

START_TEST(test_search_deterministic)
{
    fs_pets();
    ck_assert_int_eq(search("Rex dog shoes pipeline work", true, true), MP_OK);
    size_t n = nfound;
    struct mp_recall_found *first = malloc(n * sizeof(*first));
    memcpy(first, found, n * sizeof(*first));
    ck_assert_int_eq(search("Rex dog shoes pipeline work", true, true), MP_OK);
    ck_assert_uint_eq(nfound, n);
    ck_assert_mem_eq(first, found, n * sizeof(*first));
    free(first);
}
END_TEST

START_TEST(test_search_source_error_passed_on)
{
    fs_pets();
    fs_calls.fail_fact = MP_EIO; /* scoring reads no fact: still found */
    ck_assert_int_eq(search("Rex", true, true), MP_OK);
    ck_assert_uint_gt(nfound, 0);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("recall_search");
    TCase *t = tcase_create("search");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_search_best_first_both_kinds);
    tcase_add_test(t, test_search_scores_are_relevance_scores);
    tcase_add_test(t, test_search_kinds_asked);
    tcase_add_test(t, test_search_nothing_without_query_terms_or_index);
    tcase_add_test(t, test_search_nothing_without_index);
    tcase_add_test(t, test_search_deterministic);
    tcase_add_test(t, test_search_source_error_passed_on);
    suite_add_tcase(s, t);
    return s;
}
