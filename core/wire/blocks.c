/* The blocks of a user message's text part (see blocks.h).
 *
 * One walk over the lines: at each line that opens a tag, the block runs
 * to the first line-ending close of the same name; a heading that names a
 * file, met right before such a block or a fence, joins it. What lies
 * between is words. Nothing here decides whose a block is: a <task>
 * block is Cline's wrapper of the user's own words, an <environment>
 * block a client's; ownwords.c weighs the kind with where the block sits. */
#include "wire/blocks.h"

#include <stdbool.h>
#include <string.h>

#include "findbytes.h"
#include "fnv1a.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* The end of the line that starts at i (the '\n', or len). */
static size_t line_end(const char *t, size_t len, size_t i)
{
    const char *nl = memchr(t + i, '\n', len - i);
    return nl != NULL ? (size_t)(nl - t) : len;
}

/* The line's bounds [*s, *e) without the blanks at either end. */
static void trim(const char *t, size_t *s, size_t *e)
{
    while (*s < *e && is_blank(t[*s]))
        (*s)++;
    while (*e > *s && is_blank(t[*e - 1]))
        (*e)--;
}

/* Whether t[at..) after spaces or tabs is a line's end. */
static bool ends_line(const char *t, size_t len, size_t at)
{
    while (at < len && (t[at] == ' ' || t[at] == '\t' || t[at] == '\r'))
        at++;
    return at == len || t[at] == '\n';
}

/* An opening tag at t[i] ('<'): its name's span into *ns, *nn and the
 * index past its '>' into *past. false when t[i..) opens no tag on this
 * line (a closing tag, a comment, no name, no '>' before the line ends, a
 * self-closing tag). */
static bool opening_tag(const char *t, size_t len, size_t i, size_t *ns, size_t *nn, size_t *past)
{
    size_t j = i + 1;
    if (j >= len || !is_alpha(t[j]))
        return false;
    while (j < len && is_name_char(t[j]) && j - i - 1 < MP_BLOCK_NAME_MAX)
        j++;
    if (j < len && is_name_char(t[j]))
        return false; /* a name too long to be a tag's */
    *ns = i + 1;
    *nn = j - i - 1;
    size_t end = line_end(t, len, j);
    if (j < len && t[j] != '>' && t[j] != ' ' && t[j] != '\t')
        return false;
    const char *gt = memchr(t + j, '>', end - j);
    if (gt == NULL || gt[-1] == '/')
        return false;
    *past = (size_t)(gt - t) + 1;
    return true;
}

/* The end of the tagged block whose name is t[ns..ns+nn), looked for from
 * `from`: past the first "</name>" that ends a line. 0: none. */
static size_t closing_tag(const char *t, size_t len, size_t from, size_t ns, size_t nn)
{
    char close[MP_BLOCK_NAME_MAX + 3];
    close[0] = '<';
    close[1] = '/';
    memcpy(close + 2, t + ns, nn);
    close[nn + 2] = '>';
    size_t m = nn + 3;
    while (from < len) {
        const char *c = mp_find_bytes(t + from, len - from, close, m);
        if (c == NULL)
            return 0;
        size_t at = (size_t)(c - t) + m;
        if (ends_line(t, len, at))
            return at;
        from = at;
    }
    return 0;
}

/* The end of a fence opened by the line at i (it starts with ```): past
 * the next line that starts with ```. 0: none. */
static size_t fence_end(const char *t, size_t len, size_t i)
{
    size_t at = line_end(t, len, i);
    while (at < len) {
        size_t s = at + 1, e = line_end(t, len, s);
        size_t ts = s, te = e;
        trim(t, &ts, &te);
        if (te - ts >= 3 && memcmp(t + ts, "```", 3) == 0)
            return te;
        at = e;
    }
    return 0;
}

/* Whether word t[s..e) names a file: a '/' between two characters, or
 * name '.' extension (1 to 5 letters or digits). */
static bool names_file(const char *t, size_t s, size_t e)
{
    while (s < e && strchr("([\"'`", t[s]) != NULL)
        s++;
    while (e > s && strchr(")]\"'`,:;", t[e - 1]) != NULL)
        e--;
    for (size_t i = s + 1; i + 1 < e; i++)
        if (t[i] == '/')
            return true;
    size_t dot = e;
    while (dot > s && t[dot - 1] != '.')
        dot--;
    if (dot <= s + 1 || e - dot < 1 || e - dot > 5)
        return false;
    for (size_t i = dot; i < e; i++)
        if (!is_alpha(t[i]) && !is_digit(t[i]))
            return false;
    return true;
}

/* Whether the line t[s..e) (trimmed) is a heading that names a file. */
static bool file_heading(const char *t, size_t s, size_t e)
{
    if (e <= s || (t[s] != '#' && t[e - 1] != ':'))
        return false;
    for (size_t w = s; w < e;) {
        while (w < e && is_blank(t[w]))
            w++;
        size_t we = w;
        while (we < e && !is_blank(t[we]))
            we++;
        if (we > w && names_file(t, w, we))
            return true;
        w = we;
    }
    return false;
}

/* Whether the trimmed line t[s..e) is a key/value line. */
static bool key_value_line(const char *t, size_t s, size_t e)
{
    if (t[s] == '<' && t[e - 1] == '>')
        return true; /* markup: <cwd>/repo</cwd>, <root/> */
    size_t k = s, spaces = 0;
    while (k < e && k - s <= 32 &&
           (is_alpha(t[k]) || is_digit(t[k]) || t[k] == '_' || t[k] == '-' || t[k] == '.' ||
            t[k] == ' ')) {
        spaces += t[k] == ' ';
        k++;
    }
    if (k == s || k - s > 32 || spaces > 2 || k >= e || (t[k] != ':' && t[k] != '='))
        return false;
    k++;
    while (k < e && is_blank(t[k]))
        k++;
    return k < e;
}

