/* POST /admin/users/{user}/import (docs/admin-api.md): a body of JSON Lines
 * (importlines.h) turned into store ops, applied in one transaction on
 * the memory worker, answered only once committed (and so searchable:
 * the index is written in the same transaction).
 *
 * Messages enter the user's archive, oldest first by their "at" (lines of
 * equal time in body order), as the user's or the assistant's words; the
 * buffer and the summary are untouched. Facts are upserted with trust
 * "stated" (what the user said: a user's correction or an admin's value
 * outranks them, a newer extraction supersedes them), source role user,
 * observed at their "at"; the usual precedence applies, so a fact the
 * store holds with a stronger trust or a newer time is kept (the line
 * counts as skipped). Every item goes through [governance] pii_mode
 * (drop: the item is skipped). A settings line sets the user's own memory
 * setting, as an admin's PUT would. An "id" is remembered with the user's
 * idempotency keys (and kept as long as they are: [memory]
 * idempotency_hours): a line whose id was imported before is skipped. The
 * import is all or nothing: facts past [memory] max_facts_per_user refuse
 * the whole import (409 memory_full).
 *
 * Retention counts an imported item's age from its receipt (the item is
 * recorded now; its own time still orders and dates it), or, when the
 * operator asks (retention=item), from its own time: the item is recorded
 * at that time, and a line already past retention is not imported (its id
 * not remembered). Either way the answer counts the lines past retention
 * by their own time, and a line's id is remembered no longer than its item
 * is kept, so that an id never blocks the re-import of a purged line. */
#ifndef MP_PROXY_ADMINIMPORT_H
#define MP_PROXY_ADMINIMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "admin/importlines.h"
#include "store.h"

/* How an import stores its lines (copied by mp_import_prepare). */
struct mp_import_opts {
    enum mp_pii_mode pii_mode;
    struct mp_retention retention; /* the limits in force */
    bool item_time;                /* retention=item */
};

struct mp_import_job {
    struct mp_import_batch batch;
    struct mp_op *ops;
    size_t nops;
    struct mp_mem_message *msgs;
    uint8_t (*keys)[MP_IDEM_KEY_LEN];
    char **texts; /* the policy's copies, owned */
    size_t ntexts;
    size_t dropped; /* by pii_mode */
    size_t past;    /* lines past retention by their own time */
    /* after mp_import_apply */
    size_t messages, facts, settings, skipped;
};

/* Builds the ops of body for user[0..user_len) (borrowed until the job is
 * freed): MP_OK; MP_EINVAL with *bad_line and *why (importlines.h);
 * MP_ENOMEM. */
int mp_import_prepare(struct mp_import_job *job, const struct mp_import_opts *opts,
                      const char *user, size_t user_len, const char *request_id, int64_t now_ms,
                      const char *body, size_t len, size_t *bad_line, const char **why);

/* Worker thread: applies the ops in one transaction and counts the
 * outcome. MP_OK; MP_ECONFLICT (a fact past the user's maximum: nothing
 * imported); the store's error. */
int mp_import_apply(struct mp_store *store, struct mp_import_job *job);

void mp_import_job_free(struct mp_import_job *job);

#endif
