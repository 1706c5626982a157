/* The store's input checks, and the calls on the whole store: the backend's
 * table for what only it can do (stats, compaction, closing). The ops are
 * store_ops.c's (mp_store_apply) and store_read.c's (the reads). */
#include "ops/store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wire/convid.h"
#include "status.h"
#include "ops/store_backend.h"
#include "recall/terms.h"

/* ---- input checks ---- */

int mp_store_check_user(const char *user, size_t user_len)
{
    if (user == NULL || user_len < 1 || user_len > MP_USER_KEY_MAX)
        return MP_EINVAL;
    if ((unsigned char)user[0] == MP_USER_KEY_TENANT && user_len < 1 + MP_TENANT_LEN + 1)
        return MP_EINVAL;
    return MP_OK;
}

static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Keys must arrive normalized: a store that normalized them itself would
 * hide a caller that forgot to, and then DELETE of "Vector DB" and GET of
 * "vector_db" would disagree about what exists. */
static bool key_ok(const char *key)
{
    char norm[MP_ENTITY_KEY_MAX + 1];
    size_t n = strnlen(key, MP_ENTITY_KEY_MAX + 1);
    if (n == 0 || n > MP_ENTITY_KEY_MAX)
        return false;
    return mp_usermem_normalize_key(key, n, norm) == MP_OK && strcmp(norm, key) == 0;
}

/* A loop's lists (store.h): within bounds, and a link has both. */
static bool loop_ok(const struct mp_op *op)
{
    size_t nk = op->u.turn.nloop_keep, nf = op->u.turn.nloop_find;
    if (nk > MP_STORE_LOOP_KEYS || nf > MP_STORE_LOOP_KEYS ||
        (nk > 0 && op->u.turn.loop_keep == NULL) || (nf > 0 && op->u.turn.loop_find == NULL))
        return false;
    if (op->u.turn.loop_end && nf == 0)
        return false;
    return op->u.turn.nmessages > 0 || (nk > 0 && nf > 0 && !op->u.turn.loop_end);
}

static bool turn_ok(const struct mp_op *op)
{
    if (!loop_ok(op) || (op->u.turn.nmessages > 0 && op->u.turn.messages == NULL))
        return false;
    for (size_t i = 0; i < op->u.turn.nmessages; i++) {
        const struct mp_mem_message *m = &op->u.turn.messages[i];
        if ((unsigned)m->role > MP_ROLE_ASSISTANT || m->content_len > MP_MESSAGE_CONTENT_MAX ||
            m->conv_kind > MP_CONVID_KIND_MAX)
            return false;
        if ((m->content == NULL && m->content_len > 0) ||
            !terminated(m->request_id, sizeof(m->request_id)))
            return false;
    }
    return true;
}

static bool entity_ok(const struct mp_mem_entity *e)
{
    if (!key_ok(e->key) || e->value == NULL || e->value_len == 0 ||
        e->value_len > MP_ENTITY_VALUE_MAX)
        return false;
    if (!(e->confidence >= 0.0 && e->confidence <= 1.0)) /* NaN fails too */
        return false;
    if ((unsigned)e->trust > MP_TRUST_ADMIN || (unsigned)e->source_role > MP_ROLE_ASSISTANT)
        return false;
    return terminated(e->request_id, sizeof(e->request_id)) &&
           terminated(e->model, sizeof(e->model));
}

static bool job_ok(const struct mp_job *j)
{
    return (unsigned)j->kind <= MP_JOB_EXTRACT && j->user_len >= 1 &&
           j->user_len <= MP_USER_KEY_MAX;
}

