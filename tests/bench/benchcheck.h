/* benchcheck: what tests/bench/populate --question prints about a user it
 * wrote: the question read back through the request path's view, and how
 * long the request path's recall takes on it, in process. A measuring aid
 * for a person reading memory.sh's report: it checks nothing. */
#ifndef MP_TESTS_BENCH_BENCHCHECK_H
#define MP_TESTS_BENCH_BENCHCHECK_H

#include "ops/store.h"

/* Prints one line to stdout for user (borrowed, NUL-terminated) and the
 * question q (borrowed):
 *   CHECK user=U question_terms=T:F+A,... hits_facts=N hits_archive=N
 *         score_us=F recent_us=F relevant_us=F relevant_p50_us=F
 *         ranked_recent=N ranked_relevant=N runs=N
 * question_terms: each term of q (mp_terms: stemmed, stop words dropped)
 * with its document frequency in the user's facts (F) and archive (A);
 * hits_*: the items mp_relevance_score scores above 0 with the request
 * path's presets; score_us: the mean time of a view with both kinds
 * scored; recent_us, relevant_us: the mean time of a view and the whole
 * recall of [memory] retrieval recent / relevant with memproxy's default
 * configuration (hybrid mode), as proxy/plane/reqmem.c makes it;
 * relevant_p50_us: the median of relevant's runs; ranked_*: the
 * facts the recall's walk of the ranked facts visited (one request); runs:
 * the timed runs of each (as many as fit in about 0.3 s, 2,000 at most).
 * Returns MP_OK, or the store's or scoring's error (the line may then be
 * cut short). */
int mp_benchcheck_question(struct mp_store *store, const char *user, const char *q);

#endif
