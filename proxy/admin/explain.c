/* Explain (explain.h). Injection chooses (mp_inject_choose, the very code a
 * chat request runs); this file only says, item by item, what the choice
 * was and why: an item taken is "matched" (it scored above 0 for the
 * question), "strongest" (a fact among the strongest that filled the
 * profile's share), "summary" or "recent" (a buffered message); an item
 * left out is "budget" (no room left for it), "duplicate" (its turn is in
 * the block already, or it is in the buffer), "personal_data" (flagged,
 * and [governance] inject_pii is false), "already_in_request" (the request
 * carries it), "section_off" (the mode injects no such section),
 * "upstream_holds_conversation" (the Responses API with upstream state:
 * no replay) or "user_setting" (the user turned memory off). Scored items
 * are the relevance hits of the question (facts and archived messages);
 * the terms shown are the question's terms the item's text holds. */
#include "admin/explain.h"

#include <stdlib.h>
#include <string.h>

#include "admin/memjson.h"
#include "chatreq.h"
#include "inject.h"
#include "plane/reqmem.h"
#include "recall.h"
#include "recall_search.h"
#include "status.h"
#include "usermode.h"
#include "wire.h"

#define TEXT_MAX   240 /* bytes of an item's text shown */
#define QTERMS_MAX 64  /* distinct question terms kept */

struct qterms {
    char t[QTERMS_MAX][MP_TERMS_MAX];
    size_t len[QTERMS_MAX];
    size_t n;
};

struct explain {
    const struct mp_config *cfg;
    struct mp_terms *terms;
    const struct mp_wire *w;
    const char *body;
    struct mp_chatreq req;
    struct mp_usermem head; /* the view's, its newest buffer_messages */
    const struct mp_recall_source *src;
    struct mp_recall_source own_src;
    struct mp_relevance_index ix[2];
    struct mp_recall_params p;
    enum mp_user_mode user_mode;
    struct mp_recall_plan plan; /* zeroed when nothing is injected */
    struct mp_inject_question asked;
    struct qterms q;
    struct mp_recall_found *found;
    size_t nfound;
};

/* ---- terms ---- */

static int add_qterm(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct qterms *q = arg;
    (void)pos;
    for (size_t i = 0; i < q->n; i++) {
        if (q->len[i] == len && memcmp(q->t[i], term, len) == 0)
            return MP_OK;
    }
    if (q->n < QTERMS_MAX && len <= MP_TERMS_MAX) {
        memcpy(q->t[q->n], term, len);
        q->len[q->n++] = len;
    }
    return MP_OK;
}

struct held {
    const struct qterms *q;
    bool seen[QTERMS_MAX];
    json_t *list;
};

static int hold_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct held *h = arg;
    (void)pos;
    for (size_t i = 0; i < h->q->n; i++) {
        if (!h->seen[i] && h->q->len[i] == len && memcmp(h->q->t[i], term, len) == 0) {
            h->seen[i] = true;
            json_array_append_new(h->list, json_stringn(term, len));
        }
    }
    return MP_OK;
}

/* The question's terms that a[0..alen) and b[0..blen) (b may be NULL) hold. */
static json_t *terms_of(const struct explain *ex, const char *a, size_t alen, const char *b,
                        size_t blen)
{
    struct held h = {.q = &ex->q, .list = json_array()};
    if (h.list == NULL || ex->terms == NULL || ex->q.n == 0)
        return h.list;
    (void)mp_terms_each(ex->terms, a, alen, hold_term, &h);
    if (b != NULL)
        (void)mp_terms_each(ex->terms, b, blen, hold_term, &h);
    return h.list;
}

/* ---- items ---- */

static json_t *text_json(const char *text, size_t len)
{
    size_t n = len < TEXT_MAX ? len : TEXT_MAX;
    while (n > 0 && n < len && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--; /* at a character's start */
    json_t *s = text != NULL ? json_stringn(text, n) : NULL;
    return s != NULL ? s : json_string("");
}

static json_t *item(const char *id, const char *kind, json_t *text, double score, json_t *terms,
                    bool taken, const char *why)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "id", id, "kind", kind, "text", text,
                     "score", score > 0 ? json_real(score) : json_null(), "terms",
                     terms != NULL ? terms : json_array(), "taken", taken, "why", why);
}

static double score_of(const struct explain *ex, bool fact, uint32_t id)
{
    for (size_t i = 0; i < ex->nfound; i++) {
        if (ex->found[i].fact == fact && ex->found[i].id == id)
            return ex->found[i].score;
    }
    return 0;
}

