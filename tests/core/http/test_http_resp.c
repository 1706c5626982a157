/* Tests for core/http/http_resp.c: the response head parser (status line,
 * fields, framing and keep-alive decisions, limits, interim responses) and
 * the body decoder (Content-Length, chunked, close-delimited, EOF). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_fixture.h"
#include "http/http_resp.h"
#include "status.h"

Suite *mp_test_suite(void);

#define BIG_LIMIT 65536

/* Parses s[0..n) through an exact-size copy: only scalars of *h are valid
 * afterwards (the spans pointed into the copy). */
static int parse_n(const char *s, size_t n, bool head_request, size_t max_head,
                   struct mp_http_response_head *h)
{
    char *copy = hf_dup_exact(s, n);
    int rc = mp_http_response_parse(copy, n, head_request, max_head, h);
    free(copy);
    return rc;
}

static int parse_rc(const char *s)
{
    static struct mp_http_response_head h;
    return parse_n(s, strlen(s), false, BIG_LIMIT, &h);
}

/* Parses a NUL-terminated literal in place: spans stay valid. */
static void parse_ok(const char *s, bool head_request, struct mp_http_response_head *h)
{
    int rc = mp_http_response_parse(s, strlen(s), head_request, BIG_LIMIT, h);
    ck_assert_msg(rc == MP_OK, "rc %d for '%s'", rc, s);
}

static void assert_header(const struct mp_http_response_head *h, size_t i, const char *name,
                          const char *value)
{
    hf_assert_field(h->headers, h->num_headers, i, name, value);
}

/* ---- status line ---- */

START_TEST(test_resp_status_line_http11)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    struct mp_http_response_head h;
    parse_ok(r, false, &h);
    ck_assert_int_eq(h.minor_version, 1);
    ck_assert_int_eq(h.status, 200);
    ck_assert_ptr_eq(h.reason, r + 13);
    hf_assert_span(h.reason, h.reason_len, "OK");
    ck_assert_uint_eq(h.num_headers, 1);
    ck_assert_uint_eq(h.head_len, strlen(r));
}
END_TEST

START_TEST(test_resp_status_line_http10)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\n", false, &h);
    ck_assert_int_eq(h.minor_version, 0);
    ck_assert_int_eq(h.status, 404);
    hf_assert_span(h.reason, h.reason_len, "Not Found");
}
END_TEST

START_TEST(test_resp_reason_empty_after_space)
{
    static const char r[] = "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n";
    struct mp_http_response_head h;
    parse_ok(r, false, &h);
    ck_assert_int_eq(h.status, 200);
    ck_assert_uint_eq(h.reason_len, 0);
    ck_assert_ptr_eq(h.reason, r + 13);
}
END_TEST

START_TEST(test_resp_no_reason_without_space)
{
    static const char r[] = "HTTP/1.1 204\r\n\r\n";
    struct mp_http_response_head h;
    parse_ok(r, false, &h);
    ck_assert_int_eq(h.status, 204);
    ck_assert_uint_eq(h.reason_len, 0);
    ck_assert_uint_eq(h.head_len, 16);
}
END_TEST

START_TEST(test_resp_reason_kept_as_sent)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 500 Internal\tServer  Error \xc3\xa9 \r\n\r\n", false, &h);
    hf_assert_span(h.reason, h.reason_len, "Internal\tServer  Error \xc3\xa9 ");
}
END_TEST

