/* Tests for core/recall/terms.c: words, folding, stop words, stemming, numbers. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "terms.h"

Suite *mp_test_suite(void);

/* The terms of text as "term@pos term@pos ...". */
struct collect {
    char out[1024];
    size_t len;
};

static int add(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct collect *c = arg;
    int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s%.*s@%u", c->len ? " " : "",
                     (int)len, term, pos);
    c->len += (size_t)n;
    return MP_OK;
}

static const char *terms_of(const char *text)
{
    static struct collect c;
    struct mp_terms *t = NULL;
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), add, &c), MP_OK);
    mp_terms_free(t);
    return c.out;
}

/* The terms of text through tokenizer t (kept across calls). */
static void terms_with(struct mp_terms *t, const char *text, struct collect *c)
{
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), add, c), MP_OK);
}

/* A tokenizer remembers the words it met: the same terms every time, also
 * after 3,000 other words have pushed them out of its table, and the same
 * as a fresh tokenizer's. */
START_TEST(test_terms_remembered_words_give_the_same_terms)
{
    static const char *const texts[] = {
        "What vector DB does Melanie use for her Running shoes?",
        "doings of the runners, running and ran: the runner's running shoes",
        "Caroline's adoption agencies; I'm adopting, they'd adopted",
    };
    struct mp_terms *kept = NULL;
    struct collect first, again, fresh;
    char filler[64];
    ck_assert_int_eq(mp_terms_new(&kept), MP_OK);
    for (size_t k = 0; k < 3; k++) {
        terms_with(kept, texts[k], &first);
        terms_with(kept, texts[k], &again);
        ck_assert_str_eq(again.out, first.out);
        ck_assert_str_eq(terms_of(texts[k]), first.out);
    }
    for (unsigned i = 0; i < 3000; i++) { /* other words, into every slot */
        snprintf(filler, sizeof(filler), "walking%c%c%c talks", 'a' + i % 26, 'a' + i / 26 % 26,
                 'a' + i / 676 % 26);
        terms_with(kept, filler, &fresh);
        ck_assert(strstr(fresh.out, "talk@1") != NULL);
    }
    for (size_t k = 0; k < 3; k++) {
        terms_with(kept, texts[k], &again);
        ck_assert_str_eq(terms_of(texts[k]), again.out);
    }
    mp_terms_free(kept);
}
END_TEST

START_TEST(test_terms_words_fold_stop_and_stem)
{
    ck_assert_str_eq(terms_of("What vector DB does Melanie use for her Running shoes?"),
                     "vector@1 db@2 melani@4 use@5 run@8 shoe@9");
}
END_TEST

START_TEST(test_terms_stop_words_keep_their_positions)
{
    ck_assert_str_eq(terms_of("the cat and the hat"), "cat@1 hat@4");
    ck_assert(mp_terms_is_stop("the", 3));
    ck_assert(mp_terms_is_stop("don't", 5));
    ck_assert(!mp_terms_is_stop("cat", 3));
    ck_assert(!mp_terms_is_stop("th", 2));
    ck_assert(!mp_terms_is_stop("thee", 4));
}
END_TEST

START_TEST(test_terms_apostrophes_possessive_and_contractions)
{
    /* the possessive goes with stemming; a contraction that is a stop word
     * goes whole; a curly apostrophe is the same as a straight one */
    ck_assert_str_eq(terms_of("Caroline's dog"), "carolin@0 dog@1");
    ck_assert_str_eq(terms_of("Caroline\xE2\x80\x99s dog"), "carolin@0 dog@1");
    ck_assert_str_eq(terms_of("I don't know"), "know@2");
    ck_assert_str_eq(terms_of("'quoted' words'"), "quot@0 word@1");
}
END_TEST

START_TEST(test_terms_numbers_and_dates_kept_whole)
{
    ck_assert_str_eq(terms_of("On 8 May, 2023 at 1:56 pm"), "8@1 may@2 2023@3 1@5 56@6 pm@7");
    ck_assert_str_eq(terms_of("version 3.5 and 8th place"), "version@0 3.5@1 8th@3 place@4");
    ck_assert_str_eq(terms_of("2023-05-08"), "2023@0 05@1 08@2");
    /* a trailing dot ends a sentence, not a number */
    ck_assert_str_eq(terms_of("in 2022."), "2022@1");
}
END_TEST

START_TEST(test_terms_unicode_folding_and_separators)
{
    ck_assert_str_eq(terms_of("ÉCOLE école"),
                     "école@0 école@1"); /* folded; English stemming leaves it */
    ck_assert_str_eq(terms_of("ΑΘΗΝΑ Москва"), "αθηνα@0 москва@1");
    /* emoji, dashes and symbols separate words */
    ck_assert_str_eq(terms_of("self-care\xF0\x9F\x98\x80"
                              "yoga\xE2\x80\x94"
                              "fun"),
                     "self@0 care@1 yoga@2 fun@3");
    /* invalid UTF-8 separates words too */
    ck_assert_str_eq(terms_of("abc\xFF"
                              "def"),
                     "abc@0 def@1");
}
END_TEST