static json_t *fact_item(const struct explain *ex, const struct mp_mem_entity *e, bool taken,
                         const char *why)
{
    char id[8 + MP_ENTITY_KEY_MAX];
    snprintf(id, sizeof(id), "fact:%s", e->key);
    double score = e->has_id ? score_of(ex, true, e->id) : 0;
    if (taken && score <= 0)
        why = "strongest";
    return item(id, "fact", text_json(e->value, e->value_len), score,
                terms_of(ex, e->key, strlen(e->key), e->value, e->value_len), taken, why);
}

static json_t *message_item(const struct explain *ex, const struct mp_mem_message *m, bool taken,
                            const char *why, double score)
{
    char id[32];
    snprintf(id, sizeof(id), "message:%llu", (unsigned long long)m->seq);
    return item(id, "message", text_json(m->content, m->content_len), score,
                terms_of(ex, m->content, m->content_len, NULL, 0), taken, why);
}

/* A section: {"applies", "why"?, "items"}; items stolen. */
static json_t *section(bool applies, const char *why, json_t *items)
{
    json_t *s =
        json_pack("{s:b, s:o}", "applies", applies, "items", items != NULL ? items : json_array());
    if (s != NULL && !applies && why != NULL)
        json_object_set_new(s, "why", json_string(why));
    return s;
}

static bool pii_out(const struct explain *ex, bool pii)
{
    return pii && !ex->p.inject_pii;
}

static const char *off_why(const struct explain *ex)
{
    return ex->user_mode == MP_USER_MODE_OFF ? "user_setting" : "section_off";
}

/* ---- the sections ---- */

static bool turn_in_past(const struct explain *ex, const char *turn)
{
    for (size_t j = 0; turn[0] != '\0' && j < ex->plan.npast; j++) {
        if (strcmp(ex->plan.past[j]->request_id, turn) == 0)
            return true;
    }
    return false;
}

static bool turn_in_facts(const struct explain *ex, const char *turn)
{
    for (size_t i = 0; turn[0] != '\0' && i < ex->plan.nfacts; i++) {
        if (strcmp(mp_usermem_fact_turn(ex->plan.facts[i]), turn) == 0)
            return true;
    }
    return false;
}

static bool fact_taken(const struct explain *ex, const struct mp_mem_entity *e)
{
    for (size_t i = 0; i < ex->plan.nfacts; i++) {
        if (ex->plan.facts[i] == e)
            return true;
    }
    return false;
}

static json_t *profile(const struct explain *ex)
{
    bool applies = (ex->p.sections & MP_RECALL_PROFILE) != 0;
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < ex->plan.nfacts; i++)
        json_array_append_new(items, fact_item(ex, ex->plan.facts[i], true, "matched"));
    for (size_t k = 0; items != NULL && k < ex->nfound; k++) {
        const struct mp_mem_entity *e = NULL;
        if (!ex->found[k].fact || ex->src->fact(ex->src->ctx, ex->found[k].id, &e) != MP_OK ||
            fact_taken(ex, e))
            continue;
        const char *why = !applies                                    ? off_why(ex)
                          : pii_out(ex, e->pii)                       ? "personal_data"
                          : turn_in_past(ex, mp_usermem_fact_turn(e)) ? "duplicate"
                                                                      : "budget";
        json_array_append_new(items, fact_item(ex, e, false, why));
    }
    return section(applies, off_why(ex), items);
}

static bool in_buffer(const struct explain *ex, uint64_t seq)
{
    for (size_t i = 0; i < ex->head.nmessages; i++) {
        if (ex->head.messages[i].seq == seq)
            return true;
    }
    return false;
}

static bool past_taken(const struct explain *ex, uint64_t seq)
{
    for (size_t j = 0; j < ex->plan.npast; j++) {
        if (ex->plan.past[j]->seq == seq)
            return true;
    }
    return false;
}

static const char *past_why(const struct explain *ex, const struct mp_mem_message *m, bool applies)
{
    if (!applies)
        return off_why(ex);
    if (in_buffer(ex, m->seq) || turn_in_facts(ex, m->request_id))
        return "duplicate";
    if (pii_out(ex, m->pii))
        return "personal_data";
    if (mp_inject_in_request(ex->w, ex->body, &ex->req, m->role, m->content, m->content_len))
        return "already_in_request";
    return "budget";
}

