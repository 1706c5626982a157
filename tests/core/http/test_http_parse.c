/* Tests for core/http/http_parse.c: the request head parser, its limits and
 * smuggling defenses, the header helpers and the chunked body decoder. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_fixture.h"
#include "http/http_parse.h"
#include "status.h"

Suite *mp_test_suite(void);

#define BIG_LIMIT 65536

static int parse_n(const char *s, size_t n, size_t max_head, struct mp_http_request_head *h)
{
    char *copy = hf_dup_exact(s, n);
    int rc = mp_http_parse_request_head(copy, n, max_head, h);
    free(copy); /* callers use only scalars: the spans now dangle */
    return rc;
}

static int parse_rc(const char *s)
{
    static struct mp_http_request_head h;
    return parse_n(s, strlen(s), BIG_LIMIT, &h);
}

static void assert_header(const struct mp_http_request_head *h, size_t i, const char *name,
                          const char *value)
{
    hf_assert_field(h->headers, h->num_headers, i, name, value);
}

/* ---- request head: accepted forms ---- */

START_TEST(test_http_simple_get)
{
    static const char req[] = "GET /v1/models?x=1 HTTP/1.1\r\nHost: example.com\r\n"
                              "Accept: */*\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    ck_assert_ptr_eq(h.method, req);
    hf_assert_span(h.method, h.method_len, "GET");
    ck_assert_ptr_eq(h.target, req + 4);
    hf_assert_span(h.target, h.target_len, "/v1/models?x=1");
    ck_assert_int_eq(h.minor_version, 1);
    ck_assert_uint_eq(h.num_headers, 2);
    assert_header(&h, 0, "Host", "example.com");
    assert_header(&h, 1, "Accept", "*/*");
    ck_assert_uint_eq(h.head_len, strlen(req));
    ck_assert_int_eq(h.content_length, -1);
    ck_assert(!h.chunked);
    ck_assert(h.keep_alive);
    ck_assert(!h.expect_continue);
}
END_TEST

START_TEST(test_http_post_with_content_length)
{
    static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 11\r\n"
                              "Content-Type: application/json\r\n\r\n{\"a\":\"bcd\"}";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    hf_assert_span(h.method, h.method_len, "POST");
    ck_assert_int_eq(h.content_length, 11);
    ck_assert(!h.chunked);
    /* The body is not part of the head. */
    ck_assert_uint_eq(h.head_len, strlen(req) - 11);
    ck_assert_uint_eq(h.num_headers, 2);
}
END_TEST

START_TEST(test_http_header_values_trimmed)
{
    static const char req[] = "GET / HTTP/1.1\r\nA:   spaced out \t \r\nB:\tx\r\nEmpty:\r\n"
                              "Blank:  \t \r\nC:y\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    ck_assert_uint_eq(h.num_headers, 5);
    assert_header(&h, 0, "A", "spaced out");
    assert_header(&h, 1, "B", "x");
    assert_header(&h, 2, "Empty", "");
    assert_header(&h, 3, "Blank", "");
    assert_header(&h, 4, "C", "y");
}
END_TEST

