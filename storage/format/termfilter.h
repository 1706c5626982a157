/* A user's term filter: a Bloom filter over the (kind, term) pairs of the
 * user's index (index.h), kept in the user's head record, so that a
 * question word the user's memory does not hold costs the view a few bit
 * tests instead of a B-tree lookup of its postings (most question words of
 * most requests). Pure bits: no storage, no allocation.
 *
 * It answers "maybe" for every pair ever added and "no" for most others: a
 * pair is never removed (an item's removal leaves its bits), so a user whose
 * vocabulary grows or churns fills it and more answers become "maybe",
 * which only costs the lookup it would have made without the filter. The
 * bits hash the term's text, not its posting key, so that a store rewritten
 * from clear to sealed (whose posting keys change) keeps its filters. */
#ifndef MP_STORAGE_TERMFILTER_H
#define MP_STORAGE_TERMFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* 2,048 bits, 3 per pair: about 2% of absent pairs answer "maybe" with 200
 * distinct pairs in the filter, 9% with 400, 33% with 800. */
#define MP_TERMFILTER_BYTES 256

struct mp_termfilter {
    unsigned char bits[MP_TERMFILTER_BYTES]; /* all zero: empty */
};

/* Adds the pair (kind, term[0..len)). */
void mp_termfilter_add(struct mp_termfilter *f, unsigned kind, const char *term, size_t len);

/* False when the pair was never added; true when it may have been. */
bool mp_termfilter_may_hold(const struct mp_termfilter *f, unsigned kind, const char *term,
                            size_t len);

#endif
