/* Tests for core/memory/usermem.c: allocation and the entity key rule. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "memory/usermem.h"

Suite *mp_test_suite(void);

static char out[MP_ENTITY_KEY_MAX + 1];

static int norm(const char *s)
{
    memset(out, 'X', sizeof(out));
    return mp_usermem_normalize_key(s, strlen(s), out);
}

START_TEST(test_usermem_new_is_empty)
{
    struct mp_usermem *um = mp_usermem_new();
    ck_assert_ptr_nonnull(um);
    ck_assert_ptr_null(um->summary.text);
    ck_assert_ptr_null(um->messages);
    ck_assert_ptr_null(um->entities);
    ck_assert_uint_eq(um->nmessages, 0);
    ck_assert_uint_eq(um->nentities, 0);
    ck_assert_uint_eq(um->next_seq, 0);
    mp_usermem_free(um);
}
END_TEST

START_TEST(test_usermem_free_releases_owned_strings)
{
    /* Run under ASan: a leak of any string fails the build's sanitizer run. */
    struct mp_usermem *um = mp_usermem_new();
    ck_assert_ptr_nonnull(um);
    um->summary.text = strdup("summary");
    um->messages = calloc(2, sizeof(*um->messages));
    um->messages[0].content = strdup("hi");
    um->messages[1].content = strdup("hello");
    um->nmessages = 2;
    um->entities = calloc(1, sizeof(*um->entities));
    um->entities[0].value = strdup("Alice");
    um->nentities = 1;
    mp_usermem_free(um);
    mp_usermem_free(NULL);
}
END_TEST

START_TEST(test_usermem_key_space_becomes_underscore)
{
    ck_assert_int_eq(norm("Vector DB"), MP_OK);
    ck_assert_str_eq(out, "vector_db");
}
END_TEST

START_TEST(test_usermem_key_already_normal_is_unchanged)
{
    ck_assert_int_eq(norm("vector_db"), MP_OK);
    ck_assert_str_eq(out, "vector_db");
}
END_TEST

START_TEST(test_usermem_key_trims_leading_and_trailing_separators)
{
    ck_assert_int_eq(norm(" vector-db "), MP_OK);
    ck_assert_str_eq(out, "vector_db");
    ck_assert_int_eq(norm("Vector-DB!"), MP_OK);
    ck_assert_str_eq(out, "vector_db");
}
END_TEST

START_TEST(test_usermem_key_separator_run_is_one_underscore)
{
    ck_assert_int_eq(norm("favourite -- . __ colour"), MP_OK);
    ck_assert_str_eq(out, "favourite_colour");
}
END_TEST

START_TEST(test_usermem_key_digits_kept)
{
    ck_assert_int_eq(norm("Python 3.12"), MP_OK);
    ck_assert_str_eq(out, "python_3_12");
}
END_TEST

START_TEST(test_usermem_key_empty_is_einval)
{
    memset(out, 'X', sizeof(out));
    ck_assert_int_eq(mp_usermem_normalize_key("", 0, out), MP_EINVAL);
    ck_assert_int_eq(norm(" -_!. "), MP_EINVAL);
    ck_assert_int_eq(out[0], 'X'); /* untouched on failure */
}
END_TEST

START_TEST(test_usermem_key_exactly_max_is_ok)
{
    char in[MP_ENTITY_KEY_MAX + 3];
    memset(in, 'A', MP_ENTITY_KEY_MAX);
    in[MP_ENTITY_KEY_MAX] = '!'; /* trailing separators do not count */
    in[MP_ENTITY_KEY_MAX + 1] = ' ';
    in[MP_ENTITY_KEY_MAX + 2] = '\0';
    ck_assert_int_eq(norm(in), MP_OK);
    ck_assert_uint_eq(strlen(out), MP_ENTITY_KEY_MAX);
    ck_assert_int_eq(out[0], 'a');
    ck_assert_int_eq(out[MP_ENTITY_KEY_MAX - 1], 'a');
}
END_TEST

