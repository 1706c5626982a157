/* The embeddings backfill (embjob.h): a walk of the users, one call at a
 * time for the first user with pending items, its answer checked and
 * stored under the epoch guard. */
#include "memory/embjob.h"

#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "embed/embed_answer.h"
#include "embed/embed_request.h"
#include "embed/embed_vec.h"
#include "json/utf8.h"
#include "log.h"
#include "memory/usermem.h"
#include "metrics.h"
#include "net/embcall.h"
#include "net/upstream.h"
#include "ops/store.h"
#include "status.h"

#define EMB_RESPONSE_MAX                                                                           \
    (1 << 20)                 /* an answer, at least this much taken: over its cap is too_big */
#define EMB_VALUE_TEXT   32   /* a vector value's text, at most ("-0.012345678901234567,") */
#define EMB_DIMS_UNKNOWN 4096 /* the dimensions a cap assumes before any answer told them */
#define EMB_INPUT_MAX                                                                              \
    2048                      /* an item's text sent, at most (bytes, cut on a UTF-8 boundary):    \
                                 e5 models read 512 tokens; longer inputs cost seconds */
#define EMB_TIMEOUT_MS  30000 /* a background call's wait for its answer */
#define EMB_USERS_PAGE  64    /* users read per page of the walk */
#define EMB_IDLE_MS     5000  /* a walk after one that found nothing, doubling ... */
#define EMB_IDLE_MAX_MS 60000 /* ... up to this while nothing is found */
#define EMB_KICK_MS     1000  /* a recorded turn's walk, at the latest (coalesced) */
#define EMB_COUNT_MS    1000  /* the pending gauge's walk, at most this often */
#define EMB_BACKOFF_MS  1000  /* the first retry's wait, doubling */
#define EMB_BACKOFF_MAX 60000

struct mp_embjobs {
    struct event_base *base;
    struct mp_store *store;
    struct mp_metrics *metrics;
    const struct mp_config *cfg;
    struct mp_upstream *up;
    struct event *tick;
    /* the call in flight (running) */
    bool running;
    struct mp_embcall call; /* its answer at most answer_cap() */
    char user[MP_USER_KEY_MAX];
    size_t user_len;
    uint64_t epoch;
    struct mp_vec_pending *items;
    size_t nitems;
    /* the walk: the page of users and where it stands */
    struct mp_user_info *users;
    size_t nusers, next_user;
    unsigned char cursor[MP_STORE_CURSOR_MAX], next[MP_STORE_CURSOR_MAX];
    size_t cursor_len, next_len;
    bool found; /* a user with pending items met since the walk began */
    /* what the answers taught: dimensions (0: not yet), the model's name */
    unsigned dims;
    char model[MP_EMBED_MODEL_MAX + 1];
    char cfg_model[MP_CONFIG_NAME_MAX]; /* the configuration's, to notice a change */
    unsigned cfg_dims;
    bool cfg_on;
    int64_t backoff_ms, not_before_ms, counted_ms;
    int64_t tick_at_ms; /* when the timer fires (monotonic) */
    int64_t idle_ms;    /* the wait after a walk that found nothing */
    long timeout_ms;
    _Atomic uint64_t pending;
};

static bool on(const struct mp_embjobs *e)
{
    return e->cfg->embeddings.base_url.text[0] != '\0';
}

/* The model vectors are current for: the configured name's hash, the
 * configured or learned dimensions (1 before any: nothing is current). */
static struct mp_vec_model cur_model(const struct mp_embjobs *e)
{
    const char *m = e->cfg->embeddings.model;
    unsigned dims = e->cfg->embeddings.dimensions != 0 ? e->cfg->embeddings.dimensions : e->dims;
    return (struct mp_vec_model){mp_embed_vec_model_hash(m, strlen(m)), dims != 0 ? dims : 1};
}

static void arm(struct mp_embjobs *e, int64_t ms)
{
    e->tick_at_ms = mp_clock_monotonic_ms() + ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_del(e->tick);
    evtimer_add(e->tick, &tv);
}

