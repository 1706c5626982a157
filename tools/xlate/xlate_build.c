/* xlate_build: the build-time tool that turns one direction's word lists
 * (dictd.py's tab-separated lines: a headword, then its translations best
 * first) into a translation table (core/recall/xlatetab.h). Keys and
 * translations go through the same tokenizer, stop lists and Snowball
 * stemmers as the index and the question (core/recall/terms.h), so a table
 * key is what a question's term is. Not part of the daemon.
 *
 * Usage: xlate_build SRC DST IN.tsv OUT.tab   (SRC, DST: ISO 639-1 codes)
 *
 * A key is one content word, or two side by side (a phrase the question's
 * neighbouring words can match: "blood pressure"); a headword with a stop
 * word or more words is dropped (the question's terms could not meet it
 * as a whole). A translation keeps its content words, at most
 * MAX_PHRASE of them joined by a space; one with more is dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "status.h"
#include "recall/terms.h"
#include "recall/xlatetab.h"

#define MAX_PHRASE 2
#define LINE_MAX   65536

/* The content terms of a text, the first term of each word (a Han word's
 * bigrams share its position), joined by spaces. */
struct joined {
    char s[MP_XLATETAB_KEY_MAX + 1];
    size_t len;
    unsigned words, stops;
    uint32_t last;
    int has_last;
};

static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    struct joined *j = arg;
    (void)word;
    (void)wlen;
    if (j->has_last && pos == j->last)
        return MP_OK;
    j->has_last = 1;
    j->last = pos;
    if (term == NULL) {
        j->stops++;
        return MP_OK;
    }
    j->words++;
    if (j->words > MAX_PHRASE || j->len + 1 + len > MP_XLATETAB_KEY_MAX)
        return MP_ETOOBIG;
    if (j->len > 0)
        j->s[j->len++] = ' ';
    memcpy(j->s + j->len, term, len);
    j->len += len;
    return MP_OK;
}

static int join(struct mp_terms *t, const char *text, size_t n, int lang, struct joined *j)
{
    memset(j, 0, sizeof(*j));
    int rc = mp_terms_each_word_lang(t, text, n, lang, on_word, j);
    return rc == MP_OK && j->words > 0 ? MP_OK : MP_NOTFOUND;
}

/* One line: key, then translations, tab-separated. */
static int add_line(struct mp_terms *t, struct mp_xlatetab_builder *b, char *line, int src, int dst)
{
    char *tab = strchr(line, '\t');
    struct joined key, tr;
    if (tab == NULL)
        return MP_OK;
    if (join(t, line, (size_t)(tab - line), src, &key) != MP_OK || key.stops > 0)
        return MP_OK;
    for (char *p = tab + 1; p != NULL && *p != '\0';) {
        char *e = strchr(p, '\t');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (join(t, p, n, dst, &tr) == MP_OK) {
            int rc = mp_xlatetab_builder_add(b, key.s, key.len, tr.s, tr.len);
            if (rc != MP_OK && rc != MP_EINVAL)
                return rc;
        }
        p = e != NULL ? e + 1 : NULL;
    }
    return MP_OK;
}

static int build(FILE *in, int src, int dst, unsigned char **out, size_t *len)
{
    struct mp_terms *t = NULL;
    struct mp_xlatetab_builder *b = NULL;
    char *line = malloc(LINE_MAX);
    int rc = line == NULL ? MP_ENOMEM : mp_terms_new(&t);
    if (rc == MP_OK)
        rc = mp_xlatetab_builder_new(src, dst, &b);
    while (rc == MP_OK && fgets(line, LINE_MAX, in) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        rc = add_line(t, b, line, src, dst);
    }
    if (rc == MP_OK)
        rc = mp_xlatetab_builder_finish(b, out, len);
    mp_xlatetab_builder_free(b);
    mp_terms_free(t);
    free(line);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: xlate_build SRC DST IN.tsv OUT.tab\n");
        return 2;
    }
    int src = mp_lang_from_code(argv[1], strlen(argv[1]));
    int dst = mp_lang_from_code(argv[2], strlen(argv[2]));
    FILE *in = fopen(argv[3], "r");
    unsigned char *tab = NULL;
    size_t len = 0;
    int rc = src == MP_LANG_NONE || dst == MP_LANG_NONE || in == NULL
                 ? MP_EINVAL
                 : build(in, src, dst, &tab, &len);
    if (in != NULL)
        fclose(in);
    FILE *out = rc == MP_OK ? fopen(argv[4], "wb") : NULL;
    if (out != NULL && (fwrite(tab, 1, len, out) != len || fclose(out) != 0)) {
        out = NULL;
        rc = MP_EIO;
    }
    free(tab);
    if (rc != MP_OK || out == NULL) {
        fprintf(stderr, "xlate_build: %s -> %s: %s\n", argv[3], argv[4], mp_status_name(rc));
        return 1;
    }
    return 0;
}
