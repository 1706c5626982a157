/* Governance rules shared by the backends: history entries, erasure of a
 * fact, retention. Plain edits of a struct mp_usermem; the backends persist
 * the entries these describe. */
#include "lifecycle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "status.h"

/* History entries without a value point here (never written through). */
static char no_value[1];

static enum mp_actor actor_of(enum mp_trust t)
{
    if (t == MP_TRUST_ADMIN)
        return MP_ACTOR_ADMIN;
    return t == MP_TRUST_CORRECTED ? MP_ACTOR_USER : MP_ACTOR_EXTRACTOR;
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

/* ASCII case-insensitive substring test; a plain scan: values are short
 * and this runs only when a user or admin erases a fact. */
static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || m > n)
        return false;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && mp_ascii_lower((unsigned char)hay[i + j]) ==
                            mp_ascii_lower((unsigned char)needle[j]))
            j++;
        if (j == m)
            return true;
    }
    return false;
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

static bool tells_fact(const struct mp_mem_message *m, const void *arg)
{
    const struct mp_mem_entity *e = arg;
    if (e->request_id[0] != '\0' && strcmp(m->request_id, e->request_id) == 0)
        return true;
    return contains(m->content, m->content_len, e->value, e->value_len);
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

static void remove_entity(struct mp_usermem *um, size_t i)
{
    free(um->entities[i].value);
    memmove(um->entities + i, um->entities + i + 1,
            (um->nentities - i - 1) * sizeof(*um->entities));
    um->nentities--;
}

int mp_lifecycle_erase_fact(struct mp_usermem *um, const struct mp_op *op,
                            struct mp_history_item *ev, size_t *nev)
{
    long i = mp_store_um_find(um, op->u.key);
    size_t n = 0;
    if (op->if_match && (i >= 0 ? um->entities[i].revision : 0) != op->if_revision)
        return MP_ECONFLICT;
    if (i < 0)
        return MP_NOTFOUND;
    const struct mp_mem_entity *e = &um->entities[i];
    fact_entry(&ev[n++], op, MP_HIST_DELETED, op->actor, e);
    size_t dropped = drop_messages(um, tells_fact, e);
    if (dropped > 0) {
        entry(&ev[n], op, MP_HIST_DELETED, op->actor, MP_ITEM_MESSAGES);
        ev[n++].count = (uint32_t)dropped;
    }
    if (um->summary.text != NULL) {
        entry(&ev[n++], op, MP_HIST_DELETED, op->actor, MP_ITEM_SUMMARY);
        drop_summary(um);
    }
    remove_entity(um, (size_t)i);
    *nev = n;
    return MP_OK;
}

/* Whether an item of time t (and pii flag) is past retention. The pii
 * limit applies to pii items when it is set and shorter. */
static bool expired(const struct mp_op *op, int64_t t, bool pii)
{
    const struct mp_retention *r = &op->u.sweep.retention;
    int64_t age = r->max_age_ms;
    if (pii && r->pii_max_age_ms > 0 && (age == 0 || r->pii_max_age_ms < age))
        age = r->pii_max_age_ms;
    return age > 0 && t < op->now_ms - age;
}

bool mp_lifecycle_hist_expired(const struct mp_history_item *h, const struct mp_op *op)
{
    return expired(op, h->at_ms, h->entity.pii);
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
    return expired(arg, m->at_ms, m->pii);
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
    for (size_t i = um->nentities; i-- > 0;) {
        const struct mp_mem_entity *e = &um->entities[i];
        if (!expired(op, e->observed_at_ms, e->pii))
            continue;
        fact_entry(&ev[n++], op, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, e);
        remove_entity(um, i);
        counts->facts++;
    }
    int64_t t =
        um->summary.observed_at_ms > 0 ? um->summary.observed_at_ms : um->summary.updated_at_ms;
    if (um->summary.text != NULL && expired(op, t, um->summary.pii)) {
        entry(&ev[n++], op, MP_HIST_EXPIRED, MP_ACTOR_RETENTION, MP_ITEM_SUMMARY);
        drop_summary(um);
        counts->summaries++;
    }
    return n;
}

bool mp_lifecycle_um_empty(const struct mp_usermem *um)
{
    return um->summary.text == NULL && um->nmessages == 0 && um->nentities == 0;
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
