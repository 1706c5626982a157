/* An import's ops (adminimport.h): messages sorted by time, facts as
 * stated upserts, every text through pii_mode, ids hashed into import
 * keys. */
#include "admin/adminimport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "piipolicy.h"
#include "sha256.h"
#include "status.h"

static int cmp_message_time(const void *a, const void *b)
{
    const struct mp_import_item *const *x = a, *const *y = b;
    if ((*x)->at_ms != (*y)->at_ms)
        return (*x)->at_ms < (*y)->at_ms ? -1 : 1;
    return (*x)->line < (*y)->line ? -1 : (*x)->line > (*y)->line;
}

/* SHA-256 of "import:" | id: the line's import key. */
static void id_key(const char *id, uint8_t out[MP_IDEM_KEY_LEN])
{
    static const char label[] = "import:";
    const struct mp_sha256_part parts[] = {{label, sizeof(label) - 1}, {id, strlen(id)}};
    mp_sha256(parts, sizeof(parts) / sizeof(parts[0]), out);
}

struct build {
    struct mp_import_job *job;
    const struct mp_import_opts *opts;
    const char *user;
    size_t user_len;
    const char *request_id;
    int64_t now_ms;
};

/* The op of a settings line (the last one counts: later ops win). */
static void settings_op(struct build *b, const struct mp_import_item *it)
{
    struct mp_op *op = &b->job->ops[b->job->nops++];
    memset(op, 0, sizeof(*op));
    op->kind = MP_OP_SET_USER_MODE;
    op->user = b->user;
    op->user_len = b->user_len;
    op->now_ms = b->now_ms;
    op->actor = MP_ACTOR_ADMIN;
    op->u.user_mode = it->mode;
}

/* When a line's id is remembered: now, or earlier when its item would be
 * purged before the id (whose age limit is the idempotency window): the
 * sweep that purges the item purges the id with it. */
static int64_t key_time(const struct build *b, int64_t at_ms, bool pii)
{
    const struct mp_retention *r = &b->opts->retention;
    int64_t limit = mp_lifecycle_limit(r, pii);
    int64_t from = b->opts->item_time ? at_ms : b->now_ms;
    int64_t t = from + limit - r->idem_max_age_ms;
    return limit > 0 && t < b->now_ms ? t : b->now_ms;
}

/* The op of one item, through pii_mode and retention: MP_OK (past
 * retention with item_time: no op), MP_NOTFOUND (dropped). */
static int item_op(struct build *b, const struct mp_import_item *it)
{
    struct mp_import_job *job = b->job;
    char *text = NULL;
    size_t len = 0;
    bool pii = false;
    enum mp_pii_item kind = it->type == MP_IMPORT_FACT ? MP_PII_ITEM_FACT : MP_PII_ITEM_MESSAGE;
    int rc = mp_piipolicy_apply(b->opts->pii_mode, kind, it->text, it->text_len, false, &text, &len,
                                &pii);
    if (rc == MP_OK && it->type == MP_IMPORT_FACT && (len == 0 || len > MP_ENTITY_VALUE_MAX))
        rc = MP_NOTFOUND; /* a masked value that no longer fits is not kept */
    bool past = rc == MP_OK && mp_lifecycle_past(&b->opts->retention, b->now_ms, it->at_ms, pii);
    job->past += past;
    if (rc != MP_OK || (past && b->opts->item_time)) {
        free(text);
        return rc; /* MP_OK when past: not imported */
    }
    job->texts[job->ntexts++] = text;
    struct mp_op *op = &job->ops[job->nops];
    memset(op, 0, sizeof(*op));
    op->user = b->user;
    op->user_len = b->user_len;
    op->now_ms = b->now_ms;
    op->actor = MP_ACTOR_ADMIN;
    op->recorded_at_ms = b->opts->item_time ? it->at_ms : 0;
    if (it->has_id) {
        id_key(it->id, job->keys[job->nops]);
        op->import_key = job->keys[job->nops];
        op->import_key_at_ms = key_time(b, it->at_ms, pii);
    }
    if (it->type == MP_IMPORT_MESSAGE) {
        struct mp_mem_message *m = &job->msgs[job->nops];
        memset(m, 0, sizeof(*m));
        m->role = it->role;
        m->content = text;
        m->content_len = len;
        m->at_ms = it->at_ms;
        m->pii = pii;
        m->conv = it->conv;
        m->conv_kind = it->conv_kind;
        m->reply_ref = it->reply_ref;
        m->lang = it->lang;
        snprintf(m->request_id, sizeof(m->request_id), "%s", b->request_id);
        op->kind = MP_OP_IMPORT_MESSAGE;
        op->u.turn.messages = m;
        op->u.turn.nmessages = 1;
    } else {
        struct mp_mem_entity *e = &op->u.entity;
        op->kind = MP_OP_UPSERT_ENTITY;
        op->whole = true;
        memcpy(e->key, it->key, sizeof(e->key));
        e->value = text;
        e->value_len = len;
        e->confidence = it->confidence;
        e->observed_at_ms = it->at_ms;
        e->recorded_at_ms = b->now_ms;
        e->trust = MP_TRUST_STATED;
        e->source_role = MP_ROLE_USER;
        e->pii = pii;
        snprintf(e->request_id, sizeof(e->request_id), "%s", b->request_id);
    }
    job->nops++;
    return MP_OK;
}

