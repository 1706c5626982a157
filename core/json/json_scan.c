/* A validating JSON scanner that works on byte offsets: one pass, no
 * allocation, no recursion. It never builds a tree or re-serializes.
 *
 * Containers are tracked on a fixed stack of MP_JSON_MAX_DEPTH closing
 * brackets, so nesting costs one byte per level and a hostile body cannot
 * grow the C stack. Strings, which make up nearly all of a chat request,
 * are skipped eight bytes at a time (SWAR): a word is loaded and tested for
 * a quote, a backslash, a control byte or a high bit at once, and only the
 * words that hold one of those fall back to a byte loop. Non-ASCII bytes
 * are checked against Unicode table 3-7 by mp_utf8_decode, which rules out
 * overlong forms, UTF-8-encoded surrogates and code points past U+10FFFF.
 *
 * Depth counts open containers: a value of MP_JSON_MAX_DEPTH nested arrays
 * is accepted, one more is not. mp_json_find_member counts its top-level
 * object, so the whole body obeys the same limit. */
#include "json/json_scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hex.h"
#include "scan16.h"
#include "status.h"
#include "json/utf8.h"

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static size_t ws(const unsigned char *s, size_t len, size_t pos)
{
    while (pos < len && is_ws(s[pos]))
        pos++;
    return pos;
}

size_t mp_json_skip_ws(const char *buf, size_t len, size_t pos)
{
    if (pos >= len)
        return len;
    return ws((const unsigned char *)buf, len, pos);
}

/* Plain string bytes need no attention: printable ASCII but the quote and
 * the backslash. */
static bool is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* True when the word holds a byte that is not plain. Each test is exact as
 * a yes/no answer once high bytes are excluded, and a high byte answers
 * yes on its own, so there are no false negatives. */
static bool word_special(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"');
    uint64_t b = x ^ (ONES * '\\');
    uint64_t t = (x - ONES * 0x20) & ~x;
    t |= (q - ONES) & ~q;
    t |= (b - ONES) & ~b;
    return ((t | x) & HIGHS) != 0;
}

#ifdef __SSE2__
/* The bytes of the 16 at p that are not plain, one bit each (signed
 * bytes: 0x80 and above are below 0x20). */
static unsigned special16(const unsigned char *p)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i bad =
        _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    return (unsigned)_mm_movemask_epi8(bad);
}
#endif

/* 16 bytes at a time where SSE2 is (core/scan16.h); else, and for a text
 * shorter than 16, 8 at a time. */
static size_t skip_plain(const unsigned char *s, size_t len, size_t i)
{
#ifdef __SSE2__
    if (len >= 16)
        return mp_scan16(s, i, len, special16);
#endif
    while (len - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, sizeof(x));
        if (word_special(x))
            break;
        i += 8;
    }
    while (i < len && is_plain(s[i]))
        i++;
    return i;
}

size_t mp_json_plain_run(const char *s, size_t len, size_t from)
{
    return skip_plain((const unsigned char *)s, len, from);
}

