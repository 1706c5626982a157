/* The told records of a store older than format 11 (store_backend.h:
 * mp_store_migrate_told; store_told.h), made at open from what the store
 * kept of where each value came from: a current fact's source seqs, and
 * the request id of every turn an extracted value came from (the fact's,
 * its history entries': ADDED, SUPERSEDED, KEPT), found again among the
 * user's messages (buffer, archive) by that id. What no message is kept
 * of any more needs no record: there is nothing left to erase of it. A
 * value's print comes from the entry that holds it (a superseded or kept
 * one), or from the fact or the SUPERSEDED entry of the same revision; 0
 * when none holds it any more (the record still leads erasure to its
 * turn, and supports no value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/codec.h"
#include "ops/store.h"
#include "ops/migrate_told.h"
#include "status.h"
#include "ops/store_read.h"
#include "ops/store_told.h"

/* A turn to find by request id, or one known by its seqs. */
struct want {
    struct mp_mem_entity e; /* key, request id, role, seqs, value borrowed */
    uint64_t print;
    bool find; /* its seqs are those of the messages of its request id */
};

struct wants {
    struct want *v;
    size_t n, cap;
    struct mp_mem_entity *facts; /* the current facts, values owned */
    size_t nfacts, facts_cap;
};

static int on_fact(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct wants *ws = arg;
    (void)id;
    if (mp_store_backend_grow(&ws->facts, &ws->facts_cap, ws->nfacts, sizeof(*ws->facts)) != MP_OK)
        return MP_ENOMEM;
    int rc = mp_codec_get_fact(pv->p, pv->n, &ws->facts[ws->nfacts]);
    ws->nfacts += rc == MP_OK;
    return rc;
}

static int want(struct wants *ws, const struct mp_mem_entity *e, uint64_t print)
{
    if (mp_usermem_fact_turn(e)[0] == '\0' && e->source_first_seq == 0)
        return MP_OK; /* not from a turn: a correction, an admin's, an import */
    if (mp_store_backend_grow(&ws->v, &ws->cap, ws->n, sizeof(*ws->v)) != MP_OK)
        return MP_ENOMEM;
    ws->v[ws->n].e = *e;
    ws->v[ws->n].find = e->source_first_seq == 0;
    ws->v[ws->n++].print = print;
    return MP_OK;
}

/* The print of the value of key at revision rev: the current fact's, or
 * a SUPERSEDED entry's that still holds it; 0 when none does. */
static uint64_t print_of(const struct wants *ws, const struct mp_history *h, const char *key,
                         uint32_t rev)
{
    for (size_t i = 0; i < ws->nfacts; i++)
        if (ws->facts[i].revision == rev && strcmp(ws->facts[i].key, key) == 0)
            return mp_told_print(ws->facts[i].value, ws->facts[i].value_len);
    for (size_t i = 0; i < h->nitems; i++) {
        const struct mp_mem_entity *e = &h->items[i].entity;
        if (h->items[i].event == MP_HIST_SUPERSEDED && e->revision == rev && e->value_len > 0 &&
            strcmp(e->key, key) == 0)
            return mp_told_print(e->value, e->value_len);
    }
    return 0;
}

/* Every value of the user's that a turn told: the current facts, and the
 * history's ADDED, SUPERSEDED and KEPT entries of extracted values. */
static int gather(const struct mp_history *h, struct wants *ws)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < ws->nfacts; i++)
        rc = want(ws, &ws->facts[i], mp_told_print(ws->facts[i].value, ws->facts[i].value_len));
    for (size_t i = 0; rc == MP_OK && i < h->nitems; i++) {
        const struct mp_history_item *it = &h->items[i];
        bool told = it->event == MP_HIST_ADDED || it->event == MP_HIST_SUPERSEDED ||
                    it->event == MP_HIST_KEPT;
        if (it->item != MP_ITEM_FACT || !told || it->entity.model[0] == '\0')
            continue;
        uint64_t print = it->entity.value_len > 0
                             ? mp_told_print(it->entity.value, it->entity.value_len)
                             : print_of(ws, h, it->entity.key, it->entity.revision);
        rc = want(ws, &it->entity, print);
    }
    return rc;
}

