/* The fact ops of the op layer: a fact is one record under its id, found
 * by its key through factkeys, ordered for the recent strategy by
 * factrank, indexed for relevance (index.c), and its history entries are
 * listed per key in histx (store_backend.h). The precedence and history
 * rules are lifecycle.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/index.h"
#include "ops/lifecycle.h"
#include "status.h"
#include "ops/store_archive.h"
#include "ops/store_facts.h"
#include "ops/store_read.h"
#include "ops/store_told.h"
#include "ops/store_vectors.h"

#define RANK_LEN 11 /* trust, confidence, observed time; then T(key) */
_Static_assert(MP_STORE_USER_PREFIX_MAX + RANK_LEN + MP_STORE_TAG_MAX <= MP_STORE_KEY_MAX,
               "the longest factrank key fits");

/* ---- keys ---- */

static size_t fact_key(const struct mp_ops_ctx *w, unsigned char *k, uint32_t fid)
{
    unsigned char b[4];
    mp_codec_be_put(b, fid, 4);
    return mp_ops_key(w, k, b, 4);
}

/* A class's tier in the recent order: the tiers stored keys have held
 * since before the agent class (admin 0, corrected 1, stated 2, inferred
 * 3), so that no stored key changes; agent facts rank last in the stated
 * tier (rank_fields), which is the class order for every stated fact of a
 * confidence above 0; imported facts share the inferred tier (second-hand
 * too), where their confidence of 1 puts them first. */
static const uint32_t rank_tier[] = {
    [MP_TRUST_INFERRED] = 3, [MP_TRUST_IMPORTED] = 3,  [MP_TRUST_AGENT] = 2,
    [MP_TRUST_STATED] = 2,   [MP_TRUST_CORRECTED] = 1, [MP_TRUST_ADMIN] = 0};

void mp_facts_rank_fields(const struct mp_mem_entity *e, uint32_t *trust_conf, uint64_t *newer)
{
    double c = isnan(e->confidence) ? 0.0 : e->confidence;
    c = c < 0.0 ? 0.0 : c > 1.0 ? 1.0 : c;
    uint32_t weaker = e->trust == MP_TRUST_AGENT ? 65535u : 65535u - (uint32_t)lround(c * 65535.0);
    *trust_conf = rank_tier[e->trust] << 16 | weaker;
    *newer = (uint64_t)(INT64_MAX - e->observed_at_ms);
}

size_t mp_facts_rank_key(const struct mp_store *s, const unsigned char *prefix, size_t plen,
                         const struct mp_mem_entity *e, unsigned char *k)
{
    uint32_t trust_conf;
    uint64_t newer;
    mp_facts_rank_fields(e, &trust_conf, &newer);
    memcpy(k, prefix, plen);
    mp_codec_be_put(k + plen, trust_conf, 3);
    mp_codec_be_put(k + plen + 3, newer, 8);
    return plen + RANK_LEN + mp_store_backend_tag(s, e->key, strlen(e->key), k + plen + RANK_LEN);
}

static size_t rank_key(const struct mp_ops_ctx *w, unsigned char *k, const struct mp_mem_entity *e)
{
    return mp_facts_rank_key(w->s, w->prefix, w->plen, e, k);
}

/* ---- histx ---- */

struct seq_list {
    size_t plen;
    uint64_t *seqs;
    size_t n, cap;
};

static int on_histx(void *arg, const unsigned char *key, size_t klen, const unsigned char *val,
                    size_t vlen)
{
    struct seq_list *l = arg;
    (void)val;
    (void)vlen;
    if (klen != l->plen + 8)
        return MP_STORE_SCAN_STOP;
    if (mp_store_backend_grow(&l->seqs, &l->cap, l->n, sizeof(*l->seqs)) != MP_OK)
        return MP_ENOMEM;
    l->seqs[l->n++] = mp_codec_be_get(key + l->plen, 8);
    return MP_OK;
}

