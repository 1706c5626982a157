/* Tests for core/recall/excerpt.c: when a long message is excerpted and
 * when the plain cut serves, what an excerpt keeps (the opening, the
 * sentences adding question words, in text order), its joins, its room
 * and UTF-8, and how a text word is found to be a question word. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "recall/excerpt.h"
#include "recall/relevance_words.h"
#include "status.h"
#include "recall/terms.h"

Suite *mp_test_suite(void);

#define ROOM 512

static struct mp_terms *terms;
static struct mp_relevance_question qn;
static char text[8192];
static char *ex;
static size_t exn;

static void setup(void)
{
    ck_assert_int_eq(mp_terms_new(&terms), MP_OK);
    text[0] = '\0';
    ex = NULL;
    exn = 0;
}

static void teardown(void)
{
    free(ex);
    mp_terms_free(terms);
}

static void ask(const char *q)
{
    ck_assert_int_eq(mp_relevance_question_parse(terms, q, strlen(q), NULL, 0, NULL, &qn), MP_OK);
}

static void say(const char *s)
{
    ck_assert_uint_lt(strlen(text) + strlen(s), sizeof(text));
    strcat(text, s);
}

/* n bytes of filler sentences that hold no question word of these tests. */
static void filler(size_t n)
{
    static const char *f = "The weather was mild and the trains ran on time. ";
    size_t end = strlen(text) + n;
    while (strlen(text) < end)
        say(f);
}

static int make(void)
{
    free(ex);
    ex = NULL;
    return mp_excerpt_make(&qn, text, strlen(text), ROOM, &ex, &exn);
}

/* The excerpt as a string. */
static char *got(void)
{
    static char s[ROOM + 1];
    ck_assert_ptr_nonnull(ex);
    ck_assert_uint_le(exn, ROOM);
    memcpy(s, ex, exn);
    s[exn] = '\0';
    return s;
}

START_TEST(test_excerpt_keeps_opening_and_the_matching_sentence_past_the_cut)
{
    ask("Which database did we pick for the ledger?");
    say("Here is my plan for the migration. ");
    filler(1200);
    say("For the ledger we chose PostgreSQL with logical replication. ");
    filler(1200);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_ptr_eq(strstr(s, "Here is my plan for the migration."), s);
    ck_assert_ptr_nonnull(
        strstr(s, " \xE2\x80\xA6 For the ledger we chose PostgreSQL with logical replication."));
    /* the text goes on: it ends marked */
    ck_assert_str_eq(s + exn - MP_EXCERPT_END_LEN, MP_EXCERPT_END);
    /* nothing from between the two; after the match, the sentence that
     * follows it, whole */
    char *after = strstr(s, "replication.");
    ck_assert_ptr_null(memmem(s, (size_t)(after - s), "weather", 7));
    ck_assert_ptr_eq(strstr(s, "replication. The weather was mild and the trains ran on time."),
                     after);
    ck_assert_ptr_null(strstr(after + 20, "weather"));
}
END_TEST

START_TEST(test_excerpt_none_when_the_plain_cut_serves)
{
    ask("Which database did we pick for the ledger?");
    /* short enough for the block */
    say("For the ledger we chose PostgreSQL. ");
    filler(300);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex);
    /* the match inside the cut */
    text[0] = '\0';
    say("Opening words. For the ledger we chose PostgreSQL. ");
    filler(2000);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex);
    /* no question word past the opening */
    text[0] = '\0';
    say("About the ledger database. ");
    filler(2000);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex);
    /* one sentence, no break anywhere */
    text[0] = '\0';
    for (int i = 0; i < 200; i++)
        say("word ");
    say("ledger");
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex);
    ck_assert_uint_eq(exn, 0);
}
END_TEST

