/* One call of the memory model for a batch of memory jobs: the prompt of
 * the batch's turns (read from the buffer, else the archive), the chat
 * completion on the memory worker's curl multi with the credential it may
 * carry, and the answer handed to jobresult.c. It does not choose the jobs
 * (memjob.c's scheduler does). Memory worker thread only. */
#ifndef MP_PROXY_JOBCALL_H
#define MP_PROXY_JOBCALL_H

#include <stddef.h>

#include "memory/jobstate.h"

/* Starts the jobs turns[0..n) (taken out of the index; the array taken):
 * a summary job (n 1) or one user's extraction batch, in id order, with
 * auth_line (taken), the credential header line. When it cannot start,
 * the jobs are done (the user is gone, nothing left to send) or failed
 * (retried): never lost. */
void mp_jobcall_start(struct mp_memjobs *j, struct mp_jobturn *turns, size_t n, char *auth_line);

/* The upstream's completion callback of a call (mp_upstream_new): req is
 * the call. Applies its answer or fails its jobs, frees it, and schedules
 * again. */
void mp_jobcall_on_done(void *req, CURLcode result);

/* Frees r, a call, with its transfer; its credential is wiped first. */
void mp_jobcall_free(struct mp_memjobs *j, struct mp_jobrun *r);

#endif