/* The seqs of key's history entries, oldest first. */
static int histx_seqs(struct mp_ops_ctx *w, const char *key, struct seq_list *l)
{
    unsigned char k[MP_STORE_KEY_MAX];
    memset(l, 0, sizeof(*l));
    l->plen = mp_ops_tag_key(w, k, key);
    return w->s->be->scan(w->txn, MP_TABLE_HISTX, k, l->plen, l->plen, on_histx, l);
}

int mp_ops_cap_history(struct mp_ops_ctx *w, const struct mp_history_item *added)
{
    struct seq_list l;
    uint32_t cap = w->s->history_cap;
    if (cap == 0 || added->item != MP_ITEM_FACT)
        return MP_OK;
    int rc = histx_seqs(w, added->entity.key, &l);
    for (size_t i = 0; rc == MP_OK && l.n > cap && i < l.n - cap; i++) {
        rc = mp_ops_del_hist(w, l.seqs[i]);
        if (rc == MP_OK || rc == MP_NOTFOUND)
            rc = mp_ops_histx_del(w, added->entity.key, l.seqs[i]);
    }
    free(l.seqs);
    return rc;
}

/* History entry seq into *h (h->entity.value: caller frees, also on
 * failure), MP_NOTFOUND when it is gone (capped, expired). */
static int read_hist(struct mp_ops_ctx *w, uint64_t seq, struct mp_history_item *h)
{
    unsigned char k[MP_STORE_HIST_KEY_MAX], b[8];
    struct mp_store_plain pv;
    memset(h, 0, sizeof(*h));
    mp_codec_be_put(b, seq, 8);
    int rc = mp_ops_get_plain(w, MP_TABLE_HISTORY, k, mp_ops_key(w, k, b, 8), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_history(pv.p, pv.n, h);
    mp_store_backend_plain_done(&pv);
    return rc;
}

int mp_ops_strip_history(struct mp_ops_ctx *w, const char *key)
{
    struct seq_list l;
    int rc = histx_seqs(w, key, &l);
    for (size_t i = 0; rc == MP_OK && i < l.n; i++) {
        struct mp_history_item h;
        rc = read_hist(w, l.seqs[i], &h);
        if (rc == MP_NOTFOUND) {
            rc = MP_OK;
            continue;
        }
        if (rc == MP_OK && h.entity.value_len > 0) {
            h.entity.value[0] = '\0';
            h.entity.value_len = 0;
            h.seq = l.seqs[i];
            rc = mp_ops_put_hist(w, &h);
        }
        free(h.entity.value);
    }
    free(l.seqs);
    return rc;
}

int mp_ops_history_has_values(struct mp_ops_ctx *w, const char *key, bool *any)
{
    struct seq_list l;
    *any = false;
    int rc = histx_seqs(w, key, &l);
    for (size_t i = 0; rc == MP_OK && i < l.n && !*any; i++) {
        struct mp_history_item h;
        rc = read_hist(w, l.seqs[i], &h);
        *any = rc == MP_OK && h.entity.value_len > 0;
        free(h.entity.value);
        rc = rc == MP_NOTFOUND ? MP_OK : rc;
    }
    free(l.seqs);
    return rc;
}

/* ---- fact records ---- */

static int get_fact(struct mp_ops_ctx *w, uint32_t fid, struct mp_mem_entity *e)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = mp_ops_get_plain(w, MP_TABLE_FACTS, k, fact_key(w, k, fid), &pv);
    if (rc == MP_OK)
        rc = mp_codec_get_fact(pv.p, pv.n, e);
    mp_store_backend_plain_done(&pv);
    return rc;
}

int mp_ops_find_fact(struct mp_ops_ctx *w, const char *key, uint32_t *fid, struct mp_mem_entity *e)
{
    unsigned char k[MP_STORE_KEY_MAX];
    struct mp_store_plain pv;
    int rc = mp_ops_get_plain(w, MP_TABLE_FACTKEYS, k, mp_ops_tag_key(w, k, key), &pv);
    if (rc == MP_OK && pv.n != 4)
        rc = MP_EIO;
    if (rc == MP_OK)
        *fid = (uint32_t)mp_codec_le_get(pv.p, 4);
    mp_store_backend_plain_done(&pv);
    if (rc != MP_OK)
        return rc;
    rc = get_fact(w, *fid, e);
    return rc == MP_NOTFOUND ? MP_EIO : rc; /* a key without its fact: damaged */
}