/* The kind of the tagged block whose inside is t[s..e). */
static enum mp_block_kind tagged_kind(const char *t, size_t s, size_t e)
{
    unsigned lines = 0, kv = 0;
    for (size_t i = s; i < e;) {
        size_t le = line_end(t, e, i), ls = i, lt = le;
        trim(t, &ls, &lt);
        if (lt > ls) {
            lines++;
            kv += key_value_line(t, ls, lt);
        }
        i = le + 1;
    }
    return lines >= 2 && 3 * kv >= 2 * lines ? MP_BLOCK_ENVIRONMENT : MP_BLOCK_TAGGED;
}

struct splitter {
    const char *t;
    size_t len;
    struct mp_block *out;
    size_t cap, n;
    unsigned misses; /* opening tags without a close: past MP_BLOCKS_MAX, no more searches */
};

static void put(struct splitter *sp, size_t s, size_t e, enum mp_block_kind kind)
{
    if (kind == MP_BLOCK_WORDS)
        trim(sp->t, &s, &e);
    if (e <= s || sp->n == sp->cap)
        return;
    sp->out[sp->n++] = (struct mp_block){(uint32_t)s, (uint32_t)(e - s), (uint8_t)kind};
}

/* A block that starts at the line at i: its end into *end and kind, or
 * false (the line is words). */
static bool block_at(struct splitter *sp, size_t i, size_t *end, enum mp_block_kind *kind)
{
    const char *t = sp->t;
    size_t s = i, ns, nn, past;
    while (s < sp->len && (t[s] == ' ' || t[s] == '\t'))
        s++;
    if (s + 3 <= sp->len && memcmp(t + s, "```", 3) == 0 && sp->misses < MP_BLOCKS_MAX) {
        *end = fence_end(t, sp->len, s);
        /* a fence is words (a person's pasted code) unless its info string names
           a file (```src/main.py, as an IDE attaches one) or a heading does */
        size_t is = s + 3, ie = line_end(t, sp->len, s);
        trim(t, &is, &ie);
        *kind = ie > is && names_file(t, is, ie) ? MP_BLOCK_FILE : MP_BLOCK_WORDS;
        sp->misses += *end == 0;
        return *end > 0;
    }
    if (s >= sp->len || t[s] != '<' || sp->misses >= MP_BLOCKS_MAX ||
        !opening_tag(t, sp->len, s, &ns, &nn, &past))
        return false;
    *end = closing_tag(t, sp->len, past, ns, nn);
    if (*end == 0) {
        sp->misses++; /* each search may read to the end: a bounded number of them */
        return false;
    }
    *kind = tagged_kind(t, past, *end - nn - 3);
    return true;
}

/* The last line of t[s..e) (its start), s when it is the only one. */
static size_t last_line(const char *t, size_t s, size_t e)
{
    size_t i = e;
    while (i > s && is_blank(t[i - 1]))
        i--;
    while (i > s && t[i - 1] != '\n')
        i--;
    return i;
}

size_t mp_blocks_split(const char *text, size_t len, struct mp_block *out, size_t cap)
{
    struct splitter sp = {text, len, out, cap, 0, 0};
    size_t words = 0; /* where the current stretch of words began */
    /* a step puts at most two blocks: room for them and the last words */
    for (size_t i = 0; i < len && sp.n + 3 <= cap;) {
        size_t end = 0;
        enum mp_block_kind kind = MP_BLOCK_WORDS;
        bool fence = false;
        if (!block_at(&sp, i, &end, &kind)) {
            size_t le = line_end(text, len, i);
            i = le < len ? le + 1 : len;
            continue;
        }
        size_t hs = last_line(text, words, i), he = hs < i ? line_end(text, len, hs) : hs;
        size_t ts = hs, te = he;
        trim(text, &ts, &te);
        fence = kind == MP_BLOCK_WORDS;
        if (kind == MP_BLOCK_FILE) { /* a fence labelled with its file */
            put(&sp, words, i, MP_BLOCK_WORDS);
            put(&sp, i, end, MP_BLOCK_FILE);
        } else if (hs < i && file_heading(text, ts, te)) {
            put(&sp, words, hs, MP_BLOCK_WORDS);
            put(&sp, ts, end, MP_BLOCK_FILE);
        } else if (fence) {
            i = end; /* a fence without a heading stays among the words */
            continue;
        } else {
            put(&sp, words, i, MP_BLOCK_WORDS);
            size_t bs = i;
            while (bs < end && (text[bs] == ' ' || text[bs] == '\t'))
                bs++;
            put(&sp, bs, end, kind);
        }
        words = end;
        i = end;
    }
    put(&sp, words, len, MP_BLOCK_WORDS);
    return sp.n;
}

uint64_t mp_blocks_print(const char *text, size_t len)
{
    uint64_t h = MP_FNV1A64_BASIS;
    size_t s = 0, e = len;
    trim(text, &s, &e);
    for (size_t i = s; i < e;) {
        char c = text[i];
        if (is_blank(c) || is_digit(c)) {
            bool digits = is_digit(c);
            while (i < e && (digits ? is_digit(text[i]) : is_blank(text[i])))
                i++;
            h = mp_fnv1a64(h, digits ? "0" : " ", 1);
            continue;
        }
        h = mp_fnv1a64(h, &c, 1);
        i++;
    }
    return h != 0 ? h : 1;
}