/* The seqs of the messages of request id rid among m[0..n): widens
 * [*first, *last] (0, 0: none yet). */
static void widen(const struct mp_mem_message *m, const char *rid, uint64_t *first, uint64_t *last)
{
    if (strcmp(m->request_id, rid) != 0)
        return;
    if (*first == 0 || m->seq < *first)
        *first = m->seq;
    if (m->seq > *last)
        *last = m->seq;
}

/* Finds each wanted turn without seqs among the messages m. */
static void resolve(struct wants *ws, const struct mp_mem_message *m)
{
    for (size_t i = 0; i < ws->n; i++) {
        struct mp_mem_entity *e = &ws->v[i].e;
        if (ws->v[i].find)
            widen(m, mp_usermem_fact_turn(e), &e->source_first_seq, &e->source_last_seq);
    }
}

static int on_archived(void *arg, const unsigned char *id, const struct mp_store_plain *pv)
{
    struct mp_mem_message m;
    (void)id;
    int rc = mp_codec_get_message(pv->p, pv->n, &m);
    if (rc == MP_OK)
        resolve(arg, &m);
    free(m.content);
    return rc;
}

static bool any_to_find(const struct wants *ws)
{
    for (size_t i = 0; i < ws->n; i++)
        if (ws->v[i].find)
            return true;
    return false;
}

/* The seqs of each turn to find: those of the messages that share its
 * request id (its user messages and its reply), in the buffer and the
 * archive (one walk of it, when there is a turn to find). */
static int find_turns(struct mp_ops_ctx *w, struct wants *ws)
{
    for (size_t i = 0; i < w->um->nmessages; i++)
        resolve(ws, &w->um->messages[i]);
    if (!any_to_find(ws) || w->meta.narchive == 0)
        return MP_OK;
    return mp_store_backend_scan_plain(w->txn, MP_TABLE_ARCHIVE, w->prefix, w->plen, w->plen, 8,
                                       on_archived, ws);
}

/* Writes the told records; of two of one turn and key, a known print wins. */
static int note_all(struct mp_ops_ctx *w, const struct wants *ws)
{
    int rc = MP_OK;
    for (size_t i = 0; rc == MP_OK && i < ws->n; i++) {
        const struct want *x = &ws->v[i];
        bool better = false;
        for (size_t k = 0; k < ws->n && !better; k++)
            better = k != i && ws->v[k].e.source_first_seq == x->e.source_first_seq &&
                     strcmp(ws->v[k].e.key, x->e.key) == 0 && x->print == 0 && ws->v[k].print != 0;
        if (x->e.source_first_seq == 0 || better)
            continue;
        rc = mp_told_note_print(w, &x->e, x->print);
    }
    return rc;
}

int mp_told_backfill_user(struct mp_store_txn *txn, const unsigned char *phys, size_t plen)
{
    struct mp_ops_ctx w = {.s = txn->store, .txn = txn};
    struct mp_history h = {NULL, 0};
    struct wants ws = {NULL, 0, 0, NULL, 0, 0};
    int rc = mp_ops_load_phys(&w, phys, plen);
    if (rc == MP_OK)
        rc = mp_store_backend_scan_plain(txn, MP_TABLE_FACTS, w.prefix, w.plen, w.plen, 4, on_fact,
                                         &ws);
    if (rc == MP_OK)
        rc = mp_store_read_history_until(txn, w.prefix, w.plen, INT64_MAX, &h, NULL);
    if (rc == MP_OK)
        rc = gather(&h, &ws);
    if (rc == MP_OK)
        rc = find_turns(&w, &ws);
    if (rc == MP_OK)
        rc = note_all(&w, &ws);
    free(ws.v);
    for (size_t i = 0; i < ws.nfacts; i++)
        free(ws.facts[i].value);
    free(ws.facts);
    mp_store_read_history_clear(&h);
    mp_usermem_free(w.um);
    return rc == MP_NOTFOUND ? MP_EIO : rc;
}