/* Reads the 4 hex digits of a \u escape at s[i..i+4); -1 if malformed. */
static long hex4(const unsigned char *s, size_t len, size_t i)
{
    long v = 0;
    if (i > len || len - i < 4)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        int h = mp_hex_value(s[i + k]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Length of the escape at s[i] == '\\' as the scanner sees it (a lone
 * surrogate is valid JSON text), 0 if malformed. */
static size_t escape_len(const unsigned char *s, size_t len, size_t i)
{
    if (len - i < 2)
        return 0;
    switch (s[i + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 2;
    case 'u':
        return hex4(s, len, i + 2) < 0 ? 0 : 6;
    default:
        return 0;
    }
}

/* Scans the string literal opening at s[pos] == '"'; *end is one past its
 * closing quote, *escaped tells whether it holds any backslash. */
static int scan_string(const unsigned char *s, size_t len, size_t pos, size_t *end, bool *escaped)
{
    size_t i = pos + 1, n;
    bool esc = false;
    for (;;) {
        i = skip_plain(s, len, i);
        if (i >= len)
            return MP_EINVAL;
        if (s[i] == '"')
            break;
        if (s[i] == '\\') {
            n = escape_len(s, len, i);
            esc = true;
        } else {
            /* Not plain, not a quote or backslash: a control byte or a
             * lead byte. */
            n = s[i] < 0x80 ? 0 : mp_utf8_decode(s + i, len - i, NULL);
        }
        if (n == 0)
            return MP_EINVAL;
        i += n;
    }
    *end = i + 1;
    *escaped = esc;
    return MP_OK;
}

static size_t digits(const unsigned char *s, size_t len, size_t i)
{
    while (i < len && is_digit(s[i]))
        i++;
    return i;
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * A digit right after a leading zero is rejected here rather than left as
 * trailing bytes, so "01" is never a number followed by garbage. */
static int scan_number(const unsigned char *s, size_t len, size_t pos, size_t *end)
{
    size_t i = pos, j;
    if (s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return MP_EINVAL;
    if (s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
        return MP_EINVAL;
    i = digits(s, len, i);
    if (i < len && s[i] == '.') {
        j = digits(s, len, i + 1);
        if (j == i + 1)
            return MP_EINVAL;
        i = j;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        j = digits(s, len, i);
        if (j == i)
            return MP_EINVAL;
        i = j;
    }
    *end = i;
    return MP_OK;
}

static int scan_literal(const unsigned char *s, size_t len, size_t pos, size_t *end)
{
    const char *word = s[pos] == 't' ? "true" : s[pos] == 'f' ? "false" : "null";
    size_t n = strlen(word);
    if (len - pos < n || memcmp(s + pos, word, n) != 0)
        return MP_EINVAL;
    *end = pos + n;
    return MP_OK;
}

static int scan_scalar(const unsigned char *s, size_t len, size_t pos, size_t *end)
{
    bool esc;
    if (s[pos] == '"')
        return scan_string(s, len, pos, end, &esc);
    if (s[pos] == '-' || is_digit(s[pos]))
        return scan_number(s, len, pos, end);
    return scan_literal(s, len, pos, end);
}

/* Scans `"name" :` at s[pos]; *name_end is one past the name's closing
 * quote and *value_pos the first non-blank byte after the colon. */
static int member_head(const unsigned char *s, size_t len, size_t pos, size_t *name_end,
                       bool *escaped, size_t *value_pos)
{
    size_t i;
    if (pos >= len || s[pos] != '"')
        return MP_EINVAL;
    if (scan_string(s, len, pos, name_end, escaped) != MP_OK)
        return MP_EINVAL;
    i = ws(s, len, *name_end);
    if (i >= len || s[i] != ':')
        return MP_EINVAL;
    *value_pos = ws(s, len, i + 1);
    return MP_OK;
}

/* After a value ends at *pos: closes finished containers and consumes one
 * comma (and, inside an object, the next member's name), leaving *pos at
 * the next value. Done when *depth reaches 0. */
static int after_value(const unsigned char *s, size_t len, const unsigned char *stack,
                       size_t *depth, size_t *pos)
{
    size_t i = *pos, name_end;
    bool esc;
    while (*depth > 0) {
        i = ws(s, len, i);
        if (i >= len)
            return MP_EINVAL;
        if (s[i] == stack[*depth - 1]) {
            (*depth)--;
            i++;
            continue;
        }
        if (s[i] != ',')
            return MP_EINVAL;
        i = ws(s, len, i + 1);
        if (stack[*depth - 1] == '}')
            return member_head(s, len, i, &name_end, &esc, pos);
        *pos = i;
        return MP_OK;
    }
    *pos = i;
    return MP_OK;
}

/* Opens the container at s[*pos]; leaves *pos at its first value, or just
 * past it when it is empty. */
static int open_container(const unsigned char *s, size_t len, unsigned char *stack, size_t *depth,
                          size_t max_depth, size_t *pos)
{
    unsigned char close = s[*pos] == '[' ? ']' : '}';
    size_t i, name_end;
    bool esc;
    if (*depth >= max_depth)
        return MP_EINVAL;
    i = ws(s, len, *pos + 1);
    if (i < len && s[i] == close) {
        *pos = i + 1;
        return after_value(s, len, stack, depth, pos);
    }
    stack[(*depth)++] = close;
    if (close == '}')
        return member_head(s, len, i, &name_end, &esc, pos);
    *pos = i;
    return MP_OK;
}

/* The scanner proper: loops "read a value, then close what it finished"
 * until the outermost value is closed. */
static int scan(const unsigned char *s, size_t len, size_t pos, size_t max_depth, size_t *start,
                size_t *end)
{
    unsigned char stack[MP_JSON_MAX_DEPTH];
    size_t depth = 0, first;
    int rc;
    pos = ws(s, len, pos);
    first = pos;
    do {
        if (pos >= len)
            return MP_EINVAL;
        if (s[pos] == '[' || s[pos] == '{') {
            rc = open_container(s, len, stack, &depth, max_depth, &pos);
        } else {
            rc = scan_scalar(s, len, pos, &pos);
            if (rc == MP_OK)
                rc = after_value(s, len, stack, &depth, &pos);
        }
        if (rc != MP_OK)
            return MP_EINVAL;
    } while (depth > 0);
    *start = first;
    *end = pos;
    return MP_OK;
}

int mp_json_scan_value(const char *buf, size_t len, size_t pos, size_t *start, size_t *end)
{
    if (buf == NULL || pos > len)
        return MP_EINVAL;
    return scan((const unsigned char *)buf, len, pos, MP_JSON_MAX_DEPTH, start, end);
}

/* Reads one escape at s[i] == '\\' as a code point, joining a surrogate
 * pair; returns the bytes consumed, 0 for a lone surrogate or malformed
 * escape. The span is known to be a valid literal, but stay bounded. */
static size_t read_escape(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *p;
    long hi, lo;
    if (len - i < 2 || s[i + 1] == '\0')
        return 0;
    if (s[i + 1] != 'u') {
        p = strchr(from, s[i + 1]);
        if (p == NULL)
            return 0;
        *cp = (unsigned char)to[p - from];
        return 2;
    }
    hi = hex4(s, len, i + 2);
    if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return 0;
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = (uint32_t)hi;
        return 6;
    }
    if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u')
        return 0;
    lo = hex4(s, len, i + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
    return 12;
}

/* Compares the validated, escaped name literal s[ns..ne) with key, decoding
 * escapes on the fly. A name mp_json_string_decode would reject (lone
 * surrogate, \u0000) matches nothing. */
static bool name_equals(const unsigned char *s, size_t ns, size_t ne, bool escaped,
                        const unsigned char *key, size_t key_len)
{
    size_t i = ns + 1, stop = ne - 1, k = 0, n;
    unsigned char u[4];
    uint32_t cp;
    if (!escaped)
        return stop - i == key_len && (key_len == 0 || memcmp(s + i, key, key_len) == 0);
    while (i < stop) {
        if (s[i] != '\\') {
            if (k >= key_len || key[k] != s[i])
                return false;
            i++;
            k++;
            continue;
        }
        n = read_escape(s, stop, i, &cp);
        if (n == 0 || cp == 0)
            return false;
        i += n;
        n = mp_utf8_encode(cp, u);
        if (key_len - k < n || memcmp(key + k, u, n) != 0)
            return false;
        k += n;
    }
    return k == key_len;
}

/* A member name looked for: its bytes, unescaped. */
struct key {
    const unsigned char *p;
    size_t len;
};

/* Walks the members of the top-level object from *pos (its first name) to
 * its closing brace, left in *pos; spans[k] gets the last value of a
 * member named keys[k], found[k] whether there was one. */
static int find_in_members(const unsigned char *s, size_t len, size_t *pos, const struct key *keys,
                           size_t n, size_t (*spans)[2], bool *found)
{
    size_t i = *pos, ns, ne, vs, ve;
    bool esc;
    for (;;) {
        ns = i;
        if (member_head(s, len, ns, &ne, &esc, &i) != MP_OK)
            return MP_EINVAL;
        if (scan(s, len, i, MP_JSON_MAX_DEPTH - 1, &vs, &ve) != MP_OK)
            return MP_EINVAL;
        for (size_t k = 0; k < n; k++) {
            if (name_equals(s, ns, ne, esc, keys[k].p, keys[k].len)) {
                found[k] = true; /* keep going: the last duplicate wins */
                spans[k][0] = vs;
                spans[k][1] = ve;
                break;
            }
        }
        i = ws(s, len, ve);
        if (i < len && s[i] == '}')
            break;
        if (i >= len || s[i] != ',')
            return MP_EINVAL;
        i = ws(s, len, i + 1); /* a '}' here is a trailing comma: member_head refuses it */
    }
    *pos = i;
    return MP_OK;
}

/* Checks that buf[0..len) is one JSON object and finds its members named
 * keys[0..n) (find_in_members). */
static int find_keys(const char *buf, size_t len, const struct key *keys, size_t n,
                     size_t (*spans)[2], bool *found)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t pos;
    if (buf == NULL)
        return MP_EINVAL;
    pos = ws(s, len, 0);
    if (pos >= len || s[pos] != '{')
        return MP_EINVAL;
    pos = ws(s, len, pos + 1);
    if (pos >= len || s[pos] != '}') {
        if (find_in_members(s, len, &pos, keys, n, spans, found) != MP_OK)
            return MP_EINVAL;
    }
    return ws(s, len, pos + 1) == len ? MP_OK : MP_EINVAL;
}

int mp_json_find_member(const char *buf, size_t len, const char *key, size_t key_len,
                        size_t *val_start, size_t *val_end)
{
    size_t span[1][2] = {{0, 0}};
    bool found = false;
    struct key k = {(const unsigned char *)key, key_len};
    if (key == NULL && key_len > 0)
        return MP_EINVAL;
    if (find_keys(buf, len, &k, 1, span, &found) != MP_OK)
        return MP_EINVAL;
    if (!found)
        return MP_NOTFOUND;
    *val_start = span[0][0];
    *val_end = span[0][1];
    return MP_OK;
}

int mp_json_members_in(const char *buf, size_t start, size_t end, const char *const *keys, size_t n,
                       size_t (*spans)[2])
{
    struct key k[MP_JSON_MEMBERS_MAX] = {{NULL, 0}};
    bool found[MP_JSON_MEMBERS_MAX] = {false};
    if (n > MP_JSON_MEMBERS_MAX || buf == NULL)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++)
        k[i] = (struct key){(const unsigned char *)keys[i], strlen(keys[i])};
    memset(spans, 0, n * sizeof(*spans));
    int rc = find_keys(buf + start, end - start, k, n, spans, found);
    for (size_t i = 0; rc == MP_OK && i < n; i++) {
        if (found[i]) {
            spans[i][0] += start;
            spans[i][1] += start;
        }
    }
    return rc;
}

static int decode(const char *buf, size_t start, size_t end, char *out, size_t cap, size_t *out_len,
                  bool nul_ok);

int mp_json_string_decode(const char *buf, size_t start, size_t end, char *out, size_t cap,
                          size_t *out_len)
{
    return decode(buf, start, end, out, cap, out_len, false);
}

int mp_json_text_decode(const char *buf, size_t start, size_t end, char *out, size_t cap,
                        size_t *out_len)
{
    return decode(buf, start, end, out, cap, out_len, true);
}

/* nul_ok: an escaped NUL is U+FFFD (3 bytes, shorter than its 6-byte
 * escape: the decoded length stays bounded by the literal's). */
static int decode(const char *buf, size_t start, size_t end, char *out, size_t cap, size_t *out_len,
                  bool nul_ok)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i, stop, n = 0, e, k;
    unsigned char u[4];
    uint32_t cp;
    bool esc;
    if (buf == NULL || end < start + 2 || s[start] != '"')
        return MP_EINVAL;
    if (scan_string(s, end, start, &e, &esc) != MP_OK || e != end)
        return MP_EINVAL;
    /* Past this point the literal is well formed; only lone surrogates and
     * NUL remain to refuse. Keep counting past cap so EINVAL wins. */
    for (i = start + 1, stop = end - 1; i < stop; n += k) {
        const unsigned char *bs = memchr(s + i, '\\', stop - i);
        k = bs == NULL ? stop - i : (size_t)(bs - (s + i));
        if (k > 0) {
            if (n <= cap && cap - n >= k)
                memcpy(out + n, s + i, k);
            i += k;
            continue;
        }
        k = read_escape(s, stop, i, &cp);
        if (k == 0 || (cp == 0 && !nul_ok))
            return MP_EINVAL;
        if (cp == 0)
            cp = 0xFFFD;
        i += k;
        k = mp_utf8_encode(cp, u);
        if (n <= cap && cap - n >= k)
            memcpy(out + n, u, k);
    }
    if (n > cap)
        return MP_ETOOBIG;
    *out_len = n;
    return MP_OK;
}

/* Finds the next element after cursor inside s[start..last), where last
 * is the closing bracket; *pos is left at it, or at last when none. */
static int next_pos(const unsigned char *s, size_t start, size_t last, size_t cursor, size_t *pos)
{
    size_t i;
    if (cursor == 0) {
        *pos = ws(s, last, start + 1);
        return MP_OK;
    }
    if (cursor <= start || cursor > last)
        return MP_EINVAL;
    i = ws(s, last, cursor);
    if (i == last) {
        *pos = last;
        return MP_OK;
    }
    if (s[i] != ',')
        return MP_EINVAL;
    *pos = ws(s, last, i + 1);
    return *pos == last ? MP_EINVAL : MP_OK; /* a trailing comma */
}

int mp_json_next(const char *buf, size_t start, size_t end, size_t *cursor, size_t *name_start,
                 size_t *name_end, size_t *el_start, size_t *el_end)
{
    const unsigned char *s = (const unsigned char *)buf;
    bool obj = name_start != NULL, esc;
    size_t last, pos, ne = 0, vpos, vs, ve;
    if (buf == NULL || cursor == NULL || (obj && name_end == NULL) || end < start + 2)
        return MP_EINVAL;
    last = end - 1;
    if (s[start] != (obj ? '{' : '[') || s[last] != (obj ? '}' : ']'))
        return MP_EINVAL;
    if (next_pos(s, start, last, *cursor, &pos) != MP_OK)
        return MP_EINVAL;
    if (pos == last)
        return MP_NOTFOUND;
    vpos = pos;
    if (obj && member_head(s, last, pos, &ne, &esc, &vpos) != MP_OK)
        return MP_EINVAL;
    if (scan(s, last, vpos, MP_JSON_MAX_DEPTH, &vs, &ve) != MP_OK)
        return MP_EINVAL;
    if (obj) {
        *name_start = pos;
        *name_end = ne;
    }
    *el_start = vs;
    *el_end = ve;
    *cursor = ve;
    return MP_OK;
}

int mp_json_member_in(const char *buf, size_t start, size_t end, const char *key, size_t *val_start,
                      size_t *val_end)
{
    size_t vs, ve;
    int rc = mp_json_find_member(buf + start, end - start, key, strlen(key), &vs, &ve);
    if (rc == MP_OK) {
        *val_start = start + vs;
        *val_end = start + ve;
    }
    return rc;
}

bool mp_json_span_is(const char *buf, size_t s, size_t e, const char *lit)
{
    size_t n = strlen(lit);
    return e - s == n && memcmp(buf + s, lit, n) == 0;
}
