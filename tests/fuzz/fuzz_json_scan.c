/* libFuzzer target for core/json/json_scan.c: scans arbitrary bytes, checks the
 * spans the entry points report against each other, and asks jansson, an
 * independent parser, whether the bytes are JSON at all, so a bug every
 * entry point shares (they share one scanner) cannot hide.
 *
 * The oracle. jansson and the scanner differ in five ways (four on
 * purpose, one a jansson bug); each is neutralized, as narrowly as it can
 * be, on a copy of the input of the same length (so every offset still
 * holds) that only jansson sees:
 * - jansson 2.14 drops a raw NUL byte it has put back after a number or a
 *   literal (stream_get takes the 0 in its one-byte buffer for "empty"),
 *   so it accepts "0\0" and "[1\0]". A raw NUL is invalid anywhere in JSON
 *   and so is 0x01, which jansson handles right: the copy has 0x01.
 * - An escaped lone surrogate ("\uD800" unpaired, "\uDC00" alone) is valid
 *   JSON text (RFC 8259 8.2) and the scanner accepts it; jansson refuses
 *   it. The copy has \uFFFD in its place.
 * - "\u0000" in a member name is valid JSON; jansson refuses a NUL in a
 *   key even with JSON_ALLOW_NUL. The copy has \u0001 for every \u0000.
 * - A number outside double's range is valid JSON (the scanner does not
 *   convert numbers); jansson refuses it ("real number overflow", and
 *   "too big integer" without JSON_DECODE_INT_AS_REAL, which is set). The
 *   copy's exponent digits are all '0'; what still overflows (an integer
 *   part of 309 digits or more) is the one class skipped: jansson stops
 *   at it, so nothing after it can be compared.
 * - Depth: the scanner refuses more than MP_JSON_MAX_DEPTH open
 *   containers, jansson more than JSON_PARSER_MAX_DEPTH (2048) values.
 *   The expected verdict is jansson's and a container depth, counted here
 *   outside strings, of at most MP_JSON_MAX_DEPTH.
 * Each rewrite keeps the input's validity: outside strings a '\' is an
 * error either way, and exponent digits have no grammar of their own.
 * Everything else (whitespace set, number grammar, literals, escapes,
 * UTF-8 table 3-7, trailing bytes, duplicate keys: last wins) must agree. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define JANSSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL)

/* Every valid string literal decodes to at most its inner length, so that
 * cap never yields MP_ETOOBIG; a tighter cap fails cleanly. */
static void check_string(const char *buf, size_t start, size_t end)
{
    size_t cap = end - start - 2, n = 0, m = 0;
    char *out = malloc(cap + 1);
    CHECK(out != NULL);
    int rc = mp_json_string_decode(buf, start, end, out, cap, &n);
    CHECK(rc == MP_OK || rc == MP_EINVAL);
    if (rc == MP_OK && n > 0) {
        CHECK(n <= cap);
        CHECK(mp_json_string_decode(buf, start, end, out, n - 1, &m) == MP_ETOOBIG);
    }
    free(out);
}

/* Walks a validated container: elements lie inside it, in order, and each
 * re-scans to the same span. */
static void check_container(const char *buf, size_t start, size_t end)
{
    int obj = buf[start] == '{';
    size_t cur = 0, ns = 0, ne = 0, a, b, prev = start + 1, s2, e2;
    int rc;
    while ((rc = mp_json_next(buf, start, end, &cur, obj ? &ns : NULL, obj ? &ne : NULL, &a, &b)) ==
           MP_OK) {
        CHECK(a >= prev && a < b && b < end);
        CHECK(mp_json_scan_value(buf, end, a, &s2, &e2) == MP_OK && s2 == a && e2 == b);
        if (obj) {
            CHECK(ns >= prev && ns < ne && ne <= a && buf[ns] == '"' && buf[ne - 1] == '"');
            check_string(buf, ns, ne);
        }
        prev = b;
    }
    CHECK(rc == MP_NOTFOUND);
}

