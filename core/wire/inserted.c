/* Inserted context: the pattern file and the user's remainder (see
 * inserted.h). Markers are literal bytes found with mp_find_bytes, so a
 * text costs a few linear passes per pattern whatever it holds. */
#include "wire/inserted.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "findbytes.h"
#include "config/patfile.h"
#include "status.h"

static const char *const client_names[MP_INSERTED_CLIENTS] = {
    "open_webui", "claude_code", "cline",  "roo_code", "lobechat",
    "continue",   "librechat",   "cursor", "other"};

/* conf/inserted-context.conf's active lines (test_inserted compares). */
const char mp_inserted_default_patterns[] =
    "open_webui anywhere ### Task:\\nRespond to the user query using the provided context ... "
    "</user_query>\n"
    "open_webui anywhere ### Task:\\nRespond to the user query using the provided context ... "
    "</context>\n"
    "claude_code anywhere <system-reminder> ... </system-reminder>\n"
    "cline anywhere <environment_details> ... </environment_details>\n"
    "cline anywhere <file_content path=\" ... </file_content>\n"
    "cline anywhere <folder_content path=\" ... </folder_content>\n"
    "cline anywhere <url_content url=\" ... </url_content>\n"
    "cline anywhere <workspace_diagnostics> ... </workspace_diagnostics>\n"
    "cline anywhere <terminal_output> ... </terminal_output>\n"
    "cline anywhere <git_working_state> ... </git_working_state>\n"
    "cline anywhere <git_commit hash=\" ... </git_commit>\n"
    "roo_code anywhere <command name=\" ... </command>\n"
    "lobechat anywhere <files_info> ... </files_info>\n";

const char *mp_inserted_client_name(int client)
{
    return client >= 0 && client < MP_INSERTED_CLIENTS ? client_names[client]
                                                       : client_names[MP_INSERTED_OTHER];
}

enum mp_inserted_client mp_inserted_client_of(const char *name, size_t len)
{
    for (int c = 0; c < MP_INSERTED_OTHER; c++) {
        const char *k = client_names[c];
        size_t i = 0;
        while (i < len && k[i] != '\0') {
            char a = name[i] == '-' ? '_' : name[i];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (a != k[i])
                break;
            i++;
        }
        if (i == len && k[i] == '\0')
            return (enum mp_inserted_client)c;
    }
    return MP_INSERTED_OTHER;
}

/* ---- the pattern file ---- */

static bool is_white(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Unescapes marker s[0..n) into out (MP_INSERTED_MARKER_MAX bytes), its
 * length to *olen. NULL, or why it is not a marker. */
static const char *take_marker(const char *s, size_t n, char *out, uint8_t *olen)
{
    size_t w = 0;
    const char *why = mp_patfile_unescape(s, n, out, MP_INSERTED_MARKER_MAX, &w);
    if (why != NULL)
        return strcmp(why, "too long") == 0 ? "marker longer than 120 bytes" : why;
    if (w < MP_INSERTED_MARKER_MIN)
        return "marker shorter than 3 bytes";
    *olen = (uint8_t)w;
    return NULL;
}

/* One pattern line (patfile.h) into the next of ctx's patterns. */
static const char *parse_line(void *ctx, const char *line, size_t len)
{
    static const char sep[] = " ... ";
    struct mp_inserted_patterns *out = ctx;
    struct mp_inserted_pattern *p = &out->items[out->n];
    const char *client, *place;
    size_t pos = 0;
    if (out->n == MP_INSERTED_PATTERNS_MAX)
        return "more than 64 patterns";
    size_t clen = mp_patfile_word(line, len, &pos, &client);
    size_t plen = mp_patfile_word(line, len, &pos, &place);
    while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
        pos++;
    const char *s = pos < len ? memmem(line + pos, len - pos, sep, sizeof(sep) - 1) : NULL;
    if (plen == 0 || s == NULL)
        return "expected <client> <place> <open> ... <close>";
    if (plen == 8 && memcmp(place, "anywhere", 8) == 0)
        p->place = MP_INSERTED_ANYWHERE;
    else if (plen == 4 && memcmp(place, "lead", 4) == 0)
        p->place = MP_INSERTED_LEAD;
    else
        return "place must be anywhere or lead";
    p->client = (uint8_t)mp_inserted_client_of(client, clen);
    size_t at = (size_t)(s - line), after = at + sizeof(sep) - 1;
    const char *why = take_marker(line + pos, at - pos, p->open, &p->open_len);
    if (why == NULL)
        why = take_marker(line + after, len - after, p->close, &p->close_len);
    if (why == NULL)
        out->n++;
    return why;
}

/* ---- the prefilter ---- */

/* A byte JSON writes as itself or as \u00XX, never as a short escape
 * ('"', '\\', '/' and controls have those; non-ASCII bytes are parts of
 * characters that may come as \uXXXX). */
static bool opens_plain(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '/';
}

/* A byte no JSON encoder escapes (Go's escapes <, > and &, PHP's options
 * ' and " too): safe to look for as itself past a key's first byte. */
static bool never_escaped(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("#-_:.!?@$%*()[]{},;|~^ ", c) != NULL);
}

