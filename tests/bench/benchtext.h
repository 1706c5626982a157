/* benchtext: deterministic English-like text for tests/bench/populate, so
 * that a benchmark user's facts and archive give the relevance index the
 * shape real text gives it. It makes strings only: it knows nothing of
 * stores, ops or JSON.
 *
 * The text: short sentences from two dozen patterns (who did what to
 * which thing, where and when), each slot drawn from a word list with
 * Zipf-like weights (the k-th word of a list k^-0.7 times as often as the
 * first), so that a few words are in a large share of the items and most
 * are in few, as in real text. About 300 distinct content words; no month
 * names, no years, and no word of the question memory.sh asks
 * ("remember").
 *
 * The needle: an item asked to hold it (needle true) gets one sentence
 * naming the needle word ("kayak" by default) with two words of a small
 * cluster that goes with it (paddle, river, lake, ...), as real text about
 * a thing names related things. A near item (near true) gets a cluster
 * sentence without the needle: what feedback from the needle's items may
 * add. No other item holds the needle or a cluster word, so the needle's
 * document frequency is the number of items asked to hold it. */
#ifndef MP_TESTS_BENCH_BENCHTEXT_H
#define MP_TESTS_BENCH_BENCHTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_BENCHTEXT_NEEDLE "kayak"

/* A generator: its state is a seed; the same seed gives the same text. */
struct mp_benchtext {
    uint64_t state;
};

/* Starts g at seed. */
void mp_benchtext_init(struct mp_benchtext *g, uint64_t seed);

/* A chat message into out[0..cap) (NUL-terminated, cut to fit): a user's
 * (1 or 2 sentences) or an assistant's (2 to 4), the needle's sentence
 * first when needle, a cluster sentence when near. Returns its length. */
size_t mp_benchtext_message(struct mp_benchtext *g, bool user, bool needle, bool near, char *out,
                            size_t cap);

/* A fact of index i: its key (normalized: "<topic>_<i>", the topic one of
 * a dozen words) into key[0..keycap) and its value (one sentence, the
 * needle's or a cluster sentence when asked) into value[0..cap). Returns
 * the value's length. */
size_t mp_benchtext_fact(struct mp_benchtext *g, uint64_t i, bool needle, bool near, char *key,
                         size_t keycap, char *value, size_t cap);

/* nwords words of running text (a summary), ending with a full stop.
 * Returns its length. */
size_t mp_benchtext_words(struct mp_benchtext *g, unsigned nwords, char *out, size_t cap);

#endif
