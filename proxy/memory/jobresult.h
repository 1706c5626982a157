/* A memory model's answer applied to the store: a summary, or an
 * extraction batch's facts, fold and search keys with every job done, in
 * one transaction guarded by the user's memory epoch (an erasure during the
 * call drops the result and runs the jobs again: memjob.h). A refused or
 * unusable answer fails the jobs (retried). Memory worker thread only. */
#ifndef MP_PROXY_JOBRESULT_H
#define MP_PROXY_JOBRESULT_H

#include "memory/jobstate.h"

/* Applies the answer of r, a summary job's call (r->resp). */
void mp_jobresult_summary(struct mp_memjobs *j, struct mp_jobrun *r);

/* Applies the answer of r, an extraction batch's call (r->resp). */
void mp_jobresult_batch(struct mp_memjobs *j, struct mp_jobrun *r);

#endif
