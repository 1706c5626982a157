/* An import's ops (adminimport.h): messages in the plan's order with the
 * extraction jobs of its turns, facts as upserts of their trust class,
 * every text through pii_mode, ids (given or derived) hashed into import
 * keys. */
#include "admin/adminimport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/lifecycle.h"
#include "plane/convlook.h"
#include "memory/piipolicy.h"
#include "format/sha256.h"
#include "status.h"

/* A key never swept: an item kept without an age limit keeps it. */
#define KEY_FOREVER_MS (INT64_MAX / 2)

/* SHA-256 of "import:" | id: the line's import key. */
static void id_key(const char *id, uint8_t out[MP_IDEM_KEY_LEN])
{
    static const char label[] = "import:";
    const struct mp_sha256_part parts[] = {{label, sizeof(label) - 1}, {id, strlen(id)}};
    mp_sha256(parts, sizeof(parts) / sizeof(parts[0]), out);
}

/* The import key of an item without an id, from what it is: a message's
 * conversation, role, time and content; a fact's key, value and time.
 * Items alike in all of that are told apart by their order in the file
 * (occurrence: 0 for the first), so that a file imports them all, and the
 * same file again none. */
static void derived_key(const struct mp_import_item *it, uint64_t occurrence,
                        uint8_t out[MP_IDEM_KEY_LEN])
{
    static const char label[] = "import-item:";
    unsigned char head[1 + 8 + 1 + 8];
    head[0] = it->type == MP_IMPORT_MESSAGE ? 'm' : 'f';
    for (int i = 0; i < 8; i++) {
        head[1 + i] = (unsigned char)(it->conv >> (56 - 8 * i));
        head[10 + i] = (unsigned char)((uint64_t)it->at_ms >> (56 - 8 * i));
    }
    head[9] = (unsigned char)it->role;
    const struct mp_sha256_part parts[] = {
        {label, sizeof(label) - 1},
        {head, sizeof(head)},
        {it->key, it->type == MP_IMPORT_FACT ? strlen(it->key) + 1 : 0},
        {it->text, it->text_len}};
    mp_sha256(parts, sizeof(parts) / sizeof(parts[0]), out);
    if (occurrence == 0)
        return;
    unsigned char occ[MP_IDEM_KEY_LEN + 8];
    memcpy(occ, out, MP_IDEM_KEY_LEN);
    for (int i = 0; i < 8; i++)
        occ[MP_IDEM_KEY_LEN + i] = (unsigned char)(occurrence >> (56 - 8 * i));
    const struct mp_sha256_part again = {occ, sizeof(occ)};
    mp_sha256(&again, 1, out);
}

/* An item's derived key before its occurrence, with its place. */
struct alike {
    uint8_t key[MP_IDEM_KEY_LEN];
    size_t item;
};

static int cmp_alike(const void *a, const void *b)
{
    const struct alike *x = a, *y = b;
    int d = memcmp(x->key, y->key, MP_IDEM_KEY_LEN);
    return d != 0 ? d : (x->item > y->item) - (x->item < y->item);
}

/* Each item's occurrence among the items alike before it in the file
 * (derived_key), into occ[0..batch->n). */
static int occurrences(const struct mp_import_batch *batch, uint64_t *occ)
{
    struct alike *a = calloc(batch->n > 0 ? batch->n : 1, sizeof(*a));
    size_t n = 0;
    if (a == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < batch->n; i++) {
        const struct mp_import_item *it = &batch->items[i];
        if (it->has_id || (it->type != MP_IMPORT_MESSAGE && it->type != MP_IMPORT_FACT))
            continue;
        derived_key(it, 0, a[n].key);
        a[n++].item = i;
    }
    qsort(a, n, sizeof(*a), cmp_alike);
    for (size_t i = 0; i < n; i++)
        occ[a[i].item] = i > 0 && memcmp(a[i].key, a[i - 1].key, MP_IDEM_KEY_LEN) == 0
                             ? occ[a[i - 1].item] + 1
                             : 0;
    free(a);
    return MP_OK;
}

struct build {
    struct mp_import_job *job;
    const struct mp_import_opts *opts;
    const char *user;
    size_t user_len;
    const char *request_id;
    int64_t now_ms;
};

