/* OpenAI-shaped error bodies and the JSON string escaping they (and log
 * lines) use. Formatting only: no HTTP status, no allocation. */
#include "errbody.h"

#include "json_scan.h"

#include <stdbool.h>
#include <string.h>

#include "utf8.h"

/* U+FFFD, written for each maximal ill-formed subsequence (the Unicode
 * "substitution of maximal subparts" practice). */
static const char replacement[] = "\xEF\xBF\xBD";

/* Escape for one byte below 0x80, in esc; returns its length (1: as is). */
static size_t escape_ascii(unsigned char c, char esc[7])
{
    static const char hex[] = "0123456789abcdef";
    const char *named = NULL;

    switch (c) {
    case '"':
        named = "\\\"";
        break;
    case '\\':
        named = "\\\\";
        break;
    case '\n':
        named = "\\n";
        break;
    case '\r':
        named = "\\r";
        break;
    case '\t':
        named = "\\t";
        break;
    case '\b':
        named = "\\b";
        break;
    case '\f':
        named = "\\f";
        break;
    default:
        break;
    }
    if (named != NULL) {
        memcpy(esc, named, 3);
        return 2;
    }
    if (c >= 0x20) {
        esc[0] = (char)c;
        return 1;
    }
    memcpy(esc, "\\u00", 4);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xF];
    return 6;
}

/* What one step of the escaper writes: a pointer to the bytes and their
 * length, and how many input bytes it consumed. */
static size_t escape_step(const unsigned char *s, size_t n, char esc[7], const char **put,
                          size_t *put_len)
{
    if (s[0] < 0x80) {
        *put_len = escape_ascii(s[0], esc);
        *put = esc;
        return 1;
    }
    size_t ok = mp_utf8_decode(s, n, NULL);
    if (ok != 0) {
        *put = (const char *)s;
        *put_len = ok;
        return ok;
    }
    *put = replacement;
    *put_len = sizeof(replacement) - 1;
    return mp_utf8_ill_formed_len(s, n);
}

size_t mp_json_escape(char *out, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0;
    size_t n = 0;

    while (i < len) {
        char esc[7];
        const char *put;
        size_t put_len;
        size_t plain = mp_json_plain_run(src, len, i);
        if (plain > i) { /* a run JSON carries as is: copy it whole */
            if (plain - i > cap - n)
                return (size_t)-1;
            memcpy(out + n, src + i, plain - i);
            n += plain - i;
            i = plain;
            continue;
        }
        i += escape_step(s + i, len - i, esc, &put, &put_len);
        if (put_len > cap - n)
            return (size_t)-1;
        memcpy(out + n, put, put_len);
        n += put_len;
    }
    return n;
}

/* Appends to out[0..cap) at *n; false once something did not fit. */
struct writer {
    char *out;
    size_t cap;
    size_t n;
    bool full;
};

static void put_raw(struct writer *w, const char *s)
{
    size_t len = strlen(s);
    if (w->full || len > w->cap - w->n) {
        w->full = true;
        return;
    }
    memcpy(w->out + w->n, s, len);
    w->n += len;
}

/* A quoted, escaped string; NULL is written as the empty string. */
static void put_string(struct writer *w, const char *s)
{
    put_raw(w, "\"");
    if (w->full)
        return;
    size_t len = s != NULL ? strlen(s) : 0;
    size_t done = mp_json_escape(w->out + w->n, w->cap - w->n, s != NULL ? s : "", len);
    if (done == (size_t)-1) {
        w->full = true;
        return;
    }
    w->n += done;
    put_raw(w, "\"");
}

size_t mp_errbody_format(char *out, size_t cap, const char *message, const char *type,
                         const char *code)
{
    struct writer w = {out, cap, 0, false};

    put_raw(&w, "{\"error\":{\"message\":");
    put_string(&w, message);
    put_raw(&w, ",\"type\":");
    put_string(&w, type);
    put_raw(&w, ",\"param\":null,\"code\":");
    if (code != NULL)
        put_string(&w, code);
    else
        put_raw(&w, "null");
    put_raw(&w, "}}");
    if (w.full || w.n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return 0;
    }
    out[w.n] = '\0';
    return w.n;
}