static int put_record(struct mp_ops_ctx *w, uint32_t fid, const struct mp_mem_entity *e)
{
    unsigned char k[MP_STORE_KEY_MAX];
    size_t n = mp_codec_put_fact(NULL, e);
    unsigned char *buf = malloc(n);
    if (buf == NULL)
        return MP_ENOMEM;
    mp_codec_put_fact(buf, e);
    int rc = mp_store_backend_put(w->txn, MP_TABLE_FACTS, k, fact_key(w, k, fid), buf, n);
    free(buf);
    mp_ops_touch_facts(w);
    unsigned char v[4];
    mp_codec_le_put(v, fid, 4);
    if (rc == MP_OK) /* RAW: the fact id, in clear (it says nothing) */
        rc = w->s->be->put(w->txn, MP_TABLE_FACTRANK, k, rank_key(w, k, e), v, sizeof(v));
    return rc;
}

/* A new fact under a new id: record, key, rank, index. */
int mp_ops_add_fact(struct mp_ops_ctx *w, const struct mp_mem_entity *e)
{
    unsigned char k[MP_STORE_KEY_MAX], v[4];
    uint32_t fid = w->meta.next_fact++;
    int rc = put_record(w, fid, e);
    mp_codec_le_put(v, fid, 4);
    if (rc == MP_OK)
        rc = mp_store_backend_put(w->txn, MP_TABLE_FACTKEYS, k, mp_ops_tag_key(w, k, e->key), v, 4);
    struct mp_index_item it = {MP_CODEC_KIND_FACT, fid, e->value, e->value_len, e->key,
                               e->observed_at_ms,  0};
    if (rc == MP_OK)
        rc = mp_index_add(w->txn, w->prefix, w->plen, &w->meta, &it);
    if (rc == MP_OK)
        w->meta.nfacts++;
    return rc;
}

static int del_ok(struct mp_ops_ctx *w, enum mp_store_table t, const unsigned char *k, size_t n)
{
    int rc = w->s->be->del(w->txn, t, k, n);
    return rc == MP_NOTFOUND ? MP_OK : rc;
}

int mp_ops_remove_fact(struct mp_ops_ctx *w, uint32_t fid, const struct mp_mem_entity *e)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = del_ok(w, MP_TABLE_FACTS, k, fact_key(w, k, fid));
    mp_ops_touch_facts(w);
    if (rc == MP_OK)
        rc = del_ok(w, MP_TABLE_FACTKEYS, k, mp_ops_tag_key(w, k, e->key));
    if (rc == MP_OK)
        rc = del_ok(w, MP_TABLE_FACTRANK, k, rank_key(w, k, e));
    if (rc == MP_OK)
        rc = mp_index_remove(w->txn, w->prefix, w->plen, &w->meta, MP_CODEC_KIND_FACT, fid);
    if (rc == MP_OK)
        rc = mp_vectors_erase(w, MP_VEC_FACT, fid);
    if (rc == MP_OK && w->meta.nfacts > 0)
        w->meta.nfacts--;
    return rc;
}

/* ---- ops ---- */

/* The same value seen again: the record and its rank in place. */
static int refresh(struct mp_ops_ctx *w, uint32_t fid, const struct mp_mem_entity *cur,
                   const struct mp_mem_entity *fresh)
{
    unsigned char k[MP_STORE_KEY_MAX];
    int rc = del_ok(w, MP_TABLE_FACTRANK, k, rank_key(w, k, cur));
    return rc == MP_OK ? put_record(w, fid, fresh) : rc;
}

/* An outranked statement of the user's of another value: its KEPT entry,
 * so that the history says why it is not the value (*why: the entry's
 * reason), and its turn among those that told the key (MP_NOTFOUND
 * still: the op's result). */