START_TEST(test_terms_fold_table)
{
    ck_assert_uint_eq(mp_terms_fold('A'), 'a');
    ck_assert_uint_eq(mp_terms_fold('z'), 'z');
    ck_assert_uint_eq(mp_terms_fold(0xC9), 0xE9);   /* É */
    ck_assert_uint_eq(mp_terms_fold(0xD7), 0xD7);   /* × is no letter */
    ck_assert_uint_eq(mp_terms_fold(0x100), 0x101); /* Ā */
    ck_assert_uint_eq(mp_terms_fold(0x101), 0x101);
    ck_assert_uint_eq(mp_terms_fold(0x139), 0x13A); /* Ĺ: odd capitals */
    ck_assert_uint_eq(mp_terms_fold(0x13A), 0x13A);
    ck_assert_uint_eq(mp_terms_fold(0x178), 0xFF);  /* Ÿ */
    ck_assert_uint_eq(mp_terms_fold(0x17D), 0x17E); /* Ž */
    ck_assert_uint_eq(mp_terms_fold(0x391), 0x3B1); /* Α */
    ck_assert_uint_eq(mp_terms_fold(0x3C2), 0x3C3); /* ς */
    ck_assert_uint_eq(mp_terms_fold(0x401), 0x451); /* Ё */
    ck_assert_uint_eq(mp_terms_fold(0x42F), 0x44F); /* Я */
    ck_assert_uint_eq(mp_terms_fold(0x4E00), 0x4E00);
}
END_TEST

START_TEST(test_terms_long_word_cut_at_a_code_point)
{
    char text[200];
    memset(text, 'x', 150);
    memcpy(text + 62, "\xC3\xA9", 2); /* é straddles the 64-byte cap */
    text[150] = '\0';
    const char *got = terms_of(text);
    const char *at = strchr(got, '@');
    ck_assert_ptr_nonnull(at);
    ck_assert_uint_le((size_t)(at - got), MP_TERMS_MAX);
    ck_assert_str_eq(at, "@0");
}
END_TEST

static int stop_at_second(void *arg, const char *term, size_t len, uint32_t pos)
{
    int *seen = arg;
    (void)term;
    (void)len;
    (void)pos;
    return ++*seen == 2 ? MP_ETOOBIG : MP_OK;
}

START_TEST(test_terms_callback_stops_the_walk)
{
    struct mp_terms *t = NULL;
    int seen = 0;
    const char *text = "alpha beta gamma delta";
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each(t, text, strlen(text), stop_at_second, &seen), MP_ETOOBIG);
    ck_assert_int_eq(seen, 2);
    mp_terms_free(t);
    mp_terms_free(NULL);
}
END_TEST

START_TEST(test_terms_empty_and_punctuation_only)
{
    ck_assert_str_eq(terms_of(""), "");
    ck_assert_str_eq(terms_of(" ,.;!? -- "), "");
}
END_TEST

static int add_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                    uint32_t pos)
{
    struct collect *c = arg;
    int n = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s%.*s=%.*s@%u", c->len ? " " : "",
                     (int)wlen, word, term != NULL ? (int)len : 1, term != NULL ? term : "-", pos);
    c->len += (size_t)n;
    return MP_OK;
}

START_TEST(test_terms_each_word_gives_word_and_term)
{
    /* stop words come with no term; the word is folded, apostrophes kept */
    struct collect c;
    struct mp_terms *t = NULL;
    const char *text = "After Caroline's Running";
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(mp_terms_new(&t), MP_OK);
    ck_assert_int_eq(mp_terms_each_word(t, text, strlen(text), add_word, &c), MP_OK);
    mp_terms_free(t);
    ck_assert_str_eq(c.out, "after=-@0 caroline's=carolin@1 running=run@2");
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("terms");
    TCase *tc = tcase_create("terms");
    tcase_add_test(tc, test_terms_words_fold_stop_and_stem);
    tcase_add_test(tc, test_terms_remembered_words_give_the_same_terms);
    tcase_add_test(tc, test_terms_stop_words_keep_their_positions);
    tcase_add_test(tc, test_terms_apostrophes_possessive_and_contractions);
    tcase_add_test(tc, test_terms_numbers_and_dates_kept_whole);
    tcase_add_test(tc, test_terms_unicode_folding_and_separators);
    tcase_add_test(tc, test_terms_fold_table);
    tcase_add_test(tc, test_terms_long_word_cut_at_a_code_point);
    tcase_add_test(tc, test_terms_callback_stops_the_walk);
    tcase_add_test(tc, test_terms_empty_and_punctuation_only);
    tcase_add_test(tc, test_terms_each_word_gives_word_and_term);
    suite_add_tcase(s, tc);
    return s;
}
