/* terms_dump: the words and terms core/recall/terms.c makes of each line of
 * stdin, for the Python port's check (reference/terms_c.py,
 * test_terms_c.py). A tool, not a test. For line n (from 0) it prints
 *
 *     n lang <code>              the language identified (mp_lang_detect)
 *     n <pos> <word> <term>      each word in order; term "-" when dropped
 *
 * Usage: terms_dump < LINES.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "status.h"
#include "terms.h"

static int on_word(void *arg, const char *word, size_t wlen, const char *term, size_t len,
                   uint32_t pos)
{
    unsigned long n = *(const unsigned long *)arg;
    printf("%lu %u %.*s %.*s\n", n, (unsigned)pos, (int)wlen, word, term != NULL ? (int)len : 1,
           term != NULL ? term : "-");
    return MP_OK;
}

int main(void)
{
    struct mp_terms *t = NULL;
    if (mp_terms_new(&t) != MP_OK)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    for (unsigned long n = 0; (len = getline(&line, &cap, stdin)) >= 0; n++) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        printf("%lu lang %s\n", n, mp_lang_code(mp_lang_detect(line, (size_t)len)));
        if (mp_terms_each_word(t, line, (size_t)len, on_word, &n) != MP_OK)
            return 1;
    }
    free(line);
    mp_terms_free(t);
    return 0;
}
