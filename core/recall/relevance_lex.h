/* The compiled-in word lists of relevance ranking: the general lexicon (stems) and the
 * question-framing stop words. Generated data (relevance_lex.c), no logic beyond lookup. */
#ifndef MP_CORE_RELEVANCE_LEX_H
#define MP_CORE_RELEVANCE_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A relation's weight is q / MP_RELEVANCE_LEX_Q (recall.py's LEX_Q). */
#define MP_RELEVANCE_LEX_Q 100

/* One head stem and the stems it relates to (sorted by bytes, head excluded),
 * each with its weight q[k] in 1..MP_RELEVANCE_LEX_Q (WordNet: the kind of
 * relation times its sense's frequency; tests/bench/recall/reference/
 * gen_wordnet.py). */
struct mp_relevance_lex_entry {
    const char *head;
    const char *const *rel;
    const uint8_t *q;
    size_t nrel;
};

/* The entry of stem[0..len), or NULL when the lexicon has none. Static data. */
const struct mp_relevance_lex_entry *mp_relevance_lex_find(const char *stem, size_t len);

/* The weight of relation k of e (k < e->nrel): q[k] / MP_RELEVANCE_LEX_Q. */
double mp_relevance_lex_weight(const struct mp_relevance_lex_entry *e, size_t k);

/* True when the folded word[0..len) is a question-framing word (querystop.txt). */
bool mp_relevance_lex_is_qstop(const char *word, size_t len);

#endif
