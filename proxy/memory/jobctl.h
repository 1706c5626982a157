/* The memory jobs as an operator sees and acts on them (GET /admin/jobs,
 * POST /admin/jobs/{id}/retry, DELETE /admin/jobs/{id}): the stored jobs
 * with the state this process sees them in, one failed job run again, one
 * job dropped. Memory worker thread only (it owns the job index and every
 * store write); it builds no JSON and logs nothing (proxy/admin/adminjobs.c
 * does both). */
#ifndef MP_PROXY_JOBCTL_H
#define MP_PROXY_JOBCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/memjob.h"
#include "ops/store.h"

/* Which jobs a listing wants. */
struct mp_jobctl_filter {
    unsigned states;  /* bits 1u << enum mp_memjob_state; 0: every state */
    const char *user; /* borrowed: only this user key (NULL: every user) */
    size_t user_len;
    const unsigned char *tenant; /* borrowed, MP_TENANT_LEN bytes: only users of this
                                    tenant (NULL: of every tenant); unread with user */
    uint64_t before_id;          /* only ids below it (0: from the newest) */
    size_t limit;                /* rows at most, >= 1 */
};

/* A row: one job, or a failed extraction batch (its jobs failed in one
 * call: the same user, reason and time) as one. */
struct mp_jobctl_row {
    struct mp_job job; /* as stored, its lease included; a batch's: its first
                          job's, through_seq its last one's */
    enum mp_memjob_state state;
    uint32_t turns; /* the jobs (turns) the row stands for, >= 1 */
};

/* The stored jobs f takes, newest (highest id) first, at most f->limit
 * rows (a failed batch is one row, under its first job's id, whose id is
 * the cursor of a page it ends; a batch whose jobs interleave with other
 * users' may be parted by a page's end):
 * MP_OK with *out (caller frees with free(); NULL when *n is 0), *n, and
 * *more (a job f takes follows the page); the store's error. Reads every
 * stored job (as the worker's rescan does every few seconds): the states
 * are known only once read, so a page costs the whole queue's read. */
int mp_jobctl_list(struct mp_memjobs *j, struct mp_store *store, const struct mp_jobctl_filter *f,
                   int64_t now_ms, struct mp_jobctl_row **out, size_t *n, bool *more);

/* Runs failed job id again now, with every job of its batch: pending,
 * tried afresh (attempts 0, as POST /admin/extract does for every failed
 * job), stored so in one write and indexed, the batch due at once. MP_OK
 * with *out the batch's row after (its state pending, or leased when it
 * started at once); MP_NOTFOUND (no such job: done,
 * dropped, gone with its user); MP_ECONFLICT when it is not failed (*out
 * the job as it is: pending, leased or held; nothing changed); the store's
 * error. */
int mp_jobctl_retry(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                    struct mp_jobctl_row *out);

/* Drops job id (a failed one with every job of its batch, in one write):
 * removed from the store (its lease with it) and from the index, whatever
 * its state but leased. Its turn stays recorded (buffer
 * and archive): only its extraction or summary is skipped. MP_OK with
 * *out the job as it was; MP_NOTFOUND; MP_ECONFLICT when it is leased (a
 * call runs it: *out as it is, nothing changed); the store's error. */
int mp_jobctl_drop(struct mp_memjobs *j, struct mp_store *store, uint64_t id, int64_t now_ms,
                   struct mp_jobctl_row *out);

#endif