static int kept(struct mp_ops_ctx *w, const struct mp_op *op, const struct mp_mem_entity *cur,
                enum mp_hist_reason *why)
{
    struct mp_history_item ev;
    int rc = mp_told_note(w, &op->u.entity);
    if (rc == MP_OK && mp_lifecycle_kept_event(op, cur, &ev) == 1) {
        *why = ev.reason;
        mp_ops_touch(w, op->now_ms);
        rc = mp_ops_append_hist(w, &ev, 1);
        if (rc == MP_OK)
            rc = mp_ops_cap_history(w, &ev);
    }
    return rc == MP_OK ? MP_NOTFOUND : rc;
}

int mp_ops_upsert(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_ops_out *out)
{
    struct mp_history_item ev[MP_LIFECYCLE_EVENTS_MAX];
    struct mp_mem_entity cur, fresh;
    uint32_t fid = 0;
    bool refreshed = false, outranked = false;
    memset(&cur, 0, sizeof(cur));
    int rc = mp_ops_load_user(w, op->user, op->user_len);
    if (rc == MP_OK)
        rc = mp_ops_find_fact(w, op->u.entity.key, &fid, &cur);
    bool has = rc == MP_OK;
    if (rc == MP_NOTFOUND)
        rc = MP_OK;
    if (rc == MP_OK)
        rc = mp_lifecycle_upsert(has ? &cur : NULL, op, w->meta.next_hist, &fresh, &refreshed);
    outranked = rc == MP_NOTFOUND;
    if (rc == MP_OK && !has && w->meta.nfacts >= w->s->max_facts)
        rc = op->whole ? MP_ECONFLICT : MP_ETOOBIG; /* before the import key is remembered */
    if (rc == MP_OK)
        rc = mp_ops_import_key(w, op);
    out->met_given = has && op->u.entity.trust == MP_TRUST_STATED &&
                     mp_usermem_trust_given(cur.trust) &&
                     (cur.value_len != op->u.entity.value_len ||
                      memcmp(cur.value, op->u.entity.value, cur.value_len) != 0);
    if (rc == MP_NOTFOUND && outranked)
        rc = kept(w, op, &cur, &out->kept);
    if (rc == MP_NOTFOUND || rc == MP_ETOOBIG) {
        out->result = rc;
        free(cur.value);
        return MP_OK;
    }
    if (rc == MP_OK) {
        /* a person's value (a correction) starts a new epoch; what the
           memory jobs write does not (a superseded fact gets a new id) */
        if (op->actor == MP_ACTOR_USER || op->actor == MP_ACTOR_ADMIN ||
            mp_usermem_trust_given(op->u.entity.trust))
            mp_ops_touch_edited(w, op->now_ms);
        else
            mp_ops_touch(w, op->now_ms);
        out->revision = fresh.revision;
    }
    if (rc == MP_OK && op->u.entity.source_first_seq > 0)
        rc = mp_told_note(w, &fresh); /* its turn told the key, whatever comes of it */
    if (rc == MP_OK && refreshed) {
        rc = refresh(w, fid, &cur, &fresh);
    } else if (rc == MP_OK) {
        if (has)
            rc = mp_ops_remove_fact(w, fid, &cur);
        if (rc == MP_OK)
            rc = mp_ops_add_fact(w, &fresh);
        size_t n = mp_lifecycle_upsert_events(op, has ? &cur : NULL, &fresh, ev);
        if (has && mp_usermem_trust_given(fresh.trust))
            n += mp_lifecycle_filter_summary(w->um, cur.value, cur.value_len, ev[n - 1].actor, op,
                                             &ev[n]);
        if (rc == MP_OK)
            rc = mp_ops_append_hist(w, ev, n);
        for (size_t i = 0; rc == MP_OK && i < n; i++)
            rc = mp_ops_cap_history(w, &ev[i]);
    }
    free(cur.value);
    return rc;
}

struct picked {
    uint32_t fid;
    char key[MP_ENTITY_KEY_MAX + 1];
};

/* The loaded user's facts that pick() takes, collected during one walk
 * and removed after it. */
struct fact_scan {
    bool (*pick)(const struct mp_mem_entity *e, const void *arg);
    const void *arg;
    struct picked *v;
    size_t n, cap;
};

