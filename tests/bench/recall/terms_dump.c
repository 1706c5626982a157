/* terms_dump: the words and terms core/recall/terms.c makes of each line of
 * stdin, for the Python port's check (reference/terms_c.py,
 * test_terms_c.py). A tool, not a test. For line n (from 0) it prints
 *
 *     n lang <code>              the language identified (mp_lang_detect)
 *     n <pos> <word> <term>      each word in order; term "-" when dropped
 *
 * and with -q the line read as a question (relevance_words.h) instead:
 *
 *     n q <term> <surface>       each word that makes a group; surface "-": none
 *     n dates <term>... temporal <0|1> timex <0|1>
 *
 * Usage: terms_dump [-q] < LINES.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "recall/relevance_words.h"
#include "status.h"
#include "recall/terms.h"

static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    unsigned long n = *(const unsigned long *)arg;
    printf("%lu %u %.*s %.*s\n", n, (unsigned)pos, (int)wlen, word, term != NULL ? (int)len : 1,
           term != NULL ? term : "-");
    return MP_OK;
}

/* The question parts of line n: its groups' words, date terms, temporal
 * flag and whether it holds a time expression. */
static int question(struct mp_terms *t, unsigned long n, const char *line, size_t len)
{
    static struct mp_relevance_question qn;
    bool timex = false;
    if (mp_relevance_question_parse(t, line, len, NULL, 0, NULL, &qn) != MP_OK ||
        mp_relevance_timex(t, line, len, &timex) != MP_OK)
        return MP_ENOMEM;
    for (size_t k = 0; k < qn.n; k++)
        printf("%lu q %.*s %.*s\n", n, (int)qn.w[k].len, qn.w[k].term,
               qn.w[k].alpha ? (int)qn.w[k].slen : 1, qn.w[k].alpha ? qn.w[k].surface : "-");
    printf("%lu dates", n);
    for (size_t k = 0; k < qn.ndates; k++)
        printf(" %.*s", (int)qn.dlen[k], qn.date[k]);
    printf(" temporal %d timex %d\n", qn.temporal, timex);
    return MP_OK;
}

int main(int argc, char **argv)
{
    bool q = argc == 2 && strcmp(argv[1], "-q") == 0;
    if (argc > 2 || (argc == 2 && !q)) {
        fprintf(stderr, "usage: %s [-q] < LINES.txt\n", argv[0]);
        return 2;
    }
    struct mp_terms *t = NULL;
    if (mp_terms_new(&t) != MP_OK)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    for (unsigned long n = 0; (len = getline(&line, &cap, stdin)) >= 0; n++) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (q) {
            if (question(t, n, line, (size_t)len) != MP_OK)
                return 1;
            continue;
        }
        printf("%lu lang %s\n", n, mp_lang_code(mp_lang_detect(line, (size_t)len)));
        if (mp_terms_each_word(t, line, (size_t)len, on_word, &n) != MP_OK)
            return 1;
    }
    free(line);
    mp_terms_free(t);
    return 0;
}