int mp_store_check_op(const struct mp_op *op)
{
    bool ok;
    switch (op->kind) {
    case MP_OP_ADD_JOB:
    case MP_OP_UPDATE_JOB:
        return job_ok(&op->u.job) ? MP_OK : MP_EINVAL;
    case MP_OP_DONE_JOB:
        return MP_OK;
    case MP_OP_RECORD_TURN:
        ok = turn_ok(op);
        break;
    case MP_OP_IMPORT_MESSAGE:
        ok = turn_ok(op) && op->u.turn.nmessages == 1 && op->u.turn.nloop_find == 0 &&
             terminated(op->u.turn.messages[0].model, sizeof(op->u.turn.messages[0].model));
        break;
    case MP_OP_SET_SUMMARY:
        ok = op->u.summary.text_len <= MP_STORE_SUMMARY_MAX &&
             (op->u.summary.text != NULL || op->u.summary.text_len == 0) &&
             (op->u.summary.model == NULL ||
              strnlen(op->u.summary.model, MP_MODEL_NAME_MAX + 1) <= MP_MODEL_NAME_MAX);
        break;
    case MP_OP_TRIM_MESSAGES:
    case MP_OP_DELETE_USER:
    case MP_OP_REVOKE_LINKS:
    case MP_OP_CHECK_EPOCH:
        ok = true;
        break;
    case MP_OP_UPSERT_ENTITY:
        ok = entity_ok(&op->u.entity);
        break;
    case MP_OP_DELETE_ENTITY:
        ok = key_ok(op->u.key) && (op->actor == MP_ACTOR_USER || op->actor == MP_ACTOR_ADMIN);
        break;
    case MP_OP_SWEEP_USER:
        ok = op->u.sweep.retention.max_age_ms >= 0 && op->u.sweep.retention.pii_max_age_ms >= 0 &&
             op->u.sweep.retention.idem_max_age_ms >= 0;
        break;
    case MP_OP_PUT_VECTORS:
    case MP_OP_DROP_VECTORS:
        return mp_store_vectors_check_op(op);
    case MP_OP_CLAIM_JOB:
        return op->u.claim.owner != 0 && op->u.claim.until_ms > op->now_ms ? MP_OK : MP_EINVAL;
    case MP_OP_SET_MESSAGE_KEYS:
        ok = op->u.keys.text != NULL && op->u.keys.text_len >= 1 &&
             op->u.keys.text_len <= MP_MESSAGE_KEYS_MAX;
        break;
    case MP_OP_DELETE_MESSAGE:
        ok = op->u.seq >= 1 && (op->actor == MP_ACTOR_USER || op->actor == MP_ACTOR_ADMIN);
        break;
    case MP_OP_SET_USER_MODE:
        ok = mp_usermode_name(op->u.user_mode)[0] != '\0' &&
             (op->actor == MP_ACTOR_USER || op->actor == MP_ACTOR_ADMIN);
        break;
    case MP_OP_PUT_CONV:
        ok = op->u.conv.key != NULL && op->u.conv.rec != NULL;
        break;
    case MP_OP_NOTE_LEAD:
        ok = op->u.lead.key != NULL;
        break;
    case MP_OP_REFILE:
        ok = op->u.refile.from != 0 && op->u.refile.to != 0 && op->u.refile.kind >= 1 &&
             op->u.refile.kind <= MP_CONVID_KIND_MAX && op->u.refile.first_seq >= 1 &&
             op->u.refile.first_seq <= op->u.refile.last_seq &&
             op->u.refile.last_seq - op->u.refile.first_seq < MP_STORE_REFILE_MAX;
        break;
    case MP_OP_SPEND_TOKENS:
        ok = op->u.spend.turns_per_call >= 1;
        break;
    default:
        return MP_EINVAL;
    }
    return ok ? mp_store_check_user(op->user, op->user_len) : MP_EINVAL;
}

/* ---- the interface ---- */

int mp_store_ping(struct mp_store *store)
{
    struct mp_store_txn txn;
    if (store->be->begin(store, false, &txn) != MP_OK)
        return MP_EIO;
    store->be->end(&txn, false);
    return MP_OK;
}

int mp_store_secret(struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN])
{
    memcpy(out, store->secret, MP_SEAL_KEY_LEN);
    return MP_OK;
}

void mp_store_route_key(const struct mp_store *store, unsigned char out[MP_SEAL_KEY_LEN])
{
    memcpy(out, store->route_key, MP_SEAL_KEY_LEN);
}

int mp_store_compact(struct mp_store *store, char *err, size_t errcap)
{
    return store->be->compact(store, err, errcap);
}

int mp_store_stats(struct mp_store *store, struct mp_store_stats *out)
{
    struct mp_store_stats st;
    memset(&st, 0, sizeof(st));
    int rc = store->be->stats(store, &st);
    st.commits = atomic_load_explicit(&store->commits, memory_order_relaxed);
    if (rc == MP_OK)
        *out = st;
    return rc;
}

void mp_store_set_history_cap(struct mp_store *store, uint32_t cap)
{
    store->history_cap = cap;
}

void mp_store_set_max_facts(struct mp_store *store, uint32_t max)
{
    store->max_facts = max > 0 ? max : MP_STORE_FACTS_DEFAULT;
}

void mp_store_set_conversations(struct mp_store *store, uint32_t max, uint32_t bytes)
{
    store->conv_max = max;
    store->conv_bytes = bytes;
}

void mp_store_set_archive(struct mp_store *store, bool on)
{
    store->archive = on;
}

const char *mp_store_backend(const struct mp_store *store)
{
    return store->be->name;
}

void mp_store_free(struct mp_store *store)
{
    if (store == NULL)
        return;
    mp_terms_free(store->terms);
    store->terms = NULL;
    store->be->close(store);
}