static void count_pending(struct mp_embjobs *e, bool now)
{
    int64_t t = mp_clock_monotonic_ms();
    uint64_t n = 0;
    struct mp_vec_model m = cur_model(e);
    if (!now && t - e->counted_ms < EMB_COUNT_MS)
        return;
    e->counted_ms = t;
    if (mp_store_vectors_pending_count(e->store, NULL, 0, &m, &n) == MP_OK) {
        atomic_store(&e->pending, n);
        mp_metrics_embed_pending(e->metrics, n);
    }
}

static void call_free(struct mp_embjobs *e)
{
    mp_embcall_end(&e->call, e->up, false);
    mp_store_vectors_pending_free(e->items, e->nitems);
    e->items = NULL;
    e->nitems = 0;
    e->running = false;
}

/* A bad call: logged without text, vector or key, counted, backed off. */
static void call_failed(struct mp_embjobs *e, enum mp_embed_result why, int64_t retry_after_ms)
{
    struct mp_logline l;
    e->backoff_ms = e->backoff_ms == 0 ? EMB_BACKOFF_MS : e->backoff_ms * 2;
    if (e->backoff_ms > EMB_BACKOFF_MAX)
        e->backoff_ms = EMB_BACKOFF_MAX;
    int64_t wait = retry_after_ms > e->backoff_ms ? retry_after_ms : e->backoff_ms;
    if (wait > 3600000)
        wait = 3600000;
    e->not_before_ms = mp_clock_monotonic_ms() + wait;
    if (e->next_user < e->nusers)
        e->next_user++; /* the walk goes on past this user: one that keeps failing starves none */
    mp_metrics_embed_call(e->metrics, why, 0);
    mp_logline_begin(&l, MP_LOG_WARN, "embeddings call failed; items stay pending");
    mp_logline_str(&l, "reason", mp_metrics_embed_result_name(why));
    mp_logline_int(&l, "items", (int64_t)e->nitems);
    mp_logline_int(&l, "retry_in_ms", wait);
    mp_logline_end(&l);
}

static enum mp_embed_result verdict_result(enum mp_embed_verdict v)
{
    switch (v) {
    case MP_EMBED_TOO_BIG:
        return MP_EMBR_TOO_BIG;
    case MP_EMBED_DIMS:
        return MP_EMBR_DIMS;
    case MP_EMBED_NONFINITE:
        return MP_EMBR_NONFINITE;
    case MP_EMBED_COUNT:
        return MP_EMBR_COUNT;
    default:
        return MP_EMBR_MALFORMED;
    }
}

/* Stores the n vectors vecs of dims each for e->items under the guard. */
static int store_vectors(struct mp_embjobs *e, const float *vecs, unsigned dims, uint32_t *written)
{
    struct mp_vec_model m = cur_model(e);
    m.dims = dims; /* the answer's, checked: the first answer teaches them */
    size_t rl = MP_EMBED_VEC_SIZE(dims);
    unsigned char *recs = malloc(rl * e->nitems);
    struct mp_store_vector *sv = calloc(e->nitems, sizeof(*sv));
    int rc = recs == NULL || sv == NULL ? MP_ENOMEM : MP_OK;
    for (size_t i = 0; rc == MP_OK && i < e->nitems; i++) {
        size_t got = 0;
        rc = mp_embed_vec_encode(vecs + i * dims, dims, m.hash, recs + i * rl, rl, &got);
        sv[i] = (struct mp_store_vector){e->items[i].item, recs + i * rl, got};
    }
    struct mp_op ops[2];
    memset(ops, 0, sizeof(ops));
    for (int k = 0; k < 2; k++) {
        ops[k].user = e->user;
        ops[k].user_len = e->user_len;
        ops[k].now_ms = mp_clock_now_ms();
    }
    ops[0].kind = MP_OP_CHECK_EPOCH;
    ops[0].u.epoch = e->epoch;
    ops[1].kind = MP_OP_PUT_VECTORS;
    ops[1].u.vectors.items = sv;
    ops[1].u.vectors.nitems = e->nitems;
    ops[1].u.vectors.model = m;
    if (rc == MP_OK)
        rc = mp_store_apply(e->store, ops, 2);
    if (rc == MP_OK && ops[0].result == MP_ECONFLICT)
        rc = MP_ECONFLICT;
    *written = ops[1].u.vectors.count;
    free(recs);
    free(sv);
    return rc;
}