/* The next op, of kind, for the user, now, by an admin. */
static struct mp_op *new_op(struct build *b, enum mp_op_kind kind)
{
    struct mp_op *op = &b->job->ops[b->job->nops];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->user = b->user;
    op->user_len = b->user_len;
    op->now_ms = b->now_ms;
    op->actor = MP_ACTOR_ADMIN;
    return op;
}

/* The op of a settings line (the last one counts: later ops win). */
static void settings_op(struct build *b, const struct mp_import_item *it)
{
    struct mp_op *op = new_op(b, MP_OP_SET_USER_MODE);
    b->job->nops++;
    op->u.user_mode = it->mode;
}

/* The time a line's key is remembered at: the sweep purges a key when
 * that time is the idempotency window old, so a key dated its item's
 * purge less that window goes with its item (earlier or later than now),
 * and one dated never goes while its item is kept without an age limit. */
static int64_t key_time(const struct build *b, int64_t at_ms, bool pii)
{
    const struct mp_retention *r = &b->opts->retention;
    int64_t limit = mp_lifecycle_limit(r, pii);
    int64_t from = b->opts->item_time ? at_ms : b->now_ms;
    return limit > 0 ? from + limit - r->idem_max_age_ms : KEY_FOREVER_MS;
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
    struct mp_op *op =
        new_op(b, it->type == MP_IMPORT_MESSAGE ? MP_OP_IMPORT_MESSAGE : MP_OP_UPSERT_ENTITY);
    op->recorded_at_ms = b->opts->item_time ? it->at_ms : 0;
    if (it->has_id)
        id_key(it->id, job->keys[job->nops]);
    else
        derived_key(it, job->occurrence[it - job->batch.items], job->keys[job->nops]);
    op->import_key = job->keys[job->nops];
    op->import_key_at_ms = key_time(b, it->at_ms, pii);
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
        e->trust = it->trust;
        e->source_role = MP_ROLE_USER;
        e->pii = pii;
        snprintf(e->request_id, sizeof(e->request_id), "%s",
                 it->source != NULL ? it->source : b->request_id);
    }
    job->nops++;
    return MP_OK;
}

/* Each message of a reader's conversation gets its digest. */
static void digest_convs(struct mp_import_batch *batch, const char *user, size_t user_len)
{
    uint64_t *digest = calloc(batch->nconvs > 0 ? batch->nconvs : 1, sizeof(*digest));
    for (size_t i = 0; digest != NULL && i < batch->nconvs; i++)
        digest[i] = mp_convlook_export_digest(user, user_len, batch->convs[i].source,
                                              batch->convs[i].id, batch->convs[i].id_len);
    for (size_t i = 0; i < batch->n; i++) {
        struct mp_import_item *it = &batch->items[i];
        if (it->conv_ref == 0 || it->conv_ref > batch->nconvs)
            continue;
        it->conv = digest != NULL ? digest[it->conv_ref - 1] : 0;
        it->conv_kind = it->conv != 0 ? MP_CONVID_CLIENT : 0;
    }
    free(digest);
}

/* The EXTRACT job of the turn whose messages' ops (the last n) just went
 * before it. */
static void job_op(struct build *b, size_t n, uint64_t tokens)
{
    b->job->op_tokens[b->job->nops] = tokens;
    struct mp_op *op = new_op(b, MP_OP_ADD_JOB);
    b->job->nops++;
    op->u.job.kind = MP_JOB_EXTRACT;
    memcpy(op->u.job.user, b->user, b->user_len);
    op->u.job.user_len = b->user_len;
    op->u.job.created_ms = b->now_ms;
    op->import_turn_ops = (uint32_t)n;
}

/* One item's op, a pii drop counted. */
static int one_op(struct build *b, const struct mp_import_item *it)
{
    int rc = item_op(b, it);
    if (rc == MP_NOTFOUND) {
        b->job->dropped++;
        rc = MP_OK;
    }
    return rc;
}

/* The messages in the plan's order, each turn that goes to the model
 * followed by its job; then the facts. */
static int message_and_fact_ops(struct build *b)
{
    const struct mp_importplan *p = &b->job->plan;
    int rc = MP_OK;
    for (size_t t = 0; rc == MP_OK && t < p->nturns; t++) {
        size_t before = b->job->nops;
        for (size_t i = 0; rc == MP_OK && i < p->turns[t].n; i++)
            rc = one_op(b, p->order[p->turns[t].first + i]);
        if (rc == MP_OK && p->turns[t].extract && b->job->nops > before)
            job_op(b, b->job->nops - before, p->turns[t].tokens);
    }
    for (size_t i = 0; rc == MP_OK && p->nturns == 0 && i < p->n; i++)
        rc = one_op(b, p->order[i]);
    for (size_t i = 0; rc == MP_OK && i < b->job->batch.n; i++)
        if (b->job->batch.items[i].type == MP_IMPORT_FACT)
            rc = one_op(b, &b->job->batch.items[i]);
    return rc;
}

