/* Tests for core/json/json_write.c: the exact bytes of JSON string escaping. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_write.h"
#include "json_write_ref.h"

Suite *mp_test_suite(void);

/* Escapes s and checks the exact output. */
static void assert_escape(const char *s, size_t len, const char *want)
{
    char out[128];
    memset(out, 'Z', sizeof(out));
    size_t n = mp_json_escape(out, sizeof(out), s, len);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_int_eq(memcmp(out, want, n), 0);
    ck_assert_int_eq(out[n], 'Z');
}

START_TEST(test_json_escape_keeps_valid_multibyte)
{
    assert_escape("caf\xC3\xA9 \xE7\x94\xA8 \xF0\x9F\x98\x80", 14,
                  "caf\xC3\xA9 \xE7\x94\xA8 \xF0\x9F\x98\x80");
}
END_TEST

START_TEST(test_json_escape_nul_and_controls)
{
    assert_escape("a\0b\x7f\x1b", 5, "a\\u0000b\x7f\\u001b");
}
END_TEST

START_TEST(test_json_escape_named_escapes)
{
    assert_escape("\"\\\n\r\t\b\f/", 8, "\\\"\\\\\\n\\r\\t\\b\\f/");
}
END_TEST

START_TEST(test_json_escape_replaces_overlong_and_surrogates)
{
    /* One U+FFFD per maximal ill-formed subpart. */
    assert_escape("\xC0\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_escape("\xED\xA0\x80z", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
    assert_escape("\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_escape("\xE0\x80\xAF", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_escape("\xF0\x80\x80\xAF", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_escape("\xF5\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");
}
END_TEST

START_TEST(test_json_escape_replaces_truncated_sequence_once)
{
    assert_escape("\xF0\x9F\x98z", 4, "\xEF\xBF\xBDz");
    assert_escape("a\xE7\x94", 3, "a\xEF\xBF\xBD");
    /* Bytes past len do not complete the sequence. */
    assert_escape("a\xC3\xA9", 2, "a\xEF\xBF\xBD");
}
END_TEST

START_TEST(test_json_escape_too_small)
{
    char out[8];
    memset(out, 'Z', sizeof(out));
    ck_assert_uint_eq(mp_json_escape(out, 3, "ab\n", 3), (size_t)-1);
    ck_assert_int_eq(out[3], 'Z');
    ck_assert_uint_eq(mp_json_escape(out, 4, "ab\n", 3), 4);
    ck_assert_int_eq(memcmp(out, "ab\\n", 4), 0);
    ck_assert_uint_eq(mp_json_escape(out, 2, "\xC3\xA9\xC3\xA9", 4), (size_t)-1);
    ck_assert_int_eq(out[2], '\\');
}
END_TEST

START_TEST(test_json_escape_empty)
{
    char out[1] = {'Z'};
    ck_assert_uint_eq(mp_json_escape(out, 0, "", 0), 0);
    ck_assert_int_eq(out[0], 'Z');
}
END_TEST

/* The escaper writes what the former one wrote (json_write_ref.c), byte
 * for byte, for random texts of every length up to a few runs of 64
 * bytes: long plain runs with each kind of byte that ends one (controls,
 * '"', '\\', DEL, valid and ill-formed UTF-8) at every offset, and caps
 * from too small to enough. */
START_TEST(test_json_escape_as_the_former_one)
{
    static const char *const pieces[] = {"plain words and more plain words, ",
                                         "x",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\x01",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe2\x80\xa6",
                                         "\xf0\x9f\x98\x80",
                                         "\xff",
                                         "\xc3",
                                         "\xed\xa0\x80",
                                         "                                                  "};
    char text[600], a[6 * 600], b[6 * 600];
    unsigned seed = 73;
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, want = (size_t)(rand_r(&seed) % 520);
        while (n < want) {
            const char *p = pieces[rand_r(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t k = strlen(p);
            memcpy(text + n, p, k);
            n += k;
        }
        size_t cap = round % 5 == 0 ? (size_t)(rand_r(&seed) % (2 * n + 1)) : sizeof(a);
        size_t na = mp_json_escape(a, cap, text, n), nb = mp_json_escape_ref(b, cap, text, n);
        ck_assert_uint_eq(na, nb);
        if (na != (size_t)-1)
            ck_assert_mem_eq(a, b, na);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("json_write");
    TCase *esc = tcase_create("escape");

    tcase_add_test(esc, test_json_escape_keeps_valid_multibyte);
    tcase_add_test(esc, test_json_escape_as_the_former_one);
    tcase_add_test(esc, test_json_escape_nul_and_controls);
    tcase_add_test(esc, test_json_escape_named_escapes);
    tcase_add_test(esc, test_json_escape_replaces_overlong_and_surrogates);
    tcase_add_test(esc, test_json_escape_replaces_truncated_sequence_once);
    tcase_add_test(esc, test_json_escape_too_small);
    tcase_add_test(esc, test_json_escape_empty);
    suite_add_tcase(s, esc);
    return s;
}