/* The largest answer the batch in flight may take: its vectors as
 * decimal text, and never under EMB_RESPONSE_MAX (a padded or endless
 * answer is refused as too_big all the same). */
static size_t answer_cap(const struct mp_embjobs *e)
{
    unsigned dims = e->cfg->embeddings.dimensions != 0 ? e->cfg->embeddings.dimensions : e->dims;
    size_t need =
        e->nitems * (size_t)(dims != 0 ? dims : EMB_DIMS_UNKNOWN) * EMB_VALUE_TEXT + 64 * 1024;
    return need > EMB_RESPONSE_MAX ? need : EMB_RESPONSE_MAX;
}

/* A 2xx answer: checked, then stored. */
static void take_answer(struct mp_embjobs *e)
{
    unsigned dims = e->cfg->embeddings.dimensions != 0 ? e->cfg->embeddings.dimensions : e->dims;
    struct mp_embed_answer ans;
    uint32_t written = 0;
    if (dims == 0)
        dims = mp_embed_answer_sniff_dims(e->call.resp.data != NULL ? e->call.resp.data : "",
                                          e->call.resp.len);
    float *vecs = dims != 0 ? malloc(sizeof(float) * dims * e->nitems) : NULL;
    enum mp_embed_verdict v =
        vecs == NULL ? MP_EMBED_DIMS
                     : mp_embed_answer_parse(e->call.resp.data != NULL ? e->call.resp.data : "",
                                             e->call.resp.len, e->call.resp.max, e->nitems, dims,
                                             vecs, &ans);
    if (v != MP_EMBED_OK) {
        call_failed(e, verdict_result(v), 0);
        goto out;
    }
    if (e->model[0] != '\0' && ans.model[0] != '\0' && strcmp(ans.model, e->model) != 0) {
        call_failed(e, MP_EMBR_MODEL_CHANGED, 0);
        goto out;
    }
    int rc = store_vectors(e, vecs, dims, &written);
    if (rc == MP_ECONFLICT) {
        mp_metrics_embed_call(e->metrics, MP_EMBR_ERASED, 0); /* read again at the next pass */
        goto out;
    }
    if (rc != MP_OK) {
        call_failed(e, MP_EMBR_STORE_ERROR, 0);
        goto out;
    }
    if (e->model[0] == '\0' && ans.model[0] != '\0')
        memcpy(e->model, ans.model, ans.model_len + 1);
    e->dims = dims;
    e->backoff_ms = 0;
    mp_metrics_embed_call(e->metrics, MP_EMBR_OK, ans.has_tokens ? ans.prompt_tokens : 0);
out:
    free(vecs);
}

static void on_done(void *req, CURLcode result)
{
    struct mp_embjobs *e = req;
    int64_t after = 0;
    switch (mp_embcall_result(&e->call, result, &after)) {
    case MP_EMBCALL_ANSWERED:
        take_answer(e);
        break;
    case MP_EMBCALL_TOO_BIG:
        call_failed(e, MP_EMBR_TOO_BIG, 0);
        break;
    case MP_EMBCALL_NO_ANSWER:
    case MP_EMBCALL_TIMED_OUT:
        call_failed(e, MP_EMBR_NO_ANSWER, 0);
        break;
    case MP_EMBCALL_RATE_LIMITED:
        call_failed(e, MP_EMBR_RATE_LIMITED, after);
        break;
    case MP_EMBCALL_SERVER_ERROR:
        call_failed(e, MP_EMBR_SERVER_ERROR, after);
        break;
    default:
        call_failed(e, MP_EMBR_REJECTED, after);
        break;
    }
    call_free(e);
    count_pending(e, false);
    arm(e, 0);
}