static int on_fact(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct fact_scan *fs = arg;
    struct mp_mem_entity e;
    memset(&e, 0, sizeof(e));
    int rc = mp_codec_get_fact(pv->p, pv->n, &e);
    bool gone = rc == MP_OK && fs->pick(&e, fs->arg);
    free(e.value);
    if (rc != MP_OK || !gone)
        return rc;
    if (mp_store_backend_grow(&fs->v, &fs->cap, fs->n, sizeof(*fs->v)) != MP_OK)
        return MP_ENOMEM;
    fs->v[fs->n].fid = (uint32_t)mp_codec_be_get(id, 4);
    memcpy(fs->v[fs->n++].key, e.key, sizeof(e.key));
    return MP_OK;
}

static int cmp_key_desc(const void *a, const void *b)
{
    return strcmp(((const struct picked *)b)->key, ((const struct picked *)a)->key);
}

/* The facts pick() takes into fs (fs->v: caller frees). */
static int pick_facts(struct mp_ops_ctx *w, struct fact_scan *fs)
{
    return mp_store_backend_scan_plain(w->txn, MP_TABLE_FACTS, w->prefix, w->plen, w->plen, 4,
                                       on_fact, fs);
}

/* Removes the facts pick() takes, by key descending; *ev (caller frees)
 * gets an entry of event per fact (mp_lifecycle_fact_event), *nev their
 * number. */
static int remove_picked(struct mp_ops_ctx *w, const struct mp_op *op, enum mp_history_event event,
                         struct fact_scan *fs, struct mp_history_item **ev, size_t *nev)
{
    *ev = NULL;
    *nev = 0;
    if (w->meta.nfacts == 0)
        return MP_OK;
    int rc = pick_facts(w, fs);
    if (rc == MP_OK && fs->n > 0) {
        qsort(fs->v, fs->n, sizeof(*fs->v), cmp_key_desc);
        *ev = calloc(fs->n, sizeof(**ev));
        rc = *ev == NULL ? MP_ENOMEM : MP_OK;
    }
    for (size_t i = 0; rc == MP_OK && i < fs->n; i++) {
        struct mp_mem_entity e;
        memset(&e, 0, sizeof(e));
        rc = get_fact(w, fs->v[i].fid, &e);
        if (rc == MP_OK)
            rc = mp_ops_remove_fact(w, fs->v[i].fid, &e);
        if (rc == MP_OK)
            mp_lifecycle_fact_event(op, event, &e, &(*ev)[(*nev)++]);
        free(e.value);
    }
    free(fs->v);
    return rc;
}

static bool expired(const struct mp_mem_entity *e, const void *arg)
{
    return mp_lifecycle_expired(arg, mp_lifecycle_age_from(e->observed_at_ms, e->recorded_at_ms),
                                e->pii);
}

int mp_ops_sweep_facts(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_sweep_counts *c,
                       struct mp_history_item **ev, size_t *nev)
{
    struct fact_scan fs = {.pick = expired, .arg = op};
    int rc = remove_picked(w, op, MP_HIST_EXPIRED, &fs, ev, nev);
    c->facts += *nev;
    if (*nev > 0)
        w->dirty = true; /* retention is no change of the user's: updated_at stays */
    return rc;
}

/* A fact told by the replaced reply alone: the assistant's words, from the
 * turn whose last message was one of the reply's. */
static bool of_reply(const struct mp_mem_entity *e, const void *arg)
{
    const uint64_t *r = arg;
    return e->source_role == MP_ROLE_ASSISTANT && e->source_last_seq >= r[0] &&
           e->source_last_seq <= r[1];
}

int mp_ops_drop_reply_facts(struct mp_ops_ctx *w, const struct mp_op *op, uint64_t from,
                            uint64_t through, struct mp_history_item **ev, size_t *nev)
{
    uint64_t range[2] = {from, through};
    struct fact_scan fs = {.pick = of_reply, .arg = range};
    return remove_picked(w, op, MP_HIST_DELETED, &fs, ev, nev);
}