START_TEST(test_resp_status_three_digits_100_to_999)
{
    static const char *const bad[] = {"20",   "2000", "20a",  "099", "000", "-20",
                                      "2 00", "+200", " 200", "",    "abc"};
    char r[128];
    struct mp_http_response_head h;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(r, sizeof(r), "HTTP/1.1 %s OK\r\n\r\n", bad[i]);
        ck_assert_msg(parse_rc(r) == MP_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(parse_rc("HTTP/1.1 2000\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200x\r\n\r\n"), MP_EINVAL);
    parse_ok("HTTP/1.1 100 Continue\r\n\r\n", false, &h);
    ck_assert_int_eq(h.status, 100);
    parse_ok("HTTP/1.1 999 Whatever\r\n\r\n", false, &h);
    ck_assert_int_eq(h.status, 999);
    parse_ok("HTTP/1.1 599\r\nContent-Length: 0\r\n\r\n", false, &h);
    ck_assert_int_eq(h.status, 599);
}
END_TEST

START_TEST(test_resp_rejects_bad_versions)
{
    static const char *const bad[] = {"HTTP/1.2",  "HTTP/2.0", "HTTP/0.9", "http/1.1",
                                      "HTTP/1.10", "HTTP/1.",  "HTTP/11",  "HTTP/1.1 ",
                                      "HTTP/2",    "HTTP 1.1", "ICY",      "HTTP/1.1\t"};
    char r[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(r, sizeof(r), "%s 200 OK\r\nContent-Length: 0\r\n\r\n", bad[i]);
        ck_assert_msg(parse_rc(r) == MP_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(parse_rc("HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 \r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_resp_rejects_non_http_before_head_completes)
{
    struct mp_http_response_head h;
    /* A TLS alert, an SSH banner, a request: refused from the first bytes,
     * not after max_head bytes. */
    ck_assert_int_eq(parse_n("\x15\x03\x03\x00\x02", 5, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("SSH-2.0-OpenSSH", 15, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("GET / HTTP/1.1", 14, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("\r\nHTTP/1.1 200 OK\r\n\r\n", 21, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("HTT", 3, false, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n("HTTP/1.1 200", 12, false, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n("", 0, false, BIG_LIMIT, &h), MP_AGAIN);
}
END_TEST

START_TEST(test_resp_rejects_bare_lf_and_cr)
{
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"), MP_EINVAL);
    /* A bare LF is refused as soon as it arrives. */
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\nA"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 O\rK\r\n\r\n"), MP_EINVAL);
    hf_assert_fields_refused(parse_rc, "HTTP/1.1 200 OK\r\n", &hf_fields_bare_cr);
}
END_TEST

START_TEST(test_resp_rejects_nul_and_controls)
{
    static const char in_reason[] = "HTTP/1.1 200 O\0K\r\n\r\n";
    static const char in_value[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
    struct mp_http_response_head h;
    ck_assert_int_eq(parse_n(in_reason, sizeof(in_reason) - 1, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n(in_value, sizeof(in_value) - 1, false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 O\x7fK\r\n\r\n"), MP_EINVAL);
    hf_assert_fields_refused(parse_rc, "HTTP/1.1 200 OK\r\n", &hf_fields_controls);
}
END_TEST

/* ---- fields ---- */

START_TEST(test_resp_find_case_insensitive)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "X-Request-Id: a\r\nx-request-id: b\r\nContent-Length: 0\r\n\r\n";
    struct mp_http_response_head h;
    parse_ok(r, false, &h);
    const struct mp_http_header *f = mp_http_response_find(&h, "CONTENT-TYPE");
    ck_assert_ptr_eq(f, &h.headers[0]);
    hf_assert_span(f->value, f->value_len, "text/event-stream");
    ck_assert_ptr_eq(mp_http_response_find(&h, "x-REQUEST-id"), &h.headers[1]);
    ck_assert_ptr_null(mp_http_response_find(&h, "Content"));
    ck_assert_ptr_null(mp_http_response_find(&h, "Content-Types"));
    ck_assert_ptr_null(mp_http_response_find(&h, ""));
}
END_TEST

START_TEST(test_resp_field_values_ows_trimmed)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nA:   spaced out \t \r\nB:\tx\r\nC:y\r\n"
             "Content-Length: 0\r\n\r\n",
             false, &h);
    assert_header(&h, 0, "A", "spaced out");
    assert_header(&h, 1, "B", "x");
    assert_header(&h, 2, "C", "y");
}
END_TEST

START_TEST(test_resp_empty_field_values)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nEmpty:\r\nBlank:  \t \r\nContent-Length: 0\r\n\r\n", false, &h);
    ck_assert_uint_eq(h.num_headers, 3);
    assert_header(&h, 0, "Empty", "");
    assert_header(&h, 1, "Blank", "");
}
END_TEST

START_TEST(test_resp_repeated_fields_kept_in_order)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nVary: x\r\nSet-Cookie: b=2\r\n"
             "set-cookie: c=3\r\nContent-Length: 0\r\n\r\n",
             false, &h);
    ck_assert_uint_eq(h.num_headers, 5);
    assert_header(&h, 0, "Set-Cookie", "a=1");
    assert_header(&h, 2, "Set-Cookie", "b=2");
    assert_header(&h, 3, "set-cookie", "c=3");
}
END_TEST

START_TEST(test_resp_rejects_obs_fold)
{
    hf_assert_fields_refused(parse_rc, "HTTP/1.1 200 OK\r\n", &hf_fields_obs_fold);
}
END_TEST

START_TEST(test_resp_rejects_bad_field_names)
{
    hf_assert_fields_refused(parse_rc, "HTTP/1.1 200 OK\r\n", &hf_fields_blank_before_colon);
    hf_assert_fields_refused(parse_rc, "HTTP/1.1 200 OK\r\n", &hf_fields_bad_names);
}
END_TEST

/* ---- Content-Length and Transfer-Encoding ---- */

START_TEST(test_resp_content_length_framing)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\ncontent-length:  42 \r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_LENGTH);
    ck_assert_uint_eq(h.content_length, 42);
    ck_assert(h.keep_alive);
}
END_TEST

START_TEST(test_resp_duplicate_equal_content_length_accepted)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 007\r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_LENGTH);
    ck_assert_uint_eq(h.content_length, 7);
}
END_TEST

START_TEST(test_resp_conflicting_content_length_rejected)
{
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n"),
                     MP_EINVAL);
    /* A list in one field is refused even when its values agree. */
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 7,8\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_resp_content_length_overflow_rejected)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", false, &h);
    ck_assert_uint_eq(h.content_length, (uint64_t)INT64_MAX);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_resp_negative_or_non_numeric_content_length_rejected)
{
    hf_assert_values_refused(parse_rc, "HTTP/1.1 200 OK\r\n", "Content-Length", &hf_bad_lengths);
}
END_TEST

START_TEST(test_resp_transfer_encoding_overrides_content_length)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false,
             &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CHUNKED);
    ck_assert_uint_eq(h.content_length, 0);
    ck_assert(!h.keep_alive);
    /* Either order. */
    parse_ok("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n", false,
             &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CHUNKED);
    ck_assert(!h.keep_alive);
}
END_TEST