static json_t *past(const struct explain *ex)
{
    bool applies =
        (ex->p.sections & MP_RECALL_PAST) != 0 && ex->p.retrieval == MP_RETRIEVAL_RELEVANT;
    json_t *items = json_array();
    for (size_t j = 0; items != NULL && j < ex->plan.npast; j++) {
        const struct mp_mem_message *m = ex->plan.past[j];
        json_array_append_new(
            items, message_item(ex, m, true, "matched", score_of(ex, false, (uint32_t)m->seq)));
    }
    for (size_t k = 0; items != NULL && k < ex->nfound; k++) {
        struct mp_mem_message m;
        if (ex->found[k].fact || past_taken(ex, ex->found[k].id) ||
            ex->src->message(ex->src->ctx, ex->found[k].id, &m) != MP_OK)
            continue;
        json_array_append_new(
            items, message_item(ex, &m, false, past_why(ex, &m, applies), ex->found[k].score));
        free(m.content);
    }
    return section(applies, off_why(ex), items);
}

static json_t *summary(const struct explain *ex)
{
    const struct mp_mem_summary *s = &ex->head.summary;
    bool applies = (ex->p.sections & MP_RECALL_SUMMARY) != 0;
    json_t *items = json_array();
    if (items == NULL || s->text == NULL)
        return section(applies, off_why(ex), items);
    bool taken = ex->plan.summary_len > 0;
    const char *why = taken                 ? "summary"
                      : !applies            ? off_why(ex)
                      : pii_out(ex, s->pii) ? "personal_data"
                                            : "budget";
    json_t *it = item("summary", "summary", text_json(s->text, s->text_len), 0,
                      terms_of(ex, s->text, s->text_len, NULL, 0), taken, why);
    if (it != NULL && taken)
        json_object_set_new(it, "cut", json_boolean(ex->plan.summary_cut));
    json_array_append_new(items, it);
    return section(applies, off_why(ex), items);
}

static const struct mp_recall_pick *picked(const struct explain *ex, size_t idx)
{
    for (size_t k = 0; k < ex->plan.npicks; k++) {
        if (ex->plan.picks[k].idx == idx)
            return &ex->plan.picks[k];
    }
    return NULL;
}

static json_t *buffer(const struct explain *ex)
{
    bool applies = (ex->p.sections & MP_RECALL_BUFFER) != 0 && !ex->req.upstream_state;
    const char *off = ex->req.upstream_state ? "upstream_holds_conversation" : off_why(ex);
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < ex->head.nmessages; i++) {
        const struct mp_mem_message *m = &ex->head.messages[i];
        const struct mp_recall_pick *pk = picked(ex, i);
        const char *why =
            pk != NULL ? "recent"
            : !applies ? off
            : mp_inject_in_request(ex->w, ex->body, &ex->req, m->role, m->content, m->content_len)
                ? "already_in_request"
            : pii_out(ex, m->pii) ? "personal_data"
                                  : "budget";
        json_t *it = message_item(ex, m, pk != NULL, why, 0);
        if (it != NULL && pk != NULL)
            json_object_set_new(it, "cut", json_boolean(pk->cut));
        json_array_append_new(items, it);
    }
    return section(applies, off, items);
}

/* ---- the document ---- */

static const char *const api_names[] = {"chat", "responses", "messages"};

static json_t *document(const struct explain *ex, const char *user, size_t user_len,
                        enum mp_admin_api api, bool injected, const char *why)
{
    json_t *doc = json_object();
    if (doc == NULL || mp_memjson_set_user(doc, user, user_len) != 0) {
        json_decref(doc);
        return NULL;
    }
    json_t *more = json_pack(
        "{s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:b, s:{s:o, s:o, s:o, s:o, s:o, s:o}}", "api",
        api_names[api], "question",
        ex->asked.len > 0 ? json_stringn(ex->asked.text, ex->asked.len) : json_null(), "retrieval",
        ex->p.retrieval == MP_RETRIEVAL_RELEVANT ? "relevant" : "recent", "mode",
        mp_config_mode_name(ex->cfg->memory.mode), "user_mode", mp_usermode_name(ex->user_mode),
        "budget_tokens", (json_int_t)ex->p.budget_tokens, "tokens",
        (json_int_t)(injected ? ex->plan.tokens : 0), "injected", injected, "sections", "head",
        section(false, "no_conversation", NULL), "tail", section(false, "no_conversation", NULL),
        "profile", profile(ex), "past", past(ex), "summary", summary(ex), "buffer", buffer(ex));
    if (more == NULL || json_object_update(doc, more) != 0) {
        json_decref(more);
        json_decref(doc);
        return NULL;
    }
    json_decref(more);
    if (!injected && why != NULL)
        json_object_set_new(doc, "why", json_string(why));
    return doc;
}

static const struct mp_wire *wire_of(enum mp_admin_api api)
{
    return api == MP_ADMIN_API_RESPONSES  ? &mp_wire_responses
           : api == MP_ADMIN_API_MESSAGES ? &mp_wire_messages
                                          : &mp_wire_chat;
}