START_TEST(test_http_rejects_bare_lf_in_request_line)
{
    ck_assert_int_eq(parse_rc("GET /a HTTP/1.1\nHost: h\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET /a HTTP/1.0\nHost: h\nX: y \n\nbody"), MP_EINVAL);
    /* refused as soon as the bare LF arrives, not when the head is complete */
    ck_assert_int_eq(parse_rc("GET /a HTTP/1.1\nHost"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET /a HTTP/1.1\r\nHost"), MP_AGAIN);
}
END_TEST

START_TEST(test_http_rejects_bare_lf_in_header_lines)
{
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\nHost: h\r\n\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\nHost: h\n\r\n"), MP_EINVAL);
    /* the control: the same head with CRLF everywhere */
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n"), MP_OK);
}
END_TEST

START_TEST(test_http_rejects_bare_lf_before_request_line)
{
    ck_assert_int_eq(parse_rc("\nGET / HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("\r\n\nGET / HTTP/1.1\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_http_leading_empty_lines_skipped_and_counted)
{
    static const char req[] = "\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    ck_assert_ptr_eq(h.method, req + 6);
    hf_assert_span(h.method, h.method_len, "GET");
    ck_assert_uint_eq(h.num_headers, 0);
    ck_assert_uint_eq(h.head_len, strlen(req));
}
END_TEST

START_TEST(test_http_value_allows_htab_and_obs_text)
{
    static const char req[] = "GET / HTTP/1.1\r\nX: a\tb \xc3\xa9\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    assert_header(&h, 0, "X", "a\tb \xc3\xa9");
}
END_TEST

START_TEST(test_http_head_split_at_every_offset)
{
    static const char req[] =
        "POST /v1/chat?x=1 HTTP/1.1\r\nHost: a.example\r\n"
        "Content-Length: 5\r\nConnection: close\r\nX-Memory:  off \r\n\r\nhello";
    size_t len = strlen(req);
    struct mp_http_request_head ref, h;
    ck_assert_int_eq(mp_http_parse_request_head(req, len, BIG_LIMIT, &ref), MP_OK);
    ck_assert_uint_eq(ref.head_len, len - 5);
    for (size_t k = 0; k <= len; k++) {
        char *buf = hf_dup_exact(req, k);
        int rc = mp_http_parse_request_head(buf, k, BIG_LIMIT, &h);
        if (k < ref.head_len) {
            ck_assert_msg(rc == MP_AGAIN, "offset %zu: rc %d", k, rc);
            free(buf);
            continue;
        }
        ck_assert_msg(rc == MP_OK, "offset %zu: rc %d", k, rc);
        ck_assert_uint_eq(h.head_len, ref.head_len);
        ck_assert_uint_eq((size_t)(h.method - buf), (size_t)(ref.method - req));
        ck_assert_uint_eq((size_t)(h.target - buf), (size_t)(ref.target - req));
        ck_assert_uint_eq(h.target_len, ref.target_len);
        ck_assert_uint_eq(h.num_headers, ref.num_headers);
        for (size_t i = 0; i < h.num_headers; i++) {
            ck_assert_uint_eq((size_t)(h.headers[i].name - buf),
                              (size_t)(ref.headers[i].name - req));
            ck_assert_uint_eq(h.headers[i].name_len, ref.headers[i].name_len);
            ck_assert_uint_eq((size_t)(h.headers[i].value - buf),
                              (size_t)(ref.headers[i].value - req));
            ck_assert_uint_eq(h.headers[i].value_len, ref.headers[i].value_len);
        }
        ck_assert_int_eq(h.content_length, 5);
        ck_assert(!h.keep_alive);
        free(buf);
    }
}
END_TEST

/* ---- request head: limits ---- */

START_TEST(test_http_head_exactly_at_limit_ok_one_over_too_big)
{
    static const char req[] = "GET /limit HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t n = strlen(req);
    struct mp_http_request_head h;
    ck_assert_int_eq(parse_n(req, n, n, &h), MP_OK);
    ck_assert_uint_eq(h.head_len, n);
    /* The same complete head against a limit one byte smaller. */
    ck_assert_int_eq(parse_n(req, n, n - 1, &h), MP_ETOOBIG);
}
END_TEST

START_TEST(test_http_body_bytes_do_not_count_against_limit)
{
    static const char req[] = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789";
    size_t head = strlen(req) - 10;
    struct mp_http_request_head h;
    ck_assert_int_eq(parse_n(req, strlen(req), head, &h), MP_OK);
    ck_assert_uint_eq(h.head_len, head);
}
END_TEST

START_TEST(test_http_incomplete_head_again_within_limit_too_big_past_it)
{
    static const char part[] = "GET /x HTTP/1.1\r\nHost: abcdef\r\n";
    size_t n = strlen(part);
    struct mp_http_request_head h;
    ck_assert_int_eq(parse_n(part, n, n, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n(part, n, n + 100, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n(part, n, n - 1, &h), MP_ETOOBIG);
    /* Leading empty lines count too. */
    ck_assert_int_eq(parse_n("\r\n\r\n\r\n", 6, 5, &h), MP_ETOOBIG);
    ck_assert_int_eq(parse_n("\r\n\r\n\r\n", 6, 6, &h), MP_AGAIN);
}
END_TEST

START_TEST(test_http_max_headers_ok_one_more_too_big)
{
    static char buf[8192];
    struct mp_http_request_head h;
    size_t n = hf_build_fields(buf, sizeof(buf), "GET / HTTP/1.1\r\n", MP_HTTP_MAX_HEADERS);
    ck_assert_int_eq(mp_http_parse_request_head(buf, n, BIG_LIMIT, &h), MP_OK);
    ck_assert_uint_eq(h.num_headers, MP_HTTP_MAX_HEADERS);
    assert_header(&h, MP_HTTP_MAX_HEADERS - 1, "X-H127", "v127");
    n = hf_build_fields(buf, sizeof(buf), "GET / HTTP/1.1\r\n", MP_HTTP_MAX_HEADERS + 1);
    ck_assert_int_eq(parse_n(buf, n, BIG_LIMIT, &h), MP_ETOOBIG);
}
END_TEST

/* ---- request head: rejections ---- */

START_TEST(test_http_rejects_obs_fold)
{
    hf_assert_fields_refused(parse_rc, "GET / HTTP/1.1\r\n", &hf_fields_obs_fold);
}
END_TEST

START_TEST(test_http_rejects_whitespace_before_colon)
{
    hf_assert_fields_refused(parse_rc, "GET / HTTP/1.1\r\n", &hf_fields_blank_before_colon);
}
END_TEST

START_TEST(test_http_rejects_bare_cr)
{
    hf_assert_fields_refused(parse_rc, "GET / HTTP/1.1\r\n", &hf_fields_bare_cr);
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\r\nA: b\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("\rGET / HTTP/1.1\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_http_rejects_control_chars)
{
    static const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(parse_n(nul, sizeof(nul) - 1, BIG_LIMIT, &h), MP_EINVAL);
    hf_assert_fields_refused(parse_rc, "GET / HTTP/1.1\r\n", &hf_fields_controls);
}
END_TEST

START_TEST(test_http_rejects_non_token_names)
{
    hf_assert_fields_refused(parse_rc, "GET / HTTP/1.1\r\n", &hf_fields_bad_names);
    ck_assert_int_eq(parse_rc("GET / HTTP/1.1\r\nA!#$%&'*+-.^_`|~0z: ok\r\n\r\n"), MP_OK);
}
END_TEST

START_TEST(test_http_rejects_content_length_with_transfer_encoding)
{
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n"
                              "content-length: 0\r\n\r\n"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_http_accepts_chunked_transfer_encoding)
{
    static const char req[] = "POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    ck_assert(h.chunked);
    ck_assert_int_eq(h.content_length, -1);
}
END_TEST

START_TEST(test_http_rejects_transfer_encoding_other_than_chunked)
{
    hf_assert_values_refused(parse_rc, "POST / HTTP/1.1\r\n", "Transfer-Encoding", &hf_bad_codings);
    /* Twice is "chunked, chunked". */
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"),
                     MP_EINVAL);
}
END_TEST

START_TEST(test_http_rejects_transfer_encoding_in_http10)
{
    ck_assert_int_eq(parse_rc("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_http_rejects_differing_content_lengths)
{
    struct mp_http_request_head h;
    static const char same[] =
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n";
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
                     MP_EINVAL);
    /* A first length of 0 is a length like any other. */
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_n(same, strlen(same), BIG_LIMIT, &h), MP_OK);
    ck_assert_int_eq(h.content_length, 5);
}
END_TEST

START_TEST(test_http_rejects_non_numeric_content_length)
{
    hf_assert_values_refused(parse_rc, "POST / HTTP/1.1\r\n", "Content-Length", &hf_bad_lengths);
}
END_TEST

START_TEST(test_http_content_length_int64_bounds)
{
    static const char max[] = "POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(parse_n(max, strlen(max), BIG_LIMIT, &h), MP_OK);
    ck_assert_int_eq(h.content_length, INT64_MAX);
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
                     MP_EINVAL);
    ck_assert_int_eq(parse_rc("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), MP_OK);
}
END_TEST

START_TEST(test_http_rejects_other_versions)
{
    static const char *const bad[] = {"HTTP/1.2",  "HTTP/2.0", "HTTP/0.9", "http/1.1",  "HTTP/1.1 ",
                                      "HTTP/1.10", "HTTP/1.",  "HTTP/11",  "HTTP/1.1\t"};
    char req[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), "GET / %s\r\n\r\n", bad[i]);
        ck_assert_msg(parse_rc(req) == MP_EINVAL, "accepted '%s'", bad[i]);
    }
    ck_assert_int_eq(parse_rc("GET /\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_http_rejects_non_origin_form_targets)
{
    ck_assert_int_eq(parse_rc("GET http://a.example/ HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("OPTIONS * HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("CONNECT a.example:443 HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET  HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET /a\tb HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET /a  HTTP/1.1\r\n\r\n"), MP_EINVAL);
}
END_TEST

START_TEST(test_http_rejects_non_token_method)
{
    ck_assert_int_eq(parse_rc(" GET / HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("G(T / HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("GET\t/ HTTP/1.1\r\n\r\n"), MP_EINVAL);
    ck_assert_int_eq(parse_rc("M-SEARCH / HTTP/1.1\r\n\r\n"), MP_OK);
}
END_TEST

START_TEST(test_http_rejects_garbage_before_head_completes)
{
    struct mp_http_request_head h;
    /* A TLS ClientHello start: refused at once, not after max_head bytes. */
    ck_assert_int_eq(parse_n("\x16\x03\x01\x02\x00\x01", 6, BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("GET", 3, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n("GET ", 4, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(parse_n("GE<", 3, BIG_LIMIT, &h), MP_EINVAL);
}
END_TEST

START_TEST(test_http_out_untouched_on_failure)
{
    struct mp_http_request_head h, before;
    memset(&h, 0xab, sizeof(h));
    memcpy(&before, &h, sizeof(h));
    static const char bad[] = "GET / HTTP/1.1\r\nA: 1\r\nB : 2\r\n\r\n";
    ck_assert_int_eq(parse_n(bad, strlen(bad), BIG_LIMIT, &h), MP_EINVAL);
    ck_assert_int_eq(parse_n("GET / HTTP/1.1\r\nA: 1\r\n", 22, BIG_LIMIT, &h), MP_AGAIN);
    ck_assert_int_eq(memcmp(&h, &before, sizeof(h)), 0);
}
END_TEST

/* ---- request head: connection semantics ---- */

struct ka_case {
    const char *fields;
    bool want;
};

START_TEST(test_http_keep_alive_matrix)
{
    static const struct ka_case v11[] = {
        {"", true},
        {"Connection: close\r\n", false},
        {"Connection: Keep-Alive, CLOSE\r\n", false},
        {"Connection: keep-alive\r\n", true},
        {"Connection: closed, upgrade\r\n", true},
        {"Connection: foo\r\nconnection: close\r\n", false},
    };
    static const struct ka_case v10[] = {
        {"", false},
        {"Connection: keep-alive\r\n", true},
        {"Connection:  Keep-Alive \r\n", true},
        {"Connection: foo,keep-alive\r\n", true},
        {"Connection: foo\r\nConnection: keep-alive\r\n", true},
        {"Connection: keep-alive\r\nConnection: close\r\n", false},
        {"Connection: keep-alives\r\n", false},
    };
    char req[256];
    struct mp_http_request_head h;
    for (size_t i = 0; i < sizeof(v11) / sizeof(v11[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n%s\r\n", v11[i].fields);
        ck_assert_int_eq(parse_n(req, strlen(req), BIG_LIMIT, &h), MP_OK);
        ck_assert_msg(h.keep_alive == v11[i].want, "1.1 case %zu", i);
    }
    for (size_t i = 0; i < sizeof(v10) / sizeof(v10[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.0\r\n%s\r\n", v10[i].fields);
        ck_assert_int_eq(parse_n(req, strlen(req), BIG_LIMIT, &h), MP_OK);
        ck_assert_msg(h.keep_alive == v10[i].want, "1.0 case %zu", i);
    }
}
END_TEST

START_TEST(test_http_expect_continue)
{
    struct mp_http_request_head h;
    static const char a[] = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n";
    static const char b[] = "POST / HTTP/1.1\r\nEXPECT:  100-Continue \r\n\r\n";
    static const char c[] = "POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n";
    static const char d[] = "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n";
    ck_assert_int_eq(parse_n(a, strlen(a), BIG_LIMIT, &h), MP_OK);
    ck_assert(h.expect_continue);
    ck_assert_int_eq(parse_n(b, strlen(b), BIG_LIMIT, &h), MP_OK);
    ck_assert(h.expect_continue);
    ck_assert_int_eq(parse_n(c, strlen(c), BIG_LIMIT, &h), MP_OK);
    ck_assert(!h.expect_continue);
    /* RFC 9110 10.1.1: ignored in HTTP/1.0. */
    ck_assert_int_eq(parse_n(d, strlen(d), BIG_LIMIT, &h), MP_OK);
    ck_assert(!h.expect_continue);
}
END_TEST

/* ---- header helpers ---- */

START_TEST(test_http_find_header_case_insensitive)
{
    static const char req[] = "GET / HTTP/1.1\r\nX-User-Id: alice\r\nx-user-id: bob\r\n"
                              "Host: h\r\n\r\n";
    struct mp_http_request_head h;
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, &h), MP_OK);
    const struct mp_http_header *f = mp_http_find_header(&h, "X-USER-ID", 9);
    ck_assert_ptr_eq(f, &h.headers[0]);
    hf_assert_span(f->value, f->value_len, "alice");
    ck_assert_ptr_eq(mp_http_find_header(&h, "host", 4), &h.headers[2]);
    ck_assert_ptr_null(mp_http_find_header(&h, "X-User", 6));
    ck_assert_ptr_null(mp_http_find_header(&h, "Hostx", 5));
}
END_TEST

START_TEST(test_http_hop_by_hop_list)
{
    static const char *const hop[] = {"Connection",
                                      "keep-alive",
                                      "PROXY-CONNECTION",
                                      "Proxy-Authorization",
                                      "proxy-authenticate",
                                      "TE",
                                      "Trailer",
                                      "Transfer-Encoding",
                                      "upgrade"};
    static const char *const end[] = {"Host",
                                      "Content-Length",
                                      "Authorization",
                                      "Trailers",
                                      "T",
                                      "Upgrade-Insecure-Requests",
                                      "X-Request-Id",
                                      ""};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        ck_assert_msg(mp_http_is_hop_by_hop(hop[i], strlen(hop[i])), "%s", hop[i]);
    for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
        ck_assert_msg(!mp_http_is_hop_by_hop(end[i], strlen(end[i])), "%s", end[i]);
    /* Length is what counts, not a NUL. */
    ck_assert(mp_http_is_hop_by_hop("TEx", 2));
}
END_TEST

START_TEST(test_http_connection_lists_tokens)
{
    static const char v[] = "keep-alive, X-Foo ,\tupgrade,,x-bar";
    size_t n = strlen(v);
    ck_assert(mp_http_connection_lists(v, n, "x-foo", 5));
    ck_assert(mp_http_connection_lists(v, n, "Upgrade", 7));
    ck_assert(mp_http_connection_lists(v, n, "X-BAR", 5));
    ck_assert(mp_http_connection_lists(v, n, "keep-alive", 10));
    ck_assert(!mp_http_connection_lists(v, n, "x-fo", 4));
    ck_assert(!mp_http_connection_lists(v, n, "alive", 5));
    ck_assert(!mp_http_connection_lists(v, n, "", 0));
    ck_assert(!mp_http_connection_lists("", 0, "close", 5));
    ck_assert(mp_http_connection_lists("close", 5, "close", 5));
    ck_assert(!mp_http_connection_lists("close", 4, "close", 5));
}
END_TEST

/* Parses req (a literal) into *h, asserting it is a head. */
static void parse_ok(const char *req, struct mp_http_request_head *h)
{
    ck_assert_int_eq(mp_http_parse_request_head(req, strlen(req), BIG_LIMIT, h), MP_OK);
}

/* Asserts the values of name in h, walked as a list or not, are want[0..n). */
static void assert_values(const struct mp_http_request_head *h, const char *name, bool list,
                          const char *const *want, size_t n)
{
    struct mp_http_values it;
    const char *v;
    size_t len, i = 0;
    mp_http_values_init(&it, h, name, strlen(name), list);
    while (mp_http_values_next(&it, &v, &len)) {
        ck_assert_msg(i < n, "%s: value %zu past the %zu expected", name, i, n);
        hf_assert_span(v, len, want[i++]);
    }
    ck_assert_uint_eq(i, n);
    ck_assert(!mp_http_values_next(&it, &v, &len)); /* stays at the end */
}

START_TEST(test_http_values_across_lines_any_case)
{
    static const char req[] = "GET / HTTP/1.1\r\nX-A: one\r\nHost: h\r\nx-a:  two, three \r\n"
                              "X-B: b\r\nX-A:\r\n\r\n";
    static const char *const lines[] = {"one", "two, three", ""};
    static const char *const host[] = {"h"};
    struct mp_http_request_head h;
    parse_ok(req, &h);
    assert_values(&h, "X-A", false, lines, 3);
    assert_values(&h, "host", false, host, 1);
    assert_values(&h, "X-C", false, NULL, 0);
    assert_values(&h, "X-A", true, (const char *const[]){"one", "two", "three", ""}, 4);
}
END_TEST

/* RFC 9110 5.6.1: blanks around elements trimmed, empty elements skipped;
 * a line of only commas and blanks, or empty, gives one empty value. */
START_TEST(test_http_values_list_elements)
{
    static const char req[] = "GET / HTTP/1.1\r\nX-L: ,a ,\t, b\t,,\r\nX-L: , \r\n"
                              "X-L: c,d\r\nX-E: ,\r\nX-E:\r\n\r\n";
    static const char *const want[] = {"a", "b", "", "c", "d"};
    static const char *const empty[] = {"", ""};
    struct mp_http_request_head h;
    parse_ok(req, &h);
    assert_values(&h, "x-l", true, want, 5);
    assert_values(&h, "x-e", true, empty, 2);
}
END_TEST

START_TEST(test_http_find_single_repeats_must_agree)
{
    static const char req[] = "GET / HTTP/1.1\r\nX-Id: alice\r\nx-id: alice \r\nX-Two: a\r\n"
                              "X-Two: A\r\nX-Comma: a, b\r\nX-Empty:\r\nX-Empty: e\r\n\r\n";
    struct mp_http_request_head h;
    const char *v = "untouched";
    size_t n = 9;
    parse_ok(req, &h);
    ck_assert_int_eq(mp_http_find_single(&h, "X-ID", 4, &v, &n), MP_OK);
    hf_assert_span(v, n, "alice");
    ck_assert_int_eq(mp_http_find_single(&h, "x-comma", 7, &v, &n), MP_OK);
    hf_assert_span(v, n, "a, b"); /* not a list: the comma is the value's */
    v = "untouched";
    n = 9;
    ck_assert_int_eq(mp_http_find_single(&h, "x-two", 5, &v, &n), MP_EINVAL);
    ck_assert_int_eq(mp_http_find_single(&h, "x-empty", 7, &v, &n), MP_EINVAL);
    ck_assert_int_eq(mp_http_find_single(&h, "x-none", 6, &v, &n), MP_NOTFOUND);
    hf_assert_span(v, n, "untouched");
}
END_TEST

/* ---- chunked decoder ---- */

/* Extensions, uppercase hex, trailers: 5 + 26 + 3 bytes. */
static const char sample[] = "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                             "3\r\nXYZ\r\n0;last\r\nTrailer-A: 1\r\nB: two\r\n\r\n";
static const char sample_body[] = "helloabcdefghijklmnopqrstuvwxyzXYZ";

/* Feeds in[0..n) through an exact-size copy; appends to out. */
static int feed(struct mp_http_chunked *c, const char *in, size_t n, size_t *consumed, char *out,
                size_t cap, size_t *produced)
{
    char *copy = hf_dup_exact(in, n);
    int rc = mp_http_chunked_decode(c, copy, n, consumed, out, cap, produced);
    free(copy);
    return rc;
}

static int decode_all(const char *in, size_t n, size_t *consumed, char *out, size_t cap,
                      size_t *produced)
{
    struct mp_http_chunked c;
    mp_http_chunked_init(&c);
    return feed(&c, in, n, consumed, out, cap, produced);
}

START_TEST(test_chunked_decodes_sample)
{
    char out[64];
    size_t used, made;
    size_t n = strlen(sample);
    ck_assert_int_eq(decode_all(sample, n, &used, out, sizeof(out), &made), MP_OK);
    ck_assert_uint_eq(used, n);
    hf_assert_span(out, made, sample_body);
}
END_TEST

START_TEST(test_chunked_split_at_every_offset)
{
    size_t n = strlen(sample);
    for (size_t k = 0; k <= n; k++) {
        struct mp_http_chunked c;
        char out[64];
        size_t used1, made1, used2 = 0, made2 = 0;
        mp_http_chunked_init(&c);
        int rc = feed(&c, sample, k, &used1, out, sizeof(out), &made1);
        if (k < n) {
            ck_assert_msg(rc == MP_AGAIN, "offset %zu: rc %d", k, rc);
            ck_assert_uint_eq(used1, k);
            rc = feed(&c, sample + k, n - k, &used2, out + made1, sizeof(out) - made1, &made2);
        }
        ck_assert_msg(rc == MP_OK, "offset %zu: rc %d", k, rc);
        ck_assert_uint_eq(used1 + used2, n);
        hf_assert_span(out, made1 + made2, sample_body);
    }
}
END_TEST

START_TEST(test_chunked_byte_by_byte)
{
    struct mp_http_chunked c;
    char out[64];
    size_t total = 0, n = strlen(sample);
    mp_http_chunked_init(&c);
    for (size_t i = 0; i < n; i++) {
        size_t used, made;
        int rc = feed(&c, sample + i, 1, &used, out + total, sizeof(out) - total, &made);
        ck_assert_uint_eq(used, 1);
        ck_assert_msg(rc == (i + 1 == n ? MP_OK : MP_AGAIN), "byte %zu: rc %d", i, rc);
        total += made;
    }
    hf_assert_span(out, total, sample_body);
}
END_TEST

START_TEST(test_chunked_leaves_pipelined_bytes_unconsumed)
{
    static const char in[] = "4\r\nwxyz\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    struct mp_http_chunked c;
    char out[16];
    size_t used, made;
    mp_http_chunked_init(&c);
    ck_assert_int_eq(feed(&c, in, strlen(in), &used, out, sizeof(out), &made), MP_OK);
    ck_assert_uint_eq(used, strlen("4\r\nwxyz\r\n0\r\n\r\n"));
    hf_assert_span(out, made, "wxyz");
    /* Once done, it stays done and takes nothing more. */
    ck_assert_int_eq(feed(&c, in + used, strlen(in) - used, &used, out, sizeof(out), &made), MP_OK);
    ck_assert_uint_eq(used, 0);
    ck_assert_uint_eq(made, 0);
}
END_TEST

START_TEST(test_chunked_too_big_past_out_cap)
{
    static const char one[] = "5\r\nhello\r\n0\r\n\r\n";
    static const char two[] = "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    char out[8];
    size_t used, made;
    ck_assert_int_eq(decode_all(one, strlen(one), &used, out, 5, &made), MP_OK);
    hf_assert_span(out, made, "hello");
    ck_assert_int_eq(decode_all(one, strlen(one), &used, out, 4, &made), MP_ETOOBIG);
    ck_assert_int_eq(decode_all(two, strlen(two), &used, out, 6, &made), MP_OK);
    ck_assert_int_eq(decode_all(two, strlen(two), &used, out, 5, &made), MP_ETOOBIG);
    /* A huge declared size is refused before its data arrives. */
    ck_assert_int_eq(decode_all("FFFFFFFFFFFFFFFF\r\n", 18, &used, out, sizeof(out), &made),
                     MP_ETOOBIG);
}
END_TEST

START_TEST(test_chunked_too_big_when_out_shrinks_between_calls)
{
    static const char in[] = "6\r\nabcdef\r\n0\r\n\r\n";
    struct mp_http_chunked c;
    char out[8];
    size_t used, made;
    mp_http_chunked_init(&c);
    ck_assert_int_eq(feed(&c, in, 6, &used, out, 8, &made), MP_AGAIN);
    ck_assert_uint_eq(made, 3);
    ck_assert_int_eq(feed(&c, in + 6, strlen(in) - 6, &used, out + 3, 2, &made), MP_ETOOBIG);
}
END_TEST

START_TEST(test_chunked_size_digit_cap)
{
    static const char ok[] = "0000000000000005\r\nhello\r\n0\r\n\r\n";
    static const char bad[] = "00000000000000005\r\nhello\r\n0\r\n\r\n";
    static const char mixed[] = "aB\r\n";
    char out[256];
    size_t used, made;
    ck_assert_int_eq(decode_all(ok, strlen(ok), &used, out, sizeof(out), &made), MP_OK);
    hf_assert_span(out, made, "hello");
    ck_assert_int_eq(decode_all(bad, strlen(bad), &used, out, sizeof(out), &made), MP_EINVAL);
    /* 0xab = 171 bytes: fits 256, so it waits for data. */
    ck_assert_int_eq(decode_all(mixed, strlen(mixed), &used, out, sizeof(out), &made), MP_AGAIN);
    ck_assert_int_eq(decode_all(mixed, strlen(mixed), &used, out, 170, &made), MP_ETOOBIG);
}
END_TEST

/* The status of decoding in[0..n) whole into a small buffer. */
static int chunked_rc(const char *in, size_t n)
{
    char out[16];
    size_t used, made;
    return decode_all(in, n, &used, out, sizeof(out), &made);
}

START_TEST(test_chunked_line_cap)
{
    hf_assert_chunked_line_caps(chunked_rc);
}
END_TEST

START_TEST(test_chunked_trailer_section_cap)
{
    hf_assert_chunked_trailer_cap(chunked_rc);
}
END_TEST

START_TEST(test_chunked_rejects_malformed)
{
    hf_assert_chunked_refused(chunked_rc, &hf_chunked_malformed);
}
END_TEST

START_TEST(test_chunked_rejects_bare_lf_in_every_line)
{
    hf_assert_chunked_refused(chunked_rc, &hf_chunked_bare_lf);
}
END_TEST

START_TEST(test_chunked_accepts_blanks_before_extension)
{
    static const char in[] = "2 \t;a=\"b c\"\r\nhi\r\n0\r\n\r\n";
    char out[4];
    size_t used, made;
    ck_assert_int_eq(decode_all(in, strlen(in), &used, out, sizeof(out), &made), MP_OK);
    hf_assert_span(out, made, "hi");
}
END_TEST

START_TEST(test_chunked_stays_failed_after_error)
{
    struct mp_http_chunked c;
    char out[16];
    size_t used, made;
    mp_http_chunked_init(&c);
    ck_assert_int_eq(feed(&c, "zz\r\n", 4, &used, out, sizeof(out), &made), MP_EINVAL);
    ck_assert_int_eq(feed(&c, "0\r\n\r\n", 5, &used, out, sizeof(out), &made), MP_EINVAL);
    ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(test_chunked_decodes_in_place)
{
    size_t n = strlen(sample);
    char *buf = hf_dup_exact(sample, n);
    struct mp_http_chunked c;
    size_t used, made;
    mp_http_chunked_init(&c);
    ck_assert_int_eq(mp_http_chunked_decode(&c, buf, n, &used, buf, n, &made), MP_OK);
    ck_assert_uint_eq(used, n);
    hf_assert_span(buf, made, sample_body);
    free(buf);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("http_parse");
    TCase *head = tcase_create("head");
    tcase_add_test(head, test_http_simple_get);
    tcase_add_test(head, test_http_post_with_content_length);
    tcase_add_test(head, test_http_header_values_trimmed);
    tcase_add_test(head, test_http_rejects_bare_lf_in_request_line);
    tcase_add_test(head, test_http_rejects_bare_lf_in_header_lines);
    tcase_add_test(head, test_http_rejects_bare_lf_before_request_line);
    tcase_add_test(head, test_http_leading_empty_lines_skipped_and_counted);
    tcase_add_test(head, test_http_value_allows_htab_and_obs_text);
    tcase_add_test(head, test_http_head_split_at_every_offset);
    tcase_add_test(head, test_http_head_exactly_at_limit_ok_one_over_too_big);
    tcase_add_test(head, test_http_body_bytes_do_not_count_against_limit);
    tcase_add_test(head, test_http_incomplete_head_again_within_limit_too_big_past_it);
    tcase_add_test(head, test_http_max_headers_ok_one_more_too_big);
    tcase_add_test(head, test_http_rejects_obs_fold);
    tcase_add_test(head, test_http_rejects_whitespace_before_colon);
    tcase_add_test(head, test_http_rejects_bare_cr);
    tcase_add_test(head, test_http_rejects_control_chars);
    tcase_add_test(head, test_http_rejects_non_token_names);
    tcase_add_test(head, test_http_rejects_content_length_with_transfer_encoding);
    tcase_add_test(head, test_http_accepts_chunked_transfer_encoding);
    tcase_add_test(head, test_http_rejects_transfer_encoding_other_than_chunked);
    tcase_add_test(head, test_http_rejects_transfer_encoding_in_http10);
    tcase_add_test(head, test_http_rejects_differing_content_lengths);
    tcase_add_test(head, test_http_rejects_non_numeric_content_length);
    tcase_add_test(head, test_http_content_length_int64_bounds);
    tcase_add_test(head, test_http_rejects_other_versions);
    tcase_add_test(head, test_http_rejects_non_origin_form_targets);
    tcase_add_test(head, test_http_rejects_non_token_method);
    tcase_add_test(head, test_http_rejects_garbage_before_head_completes);
    tcase_add_test(head, test_http_out_untouched_on_failure);
    tcase_add_test(head, test_http_keep_alive_matrix);
    tcase_add_test(head, test_http_expect_continue);
    suite_add_tcase(s, head);

    TCase *helpers = tcase_create("helpers");
    tcase_add_test(helpers, test_http_find_header_case_insensitive);
    tcase_add_test(helpers, test_http_hop_by_hop_list);
    tcase_add_test(helpers, test_http_connection_lists_tokens);
    tcase_add_test(helpers, test_http_values_across_lines_any_case);
    tcase_add_test(helpers, test_http_values_list_elements);
    tcase_add_test(helpers, test_http_find_single_repeats_must_agree);
    suite_add_tcase(s, helpers);

    TCase *chunked = tcase_create("chunked");
    tcase_add_test(chunked, test_chunked_decodes_sample);
    tcase_add_test(chunked, test_chunked_split_at_every_offset);
    tcase_add_test(chunked, test_chunked_byte_by_byte);
    tcase_add_test(chunked, test_chunked_leaves_pipelined_bytes_unconsumed);
    tcase_add_test(chunked, test_chunked_too_big_past_out_cap);
    tcase_add_test(chunked, test_chunked_too_big_when_out_shrinks_between_calls);
    tcase_add_test(chunked, test_chunked_size_digit_cap);
    tcase_add_test(chunked, test_chunked_line_cap);
    tcase_add_test(chunked, test_chunked_trailer_section_cap);
    tcase_add_test(chunked, test_chunked_rejects_malformed);
    tcase_add_test(chunked, test_chunked_rejects_bare_lf_in_every_line);
    tcase_add_test(chunked, test_chunked_accepts_blanks_before_extension);
    tcase_add_test(chunked, test_chunked_stays_failed_after_error);
    tcase_add_test(chunked, test_chunked_decodes_in_place);
    suite_add_tcase(s, chunked);
    return s;
}