/* The texts of e->items as sent: a fact as "key: value". */
static int build_body(struct mp_embjobs *e, char **body, size_t *len)
{
    const struct mp_config *c = e->cfg;
    char **texts = calloc(e->nitems, sizeof(*texts));
    size_t *lens = calloc(e->nitems, sizeof(*lens));
    int rc = texts == NULL || lens == NULL ? MP_ENOMEM : MP_OK;
    for (size_t i = 0; rc == MP_OK && i < e->nitems; i++) {
        const struct mp_vec_pending *p = &e->items[i];
        size_t kl = strlen(p->key);
        texts[i] = malloc(kl + 2 + p->text_len + 8);
        if (texts[i] == NULL) {
            rc = MP_ENOMEM;
            break;
        }
        lens[i] = 0;
        if (kl > 0) {
            memcpy(texts[i], p->key, kl);
            memcpy(texts[i] + kl, ": ", 2);
            lens[i] = kl + 2;
        }
        size_t tl = mp_utf8_cut(p->text, p->text_len, EMB_INPUT_MAX);
        memcpy(texts[i] + lens[i], p->text, tl);
        lens[i] += tl;
        if (lens[i] == 0)
            lens[i] = (size_t)snprintf(texts[i], 8, "(empty)");
    }
    struct mp_embed_server srv = {c->embeddings.model,
                                  c->embeddings.dimensions,
                                  c->embeddings.query_prefix,
                                  c->embeddings.document_prefix,
                                  c->embeddings.input_type_field,
                                  NULL,
                                  NULL};
    if (rc == MP_OK)
        rc = mp_embed_request_build(&srv, MP_EMBED_DOCUMENT, (const char *const *)texts, lens,
                                    e->nitems, body, len);
    for (size_t i = 0; texts != NULL && i < e->nitems; i++)
        free(texts[i]);
    free(texts);
    free(lens);
    return rc;
}

static int start_call(struct mp_embjobs *e)
{
    char *body = NULL;
    size_t len = 0;
    int rc = build_body(e, &body, &len);
    if (rc != MP_OK)
        return rc;
    rc = mp_embcall_start(&e->call, e->up, e->cfg, body, len, answer_cap(e), e, e->timeout_ms);
    if (rc == MP_OK)
        e->running = true;
    return rc;
}

/* The next user of the walk (false at its end: the walk starts again). */
static bool next_user(struct mp_embjobs *e, const struct mp_user_info **u)
{
    if (e->next_user >= e->nusers) {
        bool last = e->users != NULL && e->next_len == 0;
        free(e->users);
        e->users = NULL;
        e->nusers = e->next_user = 0;
        if (last)
            return false;
        memcpy(e->cursor, e->next, e->next_len);
        e->cursor_len = e->next_len;
        if (mp_store_users(e->store, mp_store_all_tenants, e->cursor, e->cursor_len, EMB_USERS_PAGE,
                           &e->users, &e->nusers, e->next, &e->next_len) != MP_OK ||
            e->nusers == 0) {
            free(e->users);
            e->users = NULL;
            e->nusers = 0;
            e->next_len = 0;
            return false;
        }
    }
    *u = &e->users[e->next_user++];
    return true;
}

/* The next batch of the walk: true when a call started. */
static bool pass(struct mp_embjobs *e)
{
    struct mp_vec_model m = cur_model(e);
    size_t batch = e->cfg->embeddings.batch_items;
    const struct mp_user_info *u;
    if (batch > MP_STORE_VECTORS_BATCH_MAX)
        batch = MP_STORE_VECTORS_BATCH_MAX;
    for (int tries = 0; tries < EMB_USERS_PAGE && next_user(e, &u); tries++) {
        struct mp_usermem *um = NULL;
        bool more = false;
        if (mp_store_get_head(e->store, u->user, u->user_len, &um) != MP_OK)
            continue;
        e->epoch = um->memory_epoch; /* read before the texts: the guard */
        mp_usermem_free(um);
        if (mp_store_vectors_pending(e->store, u->user, u->user_len, &m, NULL, batch, &e->items,
                                     &e->nitems, &more) != MP_OK ||
            e->nitems == 0)
            continue;
        memcpy(e->user, u->user, u->user_len);
        e->user_len = u->user_len;
        e->next_user--; /* this user again next time, until nothing is pending */
        e->found = true;
        if (start_call(e) == MP_OK)
            return true;
        call_failed(e, MP_EMBR_NO_ANSWER, 0);
        call_free(e);
        return false;
    }
    return false;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct mp_embjobs *e = arg;
    (void)fd;
    (void)what;
    if (!on(e) || e->running)
        return;
    int64_t now = mp_clock_monotonic_ms();
    if (now < e->not_before_ms) {
        arm(e, e->not_before_ms - now);
        return;
    }
    if (pass(e))
        return;
    if (e->users == NULL) { /* the walk ended: the next starts from the first user */
        bool found = e->found;
        e->found = false;
        e->next_len = 0;
        count_pending(e, !found);
        e->idle_ms = found || e->idle_ms == 0 ? EMB_IDLE_MS : e->idle_ms * 2;
        if (e->idle_ms > EMB_IDLE_MAX_MS)
            e->idle_ms = EMB_IDLE_MAX_MS;
        arm(e, found ? 0 : e->idle_ms);
        return;
    }
    arm(e, now < e->not_before_ms ? e->not_before_ms - now : 0);
}

