/* A pattern file's lines (see patfile.h). */
#include "config/patfile.h"

#include <string.h>

#include "status.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int skipped(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (is_space(line[i]) || line[i] == '\r'))
        i++;
    return i == len || line[i] == '#';
}

int mp_patfile_each(const char *text, size_t len, mp_patfile_line_fn fn, void *ctx, unsigned *line,
                    const char **why)
{
    size_t pos = 0;
    unsigned n = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        const char *l = text + pos;
        size_t llen = end - pos;
        n++;
        pos = end + 1;
        if (skipped(l, llen))
            continue;
        while (llen > 0 && (is_space(l[llen - 1]) || l[llen - 1] == '\r'))
            llen--;
        const char *no = fn(ctx, l, llen);
        if (no != NULL) {
            *line = n;
            *why = no;
            return MP_EINVAL;
        }
    }
    return MP_OK;
}

size_t mp_patfile_word(const char *line, size_t len, size_t *pos, const char **word)
{
    while (*pos < len && is_space(line[*pos]))
        (*pos)++;
    *word = line + *pos;
    size_t start = *pos;
    while (*pos < len && !is_space(line[*pos]))
        (*pos)++;
    return *pos - start;
}

const char *mp_patfile_unescape(const char *s, size_t n, char *out, size_t cap, size_t *olen)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return "a control character (write \\n or \\t)";
        if (c == '\\') {
            char e = i + 1 < n ? s[++i] : '\0';
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == '\\' ? '\\' : '\0';
            if (c == '\0')
                return "an unknown escape (only \\n, \\t and \\\\)";
        }
        if (w == cap)
            return "too long";
        out[w++] = c;
    }
    *olen = w;
    return NULL;
}
