/* Tests for core/wire/errbody.c: exact error body bytes. */
#include <check.h>
#include <string.h>

#include "wire/errbody.h"

Suite *mp_test_suite(void);

START_TEST(test_errbody_simple)
{
    char out[256];
    static const char want[] = "{\"error\":{\"message\":\"user id is invalid\",\"type\":"
                               "\"invalid_request_error\",\"param\":null,\"code\":"
                               "\"invalid_user_id\"}}";
    size_t n = mp_errbody_format(out, sizeof(out), "user id is invalid", "invalid_request_error",
                                 "invalid_user_id");
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_errbody_anthropic_shape)
{
    char out[256];
    size_t n = mp_errbody_format_anthropic(out, sizeof(out), "no \"such\" route", 404, "not_found");
    ck_assert_str_eq(out, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
                          "\"message\":\"no \\\"such\\\" route\",\"code\":\"not_found\"}}");
    ck_assert_uint_eq(n, strlen(out));
    n = mp_errbody_format_anthropic(out, sizeof(out), "m", 502, NULL);
    ck_assert_str_eq(out,
                     "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"m\"}}");
    ck_assert_uint_eq(mp_errbody_format_anthropic(out, 20, "m", 400, "x"), 0);
    static const struct {
        int status;
        const char *type;
    } types[] = {{400, "invalid_request_error"},
                 {401, "authentication_error"},
                 {403, "permission_error"},
                 {404, "not_found_error"},
                 {405, "invalid_request_error"},
                 {408, "timeout_error"},
                 {413, "request_too_large"},
                 {429, "rate_limit_error"},
                 {431, "request_too_large"},
                 {500, "api_error"},
                 {502, "api_error"},
                 {503, "overloaded_error"},
                 {504, "timeout_error"},
                 {529, "overloaded_error"}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        ck_assert_str_eq(mp_errbody_anthropic_type(types[i].status), types[i].type);
}
END_TEST

START_TEST(test_errbody_null_code)
{
    char out[256];
    static const char want[] =
        "{\"error\":{\"message\":\"m\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
    size_t n = mp_errbody_format(out, sizeof(out), "m", "server_error", NULL);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_errbody_escapes_quote_backslash_newline)
{
    char out[256];
    static const char want[] = "{\"error\":{\"message\":\"say \\\"hi\\\"\\\\n\\n\",\"type\":"
                               "\"t\",\"param\":null,\"code\":\"c\\\\\"}}";
    size_t n = mp_errbody_format(out, sizeof(out), "say \"hi\"\\n\n", "t", "c\\");
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_errbody_escapes_control_chars)
{
    char out[256];
    static const char want[] = "{\"error\":{\"message\":\"a\\u0001\\t\\r\\b\\f\\u001f\","
                               "\"type\":\"t\",\"param\":null,\"code\":null}}";
    size_t n = mp_errbody_format(out, sizeof(out), "a\x01\t\r\b\f\x1f", "t", NULL);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_errbody_invalid_utf8_replaced)
{
    char out[256];
    static const char want[] = "{\"error\":{\"message\":\"a\xEF\xBF\xBD"
                               "b\",\"type\":\"t\",\"param\":null,\"code\":\"\xEF\xBF\xBD\"}}";
    size_t n = mp_errbody_format(out, sizeof(out),
                                 "a\xFF"
                                 "b",
                                 "t", "\xC3");
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(test_errbody_too_small_writes_nothing_past_cap)
{
    static const char msg[] = "a message that does not fit";
    char buf[256];
    size_t full = mp_errbody_format(buf, sizeof(buf), msg, "t", "c");

    ck_assert_uint_eq(full, strlen(buf));
    ck_assert_uint_lt(full + 8, sizeof(buf));
    /* The body needs full + 1 bytes with its NUL: every smaller cap fails. */
    for (size_t cap = 0; cap <= full; cap++) {
        memset(buf, 'Z', sizeof(buf));
        ck_assert_uint_eq(mp_errbody_format(buf, cap, msg, "t", "c"), 0);
        for (size_t i = cap; i < sizeof(buf); i++)
            ck_assert_int_eq(buf[i], 'Z');
    }
}
END_TEST

START_TEST(test_errbody_exact_fit_includes_nul)
{
    char out[256];
    size_t full = mp_errbody_format(out, sizeof(out), "m", "t", "c");
    memset(out, 'Z', sizeof(out));
    ck_assert_uint_eq(mp_errbody_format(out, full + 1, "m", "t", "c"), full);
    ck_assert_int_eq(out[full], '\0');
    ck_assert_int_eq(out[full + 1], 'Z');
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("errbody");
    TCase *body = tcase_create("body");

    tcase_add_test(body, test_errbody_simple);
    tcase_add_test(body, test_errbody_anthropic_shape);
    tcase_add_test(body, test_errbody_null_code);
    tcase_add_test(body, test_errbody_escapes_quote_backslash_newline);
    tcase_add_test(body, test_errbody_escapes_control_chars);
    tcase_add_test(body, test_errbody_invalid_utf8_replaced);
    tcase_add_test(body, test_errbody_too_small_writes_nothing_past_cap);
    tcase_add_test(body, test_errbody_exact_fit_includes_nul);
    suite_add_tcase(s, body);
    return s;
}