START_TEST(test_usermem_key_too_long_is_einval)
{
    char in[MP_ENTITY_KEY_MAX + 2];
    memset(in, 'a', MP_ENTITY_KEY_MAX + 1);
    in[MP_ENTITY_KEY_MAX + 1] = '\0';
    ck_assert_int_eq(norm(in), MP_EINVAL);
    /* 63 letters, a separator and one more letter: 65 bytes once joined */
    memset(in, 'a', MP_ENTITY_KEY_MAX + 1);
    in[MP_ENTITY_KEY_MAX - 1] = ' ';
    ck_assert_int_eq(norm(in), MP_EINVAL);
}
END_TEST

START_TEST(test_usermem_key_multibyte_char_not_split_at_limit)
{
    char in[MP_ENTITY_KEY_MAX + 8];
    memset(in, 'a', MP_ENTITY_KEY_MAX - 1);
    memcpy(in + MP_ENTITY_KEY_MAX - 1, "\xC3\xA9", 3); /* "é" needs 2 bytes, 1 left */
    ck_assert_int_eq(norm(in), MP_EINVAL);
}
END_TEST

START_TEST(test_usermem_key_invalid_utf8_is_einval)
{
    ck_assert_int_eq(norm("caf\xC3"), MP_EINVAL);       /* truncated */
    ck_assert_int_eq(norm("a\xC0\xAF"), MP_EINVAL);     /* overlong '/' */
    ck_assert_int_eq(norm("\xED\xA0\x80x"), MP_EINVAL); /* surrogate */
    ck_assert_int_eq(norm("\xFF"), MP_EINVAL);
}
END_TEST

START_TEST(test_usermem_key_embedded_nul_is_separator)
{
    ck_assert_int_eq(mp_usermem_normalize_key("a\0b", 3, out), MP_OK);
    ck_assert_str_eq(out, "a_b");
}
END_TEST

START_TEST(test_usermem_key_german_words)
{
    ck_assert_int_eq(norm("Lieblings Farbe"), MP_OK);
    ck_assert_str_eq(out, "lieblings_farbe");
}
END_TEST

START_TEST(test_usermem_key_non_ascii_letters_kept)
{
    ck_assert_int_eq(norm("\xE5\x90\x8D\xE5\x89\x8D"), MP_OK); /* 名前 */
    ck_assert_str_eq(out, "\xE5\x90\x8D\xE5\x89\x8D");
    ck_assert_int_eq(norm("Gr\xC3\xB6\xC3\x9F"
                          "e"),
                     MP_OK); /* Größe: only ASCII folds */
    ck_assert_str_eq(out, "gr\xC3\xB6\xC3\x9F"
                          "e");
    ck_assert_int_eq(norm("\xC3\x84rger"), MP_OK); /* Ärger keeps its capital Ä */
    ck_assert_str_eq(out, "\xC3\x84rger");
}
END_TEST

START_TEST(test_usermem_key_unicode_spaces_are_separators)
{
    ck_assert_int_eq(norm("Vector\xC2\xA0"
                          "DB"),
                     MP_OK); /* no-break space */
    ck_assert_str_eq(out, "vector_db");
    ck_assert_int_eq(norm("vector\xE2\x80\x94"
                          "db"),
                     MP_OK); /* em dash */
    ck_assert_str_eq(out, "vector_db");
    ck_assert_int_eq(norm("\xE5\x90\x8D\xE3\x80\x80\xE5\x89\x8D"), MP_OK); /* ideographic space */
    ck_assert_str_eq(out, "\xE5\x90\x8D_\xE5\x89\x8D");
}
END_TEST

START_TEST(test_usermem_trust_of_role)
{
    ck_assert_int_eq(mp_usermem_trust_of_role(MP_ROLE_USER), MP_TRUST_STATED);
    ck_assert_int_eq(mp_usermem_trust_of_role(MP_ROLE_ASSISTANT), MP_TRUST_INFERRED);
}
END_TEST

