/* An "import memory" text into imported facts (memtext.h): a line at a
 * time, its list marker and emphasis stripped, its key derived from its
 * words and a hash of its text. */
#include "import/memtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "status.h"
#include "json/utf8.h"

#define SLUG_MAX   40 /* "mem_" and the words, bytes */
#define SLUG_WORDS 5

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool prefix(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

/* The length of the list marker at p[0..n), blank after it included; 0:
 * none. */
static size_t marker_len(const char *p, size_t n)
{
    static const char *const bullets[] = {
        "-", "*", "+", "\xe2\x80\xa2", "\xc2\xb7", "\xe2\x80\x93", "\xe2\x80\x94"};
    size_t k = 0;
    for (size_t i = 0; i < sizeof(bullets) / sizeof(bullets[0]) && k == 0; i++)
        if (prefix(p, n, bullets[i]))
            k = strlen(bullets[i]);
    if (k == 0 && n > 0 && p[0] == '(') { /* (1) */
        size_t d = 1;
        while (d < n && d < 4 && p[d] >= '0' && p[d] <= '9')
            d++;
        k = d > 1 && d < n && p[d] == ')' ? d + 1 : 0;
    } else if (k == 0) { /* 1. 1) a. a) */
        size_t d = 0;
        while (d < n && d < 3 && p[d] >= '0' && p[d] <= '9')
            d++;
        if (d == 0 && n > 0 && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')))
            d = 1;
        k = d > 0 && d < n && (p[d] == '.' || p[d] == ')') ? d + 1 : 0;
    }
    if (k == 0 || k >= n || !is_blank(p[k]))
        return 0;
    while (k < n && is_blank(p[k]))
        k++;
    if (prefix(p + k, n - k, "[ ] ") || prefix(p + k, n - k, "[x] ") ||
        prefix(p + k, n - k, "[X] "))
        k += 4;
    return k;
}

/* Whether the line (trimmed, marker kept) is a heading or a rule. */
static bool is_heading(const char *p, size_t n)
{
    return (n > 0 && p[0] == '#') || prefix(p, n, "```") || prefix(p, n, "---") ||
           prefix(p, n, "***") || prefix(p, n, "___") || (n > 0 && p[n - 1] == ':');
}

/* Whether p[0..n) is UTF-8 without control characters (tabs aside). */
static bool text_ok(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t k = mp_utf8_decode((const unsigned char *)p + i, n - i, &cp);
        if (k == 0 || (cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0))
            return false;
        i += k;
    }
    return true;
}

/* The value of a line: emphasis and backticks dropped, tabs as spaces,
 * blanks trimmed, into out (room for n + 1 bytes). */
static size_t clean(const char *p, size_t n, char *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if ((p[i] == '*' || p[i] == '_') && i + 1 < n && p[i + 1] == p[i]) {
            i++;
            continue;
        }
        if (p[i] == '`')
            continue;
        out[m++] = p[i] == '\t' ? ' ' : p[i];
    }
    size_t a = 0;
    while (a < m && out[a] == ' ')
        a++;
    while (m > a && out[m - 1] == ' ')
        m--;
    memmove(out, out + a, m - a);
    out[m - a] = '\0';
    return m - a;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* FNV-1a 64 of v lower-cased, runs of blanks as one space. */
static uint64_t text_hash(const char *v, size_t n)
{
    uint64_t h = MP_FNV1A64_BASIS;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        if (is_blank(v[i]) || v[i] == '\n' || v[i] == '\r') {
            space = true;
            continue;
        }
        if (space)
            h = mp_fnv1a64(h, " ", 1);
        space = false;
        char c = lower(v[i]);
        h = mp_fnv1a64(h, &c, 1);
    }
    return h;
}

void mp_memtext_key(const char *v, size_t n, char key[MP_ENTITY_KEY_MAX + 1])
{
    size_t k = 4, words = 0;
    memcpy(key, "mem_", 4);
    for (size_t i = 0; i < n && words < SLUG_WORDS;) {
        while (i < n && !alnum(v[i]))
            i++;
        size_t w = i;
        while (w < n && alnum(v[w]))
            w++;
        if (w == i || k + (w - i) + (words > 0) > SLUG_MAX)
            break;
        if (words > 0)
            key[k++] = '_';
        for (; i < w; i++)
            key[k++] = lower(v[i]);
        words++;
    }
    uint64_t h = text_hash(v, n);
    if (words > 0)
        snprintf(key + k, MP_ENTITY_KEY_MAX + 1 - k, "_%08x", (unsigned)(h & 0xffffffffu));
    else
        snprintf(key + k, MP_ENTITY_KEY_MAX + 1 - k, "%016llx", (unsigned long long)h);
}

/* One line p[0..n) (no '\n'): a fact, a heading or nothing. */
static int read_line(const char *p, size_t n, size_t line, int64_t now_ms,
                     struct mp_import_batch *b, struct mp_import_error *err)
{
    while (n > 0 && (p[n - 1] == '\r' || is_blank(p[n - 1])))
        n--;
    while (n > 0 && is_blank(p[0])) {
        p++;
        n--;
    }
    if (!text_ok(p, n)) {
        err->line = line;
        err->why = "not UTF-8 text";
        return MP_EINVAL;
    }
    if (n == 0)
        return MP_OK;
    size_t mk = is_heading(p, n) ? 0 : marker_len(p, n);
    if (is_heading(p, n) || is_heading(p + mk, n - mk)) {
        b->skipped[MP_IMPORT_SKIP_HEADING]++;
        return MP_OK;
    }
    char *v = malloc(n - mk + 1);
    if (v == NULL)
        return MP_ENOMEM;
    size_t vn = clean(p + mk, n - mk, v);
    if (vn == 0) {
        free(v);
        b->skipped[MP_IMPORT_SKIP_EMPTY]++;
        return MP_OK;
    }
    struct mp_import_item it = {.type = MP_IMPORT_FACT,
                                .line = line,
                                .confidence = 1.0,
                                .trust = MP_TRUST_IMPORTED,
                                .at_ms = now_ms,
                                .text = v};
    it.text_len = vn > MP_ENTITY_VALUE_MAX ? mp_utf8_cut_marked(v, vn, MP_ENTITY_VALUE_MAX) : vn;
    v[it.text_len] = '\0';
    mp_memtext_key(v, it.text_len, it.key);
    snprintf(it.id, sizeof(it.id), "memory-text:%s", it.key);
    it.has_id = true;
    return mp_importitem_push(b, &it);
}

int mp_memtext_read(const char *buf, size_t len, int64_t now_ms, struct mp_import_batch *out,
                    struct mp_import_error *err)
{
    size_t line = 0;
    memset(err, 0, sizeof(*err));
    if (prefix(buf, len, "\xef\xbb\xbf")) {
        buf += 3;
        len -= 3;
    }
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (buf + at)) : len - at;
        int rc = read_line(buf + at, n, ++line, now_ms, out, err);
        if (rc != MP_OK)
            return rc;
        at += n + 1;
    }
    return MP_OK;
}
