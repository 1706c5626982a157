/* Keeps a rolling summary from carrying a value that is no longer true:
 * the sentences that hold it are dropped. Plain text in, text out, no
 * allocation; which values are stale, and when, is storage's rule
 * (storage/ops/lifecycle.h). */
#ifndef MP_CORE_SUMMFILTER_H
#define MP_CORE_SUMMFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..n) holds the value v[0..m) as a whole word run: ASCII
 * case-insensitive, with no letter or digit right before or right after
 * it (a byte >= 0x80 counts as a letter, so a UTF-8 word is never split
 * and "C" is not found in "Cats"). False when m is 0 or more than n. */
bool mp_summfilter_holds(const char *s, size_t n, const char *v, size_t m);

/* Drops from text[0..*len) every sentence that holds value[0..vlen)
 * (mp_summfilter_holds; a value that spans a sentence end, "Dr. Smith",
 * takes every sentence it touches), in place: *len becomes the length of what is
 * left, the kept sentences in their order with the text between them as
 * it was, trimmed of white space at both ends (no NUL is written). A
 * sentence ends after '.', '!' or '?' followed by white space or the end
 * of the text, or at a line break; the rest of the text after the last
 * end is a sentence too. Returns the number of sentences dropped (0:
 * text untouched). */
size_t mp_summfilter_drop(char *text, size_t *len, const char *value, size_t vlen);

#endif