/* p's keys (inserted.h): one per first byte of an opening marker, the
 * longest prefix all markers with that byte share. None when a marker
 * opens with a byte JSON may spell otherwise. */
static void derive_keys(struct mp_inserted_patterns *p)
{
    p->nkeys = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        const struct mp_inserted_pattern *pat = &p->items[i];
        if (!opens_plain((unsigned char)pat->open[0])) {
            p->nkeys = 0;
            return;
        }
        uint32_t k = 0;
        while (k < p->nkeys && p->keys[k].b[0] != pat->open[0])
            k++;
        struct mp_inserted_key *key = &p->keys[k];
        if (k == p->nkeys) { /* a new first byte: the marker's plain prefix */
            p->nkeys++;
            key->b[0] = pat->open[0];
            key->len = 1;
            while (key->len < MP_INSERTED_KEY_MAX && key->len < pat->open_len &&
                   never_escaped((unsigned char)pat->open[key->len])) {
                key->b[key->len] = pat->open[key->len];
                key->len++;
            }
            continue;
        }
        uint8_t n = 1; /* shared with the markers before */
        while (n < key->len && n < pat->open_len && key->b[n] == pat->open[n])
            n++;
        key->len = n;
    }
}

int mp_inserted_parse(const char *text, size_t len, struct mp_inserted_patterns *out,
                      unsigned *line, const char **why)
{
    memset(out, 0, sizeof(*out));
    int rc = mp_patfile_each(text, len, parse_line, out, line, why);
    derive_keys(out);
    return rc;
}

/* ---- the remainder ---- */

/* One pattern over text[0..len) in place: the new length, the blocks
 * removed added to *blocks. One forward pass: r reads, w writes. */
static size_t strip_one(const struct mp_inserted_pattern *p, char *text, size_t len,
                        uint32_t *blocks)
{
    size_t r = 0, w = 0;
    for (;;) {
        const char *o = r < len ? mp_find_bytes(text + r, len - r, p->open, p->open_len) : NULL;
        if (o == NULL)
            break;
        size_t start = (size_t)(o - text), from = start + p->open_len;
        if (p->place == MP_INSERTED_LEAD) {
            size_t i = r;
            while (i < start && is_white(text[i]))
                i++;
            if (i < start)
                break; /* not at the start: the user's text comes first */
        }
        const char *c = mp_find_bytes(text + from, len - from, p->close, p->close_len);
        if (c == NULL)
            break; /* no close after it: the rest stays */
        size_t end = (size_t)(c - text) + p->close_len;
        while (end < len && is_white(text[end]))
            end++;
        if (p->place == MP_INSERTED_ANYWHERE) {
            memmove(text + w, text + r, start - r);
            w += start - r;
        }
        r = end;
        (*blocks)++;
    }
    memmove(text + w, text + r, len - r);
    return w + len - r;
}

size_t mp_inserted_strip(const struct mp_inserted_patterns *p, char *text, size_t len,
                         struct mp_inserted_count *count)
{
    uint32_t total = 0;
    for (uint32_t i = 0; p != NULL && i < p->n; i++) {
        uint32_t blocks = 0;
        len = strip_one(&p->items[i], text, len, &blocks);
        total += blocks;
        if (count != NULL)
            count->blocks[p->items[i].client < MP_INSERTED_CLIENTS ? p->items[i].client
                                                                   : MP_INSERTED_OTHER] += blocks;
    }
    if (count != NULL)
        count->total += total;
    if (total == 0)
        return len;
    size_t s = 0;
    while (s < len && is_white(text[s]))
        s++;
    while (len > s && is_white(text[len - 1]))
        len--;
    memmove(text, text + s, len - s);
    return len - s;
}
