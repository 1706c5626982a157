/* Tests for core/wire/route.c. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "http/http_parse.h"
#include "wire/route.h"
#include "wire/wire.h"
#include "status.h"

Suite *mp_test_suite(void);

static int classify(const char *method, const char *target, enum mp_route *route, size_t *plen)
{
    return mp_route_classify(method, strlen(method), target, strlen(target), route, plen);
}

START_TEST(test_route_chat_completions_post_is_chat)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("POST", "/v1/chat/completions?x=1", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_CHAT);
    ck_assert_uint_eq(plen, strlen("/v1/chat/completions"));
}
END_TEST

/* The chat APIs memory applies to, Anthropic's routes, and what is only
 * forwarded. */
START_TEST(test_route_responses_and_anthropic)
{
    static const struct {
        const char *method, *target;
        enum mp_route route;
    } cases[] = {
        {"POST", "/v1/responses", MP_ROUTE_RESPONSES},
        {"POST", "/v1/responses?stream=1", MP_ROUTE_RESPONSES},
        {"GET", "/v1/responses/resp_1", MP_ROUTE_FORWARD},
        {"POST", "/v1/responses/resp_1/cancel", MP_ROUTE_FORWARD},
        {"POST", "/v1/messages", MP_ROUTE_MESSAGES},
        {"POST", "/v1/messages?beta=true", MP_ROUTE_MESSAGES},
        {"POST", "/v1/messages/count_tokens", MP_ROUTE_ANTHROPIC},
        {"GET", "/v1/messages", MP_ROUTE_ANTHROPIC},
        {"GET", "/v1/messages/batches", MP_ROUTE_ANTHROPIC},
        {"POST", "/v1/messagesx", MP_ROUTE_FORWARD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum mp_route r;
        size_t plen = 0;
        ck_assert_int_eq(classify(cases[i].method, cases[i].target, &r, &plen), MP_OK);
        ck_assert_msg(r == cases[i].route, "%s %s: %d", cases[i].method, cases[i].target, (int)r);
        ck_assert(mp_route_is_anthropic(r) ==
                  (cases[i].route == MP_ROUTE_MESSAGES || cases[i].route == MP_ROUTE_ANTHROPIC));
        ck_assert(mp_route_anthropic_target(cases[i].target, strlen(cases[i].target)) ==
                  mp_route_is_anthropic(r));
    }
    ck_assert(mp_route_wire(MP_ROUTE_CHAT) != NULL && mp_route_wire(MP_ROUTE_RESPONSES) != NULL);
    ck_assert(mp_route_wire(MP_ROUTE_FORWARD) == NULL && mp_route_wire(MP_ROUTE_ANTHROPIC) == NULL);
}
END_TEST

START_TEST(test_route_chat_completions_get_is_forwarded)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("GET", "/v1/chat/completions", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_FORWARD);
    ck_assert_int_eq(classify("POST", "/v1/chat/completions/x", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_FORWARD);
}
END_TEST

START_TEST(test_route_other_v1_paths_are_forwarded)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("GET", "/v1/models", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_FORWARD);
    ck_assert_int_eq(classify("POST", "/v1/embeddings", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_FORWARD);
}
END_TEST

START_TEST(test_route_memory_routes)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("GET", "/v1/memory", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_MEMORY);
    ck_assert_int_eq(classify("PUT", "/v1/memory/entities/name", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_MEMORY);
    ck_assert_int_eq(classify("GET", "/v1/memoryx", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_FORWARD);
}
END_TEST

START_TEST(test_route_outside_v1_not_found)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("GET", "/", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(classify("GET", "/v1", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(classify("GET", "/v2/models", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_NOT_FOUND);
    ck_assert_int_eq(classify("GET", "/livez", &r, &plen), MP_OK);
    ck_assert_int_eq(r, MP_ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(test_route_dot_segments_rejected)
{
    static const char *bad[] = {"/v1/../admin",  "/v1/./models", "/v1/%2e%2e/x", "/v1/%2E./x",
                                "/v1/models/..", "/v1/a%2fb",    "/v1/a%5Cb",    "/v1/a\\b"};
    enum mp_route r = MP_ROUTE_FORWARD;
    size_t plen = 7;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(classify("GET", bad[i], &r, &plen) == MP_EINVAL, "%s", bad[i]);
        ck_assert_uint_eq(plen, 7); /* untouched */
    }
}
END_TEST

START_TEST(test_route_dots_inside_names_allowed)
{
    enum mp_route r;
    size_t plen = 0;
    ck_assert_int_eq(classify("GET", "/v1/models/gpt-4.1", &r, &plen), MP_OK);
    ck_assert_int_eq(classify("GET", "/v1/files/...x", &r, &plen), MP_OK);
    ck_assert_int_eq(classify("GET", "/v1/files/x?q=/../", &r, &plen), MP_OK);
}
END_TEST

START_TEST(test_route_memory_control_values)
{
    enum mp_memory_control ctl = MP_MEMCTL_AUTO;
    ck_assert_int_eq(mp_route_memory_control("read", 4, &ctl), MP_OK);
    ck_assert_int_eq(ctl, MP_MEMCTL_READ);
    ck_assert_int_eq(mp_route_memory_control("WRITE", 5, &ctl), MP_OK);
    ck_assert_int_eq(ctl, MP_MEMCTL_WRITE);
    ck_assert_int_eq(mp_route_memory_control("off", 3, &ctl), MP_OK);
    ck_assert_int_eq(ctl, MP_MEMCTL_OFF);
    ck_assert_int_eq(mp_route_memory_control("auto", 4, &ctl), MP_OK);
    ck_assert_int_eq(ctl, MP_MEMCTL_AUTO);
    ck_assert_int_eq(mp_route_memory_control("of", 2, &ctl), MP_EINVAL);
    ck_assert_int_eq(mp_route_memory_control("offf", 4, &ctl), MP_EINVAL);
    ck_assert_int_eq(mp_route_memory_control("", 0, &ctl), MP_EINVAL);
}
END_TEST

/* The X-Memory control of a head whose field lines are fields (each with
 * its CRLF): MP_OK with *ctl, or the error. */
static int memory_header(const char *fields, enum mp_memory_control *ctl)
{
    static char req[512];
    struct mp_http_request_head h;
    int n = snprintf(req, sizeof(req), "POST /v1/chat/completions HTTP/1.1\r\n%s\r\n", fields);
    ck_assert(n > 0 && (size_t)n < sizeof(req));
    ck_assert_int_eq(mp_http_parse_request_head(req, (size_t)n, sizeof(req), &h), MP_OK);
    return mp_route_memory_header(&h, ctl);
}

/* Several values, on several lines or in one list: the narrowest wins. */
START_TEST(test_route_memory_header_narrowest_wins)
{
    static const struct {
        const char *fields;
        enum mp_memory_control want;
    } cases[] = {
        {"", MP_MEMCTL_AUTO},
        {"X-Memory: read\r\n", MP_MEMCTL_READ},
        {"X-Memory: auto\r\nX-Memory: off\r\n", MP_MEMCTL_OFF},
        {"X-Memory: off\r\nx-memory: AUTO\r\n", MP_MEMCTL_OFF},
        {"X-Memory: auto, off\r\n", MP_MEMCTL_OFF},
        {"X-Memory: read\r\nX-Memory: write\r\n", MP_MEMCTL_OFF},
        {"X-Memory: read,write\r\n", MP_MEMCTL_OFF},
        {"X-Memory: auto\r\nX-Memory: write\r\n", MP_MEMCTL_WRITE},
        {"X-Memory: read, auto\r\n", MP_MEMCTL_READ},
        {"X-Memory: read\r\nX-Memory: read\r\n", MP_MEMCTL_READ},
        {"X-Memory: auto,auto\r\n", MP_MEMCTL_AUTO},
        {"X-Memory: , off ,\r\n", MP_MEMCTL_OFF},
        {"X-Memory: write,\r\n", MP_MEMCTL_WRITE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum mp_memory_control ctl = MP_MEMCTL_AUTO;
        ck_assert_msg(memory_header(cases[i].fields, &ctl) == MP_OK, "%s", cases[i].fields);
        ck_assert_msg(ctl == cases[i].want, "%s: %d", cases[i].fields, (int)ctl);
    }
}
END_TEST

/* A value that is none of the four anywhere, or no value at all: refused. */
START_TEST(test_route_memory_header_invalid_anywhere)
{
    static const char *const bad[] = {
        "X-Memory: sometimes\r\n",
        "X-Memory: off\r\nX-Memory: on\r\n",
        "X-Memory: off, readwrite\r\n",
        "X-Memory: read write\r\n",
        "X-Memory:\r\n",
        "X-Memory: , ,\r\n",
        "X-Memory:\r\nX-Memory: write\r\n",
        "X-Memory: off\r\nX-Memory: ,\r\n",
        "X-Memory: \"off\"\r\n",
        "X-Memory: off;q=1\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum mp_memory_control ctl = MP_MEMCTL_WRITE;
        ck_assert_msg(memory_header(bad[i], &ctl) == MP_EINVAL, "%s", bad[i]);
        ck_assert_int_eq(ctl, MP_MEMCTL_WRITE);
    }
}
END_TEST

START_TEST(test_route_body_user_found_and_decoded)
{
    const char *body =
        "{\"model\":\"m\",\"messages\":[{\"user\":\"nested\"}],\"user\":\"al\\u00e9x\"}";
    char out[64];
    size_t n = 0;
    ck_assert_int_eq(mp_route_body_user(body, strlen(body), out, sizeof(out), &n), MP_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert(memcmp(out, "al\xc3\xa9x", 5) == 0);
}
END_TEST

START_TEST(test_route_body_user_absent_null_or_not_json)
{
    char out[64];
    size_t n = 0;
    const char *none = "{\"model\":\"m\"}";
    const char *null_user = "{\"user\":null}";
    const char *garbage = "{\"user\":\"x\"";
    ck_assert_int_eq(mp_route_body_user(none, strlen(none), out, sizeof(out), &n), MP_NOTFOUND);
    ck_assert_int_eq(mp_route_body_user(null_user, strlen(null_user), out, sizeof(out), &n),
                     MP_NOTFOUND);
    ck_assert_int_eq(mp_route_body_user(garbage, strlen(garbage), out, sizeof(out), &n),
                     MP_NOTFOUND);
}
END_TEST

START_TEST(test_route_body_user_not_a_string_or_too_long)
{
    char out[8];
    size_t n = 0;
    const char *num = "{\"user\":42}";
    const char *longer = "{\"user\":\"123456789\"}";
    ck_assert_int_eq(mp_route_body_user(num, strlen(num), out, sizeof(out), &n), MP_EINVAL);
    ck_assert_int_eq(mp_route_body_user(longer, strlen(longer), out, sizeof(out), &n), MP_EINVAL);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, test_route_chat_completions_post_is_chat);
    tcase_add_test(tc, test_route_responses_and_anthropic);
    tcase_add_test(tc, test_route_chat_completions_get_is_forwarded);
    tcase_add_test(tc, test_route_other_v1_paths_are_forwarded);
    tcase_add_test(tc, test_route_memory_routes);
    tcase_add_test(tc, test_route_outside_v1_not_found);
    tcase_add_test(tc, test_route_dot_segments_rejected);
    tcase_add_test(tc, test_route_dots_inside_names_allowed);
    tcase_add_test(tc, test_route_memory_control_values);
    tcase_add_test(tc, test_route_memory_header_narrowest_wins);
    tcase_add_test(tc, test_route_memory_header_invalid_anywhere);
    tcase_add_test(tc, test_route_body_user_found_and_decoded);
    tcase_add_test(tc, test_route_body_user_absent_null_or_not_json);
    tcase_add_test(tc, test_route_body_user_not_a_string_or_too_long);
    suite_add_tcase(s, tc);
    return s;
}
