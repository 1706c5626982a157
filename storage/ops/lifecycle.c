/* The rules of one user's memory: precedence of a new value, history
 * entries, erasure of a fact, retention. Plain edits of a struct
 * mp_usermem; store_ops.c persists what these describe. */
#include "ops/lifecycle.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recall/lang.h"
#include "status.h"
#include "memory/summfilter.h"
#include "recall/wordhold.h"

/* History entries without a value point here (never written through). */
static char no_value[1];

static enum mp_actor actor_of(enum mp_trust t)
{
    if (t == MP_TRUST_ADMIN)
        return MP_ACTOR_ADMIN;
    /* an agent writes with the user's credentials, for the user */
    return mp_usermem_trust_given(t) ? MP_ACTOR_USER : MP_ACTOR_EXTRACTOR;
}

static void entry(struct mp_history_item *ev, const struct mp_op *op, enum mp_history_event event,
                  enum mp_actor actor, enum mp_item_kind item)
{
    memset(ev, 0, sizeof(*ev));
    ev->event = event;
    ev->actor = actor;
    ev->item = item;
    ev->at_ms = op->now_ms;
    ev->entity.value = no_value;
}

/* A fact entry: the entity's key and provenance, without its value. */
static void fact_entry(struct mp_history_item *ev, const struct mp_op *op,
                       enum mp_history_event event, enum mp_actor actor,
                       const struct mp_mem_entity *e)
{
    entry(ev, op, event, actor, MP_ITEM_FACT);
    ev->entity = *e;
    ev->entity.value = no_value;
    ev->entity.value_len = 0;
}

size_t mp_lifecycle_upsert_events(const struct mp_op *op, const struct mp_mem_entity *old,
                                  const struct mp_mem_entity *fresh, struct mp_history_item *ev)
{
    enum mp_actor actor = actor_of(fresh->trust);
    enum mp_history_event set =
        fresh->trust >= MP_TRUST_CORRECTED ? MP_HIST_CORRECTED : MP_HIST_ADDED;
    size_t n = 0;
    if (old != NULL && old->revision == fresh->revision)
        return 0;
    if (old != NULL) {
        entry(&ev[n], op, MP_HIST_SUPERSEDED, actor, MP_ITEM_FACT);
        ev[n++].entity = *old; /* the displaced value stays in the history */
    }
    fact_entry(&ev[n++], op, set, actor, fresh);
    return n;
}

size_t mp_lifecycle_kept_event(const struct mp_op *op, const struct mp_mem_entity *cur,
                               struct mp_history_item *ev)
{
    const struct mp_mem_entity *in = &op->u.entity;
    if (in->trust != MP_TRUST_STATED || op->actor != MP_ACTOR_EXTRACTOR || /* an import line */
        (in->value_len == cur->value_len && memcmp(in->value, cur->value, in->value_len) == 0))
        return 0;
    fact_entry(ev, op, MP_HIST_KEPT, MP_ACTOR_EXTRACTOR, in);
    ev->reason = cur->trust == MP_TRUST_ADMIN         ? MP_REASON_ADMIN
                 : mp_usermem_trust_given(cur->trust) ? MP_REASON_GIVEN
                                                      : MP_REASON_NEWER;
    ev->entity.revision = cur->revision;
    ev->entity.value = in->value; /* what the user said, not taken (erasure strips it) */
    ev->entity.value_len = in->value_len;
    return 1;
}

void mp_lifecycle_summary_event(const struct mp_op *op, const struct mp_usermem *um,
                                struct mp_history_item *ev)
{
    entry(ev, op, MP_HIST_SUMMARIZED, MP_ACTOR_SUMMARIZER, MP_ITEM_SUMMARY);
    memcpy(ev->entity.request_id, um->summary.request_id, sizeof(ev->entity.request_id));
    memcpy(ev->entity.model, um->summary.model, sizeof(ev->entity.model));
    ev->entity.observed_at_ms = um->summary.observed_at_ms;
    ev->entity.recorded_at_ms = um->summary.updated_at_ms;
    ev->entity.pii = um->summary.pii;
}

