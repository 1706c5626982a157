/* Tests for core/json/jsonrpc.c: requests, notifications and responses
 * read; the parse error and the invalid request told apart, the id kept
 * for the answer where it can be; params and the tools' typed members. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "json/jsonrpc.h"
#include "status.h"

Suite *mp_test_suite(void);

static struct mp_jsonrpc_msg m;
static int code;

static int parse(const char *body)
{
    memset(&m, 0, sizeof(m));
    code = 0;
    return mp_jsonrpc_parse(body, strlen(body), &m, &code);
}

static void assert_id(const char *body, const char *id)
{
    ck_assert_uint_eq(m.id_end - m.id_start, strlen(id));
    ck_assert(memcmp(body + m.id_start, id, strlen(id)) == 0);
}

START_TEST(test_jsonrpc_request)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\","
                    "\"params\":{\"name\":\"search_memory\",\"arguments\":{\"query\":\"a\"}}}";
    ck_assert_int_eq(parse(b), MP_OK);
    ck_assert_int_eq(m.kind, MP_JSONRPC_REQUEST);
    ck_assert_str_eq(m.method, "tools/call");
    ck_assert_uint_eq(m.method_len, 10);
    assert_id(b, "12");
    ck_assert(m.has_params);
    ck_assert_int_eq(b[m.params_start], '{');
    ck_assert_int_eq(b[m.params_end - 1], '}');
    const char *s = "{\"id\":\"x-1\",\"method\":\"ping\",\"jsonrpc\":\"2.0\",\"params\":null}";
    ck_assert_int_eq(parse(s), MP_OK);
    assert_id(s, "\"x-1\"");
    ck_assert(!m.has_params);
}
END_TEST

START_TEST(test_jsonrpc_notification_and_response)
{
    ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"),
                     MP_OK);
    ck_assert_int_eq(m.kind, MP_JSONRPC_NOTIFICATION);
    ck_assert_uint_eq(m.id_end, m.id_start);
    ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}"), MP_OK);
    ck_assert_int_eq(m.kind, MP_JSONRPC_RESPONSE);
    ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1}}"), MP_OK);
    ck_assert_int_eq(m.kind, MP_JSONRPC_RESPONSE);
    ck_assert_int_eq(parse("{\"jsonrpc\":\"2.0\",\"result\":{}}"), MP_EINVAL); /* no id */
}
END_TEST

START_TEST(test_jsonrpc_parse_error_or_invalid_request)
{
    const char *bad[] = {"", "{", "{\"jsonrpc\":\"2.0\",}", "\xff", "{} x", "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(parse(bad[i]), MP_EINVAL);
        ck_assert_int_eq(code, MP_JSONRPC_PARSE_ERROR);
        ck_assert_uint_eq(m.id_end, m.id_start);
    }
    const char *invalid[] = {"[]",
                             "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
                             "7",
                             "{\"id\":1,\"method\":\"ping\"}",
                             "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
                             "{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}",
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
                             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}",
                             "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
                             "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
                             "{\"jsonrpc\":\"2.0\",\"id\":1}"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        ck_assert_int_eq(parse(invalid[i]), MP_EINVAL);
        ck_assert_int_eq(code, MP_JSONRPC_INVALID_REQUEST);
    }
    const char *b = "{\"jsonrpc\":\"1.0\",\"id\":\"q\",\"method\":\"ping\"}";
    ck_assert_int_eq(parse(b), MP_EINVAL);
    assert_id(b, "\"q\""); /* the error answers with it */
}
END_TEST

START_TEST(test_jsonrpc_long_method_is_unknown)
{
    char b[400];
    char name[MP_JSONRPC_METHOD_MAX + 2];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(b, sizeof(b), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
    ck_assert_int_eq(parse(b), MP_OK);
    ck_assert_str_eq(m.method, "");
    name[MP_JSONRPC_METHOD_MAX] = '\0';
    snprintf(b, sizeof(b), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", name);
    ck_assert_int_eq(parse(b), MP_OK);
    ck_assert_uint_eq(m.method_len, MP_JSONRPC_METHOD_MAX);
}
END_TEST

START_TEST(test_jsonrpc_members)
{
    const char *b = "{\"q\":\"caf\\u00e9\",\"n\":42,\"big\":101,\"neg\":-1,\"f\":1.5,\"z\":null,"
                    "\"o\":{\"a\":1},\"t\":[\"facts\",\"messages\"],\"d\":[\"facts\",\"facts\"],"
                    "\"u\":[\"other\"],\"nul\":\"a\\u0000b\"}";
    size_t len = strlen(b), n = 0, vs, ve;
    char out[16];
    uint64_t v = 0;
    unsigned bits = 0;
    static const char *const names[] = {"facts", "messages"};
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "q", out, sizeof(out), &n), MP_OK);
    ck_assert_str_eq(out, "caf\xc3\xa9");
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "q", out, 4, &n), MP_ETOOBIG);
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "n", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "z", out, sizeof(out), &n), MP_NOTFOUND);
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "absent", out, sizeof(out), &n), MP_NOTFOUND);
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, len, "nul", out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_uint(b, 0, len, "n", 100, &v), MP_OK);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(mp_jsonrpc_uint(b, 0, len, "big", 100, &v), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_uint(b, 0, len, "neg", 100, &v), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_uint(b, 0, len, "f", 100, &v), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_uint(b, 0, len, "z", 100, &v), MP_NOTFOUND);
    ck_assert_int_eq(mp_jsonrpc_object(b, 0, len, "o", &vs, &ve), MP_OK);
    ck_assert_int_eq(b[vs], '{');
    ck_assert_int_eq(mp_jsonrpc_object(b, 0, len, "t", &vs, &ve), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_names(b, 0, len, "t", names, 2, &bits), MP_OK);
    ck_assert_uint_eq(bits, 3);
    ck_assert_int_eq(mp_jsonrpc_names(b, 0, len, "d", names, 2, &bits), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_names(b, 0, len, "u", names, 2, &bits), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_names(b, 0, len, "q", names, 2, &bits), MP_EINVAL);
    ck_assert_int_eq(mp_jsonrpc_names(b, 0, len, "z", names, 2, &bits), MP_NOTFOUND);
    /* an empty span, or one that is no object, has no members */
    ck_assert_int_eq(mp_jsonrpc_string(b, 0, 0, "q", out, sizeof(out), &n), MP_NOTFOUND);
    ck_assert_int_eq(mp_jsonrpc_uint(b, vs, ve, "n", 100, &v), MP_NOTFOUND);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("jsonrpc");
    TCase *t = tcase_create("jsonrpc");
    tcase_add_test(t, test_jsonrpc_request);
    tcase_add_test(t, test_jsonrpc_notification_and_response);
    tcase_add_test(t, test_jsonrpc_parse_error_or_invalid_request);
    tcase_add_test(t, test_jsonrpc_long_method_is_unknown);
    tcase_add_test(t, test_jsonrpc_members);
    suite_add_tcase(s, t);
    return s;
}