int mp_ops_retract_facts(struct mp_ops_ctx *w, const struct mp_op *op,
                         bool (*pick)(const struct mp_mem_entity *e, const void *arg),
                         const void *arg, struct mp_history_item **ev, size_t *nev)
{
    struct fact_scan fs = {.pick = pick, .arg = arg};
    *ev = NULL;
    *nev = 0;
    if (w->meta.nfacts == 0)
        return MP_OK;
    int rc = pick_facts(w, &fs);
    if (rc == MP_OK && fs.n > 0) {
        qsort(fs.v, fs.n, sizeof(*fs.v), cmp_key_desc);
        *ev = calloc(2 * fs.n, sizeof(**ev)); /* DELETED, and FILTERED for the summary */
        rc = *ev == NULL ? MP_ENOMEM : MP_OK;
    }
    for (size_t i = 0; rc == MP_OK && i < fs.n; i++) {
        struct mp_mem_entity e;
        memset(&e, 0, sizeof(e));
        rc = get_fact(w, fs.v[i].fid, &e);
        if (rc == MP_OK)
            rc = mp_ops_remove_fact(w, fs.v[i].fid, &e);
        if (rc == MP_OK) {
            mp_lifecycle_fact_event(op, MP_HIST_DELETED, &e, &(*ev)[(*nev)++]);
            *nev += mp_lifecycle_filter_summary(w->um, e.value, e.value_len, op->actor, op,
                                                &(*ev)[*nev]);
        }
        free(e.value);
    }
    free(fs.v);
    return rc;
}

/* ---- a fold against what given values displaced (store.h, SET_SUMMARY) ---- */

/* A fact whose current value was given outright at or after *arg. */
static bool given_since(const struct mp_mem_entity *e, const void *arg)
{
    return mp_usermem_trust_given(e->trust) && e->observed_at_ms >= *(const int64_t *)arg;
}

/* The values of key that a person displaced, or that a given value kept
 * out (KEPT), at or after since (newest first, stopping at the first older
 * entry), other than the current value cur, leave the summary; the count
 * of dropped sentences is added to *ev. */
static int filter_key(struct mp_ops_ctx *w, const struct mp_op *op, const char *key,
                      const struct mp_mem_entity *cur, int64_t since, struct mp_history_item *ev)
{
    struct seq_list l;
    int rc = histx_seqs(w, key, &l);
    for (size_t i = l.n; rc == MP_OK && i-- > 0;) {
        struct mp_history_item h, one;
        rc = read_hist(w, l.seqs[i], &h);
        bool older = rc == MP_OK && h.at_ms < since;
        bool by_hand = h.event == MP_HIST_SUPERSEDED &&
                       (h.actor == MP_ACTOR_USER || h.actor == MP_ACTOR_ADMIN);
        bool displaced = rc == MP_OK && (by_hand || h.event == MP_HIST_KEPT) &&
                         h.entity.value_len > 0 &&
                         (h.entity.value_len != cur->value_len ||
                          memcmp(h.entity.value, cur->value, cur->value_len) != 0);
        if (displaced && !older &&
            mp_lifecycle_filter_summary(w->um, h.entity.value, h.entity.value_len, h.actor, op,
                                        &one) == 1) {
            if (ev->count == 0)
                *ev = one;
            else
                ev->count += one.count;
        }
        free(h.entity.value);
        if (rc == MP_NOTFOUND)
            rc = MP_OK;
        if (older)
            break;
    }
    free(l.seqs);
    return rc;
}

int mp_ops_filter_fold(struct mp_ops_ctx *w, const struct mp_op *op, int64_t since,
                       struct mp_history_item *ev)
{
    struct fact_scan fs = {.pick = given_since, .arg = &since};
    memset(ev, 0, sizeof(*ev));
    if (w->um->summary.text == NULL || w->meta.nfacts == 0)
        return MP_OK;
    int rc = pick_facts(w, &fs);
    for (size_t i = 0; rc == MP_OK && i < fs.n && w->um->summary.text != NULL; i++) {
        struct mp_mem_entity cur;
        memset(&cur, 0, sizeof(cur));
        rc = get_fact(w, fs.v[i].fid, &cur);
        if (rc == MP_OK)
            rc = filter_key(w, op, fs.v[i].key, &cur, since, ev);
        free(cur.value);
    }
    free(fs.v);
    return rc;
}