/* Removes the messages gone() picks; returns how many went. */
static size_t drop_messages(struct mp_usermem *um,
                            bool (*gone)(const struct mp_mem_message *m, const void *arg),
                            const void *arg)
{
    size_t kept = 0, n = um->nmessages;
    for (size_t i = 0; i < n; i++) {
        struct mp_mem_message *m = &um->messages[i];
        if (gone(m, arg)) {
            free(m->content);
            continue;
        }
        um->messages[kept++] = *m;
    }
    um->nmessages = kept;
    return n - kept;
}

static void drop_summary(struct mp_usermem *um)
{
    free(um->summary.text);
    um->summary.text = NULL;
    um->summary.text_len = 0;
    um->summary.pii = false;
    um->summary.observed_at_ms = 0; /* no provenance outlives its summary */
    um->summary.request_id[0] = '\0';
    um->summary.model[0] = '\0';
}

size_t mp_lifecycle_filter_summary(struct mp_usermem *um, const char *value, size_t len,
                                   enum mp_actor actor, const struct mp_op *op,
                                   struct mp_history_item *ev)
{
    struct mp_mem_summary *s = &um->summary;
    if (s->text == NULL)
        return 0;
    size_t dropped = mp_summfilter_drop(s->text, &s->text_len, value, len);
    if (dropped == 0)
        return 0;
    entry(ev, op, MP_HIST_FILTERED, actor, MP_ITEM_SUMMARY);
    memcpy(ev->entity.request_id, s->request_id, sizeof(ev->entity.request_id));
    memcpy(ev->entity.model, s->model, sizeof(ev->entity.model));
    ev->count = (uint32_t)dropped;
    if (s->text_len == 0)
        drop_summary(um); /* nothing of it was still true */
    else
        s->text[s->text_len] = '\0';
    return 1;
}

bool mp_lifecycle_holds_fact(const struct mp_mem_message *m, const struct mp_mem_entity *e)
{
    if (e->source_first_seq > 0 && m->seq >= e->source_first_seq && m->seq <= e->source_last_seq)
        return true;
    return mp_wordhold_in(m->content, m->content_len, m->lang, e->value, e->value_len);
}

bool mp_lifecycle_tells_fact(const struct mp_mem_message *m, const struct mp_mem_entity *e)
{
    const char *turn = mp_usermem_fact_turn(e);
    if (turn[0] != '\0' && strcmp(m->request_id, turn) == 0)
        return true;
    return mp_lifecycle_holds_fact(m, e);
}

static bool in_sorted(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x;
}

size_t mp_lifecycle_erase_told(struct mp_usermem *um, const struct mp_mem_entity *cur,
                               const struct mp_op *op, const uint64_t *gone, size_t ngone,
                               const uint64_t *archived, size_t narchived,
                               struct mp_history_item *ev)
{
    size_t n = 0, kept = 0, dropped = narchived;
    if (cur != NULL)
        fact_entry(&ev[n++], op, MP_HIST_DELETED, op->actor, cur);
    for (size_t i = 0; i < um->nmessages; i++) {
        struct mp_mem_message *m = &um->messages[i];
        if (!in_sorted(gone, ngone, m->seq)) {
            um->messages[kept++] = *m;
            continue;
        }
        dropped += !in_sorted(archived, narchived, m->seq); /* a message counts once */
        free(m->content);
    }
    um->nmessages = kept;
    if (dropped > 0) {
        entry(&ev[n], op, MP_HIST_DELETED, op->actor, MP_ITEM_MESSAGES);
        ev[n].reason = MP_REASON_FACT_ERASED;
        ev[n++].count = (uint32_t)dropped;
    }
    if (um->summary.text != NULL) {
        entry(&ev[n], op, MP_HIST_DELETED, op->actor, MP_ITEM_SUMMARY);
        ev[n++].reason = MP_REASON_FACT_ERASED;
        drop_summary(um);
    }
    return n;
}