START_TEST(test_resp_chunked_framing)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding:  Chunked \r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CHUNKED);
    ck_assert(h.keep_alive);
}
END_TEST

START_TEST(test_resp_rejects_codings_other_than_single_chunked)
{
    hf_assert_values_refused(parse_rc, "HTTP/1.1 200 OK\r\n", "Transfer-Encoding", &hf_bad_codings);
    /* Twice is "chunked, chunked". */
    ck_assert_int_eq(parse_rc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_resp_rejects_transfer_encoding_in_http10)
{
    ck_assert_int_eq(parse_rc("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), MP_EINVAL);
}
END_TEST

/* ---- no body ---- */

START_TEST(test_resp_no_body_statuses)
{
    static const char *const heads[] = {
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n",
    };
    struct mp_http_response_head h;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        parse_ok(heads[i], false, &h);
        ck_assert_msg(h.framing == MP_HTTP_BODY_NONE, "case %zu", i);
        ck_assert_uint_eq(h.content_length, 0);
        ck_assert_msg(h.keep_alive, "case %zu", i);
    }
}
END_TEST

START_TEST(test_resp_head_request_has_no_body)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_NONE);
    ck_assert_uint_eq(h.content_length, 0);
    ck_assert(h.keep_alive);
    parse_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_NONE);
    /* Without a length a HEAD response is not close-delimited. */
    parse_ok("HTTP/1.1 200 OK\r\n\r\n", true, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_NONE);
    ck_assert(h.keep_alive);
    /* The fields are still checked. */
    static const char bad[] = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
    ck_assert_int_eq(parse_n(bad, strlen(bad), true, BIG_LIMIT, &h), MP_EINVAL);
}
END_TEST

/* ---- keep-alive ---- */

struct ka_case {
    const char *fields;
    bool want;
};

static bool keep_alive_of(const char *version, const char *fields)
{
    char r[256];
    struct mp_http_response_head h;
    snprintf(r, sizeof(r), "%s 200 OK\r\n%sContent-Length: 0\r\n\r\n", version, fields);
    ck_assert_int_eq(parse_n(r, strlen(r), false, BIG_LIMIT, &h), MP_OK);
    return h.keep_alive;
}

