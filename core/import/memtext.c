/* An "import memory" text into imported facts (memtext.h): a line at a
 * time, its list marker and emphasis stripped, its key derived from its
 * words and a hash of its text. */
#include "import/memtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv1a.h"
#include "import/importjson.h"
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

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Whether the "__" at p[i] opens emphasis: a later "__" (before any
 * backtick) closes it around text with a blank in it ("__Work context__");
 * a code word's underscores ("__init__", "my__var") are no emphasis.
 * *close: where the closing pair is. */
static bool under_pair(const char *p, size_t n, size_t i, size_t *close)
{
    bool blank = false;
    for (size_t j = i + 2; j + 1 < n && p[j] != '`'; j++) {
        if (p[j] == '_' && p[j + 1] == '_') {
            *close = blank ? j : *close;
            return blank;
        }
        blank = blank || is_blank(p[j]);
    }
    return false;
}

/* The value of a line: backticks dropped (what they quote kept as it is),
 * emphasis ("**", "__" around words) dropped, tabs as spaces, blanks
 * trimmed, into out (room for n + 1 bytes). */
static size_t clean(const char *p, size_t n, char *out)
{
    size_t m = 0, drop = n;
    bool code = false;
    for (size_t i = 0; i < n; i++) {
        bool pair = i + 1 < n && p[i + 1] == p[i];
        if (p[i] == '`') {
            code = !code;
            continue;
        }
        if (!code && p[i] == '*' && pair) {
            i++;
            continue;
        }
        if (!code && p[i] == '_' && pair && (i == drop || under_pair(p, n, i, &drop))) {
            i++;
            continue;
        }
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

/* Whether the cleaned line v[0..n) is the assistant speaking to the user
 * rather than something about them: a greeting, an introduction, an
 * offer or a question ("Let me know if you'd like me to update or forget
 * any of this!"). Its first words, ASCII case folded, ’ as '. */
static bool assistant_words(const char *v, size_t n)
{
    static const char openers[] =
        "hi|hello|hey|sure|of course|certainly|absolutely|great question|here is|here's|"
        "here are|below is|below are|let me know|just let me know|please let me know|"
        "feel free|if you'd like|if you would like|if you want|would you like|do you want|"
        "i hope|hope this helps|is there anything|anything else|i can update|i can also|"
        "i can forget|i'll keep|i will keep|happy to help";
    char low[48];
    size_t k = 0;
    if (n > 0 && v[n - 1] == '?')
        return true;
    for (size_t i = 0; i < n && k < sizeof(low) - 1; i++) {
        bool curly = prefix(v + i, n - i, "\xe2\x80\x99"); /* ’ */
        low[k++] = curly ? '\'' : lower(v[i]);
        i += curly ? 2 : 0;
    }
    for (const char *o = openers; *o != '\0';) {
        const char *bar = strchr(o, '|');
        size_t w = bar != NULL ? (size_t)(bar - o) : strlen(o);
        if (w <= k && memcmp(low, o, w) == 0 &&
            (w == k || !(alnum(low[w]) || low[w] == '\'' || low[w] == '_')))
            return true;
        o += w + (bar != NULL);
    }
    return false;
}

/* A line that is bold or underlined whole, with no list marker: a group's
 * name ("**Work context**", Claude's memory). */
static bool whole_emphasis(const char *p, size_t n)
{
    return n > 4 && ((prefix(p, n, "**") && p[n - 1] == '*' && p[n - 2] == '*') ||
                     (prefix(p, n, "__") && p[n - 1] == '_' && p[n - 2] == '_'));
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
    if (is_heading(p, n) || is_heading(p + mk, n - mk) || (mk == 0 && whole_emphasis(p, n))) {
        b->skipped[MP_IMPORT_SKIP_HEADING]++;
        return MP_OK;
    }
    char *v = malloc(n - mk + 1);
    if (v == NULL)
        return MP_ENOMEM;
    size_t vn = clean(p + mk, n - mk, v);
    enum mp_import_skip why = vn == 0                  ? MP_IMPORT_SKIP_EMPTY
                              : v[vn - 1] == ':'       ? MP_IMPORT_SKIP_HEADING
                              : assistant_words(v, vn) ? MP_IMPORT_SKIP_ASSISTANT
                                                       : MP_IMPORT_SKIP_COUNT;
    if (why != MP_IMPORT_SKIP_COUNT) {
        free(v);
        b->skipped[why]++;
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
    for (size_t at = mp_importjson_bom(buf, len); at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (buf + at)) : len - at;
        int rc = read_line(buf + at, n, ++line, now_ms, out, err);
        if (rc != MP_OK)
            return rc;
        at += n + 1;
    }
    return MP_OK;
}