/* ---- the jansson oracle ---- */

static long hex4(const char *s, size_t len, size_t i)
{
    long v = 0;
    if (len - i < 4)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        char c = s[i + k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* The escape at c[i] == '\\' inside a string: rewrites a lone surrogate
 * to FFFD and 0000 to 0001; returns the bytes to step over. */
static size_t neutralize_escape(char *c, size_t len, size_t i)
{
    long v = i + 1 < len && c[i + 1] == 'u' ? hex4(c, len, i + 2) : -1;
    if (v < 0)
        return 2; /* a short escape, or a bad one both parsers refuse */
    if (v >= 0xD800 && v <= 0xDBFF && len - i >= 12 && c[i + 6] == '\\' && c[i + 7] == 'u') {
        long lo = hex4(c, len, i + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF)
            return 12; /* a pair */
    }
    if (v >= 0xD800 && v <= 0xDFFF)
        memcpy(c + i + 2, "FFFD", 4);
    else if (v == 0)
        memcpy(c + i + 2, "0001", 4);
    return 6;
}

/* Rewrites c[0..len) as the header says (NUL, escapes, exponents); returns the greatest number of
 * containers open at once outside strings. */
static size_t neutralize(char *c, size_t len)
{
    size_t i = 0, depth = 0, max = 0;
    bool in_str = false, in_num = false, in_exp = false;
    while (i < len) {
        if (c[i] == '\0')
            c[i] = '\x01';
        char ch = c[i];
        if (in_str) {
            in_str = ch != '"';
            i += ch == '\\' ? neutralize_escape(c, len, i) : 1;
            continue;
        }
        in_num = (in_num && strchr("0123456789+-.eE", ch) != NULL) ||
                 (ch == '-' || (ch >= '0' && ch <= '9'));
        in_exp = in_num && (in_exp || ch == 'e' || ch == 'E');
        if (in_exp && ch >= '0' && ch <= '9')
            c[i] = '0';
        in_str = ch == '"';
        if (ch == '[' || ch == '{')
            max = ++depth > max ? depth : max;
        else if ((ch == ']' || ch == '}') && depth > 0)
            depth--;
        i++;
    }
    return max;
}

/* Spans the scanner reports hold the same values jansson sees there. */
static void check_same_value(const char *copy, size_t s, size_t e, const json_t *want)
{
    json_error_t err;
    json_t *got = json_loadb(copy + s, e - s, JANSSON_FLAGS, &err);
    CHECK(got != NULL && want != NULL && json_equal(got, want));
    json_decref(got);
}

/* The decoded string equals jansson's, or the scanner's decoder refused
 * what the rewrite changed (a lone surrogate, an escaped NUL). */
static void check_decoded(const char *buf, const char *copy, size_t s, size_t e, const json_t *want)
{
    size_t n = 0;
    char *out = malloc(e - s);
    CHECK(out != NULL);
    if (mp_json_string_decode(buf, s, e, out, e - s - 2, &n) == MP_OK)
        CHECK(n == json_string_length(want) && memcmp(out, json_string_value(want), n) == 0);
    else
        CHECK(memcmp(buf + s, copy + s, e - s) != 0);
    free(out);
}

/* mp_json_next walks what jansson parsed: array elements one by one,
 * object members by name (jansson keeps only the last duplicate). */
static void check_walk(const char *buf, const char *copy, size_t s, size_t e, const json_t *root)
{
    bool obj = json_is_object(root);
    size_t cur = 0, ns = 0, ne = 0, a, b, k = 0, n;
    char name[256];
    while (mp_json_next(buf, s, e, &cur, obj ? &ns : NULL, obj ? &ne : NULL, &a, &b) == MP_OK) {
        if (!obj) {
            check_same_value(copy, a, b, json_array_get(root, k));
        } else if (mp_json_string_decode(buf, ns, ne, name, sizeof(name), &n) == MP_OK) {
            CHECK(json_object_getn(root, name, n) != NULL);
        }
        k++;
    }
    if (!obj)
        CHECK(k == json_array_size(root));
}

static void check_oracle(const char *buf, size_t size, bool whole, size_t start, size_t end,
                         int frc, size_t vs, size_t ve)
{
    json_error_t err;
    char *copy = malloc(size + 1);
    CHECK(copy != NULL);
    if (size > 0)
        memcpy(copy, buf, size);
    size_t depth = neutralize(copy, size);
    json_t *root = json_loadb(copy, size, JANSSON_FLAGS, &err);
    if (root == NULL && json_error_code(&err) == json_error_numeric_overflow)
        goto out; /* the one class skipped, see the header */
    bool valid = root != NULL && depth <= MP_JSON_MAX_DEPTH;
    CHECK(whole == valid);
    CHECK((frc != MP_EINVAL) == (valid && json_is_object(root)));
    if (!valid)
        goto out;
    if (json_is_object(root))
        CHECK((frc == MP_OK) == (json_object_get(root, "user") != NULL));
    if (frc == MP_OK)
        check_same_value(copy, vs, ve, json_object_get(root, "user"));
    check_same_value(copy, start, end, root);
    if (json_is_string(root))
        check_decoded(buf, copy, start, end, root);
    if (json_is_array(root) || json_is_object(root))
        check_walk(buf, copy, start, end, root);
out:
    json_decref(root);
    free(copy);
}

/* mp_json_members_in over the whole input agrees with mp_json_find_member
 * (frc, vs, ve: its answer for "user") on validity and on "user", and
 * finds "model" where find_member does. */
static void check_members(const char *buf, size_t size, int frc, size_t vs, size_t ve)
{
    static const char *const keys[] = {"model", "user"};
    size_t v[2][2], ms = 0, me = 0;
    int rc = mp_json_members_in(buf, 0, size, keys, 2, v);
    CHECK((rc == MP_EINVAL) == (frc == MP_EINVAL));
    if (rc != MP_OK)
        return;
    CHECK(frc == MP_OK ? v[1][0] == vs && v[1][1] == ve : v[1][0] == 0 && v[1][1] == 0);
    int mrc = mp_json_find_member(buf, size, "model", 5, &ms, &me);
    CHECK(mrc == MP_OK ? v[0][0] == ms && v[0][1] == me : v[0][0] == 0 && v[0][1] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t start = 0, end = 0, s2 = 0, e2 = 0, vs = 0, ve = 0;
    int rc = mp_json_scan_value(buf, size, 0, &start, &end);
    int frc = mp_json_find_member(buf, size, "user", 4, &vs, &ve);
    bool whole = rc == MP_OK && mp_json_skip_ws(buf, size, end) == size;
    check_oracle(buf, size, whole, start, end, frc, vs, ve);
    if (frc != MP_EINVAL) {
        /* a valid object body is also a valid value spanning it */
        CHECK(rc == MP_OK && buf[start] == '{');
        CHECK(mp_json_skip_ws(buf, size, end) == size);
    }
    if (frc == MP_OK) {
        CHECK(vs < ve && ve < size);
        CHECK(mp_json_scan_value(buf, size, vs, &s2, &e2) == MP_OK && s2 == vs && e2 == ve);
    }
    check_members(buf, size, frc, vs, ve);
    if (rc != MP_OK)
        return 0;
    CHECK(start < end && end <= size);
    CHECK(start == mp_json_skip_ws(buf, size, 0));
    /* the span alone is the same value */
    CHECK(mp_json_scan_value(buf + start, end - start, 0, &s2, &e2) == MP_OK);
    CHECK(s2 == 0 && e2 == end - start);
    if (buf[start] == '"')
        check_string(buf, start, end);
    if (buf[start] == '[' || buf[start] == '{')
        check_container(buf, start, end);
    return 0;
}