START_TEST(test_resp_keep_alive_by_version_and_connection)
{
    static const struct ka_case v11[] = {
        {"", true},
        {"Connection: close\r\n", false},
        {"Connection: Upgrade, close\r\n", false},
        {"Connection: Keep-Alive, CLOSE\r\n", false},
        {"Connection: keep-alive\r\n", true},
        {"Connection: closed, upgrade\r\n", true},
        {"Connection: foo\r\nconnection: close\r\n", false},
    };
    static const struct ka_case v10[] = {
        {"", false},
        {"Connection: keep-alive\r\n", true},
        {"Connection:  Keep-Alive \r\n", true},
        {"Connection: Upgrade, keep-alive\r\n", true},
        {"Connection: foo\r\nConnection: keep-alive\r\n", true},
        {"Connection: keep-alive\r\nConnection: close\r\n", false},
        {"Connection: keep-alives\r\n", false},
    };
    for (size_t i = 0; i < sizeof(v11) / sizeof(v11[0]); i++)
        ck_assert_msg(keep_alive_of("HTTP/1.1", v11[i].fields) == v11[i].want, "1.1 case %zu", i);
    for (size_t i = 0; i < sizeof(v10) / sizeof(v10[0]); i++)
        ck_assert_msg(keep_alive_of("HTTP/1.0", v10[i].fields) == v10[i].want, "1.0 case %zu", i);
}
END_TEST

/* ---- close-delimited ---- */

START_TEST(test_resp_close_delimited_without_length)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CLOSE);
    ck_assert(!h.keep_alive);
    parse_ok("HTTP/1.1 200 OK\r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CLOSE);
    ck_assert(!h.keep_alive);
}
END_TEST