int mp_import_prepare(struct mp_import_job *job, const struct mp_import_opts *opts,
                      const char *user, size_t user_len, const char *request_id, int64_t now_ms,
                      struct mp_import_batch *batch)
{
    struct build b = {job, opts, user, user_len, request_id, now_ms};
    memset(job, 0, sizeof(*job));
    job->batch = *batch;
    memset(batch, 0, sizeof(*batch));
    digest_convs(&job->batch, user, user_len);
    /* an item each, a job per turn at most, and the day's spend (importquota.h) */
    size_t n = 2 * job->batch.n + 2;
    job->ops = calloc(n, sizeof(*job->ops));
    job->msgs = calloc(n, sizeof(*job->msgs));
    job->keys = calloc(n, sizeof(*job->keys));
    job->texts = calloc(n, sizeof(*job->texts));
    job->op_tokens = calloc(n, sizeof(*job->op_tokens));
    job->occurrence = calloc(n, sizeof(*job->occurrence));
    if (job->ops == NULL || job->msgs == NULL || job->keys == NULL || job->texts == NULL ||
        job->op_tokens == NULL || job->occurrence == NULL)
        return MP_ENOMEM;
    int rc = occurrences(&job->batch, job->occurrence);
    if (rc == MP_OK)
        rc = mp_importplan_make(&job->batch, &opts->plan, &job->plan);
    if (rc == MP_OK)
        rc = message_and_fact_ops(&b);
    /* the setting last: an export of a user whose memory is off holds
       items stored before, and they import whatever the setting is */
    for (size_t i = 0; rc == MP_OK && i < job->batch.n; i++)
        if (job->batch.items[i].type == MP_IMPORT_SETTINGS)
            settings_op(&b, &job->batch.items[i]);
    /* the ops hold the policy's copies: the file's texts go now, so that
       an import holds its text once while it is applied */
    for (size_t i = 0; rc == MP_OK && i < job->batch.n; i++) {
        free(job->batch.items[i].text);
        job->batch.items[i].text = NULL;
    }
    return rc;
}

int mp_import_apply(struct mp_store *store, struct mp_import_job *job)
{
    job->messages = job->facts = job->settings = job->jobs = job->known = job->kept_out = 0;
    job->queued_tokens = 0;
    job->skipped = job->batch.nskipped + job->dropped;
    if (job->nops == 0)
        return MP_OK;
    int rc = mp_store_apply(store, job->ops, job->nops);
    if (rc != MP_OK)
        return rc;
    for (size_t i = 0; i < job->nops; i++) {
        const struct mp_op *op = &job->ops[i];
        if (op->kind == MP_OP_ADD_JOB && op->result == MP_OK) {
            job->jobs++;
            job->queued_tokens += job->op_tokens[i];
        } else if (op->kind == MP_OP_ADD_JOB || op->kind == MP_OP_SPEND_TOKENS) {
            continue; /* its turn was imported before; the day's spend */
        } else if (op->result != MP_OK) {
            job->skipped++;
            job->known += op->kind == MP_OP_IMPORT_MESSAGE;
            job->kept_out += op->kind == MP_OP_UPSERT_ENTITY;
        } else if (op->kind == MP_OP_IMPORT_MESSAGE)
            job->messages++;
        else if (op->kind == MP_OP_SET_USER_MODE)
            job->settings++;
        else
            job->facts++;
    }
    return MP_OK;
}

size_t mp_import_job_count(const struct mp_import_job *job, enum mp_op_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < job->nops; i++)
        n += job->ops[i].kind == kind;
    return n;
}

void mp_import_job_free(struct mp_import_job *job)
{
    for (size_t i = 0; i < job->ntexts; i++)
        free(job->texts[i]);
    free(job->texts);
    free(job->ops);
    free(job->msgs);
    free(job->keys);
    free(job->op_tokens);
    free(job->occurrence);
    mp_importplan_free(&job->plan);
    mp_importitem_free(&job->batch);
    memset(job, 0, sizeof(*job));
}