int mp_import_prepare(struct mp_import_job *job, const struct mp_import_opts *opts,
                      const char *user, size_t user_len, const char *request_id, int64_t now_ms,
                      const char *body, size_t len, size_t *bad_line, const char **why)
{
    struct build b = {job, opts, user, user_len, request_id, now_ms};
    memset(job, 0, sizeof(*job));
    int rc = mp_import_parse(body, len, now_ms, &job->batch, bad_line, why);
    if (rc != MP_OK)
        return rc;
    size_t n = job->batch.n > 0 ? job->batch.n : 1;
    const struct mp_import_item **order = calloc(n, sizeof(*order));
    job->ops = calloc(n, sizeof(*job->ops));
    job->msgs = calloc(n, sizeof(*job->msgs));
    job->keys = calloc(n, sizeof(*job->keys));
    job->texts = calloc(n, sizeof(*job->texts));
    if (order == NULL || job->ops == NULL || job->msgs == NULL || job->keys == NULL ||
        job->texts == NULL) {
        free(order);
        return MP_ENOMEM;
    }
    size_t nmsg = 0, nord = 0;
    for (size_t i = 0; i < job->batch.n; i++)
        if (job->batch.items[i].type == MP_IMPORT_MESSAGE)
            order[nmsg++] = &job->batch.items[i];
    qsort(order, nmsg, sizeof(*order), cmp_message_time);
    nord = nmsg;
    for (size_t i = 0; i < job->batch.n; i++)
        if (job->batch.items[i].type == MP_IMPORT_FACT)
            order[nord++] = &job->batch.items[i];
    rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < nord; i++) {
        rc = item_op(&b, order[i]);
        if (rc == MP_NOTFOUND) {
            job->dropped++;
            rc = MP_OK;
        }
    }
    /* the setting last: an export of a user whose memory is off holds
       items stored before, and they import whatever the setting is */
    for (size_t i = 0; rc == MP_OK && i < job->batch.n; i++)
        if (job->batch.items[i].type == MP_IMPORT_SETTINGS)
            settings_op(&b, &job->batch.items[i]);
    free(order);
    return rc;
}

int mp_import_apply(struct mp_store *store, struct mp_import_job *job)
{
    job->messages = job->facts = job->settings = 0;
    job->skipped = job->batch.nskipped + job->dropped;
    if (job->nops == 0)
        return MP_OK;
    int rc = mp_store_apply(store, job->ops, job->nops);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < job->nops; i++) {
        const struct mp_op *op = &job->ops[i];
        if (op->result != MP_OK)
            job->skipped++;
        else if (op->kind == MP_OP_IMPORT_MESSAGE)
            job->messages++;
        else if (op->kind == MP_OP_SET_USER_MODE)
            job->settings++;
        else
            job->facts++;
    }
    return MP_OK;
}

void mp_import_job_free(struct mp_import_job *job)
{
    for (size_t i = 0; i < job->ntexts; i++)
        free(job->texts[i]);
    free(job->texts);
    free(job->ops);
    free(job->msgs);
    free(job->keys);
    mp_import_batch_free(&job->batch);
    memset(job, 0, sizeof(*job));
}