static void remember_config(struct mp_embjobs *e)
{
    memcpy(e->cfg_model, e->cfg->embeddings.model, sizeof(e->cfg_model));
    e->cfg_dims = e->cfg->embeddings.dimensions;
    e->cfg_on = on(e);
}

static long test_timeout(void)
{
    const char *v = getenv("MEMPROXY_TEST_EMBED_TIMEOUT_MS");
    long ms = v != NULL ? strtol(v, NULL, 10) : 0;
    return ms > 0 && ms < EMB_TIMEOUT_MS ? ms : EMB_TIMEOUT_MS;
}

struct mp_embjobs *mp_embjobs_new(struct event_base *base, struct mp_store *store,
                                  struct mp_metrics *metrics, const struct mp_config *cfg)
{
    struct mp_embjobs *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->base = base;
    e->store = store;
    e->metrics = metrics;
    e->cfg = cfg;
    e->timeout_ms = test_timeout();
    remember_config(e);
    atomic_store(&e->pending, UINT64_MAX);
    e->up = mp_upstream_new(base, on_done);
    e->tick = evtimer_new(base, on_tick, e);
    if (e->up == NULL || e->tick == NULL) {
        mp_embjobs_free(e);
        return NULL;
    }
    if (on(e))
        arm(e, 0);
    return e;
}

void mp_embjobs_free(struct mp_embjobs *e)
{
    if (e == NULL)
        return;
    mp_embcall_end(&e->call, e->up, e->running);
    call_free(e);
    if (e->tick != NULL)
        event_free(e->tick);
    mp_upstream_free(e->up);
    free(e->users);
    free(e);
}

void mp_embjobs_set_config(struct mp_embjobs *e, const struct mp_config *cfg)
{
    bool was = e->cfg_on;
    bool changed = strcmp(e->cfg_model, cfg->embeddings.model) != 0 ||
                   e->cfg_dims != cfg->embeddings.dimensions;
    if (changed) {
        e->dims = 0; /* learned again from the new model's first answer */
        e->model[0] = '\0';
    }
    e->cfg = cfg;
    remember_config(e);
    if (!on(e)) {
        atomic_store(&e->pending, UINT64_MAX);
        mp_metrics_embed_pending(e->metrics, 0); /* off: nothing waits */
    } else if (!was || changed) {
        arm(e, 0); /* on, or another model: everything is pending again */
    }
}

void mp_embjobs_kick(struct mp_embjobs *e, bool now)
{
    if (e == NULL || !on(e))
        return;
    e->idle_ms = 0;
    if (now) {
        e->not_before_ms = 0;
        if (!e->running)
            arm(e, 0);
    } else if (!e->running && e->tick_at_ms > mp_clock_monotonic_ms() + EMB_KICK_MS) {
        arm(e, EMB_KICK_MS); /* turns recorded one after another share one walk */
    }
}

uint64_t mp_embjobs_pending(const struct mp_embjobs *e)
{
    return e != NULL ? atomic_load(&e->pending) : UINT64_MAX;
}