static bool is_seq(const struct mp_mem_message *m, const void *arg)
{
    return m->seq == *(const uint64_t *)arg;
}

size_t mp_lifecycle_erase_message(struct mp_usermem *um, uint64_t seq, bool archived,
                                  const struct mp_op *op, struct mp_history_item *ev)
{
    size_t n = 0;
    bool buffered = drop_messages(um, is_seq, &seq) > 0;
    if (!archived && !buffered)
        return 0;
    entry(&ev[n], op, MP_HIST_DELETED, op->actor, MP_ITEM_MESSAGES);
    ev[n++].count = 1;
    if (um->summary.text != NULL && seq <= um->summary.covers_through_seq) {
        entry(&ev[n++], op, MP_HIST_DELETED, op->actor, MP_ITEM_SUMMARY);
        drop_summary(um);
    }
    return n;
}

bool mp_lifecycle_drop_message(struct mp_usermem *um, uint64_t seq)
{
    return drop_messages(um, is_seq, &seq) > 0;
}

bool mp_lifecycle_text_holds(const char *text, size_t n, int lang, const char *value, size_t len)
{
    return mp_wordhold_in(text, n, lang, value, len);
}

void mp_lifecycle_messages_entry(const struct mp_op *op, enum mp_history_event event,
                                 enum mp_actor actor, uint32_t count, struct mp_history_item *ev)
{
    entry(ev, op, event, actor, MP_ITEM_MESSAGES);
    ev->count = count;
}

/* The pii limit applies to pii items when it is set and shorter. */
int64_t mp_lifecycle_limit(const struct mp_retention *r, bool pii)
{
    int64_t age = r->max_age_ms;
    if (pii && r->pii_max_age_ms > 0 && (age == 0 || r->pii_max_age_ms < age))
        age = r->pii_max_age_ms;
    return age;
}

bool mp_lifecycle_past(const struct mp_retention *r, int64_t now_ms, int64_t t, bool pii)
{
    int64_t age = mp_lifecycle_limit(r, pii);
    return age > 0 && t < now_ms - age;
}

bool mp_lifecycle_expired(const struct mp_op *op, int64_t t, bool pii)
{
    return mp_lifecycle_past(&op->u.sweep.retention, op->now_ms, t, pii);
}

int64_t mp_lifecycle_age_from(int64_t own_ms, int64_t recorded_ms)
{
    return recorded_ms > own_ms ? recorded_ms : own_ms;
}

bool mp_lifecycle_hist_expired(const struct mp_history_item *h, const struct mp_op *op)
{
    return mp_lifecycle_expired(op, h->at_ms, h->entity.pii);
}

int64_t mp_lifecycle_hist_horizon(const struct mp_op *op)
{
    const struct mp_retention *r = &op->u.sweep.retention;
    int64_t age = r->max_age_ms;
    if (r->pii_max_age_ms > 0 && (age == 0 || r->pii_max_age_ms < age))
        age = r->pii_max_age_ms;
    return age > 0 ? op->now_ms - age : INT64_MIN;
}

static bool message_expired(const struct mp_mem_message *m, const void *arg)
{
    return mp_lifecycle_expired(arg, mp_lifecycle_age_from(m->at_ms, m->recorded_at_ms), m->pii);
}

size_t mp_lifecycle_expire(struct mp_usermem *um, const struct mp_op *op,
                           struct mp_history_item *ev, struct mp_sweep_counts *counts)
{
    size_t n = 0, dropped = drop_messages(um, message_expired, op);
    if (dropped > 0) {
        entry(&ev[n], op, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_MESSAGES);
        ev[n++].count = (uint32_t)dropped;
        counts->messages += dropped;
    }
    int64_t t =
        um->summary.observed_at_ms > 0 ? um->summary.observed_at_ms : um->summary.updated_at_ms;
    if (um->summary.text != NULL && mp_lifecycle_expired(op, t, um->summary.pii)) {
        entry(&ev[n++], op, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_SUMMARY);
        drop_summary(um);
        counts->summaries++;
    }
    return n;
}