START_TEST(test_usermem_fact_turn_only_of_extracted_facts)
{
    struct mp_mem_entity e;
    memset(&e, 0, sizeof(e));
    strcpy(e.request_id, "req_1");
    ck_assert_str_eq(mp_usermem_fact_turn(&e), ""); /* an admin's, a correction, an import */
    strcpy(e.model, "gpt-4o-mini");
    ck_assert_str_eq(mp_usermem_fact_turn(&e), "req_1");
}
END_TEST

START_TEST(test_usermem_clean_value_trims_and_refuses_controls)
{
    size_t n = 0;
    const char *in = " \t\n Graz \r\v\f";
    const char *v = mp_usermem_clean_value(in, strlen(in), &n);
    ck_assert_ptr_eq(v, in + 4);
    ck_assert_uint_eq(n, 4);
    /* one rule for the PUT, the import and the extractor: each is refused */
    static const char *const bad[] = {"",
                                      "   \t\n",
                                      "a\x07"
                                      "b",
                                      "a\x7f",
                                      "a\xc2\x85"
                                      "b",
                                      "a\xff"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_ptr_null(mp_usermem_clean_value(bad[i], strlen(bad[i]), &n));
    ck_assert_ptr_null(mp_usermem_clean_value("a\0b", 3, &n));
    char big[MP_ENTITY_VALUE_MAX + 3];
    memset(big, 'v', sizeof(big));
    big[0] = ' ';
    ck_assert_ptr_nonnull(mp_usermem_clean_value(big, MP_ENTITY_VALUE_MAX + 1, &n));
    ck_assert_uint_eq(n, MP_ENTITY_VALUE_MAX);
    ck_assert_ptr_null(mp_usermem_clean_value(big, MP_ENTITY_VALUE_MAX + 2, &n));
    /* non-ASCII spaces are words, not padding */
    ck_assert_ptr_nonnull(mp_usermem_clean_value("\xc2\xa0x", 3, &n));
    ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(test_usermem_time_ok_up_to_a_day_ahead)
{
    int64_t now = 1700000000000;
    ck_assert(mp_usermem_time_ok(0, now));
    ck_assert(mp_usermem_time_ok(now + MP_USERMEM_FUTURE_SKEW_MS, now));
    ck_assert(!mp_usermem_time_ok(now + MP_USERMEM_FUTURE_SKEW_MS + 1, now));
    ck_assert(!mp_usermem_time_ok(-1, now));
    ck_assert(!mp_usermem_time_ok(253402300799000, now)); /* 9999-12-31T23:59:59Z */
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("usermem");
    TCase *tc = tcase_create("usermem");
    tcase_add_test(tc, test_usermem_new_is_empty);
    tcase_add_test(tc, test_usermem_free_releases_owned_strings);
    tcase_add_test(tc, test_usermem_key_space_becomes_underscore);
    tcase_add_test(tc, test_usermem_key_already_normal_is_unchanged);
    tcase_add_test(tc, test_usermem_key_trims_leading_and_trailing_separators);
    tcase_add_test(tc, test_usermem_key_separator_run_is_one_underscore);
    tcase_add_test(tc, test_usermem_key_digits_kept);
    tcase_add_test(tc, test_usermem_key_empty_is_einval);
    tcase_add_test(tc, test_usermem_key_exactly_max_is_ok);
    tcase_add_test(tc, test_usermem_key_too_long_is_einval);
    tcase_add_test(tc, test_usermem_key_multibyte_char_not_split_at_limit);
    tcase_add_test(tc, test_usermem_key_invalid_utf8_is_einval);
    tcase_add_test(tc, test_usermem_key_embedded_nul_is_separator);
    tcase_add_test(tc, test_usermem_key_german_words);
    tcase_add_test(tc, test_usermem_key_non_ascii_letters_kept);
    tcase_add_test(tc, test_usermem_key_unicode_spaces_are_separators);
    tcase_add_test(tc, test_usermem_trust_of_role);
    tcase_add_test(tc, test_usermem_fact_turn_only_of_extracted_facts);
    tcase_add_test(tc, test_usermem_clean_value_trims_and_refuses_controls);
    tcase_add_test(tc, test_usermem_time_ok_up_to_a_day_ahead);
    suite_add_tcase(s, tc);
    return s;
}
