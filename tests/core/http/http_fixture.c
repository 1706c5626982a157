/* Helpers shared by the HTTP suites; see http_fixture.h. */
#include "http_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define CASES(a)                                                                                   \
    {                                                                                              \
        a, sizeof(a) / sizeof(a[0])                                                                \
    }

static const char *const obs_fold[] = {"A: b\r\n c\r\n", "A: b\r\n\tc\r\n", " A: b\r\n"};
const struct hf_cases hf_fields_obs_fold = CASES(obs_fold);

static const char *const blank_before_colon[] = {"Content-Length : 5\r\n", "Host\t: a\r\n"};
const struct hf_cases hf_fields_blank_before_colon = CASES(blank_before_colon);

static const char *const bad_names[] = {": empty\r\n", "NoColon\r\n", "A(b): c\r\n", "A/b: c\r\n",
                                        "\xc3\xa9: c\r\n"};
const struct hf_cases hf_fields_bad_names = CASES(bad_names);

static const char *const bare_cr[] = {"A: b\rc\r\n", "A: b\rB: c\r\n", "A: b\r\n\r\r\n"};
const struct hf_cases hf_fields_bare_cr = CASES(bare_cr);

static const char *const controls[] = {"A: b\x7f\r\n", "A: b\x1b[0m\r\n", "A\x01: b\r\n"};
const struct hf_cases hf_fields_controls = CASES(controls);

static const char *const bad_lengths[] = {"",     "+5",  "-1",  "5 5", "0x10", "5,5",
                                          "5, 5", "1.0", "abc", "1e3", "5;"};
const struct hf_cases hf_bad_lengths = CASES(bad_lengths);

static const char *const bad_codings[] = {
    "gzip",        "chunked, gzip", "gzip, chunked", "identity",  "chunkedx",
    "chunked;q=1", "chunked,",      "chunked , ",    "x-chunked", ""};
const struct hf_cases hf_bad_codings = CASES(bad_codings);

static const char *const chunked_malformed[] = {
    "5\r\nhelloX\r\n0\r\n\r\n", /* data not followed by CRLF */
    "5\r\nhello\rX0\r\n\r\n",   /* CR without LF after data */
    "g\r\n",                    /* not hex */
    "\r\n",                     /* empty size line */
    "-5\r\n",
    "+5\r\n",
    "0x5\r\n",
    " 5\r\n",
    "5\rX",                 /* bare CR on the size line */
    "5 \r\n",               /* blanks without an extension */
    "5;a\x01\r\n",          /* control byte in an extension */
    "0\r\nA: b\rc\r\n\r\n", /* bare CR in a trailer */
    "0\r\n folded\r\n\r\n", /* obs-fold in the trailers */
    "0\r\nA: b\r\n\rX",     /* final CR without LF */
    "0\r\nA: \x7f\r\n\r\n", /* control byte in a trailer */
};
const struct hf_cases hf_chunked_malformed = CASES(chunked_malformed);

static const char *const chunked_bare_lf[] = {
    "5\nhello\r\n0\r\n\r\n",     /* size line */
    "5;ext\nhello\r\n0\r\n\r\n", /* size line with an extension */
    "5\r\nhello\n0\r\n\r\n",     /* after the data */
    "5\r\nhello\r\n0\n\r\n",     /* last-chunk line */
    "0\r\nA: b\n\r\n",           /* trailer line */
    "0\r\n\n",                   /* final empty line */
};
const struct hf_cases hf_chunked_bare_lf = CASES(chunked_bare_lf);

char *hf_dup_exact(const char *s, size_t n)
{
    char *p = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(p);
    if (n > 0)
        memcpy(p, s, n);
    return p;
}

void hf_assert_span(const char *p, size_t n, const char *want)
{
    ck_assert_msg(n == strlen(want) && memcmp(p, want, n) == 0, "got '%.*s', want '%s'", (int)n, p,
                  want);
}

void hf_assert_field(const struct mp_http_header *fields, size_t num, size_t i, const char *name,
                     const char *value)
{
    ck_assert_uint_lt(i, num);
    hf_assert_span(fields[i].name, fields[i].name_len, name);
    hf_assert_span(fields[i].value, fields[i].value_len, value);
}