START_TEST(test_resp_close_delimited_never_keep_alive)
{
    struct mp_http_response_head h;
    parse_ok("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false, &h);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_CLOSE);
    ck_assert(!h.keep_alive);
    parse_ok("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", false, &h);
    ck_assert(!h.keep_alive);
}
END_TEST

/* ---- caps ---- */

START_TEST(test_resp_head_over_max_head_too_big)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    size_t n = strlen(r);
    struct mp_http_response_head h;
    ck_assert_int_eq(parse_n(r, n, false, n, &h), MP_OK);
    ck_assert_uint_eq(h.head_len, n);
    ck_assert_int_eq(parse_n(r, n, false, n - 1, &h), MP_ETOOBIG);
    /* Incomplete: waits within the limit, refused past it. */
    ck_assert_int_eq(parse_n(r, n - 1, false, n - 1, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n(r, n - 1, false, n - 2, &h), MP_ETOOBIG);
}
END_TEST

START_TEST(test_resp_body_bytes_do_not_count_against_max_head)
{
    static const char r[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    size_t head = strlen(r) - 10;
    struct mp_http_response_head h;
    ck_assert_int_eq(parse_n(r, strlen(r), false, head, &h), MP_OK);
    ck_assert_uint_eq(h.head_len, head);
}
END_TEST

START_TEST(test_resp_too_many_fields_too_big)
{
    static char buf[8192];
    struct mp_http_response_head h;
    size_t n = hf_build_fields(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n", MP_HTTP_MAX_HEADERS);
    ck_assert_int_eq(mp_http_response_parse(buf, n, false, BIG_LIMIT, &h), MP_OK);
    ck_assert_uint_eq(h.num_headers, MP_HTTP_MAX_HEADERS);
    assert_header(&h, MP_HTTP_MAX_HEADERS - 1, "X-H127", "v127");
    n = hf_build_fields(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n", MP_HTTP_MAX_HEADERS + 1);
    ck_assert_int_eq(parse_n(buf, n, false, BIG_LIMIT, &h), MP_ETOOBIG);
}
END_TEST

START_TEST(test_resp_out_untouched_on_failure)
{
    static const char bad[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB : 2\r\n\r\n";
    static struct mp_http_response_head h, before;
    memset(&h, 0xab, sizeof(h));
    memcpy(&before, &h, sizeof(h));
    ck_assert_int_eq(parse_n(bad, strlen(bad), false, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n(bad, 24, false, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n(bad, strlen(bad), false, 10, &h), MP_ETOOBIG);
    ck_assert_int_eq(memcmp(&h, &before, sizeof(h)), 0);
}
END_TEST

START_TEST(test_resp_head_split_at_every_offset)
{
    static const char r[] = "HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 5\r\n"
                            "Connection: close\r\n\r\nhello";
    size_t len = strlen(r);
    struct mp_http_response_head ref, h;
    parse_ok(r, false, &ref);
    ck_assert_uint_eq(ref.head_len, len - 5);
    for (size_t k = 0; k <= len; k++) {
        char *buf = hf_dup_exact(r, k);
        int rc = mp_http_response_parse(buf, k, false, BIG_LIMIT, &h);
        if (k < ref.head_len) {
            ck_assert_msg(rc == MP_AGAIN, "offset %zu: rc %d", k, rc);
        } else {
            ck_assert_msg(rc == MP_OK, "offset %zu: rc %d", k, rc);
            ck_assert_uint_eq(h.head_len, ref.head_len);
            ck_assert_uint_eq(h.num_headers, 3);
            ck_assert_uint_eq((size_t)(h.reason - buf), (size_t)(ref.reason - r));
            ck_assert_uint_eq(h.content_length, 5);
            ck_assert(!h.keep_alive);
        }
        free(buf);
    }
}
END_TEST

/* ---- interim responses ---- */

START_TEST(test_resp_100_continue_then_final_head_same_buffer)
{
    static const char r[] = "HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    struct mp_http_response_head h;
    parse_ok(r, false, &h);
    ck_assert_int_eq(h.status, 100);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_NONE);
    ck_assert_uint_eq(h.head_len, 25);
    size_t off = h.head_len;
    ck_assert_int_eq(mp_http_response_parse(r + off, strlen(r) - off, false, BIG_LIMIT, &h), MP_OK);
    ck_assert_int_eq(h.status, 200);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_LENGTH);
    ck_assert_uint_eq(h.content_length, 2);
    ck_assert_uint_eq(off + h.head_len, strlen(r) - 2);
}
END_TEST

START_TEST(test_resp_101_switching_protocols_returned_as_final)
{
    static const char r[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n\r\n\x81\x05hello";
    struct mp_http_response_head h;
    ck_assert_int_eq(mp_http_response_parse(r, sizeof(r) - 1, false, BIG_LIMIT, &h), MP_OK);
    ck_assert_int_eq(h.status, 101);
    ck_assert_int_eq(h.framing, MP_HTTP_BODY_NONE);
    ck_assert(!h.keep_alive);
    ck_assert_uint_eq(h.head_len, sizeof(r) - 1 - 7);
}
END_TEST

/* ---- body decoder ---- */

/* What the callback saw: the runs' bytes joined, and how many runs. */
struct sink {
    char data[512];
    size_t len;
    int runs;
    int fail_at; /* the run (1-based) to fail with MP_EUPSTREAM; 0: never */
};

static int on_body(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_le(s->len + n, sizeof(s->data));
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->runs++;
    return s->runs == s->fail_at ? MP_EUPSTREAM : MP_OK;
}

/* A body decoder, what its callback saw, and the last feed's *used. */
struct run {
    struct mp_http_body b;
    struct sink s;
    size_t used;
};

static void start(struct run *r, enum mp_http_framing framing, uint64_t length)
{
    static struct mp_http_response_head h;
    h.framing = framing;
    h.content_length = length;
    memset(r, 0, sizeof(*r));
    r->used = 99; /* to see that a feed sets it */
    mp_http_body_init(&r->b, &h);
}

/* Feeds in[0..n) through an exact-size copy. */
static int feed_n(struct run *r, const char *in, size_t n)
{
    char *copy = hf_dup_exact(in, n);
    int rc = mp_http_body_feed(&r->b, copy, n, &r->used, on_body, &r->s);
    free(copy);
    return rc;
}

static int feed(struct run *r, const char *in)
{
    return feed_n(r, in, strlen(in));
}

START_TEST(test_body_length_one_callback_per_feed)
{
    struct run r;
    start(&r, MP_HTTP_BODY_LENGTH, 10);
    ck_assert(!mp_http_body_done(&r.b));
    ck_assert_int_eq(feed(&r, "0123"), MP_AGAIN);
    ck_assert_uint_eq(r.used, 4);
    ck_assert_int_eq(r.s.runs, 1);
    ck_assert_int_eq(feed(&r, ""), MP_AGAIN);
    ck_assert_int_eq(r.s.runs, 1);
    ck_assert_int_eq(feed(&r, "456789"), MP_OK);
    ck_assert_uint_eq(r.used, 6);
    ck_assert_int_eq(r.s.runs, 2);
    hf_assert_span(r.s.data, r.s.len, "0123456789");
    ck_assert(mp_http_body_done(&r.b));
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_OK);
}
END_TEST

START_TEST(test_body_length_leaves_next_response)
{
    struct run r;
    start(&r, MP_HTTP_BODY_LENGTH, 5);
    ck_assert_int_eq(feed(&r, "helloHTTP/1.1 200 OK\r\n"), MP_OK);
    ck_assert_uint_eq(r.used, 5);
    hf_assert_span(r.s.data, r.s.len, "hello");
    /* Complete: it takes nothing more. */
    ck_assert_int_eq(feed(&r, "HTTP/1.1 200 OK\r\n"), MP_OK);
    ck_assert_uint_eq(r.used, 0);
    ck_assert_int_eq(r.s.runs, 1);
}
END_TEST

/* Complete from the start: a feed takes nothing, EOF is fine. */
static void assert_done_at_init(enum mp_http_framing framing)
{
    struct run r;
    start(&r, framing, 0);
    ck_assert(mp_http_body_done(&r.b));
    ck_assert_int_eq(feed(&r, "HTTP/1.1"), MP_OK);
    ck_assert_uint_eq(r.used, 0);
    ck_assert_int_eq(r.s.runs, 0);
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_OK);
}

START_TEST(test_body_length_zero_done_at_init)
{
    assert_done_at_init(MP_HTTP_BODY_LENGTH);
}
END_TEST

START_TEST(test_body_none_done_at_init)
{
    assert_done_at_init(MP_HTTP_BODY_NONE);
}
END_TEST

START_TEST(test_body_length_eof_short_is_eio)
{
    struct run r;
    start(&r, MP_HTTP_BODY_LENGTH, 10);
    ck_assert_int_eq(feed(&r, "01234"), MP_AGAIN);
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_EIO);
    ck_assert(!mp_http_body_done(&r.b));
}
END_TEST

START_TEST(test_body_close_until_eof)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CLOSE, 0);
    ck_assert_int_eq(feed(&r, "abc"), MP_AGAIN);
    ck_assert_uint_eq(r.used, 3);
    ck_assert_int_eq(feed(&r, ""), MP_AGAIN);
    ck_assert_int_eq(feed(&r, "\r\n\r\n0\r\n"), MP_AGAIN);
    hf_assert_span(r.s.data, r.s.len, "abc\r\n\r\n0\r\n");
    ck_assert(!mp_http_body_done(&r.b));
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_OK);
}
END_TEST

