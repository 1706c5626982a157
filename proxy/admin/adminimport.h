/* An import's items (core/import/importitem.h, whatever file they came
 * from: docs/admin-import-export.md "Import") turned into store ops, applied in one
 * transaction on the memory worker, answered only once committed (and so
 * searchable: the index is written in the same transaction).
 *
 * Messages enter the user's archive in the order core/import/importplan.h
 * gives (oldest first by their "at", lines of equal time in body order;
 * asked to extract, turn by turn), as the user's or the assistant's
 * words; the buffer and the summary are untouched. A message of a
 * reader's conversation gets that conversation's digest
 * (plane/convlook.h: mp_convlook_export_digest, rule client). A turn the
 * plan sends to the memory model is followed by its EXTRACT job (ADD_JOB
 * inheriting the turn's seqs: storage/ops/store.h), committed with it.
 * Facts are upserted with their item's trust ("stated": what the user
 * said, a user's correction or an admin's value outranks them, a newer
 * extraction supersedes them; "imported": another assistant's memory),
 * source role user,
 * observed at their "at"; the usual precedence applies, so a fact the
 * store holds with a stronger trust or a newer time is kept (the line
 * counts as skipped). Every item goes through [governance] pii_mode
 * (drop: the item is skipped). A settings line sets the user's own memory
 * setting, as an admin's PUT would. Every message and fact has an import
 * key, remembered with the user's idempotency keys: SHA-256 of "import:"
 * and its "id" when it has one, else of "import-item:" and what it is (a
 * message: its conversation's digest, role, time and content; a fact: its
 * key, value and time; the n-th of items alike in all of it, n too); an
 * item whose key was imported before is skipped, so the same file
 * imported twice is stored once. The import is all or
 * nothing: facts past [memory] max_facts_per_user refuse the whole import
 * (409 memory_full).
 *
 * Retention counts an imported item's age from its receipt (the item is
 * recorded now; its own time still orders and dates it), or, when the
 * operator asks (retention=item), from its own time: the item is recorded
 * at that time, and a line already past retention is not imported (its id
 * not remembered). Either way the answer counts the lines past retention
 * by their own time, and a line's key is remembered exactly as long as its
 * item is kept (for ever without a retention limit, until the user is
 * erased), so that a key never blocks the re-import of a purged line and
 * never lets a kept one in twice. */
#ifndef MP_PROXY_ADMINIMPORT_H
#define MP_PROXY_ADMINIMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "import/importitem.h"
#include "import/importplan.h"
#include "ops/store.h"

/* How an import stores its items (copied by mp_import_prepare). */
struct mp_import_opts {
    enum mp_pii_mode pii_mode;
    struct mp_retention retention;    /* the limits in force */
    bool item_time;                   /* retention=item */
    struct mp_importplan_limits plan; /* turns set: extraction asked */
};

struct mp_import_job {
    struct mp_import_batch batch;
    struct mp_importplan plan;
    struct mp_op *ops;
    size_t nops;
    struct mp_mem_message *msgs;
    uint8_t (*keys)[MP_IDEM_KEY_LEN];
    char **texts; /* the policy's copies, owned */
    size_t ntexts;
    uint64_t *op_tokens;  /* an ADD_JOB op's turn's estimate (importplan.h) */
    uint64_t *occurrence; /* an item's among the items alike before it (no id) */
    size_t dropped;       /* by pii_mode */
    size_t past;          /* lines past retention by their own time */
    /* after mp_import_apply: what was stored; skipped: messages imported
       before (known), facts a current value kept out or imported before
       (kept_out), and the ones dropped; jobs: extraction jobs queued, of
       queued_tokens */
    size_t messages, facts, settings, skipped, known, kept_out, jobs;
    uint64_t queued_tokens;
};

/* Builds the ops of batch (taken: emptied, job frees it; its items'
 * texts are freed once the ops hold their copies) for user[0..user_len)
 * (borrowed until the job is freed): MP_OK or MP_ENOMEM. */
int mp_import_prepare(struct mp_import_job *job, const struct mp_import_opts *opts,
                      const char *user, size_t user_len, const char *request_id, int64_t now_ms,
                      struct mp_import_batch *batch);

/* Worker thread: applies the ops in one transaction and counts the
 * outcome (jobs: the extraction jobs queued). MP_OK; MP_ECONFLICT (the
 * day's tokens past their limit: importquota.h; or a fact
 * past the user's maximum: nothing imported); the store's error. */
int mp_import_apply(struct mp_store *store, struct mp_import_job *job);

/* The job's ops of kind (what it would store of each kind). */
size_t mp_import_job_count(const struct mp_import_job *job, enum mp_op_kind kind);

void mp_import_job_free(struct mp_import_job *job);

#endif
