/* The bounds an import must keep (docs/admin-import-export.md "Bounds of an
 * import"), checked before anything of it is stored, each refusal naming
 * its limit and the numbers:
 *
 *   loop:    the file's bytes ─► imports' share of the memory queue ─► 429 queue_full
 *   reading: messages, facts of the file ─► import_max_messages/_facts ─► 409 import_limit
 *   worker:  the user's messages in all ─► max_messages_per_user     ─► 409 import_limit
 *            the planned extraction jobs ─► imports' share of queue   ─► 429 queue_full
 *            its tokens and the day's   ─► max_model_tokens_per_user_day ─► 429 import_quota
 *   store:   the user's facts in all    ─► max_facts_per_user         ─► 409 memory_full
 *
 * Imports may fill import_queue_share percent of [memory] queue_max and
 * queue_max_bytes; the rest is the chat turns' headroom, which no import
 * takes (a chat turn is refused only past the whole bounds). */
#ifndef MP_PROXY_ADMIN_IMPORTBOUNDS_H
#define MP_PROXY_ADMIN_IMPORTBOUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "admin/adminimport.h"
#include "admin/importrun.h"
#include "config/config.h"
#include "metrics.h"

struct mp_memworker;
struct mp_store;

/* The limits in force for one import (copied: the worker reads no
 * configuration). */
struct mp_importbounds {
    unsigned queue_share;                 /* import_queue_share, percent */
    size_t import_messages, import_facts; /* import_max_messages, import_max_facts */
    uint64_t user_messages, user_facts;   /* max_messages_per_user, max_facts_per_user */
    uint64_t tokens_day;                  /* max_model_tokens_per_user_day */
};

void mp_importbounds_init(struct mp_importbounds *b, const struct mp_config *cfg);

/* Loop thread: whether a file of bytes may wait for the worker: MP_OK
 * with its bytes held in the queue (mp_memworker_import_release() gives
 * them back), or MP_ETOOBIG with the refusal in *a (Retry-After set). */
int mp_importbounds_admit(struct mp_memworker *mw, const struct mp_importbounds *b, size_t bytes,
                          struct mp_import_answer *a);

/* The refusal of a file a reader stopped at MP_ETOOBIG: past
 * import_messages (the batch holds that many messages) or import_facts. */
void mp_importbounds_too_many(const struct mp_importbounds *b, const struct mp_import_batch *batch,
                              struct mp_import_answer *a);

/* Worker thread: job (prepared for the user key user[0..len), borrowed)
 * against what the user holds, the queue and the day's tokens (tokens:
 * its extraction's estimate) at now_ms: MP_OK; MP_ETOOBIG with the
 * refusal in *a and its reason in *why; a store error. */
int mp_importbounds_check(struct mp_memworker *mw, struct mp_store *store,
                          const struct mp_importbounds *b, const char *user, size_t len,
                          const struct mp_import_job *job, uint64_t tokens, int64_t now_ms,
                          struct mp_import_answer *a, enum mp_import_refusal *why);

/* Worker thread: the refusal of an import the store refused with
 * MP_ECONFLICT, into *a and its reason into *why: the day's tokens, when
 * another process on the store spent them since the check (429
 * import_quota; tokens as for mp_importbounds_check), else
 * max_facts_per_user (409 memory_full, with the user's facts). */
void mp_importbounds_store_refused(struct mp_store *store, const struct mp_importbounds *b,
                                   const char *user, size_t len, const struct mp_import_job *job,
                                   uint64_t tokens, int64_t now_ms, struct mp_import_answer *a,
                                   enum mp_import_refusal *why);

#endif