/* Hex in both cases, extensions, a trailer section. */
static const char sample[] = "5;name=value\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                             "3 ;x=\"y z\"\r\nXYZ\r\nA\r\n0123456789\r\n0;last\r\n"
                             "Trailer-A: 1\r\nB: two\r\n\r\n";
static const char sample_body[] = "helloabcdefghijklmnopqrstuvwxyzXYZ0123456789";

START_TEST(test_body_chunked_sample)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq(feed(&r, sample), MP_OK);
    ck_assert_uint_eq(r.used, strlen(sample));
    hf_assert_span(r.s.data, r.s.len, sample_body);
    ck_assert_int_eq(r.s.runs, 4);
    ck_assert(mp_http_body_done(&r.b));
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_OK);
}
END_TEST

START_TEST(test_body_chunked_zero_chunk_only)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq(feed(&r, "0\r\n\r\n"), MP_OK);
    ck_assert_uint_eq(r.used, 5);
    ck_assert_int_eq(r.s.runs, 0);
    ck_assert(mp_http_body_done(&r.b));
}
END_TEST

/* A whole response parsed and decoded from in[0..k) then in[k..n): the
 * same body and result for every k. */
START_TEST(test_body_chunked_response_split_at_every_offset)
{
    char in[512];
    int len = snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s%s",
                       sample, "HTTP/1.1 200 OK\r\n");
    size_t n = (size_t)len, end = n - strlen("HTTP/1.1 200 OK\r\n");
    for (size_t k = 0; k <= n; k++) {
        struct mp_http_response_head h;
        struct run r;
        int rc = parse_n(in, k, false, BIG_LIMIT, &h);
        if (rc == MP_AGAIN)
            rc = parse_n(in, n, false, BIG_LIMIT, &h);
        ck_assert_int_eq(rc, MP_OK);
        ck_assert_int_eq(h.framing, MP_HTTP_BODY_CHUNKED);
        start(&r, MP_HTTP_BODY_CHUNKED, 0);
        size_t cut = k > h.head_len ? k : h.head_len, used = 0;
        rc = feed_n(&r, in + h.head_len, cut - h.head_len);
        if (rc == MP_AGAIN) {
            ck_assert_uint_eq(r.used, cut - h.head_len);
            used = r.used;
            rc = feed_n(&r, in + cut, n - cut);
        }
        ck_assert_msg(rc == MP_OK, "offset %zu: rc %d", k, rc);
        ck_assert_uint_eq(h.head_len + used + r.used, end);
        hf_assert_span(r.s.data, r.s.len, sample_body);
    }
}
END_TEST

