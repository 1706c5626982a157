/* The compiled-in word lists of relevance ranking: the general lexicon (stems) and the
 * question-framing stop words. Generated data (relevance_lex.c), no logic beyond lookup. */
#ifndef MP_CORE_RELEVANCE_LEX_H
#define MP_CORE_RELEVANCE_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* One head stem and the stems it relates to (sorted by bytes, head excluded). */
struct mp_relevance_lex_entry {
    const char *head;
    const char *const *rel;
    size_t nrel;
};

/* The entry of stem[0..len), or NULL when the lexicon has none. Static data. */
const struct mp_relevance_lex_entry *mp_relevance_lex_find(const char *stem, size_t len);

/* True when the folded word[0..len) is a question-framing word (querystop.txt). */
bool mp_relevance_lex_is_qstop(const char *word, size_t len);

#endif
