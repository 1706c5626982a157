/* Language identification before its one-load ASCII words (lang_ref.c),
 * for test_terms's differential test: the contract of core/recall/lang.h's
 * functions of the same names without _ref. */
#ifndef MP_TESTS_LANG_REF_H
#define MP_TESTS_LANG_REF_H

#include <stddef.h>

#include "recall/lang.h"

int mp_lang_ref_detect_prior(const char *text, size_t len, int prior);
int mp_lang_ref_detect_lazy(const char *text, size_t len, int (*prior)(void *arg), void *arg);

#endif