START_TEST(test_body_chunked_byte_by_byte)
{
    struct run r;
    size_t n = strlen(sample);
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    for (size_t i = 0; i < n; i++) {
        int rc = feed_n(&r, sample + i, 1);
        ck_assert_uint_eq(r.used, 1);
        ck_assert_msg(rc == (i + 1 == n ? MP_OK : MP_AGAIN), "byte %zu: rc %d", i, rc);
    }
    hf_assert_span(r.s.data, r.s.len, sample_body);
}
END_TEST

START_TEST(test_body_chunked_leaves_next_response)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq(feed(&r, "4\r\nwxyz\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), MP_OK);
    ck_assert_uint_eq(r.used, strlen("4\r\nwxyz\r\n0\r\n\r\n"));
    hf_assert_span(r.s.data, r.s.len, "wxyz");
}
END_TEST

static int chunked_rc(const char *in, size_t n)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    return feed_n(&r, in, n);
}

START_TEST(test_body_chunked_rejects_malformed)
{
    hf_assert_chunked_refused(chunked_rc, &hf_chunked_malformed);
}
END_TEST

START_TEST(test_body_chunked_rejects_bare_lf_in_every_line)
{
    hf_assert_chunked_refused(chunked_rc, &hf_chunked_bare_lf);
}
END_TEST

START_TEST(test_body_chunked_size_cap)
{
    /* 2^62 waits for its data; one more is refused before any arrives. */
    ck_assert_int_eq(chunked_rc("4000000000000000\r\n", 18), MP_AGAIN);
    ck_assert_int_eq(chunked_rc("4000000000000001\r\n", 18), MP_EINVAL);
    ck_assert_int_eq(chunked_rc("FFFFFFFFFFFFFFFF\r\n", 18), MP_EINVAL);
    /* 16 hex digits at most, leading zeros included. */
    ck_assert_int_eq(chunked_rc("0000000000000005\r\nhello\r\n0\r\n\r\n", 30), MP_OK);
    ck_assert_int_eq(chunked_rc("00000000000000005\r\nhello\r\n0\r\n\r\n", 31), MP_EINVAL);
}
END_TEST

START_TEST(test_body_chunked_line_caps)
{
    hf_assert_chunked_line_caps(chunked_rc);
}
END_TEST

START_TEST(test_body_chunked_trailer_section_cap)
{
    hf_assert_chunked_trailer_cap(chunked_rc);
}
END_TEST

START_TEST(test_body_chunked_eof_before_last_chunk_is_eio)
{
    static const char *const cut[] = {"", "5\r\nhel", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n",
                                      "5\r\nhello\r\n0\r\nA: b\r\n"};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        struct run r;
        start(&r, MP_HTTP_BODY_CHUNKED, 0);
        ck_assert_int_eq(feed(&r, cut[i]), MP_AGAIN);
        ck_assert_msg(mp_http_body_eof(&r.b) == MP_EIO, "case %zu", i);
    }
}
END_TEST

START_TEST(test_body_stays_failed_after_error)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    ck_assert_int_eq(feed(&r, "2\r\nabX"), MP_EINVAL);
    ck_assert_uint_eq(r.used, 6);
    ck_assert_int_eq(feed(&r, "0\r\n\r\n"), MP_EINVAL);
    ck_assert_uint_eq(r.used, 0);
    ck_assert(!mp_http_body_done(&r.b));
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_EIO);
}
END_TEST

