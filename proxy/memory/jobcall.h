/* One call of the memory model for a batch of memory jobs: the prompt of
 * the batch's turns (read from the buffer, else the archive), the chat
 * completion on the memory worker's curl multi with the credential it may
 * carry, and how the call ended. It does not choose the jobs, apply the
 * answer (jobresult.c) nor act on what became of them: it returns a
 * verdict (jobstate.h) and memjob.c does the rest. Memory worker thread
 * only. */
#ifndef MP_PROXY_JOBCALL_H
#define MP_PROXY_JOBCALL_H

#include <stdbool.h>
#include <stddef.h>

#include "memory/jobstate.h"

/* Starts the call of the jobs turns[0..n) (claimed, taken out of the
 * index): a summary job (n 1) or one user's extraction batch, in id order,
 * with auth_line (taken, wiped when freed), the credential header line. j
 * is read, never changed. Returns the call in flight (turns taken; the
 * upstream's completion callback gets it as req: set its owner), or NULL
 * when it did not start: turns stay the caller's and *v says why
 * (MP_JOBV_SKIPPED: the user is gone or nothing is left to send;
 * MP_JOBV_FAILED: the store or the upstream failed). */
struct mp_jobrun *mp_jobcall_start(const struct mp_memjobs *j, struct mp_jobturn *turns, size_t n,
                                   char *auth_line, struct mp_jobverdict *v);

/* How call r ended (result: the transfer's): true when the upstream gave a
 * 2xx answer within its bound (apply it: mp_jobresult_apply()); else false
 * with *v the failure (MP_JOBV_FAILED: why, the Retry-After). Either way
 * *v tells whether it answered, with the answer's token use. */
bool mp_jobcall_end(const struct mp_jobrun *r, CURLcode result, struct mp_jobverdict *v);

/* Frees r, a call, with its transfer (cancelled first by the caller when
 * it still runs); its credential is wiped first. */
void mp_jobcall_free(const struct mp_memjobs *j, struct mp_jobrun *r);

#endif