START_TEST(test_excerpt_spreads_over_the_question_words)
{
    ask("What did we decide about the ledger database and the backup schedule?");
    say("Opening. ");
    filler(800);
    say("The ledger runs on PostgreSQL. ");
    filler(100);
    say("The ledger is sharded by account. ");
    filler(100);
    say("The ledger keeps seven years. ");
    filler(100);
    say("Backups run nightly on a schedule at two. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    /* the backup sentence adds words the ledger sentences do not: it is kept
     * although three ledger sentences come first */
    ck_assert_ptr_nonnull(strstr(s, "Backups run nightly on a schedule at two."));
    ck_assert_ptr_nonnull(strstr(s, "The ledger runs on PostgreSQL."));
    /* in the text's order */
    ck_assert(strstr(s, "The ledger runs") < strstr(s, "Backups run"));
    /* a sentence adding no word not kept already is left out, room or not */
    ck_assert_ptr_null(strstr(s, "sharded"));
    ck_assert_ptr_null(strstr(s, "seven years"));
}
END_TEST

START_TEST(test_excerpt_following_sentences_fill_what_is_left)
{
    ask("Which database did we pick for the ledger?");
    say("Opening. ");
    filler(800);
    say("For the ledger we chose PostgreSQL. It runs on two hosts. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "For the ledger we chose PostgreSQL. It runs on two hosts."));
    ck_assert_ptr_null(strstr(s, "weather")); /* one sentence after each, not a run of them */
    /* no room left for it: not added, and never cut */
    text[0] = '\0';
    say("Opening. ");
    filler(800);
    say("For the ledger we chose PostgreSQL");
    for (int i = 0; i < 50; i++)
        say(" and more");
    say(". It runs on two hosts. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    s = got();
    ck_assert_ptr_nonnull(strstr(s, "For the ledger"));
    ck_assert_ptr_null(strstr(s, "It runs"));
}
END_TEST

START_TEST(test_excerpt_no_end_mark_when_the_text_ends_there)
{
    ask("What about the ledger?");
    say("Opening. ");
    filler(800);
    say("The ledger is final.\n\n  ");
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_str_eq(s + exn - strlen("\xE2\x80\xA6 The ledger is final."),
                     "\xE2\x80\xA6 The ledger is final.");
}
END_TEST

START_TEST(test_excerpt_adjacent_sentences_join_with_a_space)
{
    ask("Tell me about the ledger and the backups");
    say("Opening. ");
    filler(800);
    say("The ledger is sharded. Backups run nightly. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_nonnull(
        strstr(got(), " \xE2\x80\xA6 The ledger is sharded. Backups run nightly."));
}
END_TEST

START_TEST(test_excerpt_line_breaks_end_sentences)
{
    ask("How do we rotate the ledger keys?");
    say("Steps below\n");
    filler(800);
    say("\n- rotate keys for the ledger monthly\n");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_ptr_eq(strstr(s, "Steps below"), s);
    ck_assert_ptr_nonnull(strstr(s, "\xE2\x80\xA6 - rotate keys for the ledger monthly"));
}
END_TEST

START_TEST(test_excerpt_stays_within_room_and_cuts_at_spaces)
{
    ask("What about the ledger?");
    /* a long opening is cut to a quarter of the room */
    for (int i = 0; i < 60; i++)
        say("opening ");
    say(". ");
    filler(700);
    /* a matching sentence longer than what is left: cut at a space */
    say("The ledger ");
    for (int i = 0; i < 120; i++)
        say("detail ");
    say(". ");
    filler(700);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_uint_le(exn, ROOM);
    ck_assert_ptr_eq(strstr(s, "opening"), s);
    size_t open = (size_t)(strstr(s, MP_EXCERPT_SEP) - s);
    ck_assert_uint_le(open, ROOM / 4);
    ck_assert_int_eq(s[open - 1], 'g'); /* "...opening", whole words */
    ck_assert_ptr_nonnull(strstr(s, "The ledger detail"));
    ck_assert_str_eq(s + exn - MP_EXCERPT_END_LEN - 6, "detail" MP_EXCERPT_END);
}
END_TEST

START_TEST(test_excerpt_cuts_multibyte_text_on_a_character)
{
    ask("What about the ledger?");
    say("Opening. ");
    filler(800);
    say("The ledger ");
    for (int i = 0; i < 400; i++)
        say("\xC3\xA9"); /* one word of é, no space to cut at */
    say(". ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    /* the cut piece ends on a whole character before the end mark */
    size_t body = exn - MP_EXCERPT_END_LEN;
    ck_assert_int_eq((unsigned char)s[body - 1], 0xA9);
    ck_assert_int_eq((unsigned char)s[body - 2], 0xC3);
}
END_TEST

START_TEST(test_excerpt_question_words_by_stem)
{
    /* "optimizing" holds the stem of "optimize"; a word going on past the
     * suffix allowance does not; a number counts only whole */
    ask("How should I optimize the 2024 rollout?");
    say("Opening. ");
    filler(800);
    say("Rollout notes for 20245 and optimizationally tuned settings. ");
    filler(100);
    say("We are optimizing it. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "We are optimizing it."));
    ck_assert_ptr_nonnull(strstr(s, "Rollout notes")); /* "rollout" is a question word */
    text[0] = '\0';
    say("Opening. ");
    filler(800);
    say("In 20245 the optimizationally tuned plan. ");
    filler(800);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex); /* neither word is the question's */
}
END_TEST

/* Chinese: 。 ends a sentence without a space, and a question word is
 * found inside a run of Han (no spaces between words). */
START_TEST(test_excerpt_sentences_and_words_of_chinese)
{
    ask("我们的数据库选了哪个？");
    say("这是迁移计划。");
    for (int i = 0; i < 40; i++)
        say("今天天气很好，火车准时到达。");
    say("最后我们选了数据库PostgreSQL做账本。然后我们开会讨论了预算。");
    for (int i = 0; i < 20; i++)
        say("今天天气很好，火车准时到达。");
    ck_assert_int_eq(make(), MP_OK);
    const char *e = got();
    ck_assert_ptr_nonnull(strstr(e, "这是迁移计划。"));
    ck_assert_ptr_nonnull(strstr(e, "最后我们选了数据库PostgreSQL做账本。"));
    /* sentences are whole: the kept one starts after the 。 before it */
    ck_assert_ptr_nonnull(strstr(e, MP_EXCERPT_SEP "最后"));
}
END_TEST

/* Arabic ؟ and Devanagari । end sentences as '?' and '.' do. */
START_TEST(test_excerpt_sentence_ends_of_other_scripts)
{
    ask("Where is the ledger database?");
    say("Opening words here. ");
    filler(1200);
    say("هل تعرف؟ The ledger database is PostgreSQL. नमस्ते। ");
    filler(600);
    ck_assert_int_eq(make(), MP_OK);
    const char *e = got();
    ck_assert_ptr_nonnull(strstr(e, MP_EXCERPT_SEP "The ledger database is PostgreSQL."));
}
END_TEST

START_TEST(test_excerpt_no_question_words_no_excerpt)
{
    memset(&qn, 0, sizeof(qn));
    say("Opening. ");
    filler(2000);
    ck_assert_int_eq(make(), MP_OK);
    ck_assert_ptr_null(ex);
    ck_assert_int_eq(mp_excerpt_make(NULL, text, strlen(text), ROOM, &ex, &exn), MP_OK);
    ck_assert_ptr_null(ex);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("excerpt");
    TCase *t = tcase_create("excerpt");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_excerpt_keeps_opening_and_the_matching_sentence_past_the_cut);
    tcase_add_test(t, test_excerpt_none_when_the_plain_cut_serves);
    tcase_add_test(t, test_excerpt_spreads_over_the_question_words);
    tcase_add_test(t, test_excerpt_following_sentences_fill_what_is_left);
    tcase_add_test(t, test_excerpt_no_end_mark_when_the_text_ends_there);
    tcase_add_test(t, test_excerpt_adjacent_sentences_join_with_a_space);
    tcase_add_test(t, test_excerpt_line_breaks_end_sentences);
    tcase_add_test(t, test_excerpt_stays_within_room_and_cuts_at_spaces);
    tcase_add_test(t, test_excerpt_cuts_multibyte_text_on_a_character);
    tcase_add_test(t, test_excerpt_question_words_by_stem);
    tcase_add_test(t, test_excerpt_no_question_words_no_excerpt);
    tcase_add_test(t, test_excerpt_sentences_and_words_of_chinese);
    tcase_add_test(t, test_excerpt_sentence_ends_of_other_scripts);
    suite_add_tcase(s, t);
    return s;
}