/* The choice and the scores, over the open view (NULL: nothing stored). */
static int choose(struct explain *ex, struct mp_store_view *view, int64_t now_ms)
{
    static const struct mp_usermem empty;
    struct mp_mem_message *all;
    size_t all_n;
    ex->head = view != NULL ? *mp_store_view_head(view) : empty;
    mp_reqmem_keep_newest(&ex->head, ex->cfg->memory.buffer_messages, &all, &all_n);
    if (view != NULL) {
        mp_store_view_set_max_postings(view, ex->cfg->memory.relevance_max_postings);
        mp_store_view_source(view, &ex->own_src, ex->ix);
        ex->src = &ex->own_src;
        ex->user_mode = mp_store_view_user_mode(view);
    }
    mp_reqmem_recall_params(ex->cfg, ex->cfg->memory.mode, ex->terms, &ex->p);
    if (ex->user_mode == MP_USER_MODE_OFF)
        ex->p.sections = 0;
    int rc = mp_inject_choose(ex->w, ex->body, &ex->req, &ex->head, ex->src, &ex->p, now_ms,
                              &ex->plan, &ex->asked);
    if (rc != MP_OK)
        memset(&ex->plan, 0, sizeof(ex->plan));
    if (rc != MP_OK && rc != MP_NOTFOUND)
        return rc;
    if (ex->terms != NULL && ex->asked.len > 0) {
        (void)mp_terms_each(ex->terms, ex->asked.text, ex->asked.len, add_qterm, &ex->q);
        (void)mp_terms_each(ex->terms, ex->asked.prev, ex->asked.prev_len, add_qterm, &ex->q);
    }
    if (ex->src != NULL && ex->asked.len > 0)
        return mp_recall_search(ex->terms, ex->src, ex->asked.text, ex->asked.len,
                                ex->asked.prev_len > 0 ? ex->asked.prev : NULL, ex->asked.prev_len,
                                true, true, &ex->found, &ex->nfound);
    return rc == MP_NOTFOUND ? MP_NOTFOUND : MP_OK;
}

int mp_explain_view(const struct mp_config *cfg, struct mp_store_view *view, struct mp_terms *terms,
                    const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                    const struct mp_chatreq *req, int64_t now_ms, json_t **out)
{
    struct explain *ex = calloc(1, sizeof(*ex));
    json_t *doc = NULL;
    if (ex == NULL)
        return MP_ENOMEM;
    *ex = (struct explain){.cfg = cfg, .terms = terms, .w = wire_of(api), .body = body};
    ex->req = *req;
    int rc = choose(ex, view, now_ms);
    bool injected = ex->plan.block_len > 0 || ex->plan.npicks > 0;
    if (rc == MP_OK || rc == MP_NOTFOUND) {
        doc = document(ex, user, user_len, api, injected,
                       view == NULL                                ? "nothing_stored"
                       : ex->user_mode == MP_USER_MODE_OFF         ? "user_setting"
                       : mp_recall_sections(cfg->memory.mode) == 0 ? "memory_off"
                                                                   : "nothing_qualifies");
        rc = doc != NULL ? MP_OK : MP_ENOMEM;
    }
    mp_recall_plan_cleanup(&ex->plan);
    free(ex->found);
    free(ex);
    if (rc == MP_OK)
        *out = doc;
    return rc;
}

int mp_explain_run(const struct mp_config *cfg, struct mp_store *store, struct mp_terms *terms,
                   const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                   size_t len, int64_t now_ms, json_t **out, enum mp_perr *perr)
{
    struct mp_chatreq_msg *msgs = malloc(MP_CHATREQ_MAX_MESSAGES * sizeof(*msgs));
    struct mp_store_view *view = NULL;
    struct mp_chatreq req;
    *perr = MP_PERR_INTERNAL;
    if (msgs == NULL)
        return MP_ENOMEM;
    int rc = wire_of(api)->scan(body, len, msgs, MP_CHATREQ_MAX_MESSAGES, &req);
    if (rc != MP_OK) {
        *perr = MP_PERR_INVALID_CHAT_REQUEST;
        rc = MP_EINVAL;
        goto out;
    }
    rc = mp_store_view_open(store, user, user_len, &view);
    if (rc == MP_OK || rc == MP_NOTFOUND)
        rc = mp_explain_view(cfg, view, terms, user, user_len, api, body, &req, now_ms, out);
out:
    mp_store_view_close(view);
    free(msgs);
    return rc;
}

enum mp_admin_api mp_explain_api_of(const struct mp_wire *w)
{
    return w == &mp_wire_responses  ? MP_ADMIN_API_RESPONSES
           : w == &mp_wire_messages ? MP_ADMIN_API_MESSAGES
                                    : MP_ADMIN_API_CHAT;
}
