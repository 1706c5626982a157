/* An import's bounds (importbounds.h): each check compares, and on
 * refusal writes a message that names the limit's key and the numbers,
 * grouped by thousands, as a person reads them. */
#include "admin/importbounds.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin/importquota.h"
#include "memory/memworker.h"
#include "ops/store.h"
#include "status.h"

/* How long a refusal for the queue asks to wait: the memory worker
 * drains about this much of an import's share in a minute or so. */
#define QUEUE_RETRY_S 60

/* v with thousands grouped by commas ("20,000"), into out (32 bytes). */
static const char *grouped(uint64_t v, char out[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

static void refuse(struct mp_import_answer *a, enum mp_perr perr, unsigned retry_after_s)
{
    memset(a, 0, sizeof(*a));
    a->perr = perr;
    a->retry_after_s = retry_after_s;
}

void mp_importbounds_init(struct mp_importbounds *b, const struct mp_config *cfg)
{
    *b = (struct mp_importbounds){.queue_share = cfg->memory.import_queue_share,
                                  .import_messages = cfg->memory.import_max_messages,
                                  .import_facts = cfg->memory.import_max_facts,
                                  .user_messages = cfg->memory.max_messages_per_user,
                                  .user_facts = cfg->memory.max_facts_per_user,
                                  .tokens_day = cfg->memory.max_model_tokens_per_user_day};
}

/* The refusal of the queue's share: jobs the import would add (0: its
 * file only), what the queue holds. */
static void queue_full(const struct mp_importbounds *b, size_t jobs, size_t bytes,
                       const struct mp_memworker_room *room, struct mp_import_answer *a)
{
    char n1[32], n2[32], n3[32];
    refuse(a, MP_PERR_IMPORT_QUEUE_FULL, QUEUE_RETRY_S);
    if (bytes > 0 && room->bytes + bytes > room->max_bytes)
        snprintf(a->message, sizeof(a->message),
                 "The memory queue is busy: it holds %s bytes, and this file's %s would pass the "
                 "%s imports may fill (import_queue_share, %u%% of queue_max_bytes). Nothing was "
                 "imported; try again in a minute.",
                 grouped(room->bytes, n1), grouped(bytes, n2), grouped(room->max_bytes, n3),
                 b->queue_share);
    else
        snprintf(a->message, sizeof(a->message),
                 "The memory queue is busy: it holds %s items, and this import's %s would pass "
                 "the %s imports may fill (import_queue_share, %u%% of queue_max). Nothing was "
                 "imported; try again in a minute, or import with extract_max_tokens=0 (no "
                 "extraction, one item).",
                 grouped(room->depth, n1), grouped(jobs > 0 ? jobs : 1, n2), grouped(room->max, n3),
                 b->queue_share);
}

int mp_importbounds_admit(struct mp_memworker *mw, const struct mp_importbounds *b, size_t bytes,
                          struct mp_import_answer *a)
{
    struct mp_memworker_room room;
    if (mp_memworker_import_reserve(mw, 1, bytes, b->queue_share, &room) == MP_OK)
        return MP_OK;
    queue_full(b, 0, bytes, &room, a);
    return MP_ETOOBIG;
}

void mp_importbounds_too_many(const struct mp_importbounds *b, const struct mp_import_batch *batch,
                              struct mp_import_answer *a)
{
    char n1[32], n2[32];
    bool messages = b->import_messages > 0 && batch->nmessages >= b->import_messages;
    bool facts = b->import_facts > 0 && batch->nfacts >= b->import_facts;
    refuse(a, MP_PERR_IMPORT_LIMIT, 0);
    if (!messages && !facts && batch->nsettings >= MP_IMPORT_SETTINGS_MAX)
        snprintf(a->message, sizeof(a->message),
                 "The file holds more than %d settings lines, the most one import may hold. "
                 "Nothing was imported.",
                 MP_IMPORT_SETTINGS_MAX);
    else if (messages || facts)
        snprintf(a->message, sizeof(a->message),
                 "The file holds more than %s %s, the most one import may hold (%s). Nothing was "
                 "imported; import it in parts, or ask the operator to raise the limit.",
                 grouped(messages ? b->import_messages : b->import_facts, n1),
                 messages ? "messages" : "facts",
                 messages ? "import_max_messages" : "import_max_facts");
    else
        snprintf(a->message, sizeof(a->message),
                 "A conversation of the file holds more than %s entries (messages, edits and "
                 "hidden ones), the most one import reads of one conversation (%u for each of "
                 "import_max_messages, %s). Nothing was imported.",
                 grouped(batch->max_nodes, n1), MP_IMPORTRUN_NODES_PER_MESSAGE,
                 grouped(b->import_messages, n2));
}

/* What the user holds: MP_OK (nothing stored: none), or a store error. */
static int user_info(struct mp_store *store, const char *user, size_t len,
                     struct mp_user_info *info)
{
    memset(info, 0, sizeof(*info));
    int rc = mp_store_user_info(store, user, len, info);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

/* The user's messages in all, the import's added (those it holds that
 * are stored already count too: the check is made before the store is
 * asked). */
static int user_messages(struct mp_store *store, const struct mp_importbounds *b, const char *user,
                         size_t len, const struct mp_import_job *job, struct mp_import_answer *a)
{
    struct mp_user_info info;
    size_t adds = mp_import_job_count(job, MP_OP_IMPORT_MESSAGE);
    int rc = adds > 0 ? user_info(store, user, len, &info) : MP_OK;
    if (rc != MP_OK || adds == 0)
        return rc;
    uint64_t held = info.narchive > info.nmessages ? info.narchive : info.nmessages;
    if (held + adds <= b->user_messages)
        return MP_OK;
    char n1[32], n2[32], n3[32];
    refuse(a, MP_PERR_IMPORT_LIMIT, 0);
    snprintf(a->message, sizeof(a->message),
             "The user keeps %s messages, and this import's %s would pass the %s one user may "
             "keep (max_messages_per_user). Nothing was imported.",
             grouped(held, n1), grouped(adds, n2), grouped(b->user_messages, n3));
    return MP_ETOOBIG;
}

/* The day's tokens: the import's estimate against what is left today
 * (the store's record, which every process on the store shares). */
static int day_tokens(struct mp_store *store, const struct mp_importbounds *b, const char *user,
                      size_t len, uint64_t tokens, int64_t now_ms, struct mp_import_answer *a)
{
    uint64_t spent = 0;
    int rc = tokens > 0 ? mp_importquota_spent(store, user, len, now_ms, &spent) : MP_OK;
    if (rc != MP_OK)
        return rc;
    uint64_t left = spent < b->tokens_day ? b->tokens_day - spent : 0;
    if (tokens == 0 || tokens <= left)
        return MP_OK;
    char n1[32], n2[32], n3[32], n4[32];
    refuse(a, MP_PERR_IMPORT_QUOTA, mp_importquota_seconds_left(now_ms));
    snprintf(a->message, sizeof(a->message),
             "This import would send about %s tokens to the memory model, and %s of the user's "
             "%s a day are left today (max_model_tokens_per_user_day; days are UTC). Nothing was "
             "imported; try again tomorrow, or import with extract_max_tokens=%s.",
             grouped(tokens, n1), grouped(left, n2), grouped(b->tokens_day, n3), grouped(left, n4));
    return MP_ETOOBIG;
}

int mp_importbounds_check(struct mp_memworker *mw, struct mp_store *store,
                          const struct mp_importbounds *b, const char *user, size_t len,
                          const struct mp_import_job *job, uint64_t tokens, int64_t now_ms,
                          struct mp_import_answer *a, enum mp_import_refusal *why)
{
    int rc = user_messages(store, b, user, len, job, a);
    *why = MP_IMPORTX_LIMIT;
    if (rc != MP_OK)
        return rc;
    size_t jobs = mp_import_job_count(job, MP_OP_ADD_JOB);
    struct mp_memworker_room room;
    if (jobs > 0 && mp_memworker_import_reserve(mw, jobs, 0, b->queue_share, &room) != MP_OK) {
        queue_full(b, jobs, 0, &room, a);
        *why = MP_IMPORTX_QUEUE_FULL;
        return MP_ETOOBIG;
    }
    *why = MP_IMPORTX_QUOTA;
    return day_tokens(store, b, user, len, tokens, now_ms, a);
}

void mp_importbounds_store_refused(struct mp_store *store, const struct mp_importbounds *b,
                                   const char *user, size_t len, const struct mp_import_job *job,
                                   uint64_t tokens, int64_t now_ms, struct mp_import_answer *a,
                                   enum mp_import_refusal *why)
{
    struct mp_user_info info;
    char n1[32], n2[32], n3[32];
    *why = MP_IMPORTX_QUOTA;
    if (day_tokens(store, b, user, len, tokens, now_ms, a) == MP_ETOOBIG)
        return;
    *why = MP_IMPORTX_LIMIT;
    (void)user_info(store, user, len, &info);
    refuse(a, MP_PERR_MEMORY_FULL, 0);
    snprintf(a->message, sizeof(a->message),
             "The user has %s facts, and this import's %s would pass the %s one user "
             "may keep (max_facts_per_user). Nothing was imported.",
             grouped(info.nfacts, n1), grouped(mp_import_job_count(job, MP_OP_UPSERT_ENTITY), n2),
             grouped(b->user_facts, n3));
}
