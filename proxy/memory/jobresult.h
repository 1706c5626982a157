/* A memory model's answer applied to the store: a summary, or an
 * extraction batch's facts, fold and search keys with every job done, in
 * one transaction guarded by the user's memory epoch (an erasure during the
 * call drops the result: memjob.h). It writes the store and returns a
 * verdict (jobstate.h); what becomes of the jobs (counts, retries, the
 * index, the follow-up trim) is memjob.c's. Memory worker thread only. */
#ifndef MP_PROXY_JOBRESULT_H
#define MP_PROXY_JOBRESULT_H

#include "memory/jobstate.h"

/* Applies the 2xx answer of call r (r->answer: mp_jobcall_end() said it
 * is one) under j's configuration (j read, never changed). *v, whose
 * answered and usage it keeps, becomes MP_JOBV_DONE (stored; the
 * follow-up to plan and the statements kept out), MP_JOBV_ERASED (the
 * guard stopped it: nothing written) or MP_JOBV_FAILED (MALFORMED: an
 * answer that cannot be used, a summary that reads as instructions;
 * STORE: the write failed or out of memory). */
void mp_jobresult_apply(const struct mp_memjobs *j, const struct mp_jobrun *r,
                        struct mp_jobverdict *v);

#endif
