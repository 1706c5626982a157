/* The tokenizer before its one-pass ASCII path (terms_ref.c), for
 * test_terms's differential test: the same contract as core/recall/terms.h's
 * functions of the same names without _ref. */
#ifndef MP_TESTS_TERMS_REF_H
#define MP_TESTS_TERMS_REF_H

#include <stddef.h>

#include "recall/terms.h"

struct mp_terms_ref;

int mp_terms_ref_new(struct mp_terms_ref **out);
void mp_terms_ref_free(struct mp_terms_ref *t);
int mp_terms_ref_each_word_lang(struct mp_terms_ref *t, const char *text, size_t len, int lang,
                                mp_terms_word_fn fn, void *arg);
int mp_terms_ref_restem(struct mp_terms_ref *t, const char *word, size_t wlen, int from, int lang,
                        const char **term, size_t *n);

#endif
