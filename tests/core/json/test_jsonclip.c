/* Tests for core/json/jsonclip.c: long strings clipped and closed, the rest
 * byte for byte, whatever the pieces the bytes come in. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "json/jsonclip.h"
#include "status.h"

Suite *mp_test_suite(void);

/* Clips s fed in pieces of step bytes; returns the copy (caller frees). */
static char *clip(const char *s, size_t len, size_t step, size_t *out_len)
{
    struct mp_jsonclip c = {0};
    char *out = malloc(len + 1);
    size_t n = 0;
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < len; i += step)
        n += mp_jsonclip_feed(&c, s + i, len - i < step ? len - i : step, out + n);
    out[n] = '\0';
    *out_len = n;
    return out;
}

/* {"id":"x","big":"<pad x n>","t":"<tail>"} with pad made of unit. */
static char *body_with(const char *unit, size_t times, size_t *len)
{
    size_t u = strlen(unit);
    char *s = malloc(64 + u * times);
    size_t n = 0;
    ck_assert_ptr_nonnull(s);
    n += (size_t)sprintf(s, "{\"id\":\"x\",\"big\":\"");
    for (size_t i = 0; i < times; i++, n += u)
        memcpy(s + n, unit, u);
    n += (size_t)sprintf(s + n, "\",\"t\":\"end\"}");
    *len = n;
    return s;
}

START_TEST(test_jsonclip_short_json_unchanged)
{
    const char *s = "{\"a\":[1,\"b\\\"c\",{\"d\":null}],\"e\":\"\\u00e9\"}";
    size_t n = 0;
    char *out = clip(s, strlen(s), 3, &n);
    ck_assert_str_eq(out, s);
    free(out);
}
END_TEST

START_TEST(test_jsonclip_long_string_cut_and_valid)
{
    size_t len = 0, n = 0, vs = 0, ve = 0;
    char *s = body_with("a", 3 * MP_JSONCLIP_STRING_MAX, &len);
    for (size_t step = 1; step <= 8193; step += 4096) {
        char *out = clip(s, len, step, &n);
        ck_assert_uint_lt(n, (size_t)MP_JSONCLIP_STRING_MAX + 64);
        ck_assert_int_eq(mp_json_find_member(out, n, "t", 1, &vs, &ve), MP_OK);
        ck_assert_int_eq(mp_json_find_member(out, n, "big", 3, &vs, &ve), MP_OK);
        ck_assert_uint_eq(ve - vs, (size_t)MP_JSONCLIP_STRING_MAX + 2);
        free(out);
    }
    free(s);
}
END_TEST

START_TEST(test_jsonclip_never_splits_a_character_or_pair)
{
    size_t len = 0, n = 0, vs = 0, ve = 0;
    char dec[8];
    size_t dn = 0;
    char *s = body_with("\\ud83d\\ude00\xc3\xa9\\\"", MP_JSONCLIP_STRING_MAX / 8, &len);
    char *out = clip(s, len, 7, &n);
    ck_assert_int_eq(mp_json_find_member(out, n, "big", 3, &vs, &ve), MP_OK);
    ck_assert_uint_lt(ve - vs, len);
    char *text = malloc(ve - vs);
    ck_assert_int_eq(mp_json_string_decode(out, vs, ve, text, ve - vs, &dn), MP_OK);
    free(text);
    ck_assert_int_eq(mp_json_find_member(out, n, "t", 1, &vs, &ve), MP_OK);
    ck_assert_int_eq(mp_json_string_decode(out, vs, ve, dec, sizeof(dec), &dn), MP_OK);
    ck_assert_mem_eq(dec, "end", 3);
    free(out);
    free(s);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("jsonclip");
    TCase *tc = tcase_create("clip");
    tcase_add_test(tc, test_jsonclip_short_json_unchanged);
    tcase_add_test(tc, test_jsonclip_long_string_cut_and_valid);
    tcase_add_test(tc, test_jsonclip_never_splits_a_character_or_pair);
    suite_add_tcase(s, tc);
    return s;
}