bool mp_lifecycle_um_empty(const struct mp_usermem *um)
{
    return um->summary.text == NULL && um->nmessages == 0;
}

void mp_lifecycle_messages_event(const struct mp_op *op, uint32_t count, struct mp_history_item *ev)
{
    entry(ev, op, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_MESSAGES);
    ev->count = count;
}

void mp_lifecycle_fact_event(const struct mp_op *op, enum mp_history_event event,
                             const struct mp_mem_entity *e, struct mp_history_item *ev)
{
    fact_entry(ev, op, event, event == MP_HIST_EXPIRED ? MP_ACTOR_RETENTION : op->actor, e);
}

static bool same_subject(const struct mp_history_item *a, const struct mp_history_item *b)
{
    if (a->item != b->item)
        return false;
    return a->item == MP_ITEM_SUMMARY || strcmp(a->entity.key, b->entity.key) == 0;
}

size_t mp_lifecycle_hist_over_cap(const struct mp_history_item *items, size_t n,
                                  const struct mp_history_item *added, uint32_t cap, uint64_t *out,
                                  size_t max)
{
    size_t count = 0, k = 0;
    if (cap == 0 || added->item == MP_ITEM_MESSAGES)
        return 0;
    for (size_t i = 0; i < n; i++)
        count += same_subject(&items[i], added);
    for (size_t i = 0; i < n && count > cap && k < max; i++) {
        if (!same_subject(&items[i], added))
            continue;
        out[k++] = items[i].seq;
        count--;
    }
    return k;
}

/* ---- edits of one user's memory ---- */

static char *dup_text(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void mp_lifecycle_identify(struct mp_mem_message *m, size_t n, int prior)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i].lang == 0 || m[i].lang >= MP_LANG_COUNT)
            m[i].lang = (uint8_t)(prior != MP_LANG_NONE
                                      ? mp_lang_detect_prior(m[i].content, m[i].content_len, prior)
                                      : mp_lang_detect(m[i].content, m[i].content_len));
        prior = m[i].lang;
    }
}

int mp_lifecycle_append(struct mp_usermem *um, const struct mp_op *op, uint64_t *first_seq,
                        uint64_t *last_seq)
{
    size_t n = op->u.turn.nmessages;
    struct mp_mem_message *msgs = realloc(um->messages, (um->nmessages + n) * sizeof(*msgs));
    if (msgs == NULL)
        return MP_ENOMEM;
    um->messages = msgs;
    for (size_t i = 0; i < n; i++) {
        const struct mp_mem_message *in = &op->u.turn.messages[i];
        struct mp_mem_message *m = &msgs[um->nmessages + i];
        *m = *in;
        m->content = dup_text(in->content, in->content_len);
        if (m->content == NULL) {
            while (i-- > 0)
                free(msgs[um->nmessages + i].content);
            return MP_ENOMEM;
        }
        m->seq = um->next_seq + i;
        m->recorded_at_ms = op->now_ms;
    }
    mp_lifecycle_identify(msgs + um->nmessages, n, MP_LANG_NONE);
    *first_seq = um->next_seq;
    *last_seq = um->next_seq + n - 1;
    um->nmessages += n;
    um->next_seq += n;
    return MP_OK;
}

/* The summary's provenance: its model, and the newest turn it folds in
 * (the last buffered message at or before through_seq, when there is one). */
