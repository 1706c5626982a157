/* Tests for core/memory/summfilter.c: the sentences of a summary that hold
 * a value no longer true are dropped, whole words only. */
#include <check.h>
#include <string.h>

#include "memory/summfilter.h"

Suite *mp_test_suite(void);

static char buf[512];
static size_t len;

/* Filters text against value; returns how many sentences went. */
static size_t drop(const char *text, const char *value)
{
    len = strlen(text);
    memcpy(buf, text, len);
    return mp_summfilter_drop(buf, &len, value, strlen(value));
}

static void left(const char *want)
{
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(memcmp(buf, want, len) == 0);
}

START_TEST(test_summfilter_drops_the_sentence_holding_the_value)
{
    ck_assert_uint_eq(drop("The user is Ada. She lives in Paris. She uses C.", "paris"), 1);
    left("The user is Ada. She uses C.");
}
END_TEST

START_TEST(test_summfilter_whole_words_only)
{
    /* "C" is in "Cats" and "ChromaDB" but not as a word there */
    ck_assert_uint_eq(drop("Cats are loved. ChromaDB is used.", "C"), 0);
    left("Cats are loved. ChromaDB is used.");
    ck_assert_uint_eq(drop("Cats are loved. The user codes in C, daily.", "c"), 1);
    left("Cats are loved.");
    /* a value that ends in punctuation still matches before a space */
    ck_assert_uint_eq(drop("Uses C++ at work. Likes tea.", "C++"), 1);
    left("Likes tea.");
}
END_TEST

START_TEST(test_summfilter_utf8_word_not_split)
{
    ck_assert_uint_eq(drop("Lives in M\xc3\xbcnchen. Likes beer.", "M\xc3\xbc"), 0);
    ck_assert_uint_eq(drop("Lives in M\xc3\xbcnchen. Likes beer.", "m\xc3\xbcnchen"), 1);
    left("Likes beer.");
}
END_TEST

START_TEST(test_summfilter_line_breaks_and_no_final_stop)
{
    ck_assert_uint_eq(drop("Summary: lives in Paris / likes tea\nWorks at ACME", "Paris"), 1);
    left("Works at ACME");
    ck_assert_uint_eq(drop("Likes tea.  Lives in Paris?  Works at ACME!", "paris"), 1);
    left("Likes tea.  Works at ACME!");
    /* a dot inside a word (a version, a domain) ends no sentence */
    ck_assert_uint_eq(drop("Uses v1.2 of libfoo in Paris. Likes tea.", "paris"), 1);
    left("Likes tea.");
}
END_TEST

START_TEST(test_summfilter_value_across_a_sentence_end_takes_both)
{
    ck_assert_uint_eq(drop("Likes tea. Sees Dr. Smith weekly. Runs.", "dr. smith"), 2);
    left("Likes tea. Runs.");
}
END_TEST

START_TEST(test_summfilter_everything_dropped_leaves_nothing)
{
    ck_assert_uint_eq(drop("  The user lives in Paris.  ", "Paris"), 1);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_summfilter_empty_value_or_absent_changes_nothing)
{
    ck_assert_uint_eq(drop("Lives in Paris.", ""), 0);
    left("Lives in Paris.");
    ck_assert_uint_eq(drop("  Lives in Paris.  ", "Berlin"), 0);
    left("  Lives in Paris.  "); /* untouched, spaces included */
    ck_assert(!mp_summfilter_holds("Pa", 2, "Paris", 5));
    ck_assert(mp_summfilter_holds("(Paris)", 7, "PARIS", 5));
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("summfilter");
    TCase *tc = tcase_create("summfilter");
    tcase_add_test(tc, test_summfilter_drops_the_sentence_holding_the_value);
    tcase_add_test(tc, test_summfilter_whole_words_only);
    tcase_add_test(tc, test_summfilter_utf8_word_not_split);
    tcase_add_test(tc, test_summfilter_line_breaks_and_no_final_stop);
    tcase_add_test(tc, test_summfilter_value_across_a_sentence_end_takes_both);
    tcase_add_test(tc, test_summfilter_everything_dropped_leaves_nothing);
    tcase_add_test(tc, test_summfilter_empty_value_or_absent_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