START_TEST(test_body_callback_status_stops_feed)
{
    struct run r;
    start(&r, MP_HTTP_BODY_CHUNKED, 0);
    r.s.fail_at = 2;
    ck_assert_int_eq(feed(&r, sample), MP_EUPSTREAM);
    /* Up to the end of the second run, which was handed out. */
    ck_assert_uint_eq(r.used, (size_t)(strstr(sample, "xyz") + 3 - sample));
    hf_assert_span(r.s.data, r.s.len, "helloabcdefghijklmnopqrstuvwxyz");
    ck_assert_int_eq(feed(&r, ""), MP_EUPSTREAM);
    ck_assert_int_eq(r.s.runs, 2);

    start(&r, MP_HTTP_BODY_LENGTH, 10);
    r.s.fail_at = 1;
    ck_assert_int_eq(feed(&r, "0123"), MP_EUPSTREAM);
    ck_assert_uint_eq(r.used, 4);
    ck_assert_int_eq(mp_http_body_eof(&r.b), MP_EIO);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("http_resp");
    TCase *status = tcase_create("status_line");
    tcase_add_test(status, test_resp_status_line_http11);
    tcase_add_test(status, test_resp_status_line_http10);
    tcase_add_test(status, test_resp_reason_empty_after_space);
    tcase_add_test(status, test_resp_no_reason_without_space);
    tcase_add_test(status, test_resp_reason_kept_as_sent);
    tcase_add_test(status, test_resp_status_three_digits_100_to_999);
    tcase_add_test(status, test_resp_rejects_bad_versions);
    tcase_add_test(status, test_resp_rejects_non_http_before_head_completes);
    tcase_add_test(status, test_resp_rejects_bare_lf_and_cr);
    tcase_add_test(status, test_resp_rejects_nul_and_controls);
    suite_add_tcase(s, status);

    TCase *fields = tcase_create("fields");
    tcase_add_test(fields, test_resp_find_case_insensitive);
    tcase_add_test(fields, test_resp_field_values_ows_trimmed);
    tcase_add_test(fields, test_resp_empty_field_values);
    tcase_add_test(fields, test_resp_repeated_fields_kept_in_order);
    tcase_add_test(fields, test_resp_rejects_obs_fold);
    tcase_add_test(fields, test_resp_rejects_bad_field_names);
    suite_add_tcase(s, fields);

    TCase *framing = tcase_create("framing");
    tcase_add_test(framing, test_resp_content_length_framing);
    tcase_add_test(framing, test_resp_duplicate_equal_content_length_accepted);
    tcase_add_test(framing, test_resp_conflicting_content_length_rejected);
    tcase_add_test(framing, test_resp_content_length_overflow_rejected);
    tcase_add_test(framing, test_resp_negative_or_non_numeric_content_length_rejected);
    tcase_add_test(framing, test_resp_transfer_encoding_overrides_content_length);
    tcase_add_test(framing, test_resp_chunked_framing);
    tcase_add_test(framing, test_resp_rejects_codings_other_than_single_chunked);
    tcase_add_test(framing, test_resp_rejects_transfer_encoding_in_http10);
    tcase_add_test(framing, test_resp_no_body_statuses);
    tcase_add_test(framing, test_resp_head_request_has_no_body);
    tcase_add_test(framing, test_resp_keep_alive_by_version_and_connection);
    tcase_add_test(framing, test_resp_close_delimited_without_length);
    tcase_add_test(framing, test_resp_close_delimited_never_keep_alive);
    suite_add_tcase(s, framing);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_resp_head_over_max_head_too_big);
    tcase_add_test(limits, test_resp_body_bytes_do_not_count_against_max_head);
    tcase_add_test(limits, test_resp_too_many_fields_too_big);
    tcase_add_test(limits, test_resp_out_untouched_on_failure);
    tcase_add_test(limits, test_resp_head_split_at_every_offset);
    suite_add_tcase(s, limits);

    TCase *interim = tcase_create("interim");
    tcase_add_test(interim, test_resp_100_continue_then_final_head_same_buffer);
    tcase_add_test(interim, test_resp_101_switching_protocols_returned_as_final);
    suite_add_tcase(s, interim);

    TCase *body = tcase_create("body");
    tcase_add_test(body, test_body_length_one_callback_per_feed);
    tcase_add_test(body, test_body_length_leaves_next_response);
    tcase_add_test(body, test_body_length_zero_done_at_init);
    tcase_add_test(body, test_body_length_eof_short_is_eio);
    tcase_add_test(body, test_body_none_done_at_init);
    tcase_add_test(body, test_body_close_until_eof);
    tcase_add_test(body, test_body_chunked_sample);
    tcase_add_test(body, test_body_chunked_zero_chunk_only);
    tcase_add_test(body, test_body_chunked_response_split_at_every_offset);
    tcase_add_test(body, test_body_chunked_byte_by_byte);
    tcase_add_test(body, test_body_chunked_leaves_next_response);
    tcase_add_test(body, test_body_chunked_rejects_malformed);
    tcase_add_test(body, test_body_chunked_rejects_bare_lf_in_every_line);
    tcase_add_test(body, test_body_chunked_size_cap);
    tcase_add_test(body, test_body_chunked_line_caps);
    tcase_add_test(body, test_body_chunked_trailer_section_cap);
    tcase_add_test(body, test_body_chunked_eof_before_last_chunk_is_eio);
    tcase_add_test(body, test_body_stays_failed_after_error);
    tcase_add_test(body, test_body_callback_status_stops_feed);
    suite_add_tcase(s, body);
    return s;
}