static void summary_provenance(struct mp_usermem *um, const struct mp_op *op)
{
    struct mp_mem_summary *s = &um->summary;
    snprintf(s->model, sizeof(s->model), "%s",
             op->u.summary.model != NULL ? op->u.summary.model : "");
    s->pii = op->u.summary.pii;
    for (size_t i = um->nmessages; i-- > 0;) {
        const struct mp_mem_message *m = &um->messages[i];
        if (m->seq <= op->u.summary.through_seq) {
            memcpy(s->request_id, m->request_id, sizeof(s->request_id));
            s->observed_at_ms = m->at_ms;
            return;
        }
    }
}

int mp_lifecycle_summarize(struct mp_usermem *um, const struct mp_op *op, uint64_t drop_through)
{
    size_t drop = 0;
    if (op->kind == MP_OP_SET_SUMMARY) {
        char *text = NULL;
        if (op->u.summary.text_len > 0) {
            text = dup_text(op->u.summary.text, op->u.summary.text_len);
            if (text == NULL)
                return MP_ENOMEM;
        }
        free(um->summary.text);
        um->summary.text = text;
        um->summary.text_len = op->u.summary.text_len;
        um->summary.updated_at_ms = op->now_ms;
        um->summary.covers_through_seq = op->u.summary.through_seq;
        summary_provenance(um, op);
    }
    if (op->kind == MP_OP_SET_SUMMARY && op->u.summary.keep_messages)
        return MP_OK;
    while (drop < um->nmessages && um->messages[drop].seq <= drop_through)
        free(um->messages[drop++].content);
    memmove(um->messages, um->messages + drop, (um->nmessages - drop) * sizeof(*um->messages));
    um->nmessages -= drop;
    return MP_OK;
}

/* The precedence (lifecycle.h, mp_lifecycle_upsert). */
static bool outranked(const struct mp_mem_entity *cur, const struct mp_mem_entity *in)
{
    bool pinned = in->trust == MP_TRUST_ADMIN || cur->trust == MP_TRUST_ADMIN;
    /* second-hand: what only the assistant said, what another assistant remembered */
    bool secondhand = in->trust <= MP_TRUST_IMPORTED || cur->trust <= MP_TRUST_IMPORTED;
    if (in->trust != cur->trust && (pinned || secondhand))
        return in->trust < cur->trust;
    if (in->trust == MP_TRUST_CORRECTED && cur->trust != MP_TRUST_CORRECTED)
        return false; /* the user's correction is their newest word, whatever a turn's clock */
    if (in->observed_at_ms != cur->observed_at_ms)
        return in->observed_at_ms < cur->observed_at_ms;
    return in->trust < cur->trust; /* the same age: the class decides */
}

int mp_lifecycle_upsert(const struct mp_mem_entity *cur, const struct mp_op *op, uint64_t next_hist,
                        struct mp_mem_entity *fresh, bool *refreshed)
{
    const struct mp_mem_entity *in = &op->u.entity;
    *refreshed = false;
    if (op->if_match && (cur != NULL ? cur->revision : 0) != op->if_revision)
        return MP_ECONFLICT;
    if (cur != NULL && outranked(cur, in))
        return MP_NOTFOUND;
    *fresh = *in;
    fresh->recorded_at_ms = op->recorded_at_ms > 0 ? op->recorded_at_ms : op->now_ms;
    if (cur != NULL && cur->value_len == in->value_len &&
        memcmp(cur->value, in->value, in->value_len) == 0) {
        /* Seen again: a refresh, not a change, so the history stays quiet. */
        fresh->value = cur->value;
        fresh->revision = cur->revision;
        if (cur->observed_at_ms > fresh->observed_at_ms)
            fresh->observed_at_ms = cur->observed_at_ms;
        if (fresh->source_first_seq == 0) {
            fresh->source_first_seq = cur->source_first_seq;
            fresh->source_last_seq = cur->source_last_seq;
        }
        *refreshed = true;
        return MP_OK;
    }
    /* the seq of the history entry that logs the new value */
    fresh->revision = (uint32_t)(next_hist + (cur != NULL ? 1 : 0));
    return MP_OK;
}