void hf_assert_fields_refused(int (*parse_rc)(const char *head), const char *start,
                              const struct hf_cases *lines)
{
    char head[256];
    for (size_t i = 0; i < lines->n; i++) {
        int n = snprintf(head, sizeof(head), "%s%s\r\n", start, lines->v[i]);
        ck_assert(n > 0 && (size_t)n < sizeof(head));
        ck_assert_msg(parse_rc(head) == MP_EINVAL, "accepted '%s'", lines->v[i]);
    }
}

void hf_assert_values_refused(int (*parse_rc)(const char *head), const char *start,
                              const char *name, const struct hf_cases *values)
{
    char head[256];
    for (size_t i = 0; i < values->n; i++) {
        int n = snprintf(head, sizeof(head), "%s%s: %s\r\n\r\n", start, name, values->v[i]);
        ck_assert(n > 0 && (size_t)n < sizeof(head));
        ck_assert_msg(parse_rc(head) == MP_EINVAL, "accepted %s: '%s'", name, values->v[i]);
    }
}

size_t hf_build_fields(char *buf, size_t cap, const char *start, int count)
{
    size_t n = (size_t)snprintf(buf, cap, "%s", start);
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(buf + n, cap - n, "X-H%d: v%d\r\n", i, i);
    n += (size_t)snprintf(buf + n, cap - n, "\r\n");
    ck_assert_uint_lt(n, cap);
    return n;
}

void hf_assert_chunked_refused(hf_decode_fn decode, const struct hf_cases *bodies)
{
    for (size_t i = 0; i < bodies->n; i++) {
        int rc = decode(bodies->v[i], strlen(bodies->v[i]));
        ck_assert_msg(rc == MP_EINVAL, "case %zu: rc %d", i, rc);
    }
}

/* A valid chunked body whose size line ("1;aaa...") or, with trailer, whose
 * one trailer line ("X:aaa...") is line_len >= 2 bytes without its CRLF,
 * decoded. */
static int decode_long_line(hf_decode_fn decode, size_t line_len, bool trailer)
{
    char *in = malloc(line_len + 16);
    size_t n;
    ck_assert_ptr_nonnull(in);
    if (trailer) {
        memcpy(in, "0\r\nX:", 5);
        memset(in + 5, 'a', line_len - 2);
        memcpy(in + 3 + line_len, "\r\n\r\n", 4);
        n = 3 + line_len + 4;
    } else {
        memcpy(in, "1;", 2);
        memset(in + 2, 'a', line_len - 2);
        memcpy(in + line_len, "\r\nz\r\n0\r\n\r\n", 10);
        n = line_len + 10;
    }
    int rc = decode(in, n);
    free(in);
    return rc;
}

void hf_assert_chunked_line_caps(hf_decode_fn decode)
{
    ck_assert_int_eq(decode_long_line(decode, 4096, false), MP_OK);
    ck_assert_int_eq(decode_long_line(decode, 4097, false), MP_EINVAL);
    ck_assert_int_eq(decode_long_line(decode, 4096, true), MP_OK);
    ck_assert_int_eq(decode_long_line(decode, 4097, true), MP_EINVAL);
}

/* The last chunk and lines trailer lines of 4002 bytes each, then the
 * final CRLF, decoded. */
static int decode_trailers(hf_decode_fn decode, int lines)
{
    char *in = malloc(5 + (size_t)lines * 4002);
    size_t k = 3;
    ck_assert_ptr_nonnull(in);
    memcpy(in, "0\r\n", 3);
    for (int i = 0; i < lines; i++, k += 4002) {
        memcpy(in + k, "X:", 2);
        memset(in + k + 2, 'a', 3998);
        memcpy(in + k + 4000, "\r\n", 2);
    }
    memcpy(in + k, "\r\n", 2);
    int rc = decode(in, k + 2);
    free(in);
    return rc;
}

void hf_assert_chunked_trailer_cap(hf_decode_fn decode)
{
    ck_assert_int_eq(decode_trailers(decode, 4), MP_OK);
    ck_assert_int_eq(decode_trailers(decode, 5), MP_EINVAL);
}
