/* libFuzzer target for core/json_scan.c: scans arbitrary bytes and, when
 * they are accepted, checks the spans the other entry points report
 * against each other. It trusts no result it can cross-check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    size_t start = 0, end = 0, s2 = 0, e2 = 0, vs = 0, ve = 0;
    int rc = mp_json_scan_value(buf, size, 0, &start, &end);
    int frc = mp_json_find_member(buf, size, "user", 4, &vs, &ve);
    if (frc != MP_EINVAL) {
        /* a valid object body is also a valid value spanning it */
        CHECK(rc == MP_OK && buf[start] == '{');
        CHECK(mp_json_skip_ws(buf, size, end) == size);
    }
    if (frc == MP_OK) {
        CHECK(vs < ve && ve < size);
        CHECK(mp_json_scan_value(buf, size, vs, &s2, &e2) == MP_OK && s2 == vs && e2 == ve);
    }
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
