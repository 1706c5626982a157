/* Explain (explain.h). Injection chooses (mp_inject_choose_conv, the very
 * choice a chat request's mp_inject_build_conv renders, with the
 * conversation's kept head); this file only says, item by item, what the
 * choice was and why: an item taken is "matched" (it scored above the
 * floor for the question), "strongest" (a fact among the strongest that
 * did not match), "summary", "recent" (a buffered message) or
 * "kept_head" (in the conversation's kept head, sent again byte for
 * byte); an item left out is "budget" (no room left for it),
 * "below_floor" (it scored under recall's relevance floor:
 * core/recall/recall.h), "duplicate" (its turn is in the block already
 * and it adds no word of the question, or it is in the buffer, which may
 * be replayed), "personal_data" (flagged, and [governance] inject_pii is
 * false), one of the "already there" rule's reasons (core/wire/there.h:
 * "own_conversation", "upstream_holds_conversation", "asked_again",
 * "in_head", "already_in_request"), "in_head" (the tail
 * leaves what the head holds), "section_off" (the
 * mode injects no such section), "upstream_holds_conversation" (a
 * Responses request the upstream stores: no replay) or "user_setting" (the
 * user turned memory off). Scored items are the relevance hits of the
 * question (facts and archived messages); the terms shown are the
 * question's terms the item's text holds. */
#include "plane/explain.h"

#include <stdlib.h>
#include <string.h>

#include "memview/memjson.h"
#include "wire/chatreq.h"
#include "wire/inject.h"
#include "wire/ownwords.h"
#include "recall/lang.h"
#include "plane/convlook.h"
#include "plane/reqmem.h"
#include "recall/recall.h"
#include "recall/recall_search.h"
#include "recall/relevance_words.h"
#include "wire/there.h"
#include "status.h"
#include "recall/userlang.h"
#include "memory/usermode.h"
#include "wire/wire.h"

#define TEXT_MAX 240 /* bytes of an item's text shown */
/* distinct question terms kept: its own, then its translations */
#define QTERMS_MAX (64 + MP_RELEVANCE_MAX_XTERMS)

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
    struct mp_usermem um; /* the view's, its newest buffer_messages */
    const struct mp_recall_source *src;
    struct mp_recall_source own_src;
    struct mp_relevance_index ix[2];
    struct mp_recall_params p;
    enum mp_user_mode user_mode;
    const struct mp_explain_conv *conv;
    struct mp_inject_head built;     /* a head built for the request */
    bool reused;                     /* the kept head is used */
    struct mp_inject_conv_choice ch; /* zeroed when nothing was chosen */
    struct mp_there there;           /* the "already there" rule for the request, once chosen */
    struct mp_recall_plan tail;      /* ch's tail, or empty */
    struct mp_mem_message *hpast;    /* the head's past messages (contents owned) */
    size_t nhpast;
    struct qterms q;
    json_t *translations; /* the question's translated terms (issue 66), owned */
    struct mp_inject_question asked;
    struct mp_recall_found *found;
    size_t nfound;
    const struct mp_recall_dense *dense; /* the question's dense hits (NULL: words alone) */
    const struct mp_recall_fuse_params *fuse;
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
    json_t *list; /* NULL: only seen */
};

static int hold_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct held *h = arg;
    (void)pos;
    for (size_t i = 0; i < h->q->n; i++) {
        if (!h->seen[i] && h->q->len[i] == len && memcmp(h->q->t[i], term, len) == 0) {
            h->seen[i] = true;
            if (h->list != NULL)
                json_array_append_new(h->list, json_stringn(term, len));
        }
    }
    return MP_OK;
}

/* Marks in h->seen the question's terms text[0..len) holds, read as
 * language lang (0: identified). */
static void hold_text(const struct explain *ex, struct held *h, const char *text, size_t len,
                      int lang)
{
    if (ex->terms != NULL && text != NULL && len > 0)
        (void)mp_terms_each_lang(ex->terms, text, len, lang != 0 ? lang : MP_LANG_AUTO, hold_term,
                                 h);
}

/* The question's terms that a[0..alen) and b[0..blen) (b may be NULL) hold,
 * read as language lang (a message's stored one; 0: identified). */
static json_t *terms_of(const struct explain *ex, const char *a, size_t alen, const char *b,
                        size_t blen, int lang)
{
    struct held h = {.q = &ex->q, .list = json_array()};
    if (h.list == NULL || ex->terms == NULL || ex->q.n == 0)
        return h.list;
    lang = lang != 0 ? lang : MP_LANG_AUTO;
    (void)mp_terms_each_lang(ex->terms, a, alen, lang, hold_term, &h);
    if (b != NULL)
        (void)mp_terms_each_lang(ex->terms, b, blen, lang, hold_term, &h);
    return h.list;
}

/* The question's terms in the user's other languages, as recall finds
 * them (relevance_words.h): added to the terms an item is shown to hold,
 * and listed with the word each came from. */
static int translations(struct explain *ex, const struct mp_inject_question *asked,
                        struct mp_userlang_prior *prior)
{
    struct mp_relevance_question *qn = malloc(sizeof(*qn)); /* about 22 KiB */
    if (qn == NULL)
        return MP_ENOMEM;
    int rc = mp_relevance_question_parse(ex->terms, asked->text, asked->len,
                                         asked->prev_len > 0 ? asked->prev : NULL, asked->prev_len,
                                         prior, qn);
    ex->translations = json_array();
    for (size_t i = 0; rc == MP_OK && ex->translations != NULL && i < qn->nx; i++) {
        const struct mp_relevance_xterm *x = &qn->x[i];
        (void)add_qterm(&ex->q, x->term, x->len, 0);
        json_array_append_new(ex->translations,
                              json_pack("{s:s#, s:s#, s:s}", "term", x->term, (int)x->len, "from",
                                        x->from, (int)x->flen, "lang", mp_lang_code(x->lang)));
    }
    free(qn);
    return rc != MP_OK ? rc : ex->translations == NULL ? MP_ENOMEM : MP_OK;
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

/* it with "part": where a taken item goes (the head or the tail). */
static json_t *part(json_t *it, bool head)
{
    if (it != NULL)
        json_object_set_new(it, "part", json_string(head ? "head" : "tail"));
    return it;
}

static const struct mp_recall_found *found_of(const struct explain *ex, bool fact, uint32_t id)
{
    for (size_t i = 0; i < ex->nfound; i++) {
        if (ex->found[i].fact == fact && ex->found[i].id == id)
            return &ex->found[i];
    }
    return NULL;
}

static double score_of(const struct explain *ex, bool fact, uint32_t id)
{
    const struct mp_recall_found *f = found_of(ex, fact, id);
    return f != NULL ? f->score : 0;
}

/* Whether a scored item is under recall's relevance floor (recall.h;
 * fused with the question's dense hits when it has them: recall_fuse.h). */
static bool below_floor(const struct explain *ex, bool fact, uint32_t id)
{
    const struct mp_recall_found *f = found_of(ex, fact, id);
    return f != NULL && !f->above;
}

/* it with where each list put the item, with retrieval by meaning. */
static json_t *ranked(const struct explain *ex, json_t *it, bool fact, uint32_t id)
{
    const struct mp_recall_found *f = found_of(ex, fact, id);
    if (it == NULL || ex->src == NULL || ex->src->dense == NULL)
        return it;
    json_object_set_new(it, "lexical_rank", json_integer(f != NULL ? f->lex_rank : 0));
    json_object_set_new(it, "dense_rank", json_integer(f != NULL ? f->dense_rank : 0));
    json_object_set_new(it, "similarity", json_real(f != NULL ? f->sim : 0));
    return it;
}

static json_t *fact_item(const struct explain *ex, const struct mp_mem_entity *e, bool taken,
                         const char *why)
{
    char id[8 + MP_ENTITY_KEY_MAX];
    snprintf(id, sizeof(id), "fact:%s", e->key);
    double score = e->has_id ? score_of(ex, true, e->id) : 0;
    if (taken && (score <= 0 || below_floor(ex, true, e->id)))
        why = "strongest";
    json_t *it = item(id, "fact", text_json(e->value, e->value_len), score,
                      terms_of(ex, e->key, strlen(e->key), e->value, e->value_len,
                               mp_lang_detect(e->value, e->value_len)),
                      taken, why);
    return e->has_id ? ranked(ex, it, true, e->id) : it;
}

static json_t *message_item(const struct explain *ex, const struct mp_mem_message *m, bool taken,
                            const char *why, double score)
{
    char id[32];
    snprintf(id, sizeof(id), "message:%llu", (unsigned long long)m->seq);
    json_t *it = item(id, "message", text_json(m->content, m->content_len), score,
                      terms_of(ex, m->content, m->content_len, NULL, 0, m->lang), taken, why);
    return ranked(ex, it, false, (uint32_t)m->seq);
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

static bool head_fact(const struct explain *ex, const struct mp_mem_entity *e)
{
    const struct mp_inject_head *h = ex->ch.head;
    for (size_t i = 0; h != NULL && e->has_id && i < h->nfacts; i++) {
        if (h->fact_ids[i] == e->id)
            return true;
    }
    return false;
}

static bool head_message(const struct explain *ex, uint64_t seq)
{
    for (size_t i = 0; i < ex->nhpast; i++) {
        if (ex->hpast[i].seq == seq)
            return true;
    }
    return false;
}

static bool turn_in_past(const struct explain *ex, const char *turn)
{
    for (size_t j = 0; turn[0] != '\0' && j < ex->tail.npast; j++) {
        if (strcmp(ex->tail.past[j]->request_id, turn) == 0)
            return true;
    }
    for (size_t j = 0; turn[0] != '\0' && j < ex->nhpast; j++) {
        if (strcmp(ex->hpast[j].request_id, turn) == 0)
            return true;
    }
    return false;
}

static bool turn_in_facts(const struct explain *ex, const char *turn)
{
    for (size_t i = 0; turn[0] != '\0' && i < ex->tail.nfacts; i++) {
        if (strcmp(mp_usermem_fact_turn(ex->tail.facts[i]), turn) == 0)
            return true;
    }
    for (size_t i = 0; turn[0] != '\0' && ex->ch.head != NULL && i < ex->ch.head->nfacts; i++) {
        if (strcmp(mp_usermem_fact_turn(ex->ch.held[i]), turn) == 0)
            return true;
    }
    return false;
}

static bool tail_fact(const struct explain *ex, const struct mp_mem_entity *e)
{
    for (size_t i = 0; i < ex->tail.nfacts; i++) {
        if (ex->tail.facts[i] == e || (e->has_id && ex->tail.facts[i]->id == e->id))
            return true;
    }
    return false;
}

static bool tail_message(const struct explain *ex, uint64_t seq)
{
    for (size_t j = 0; j < ex->tail.npast; j++) {
        if (ex->tail.past[j]->seq == seq)
            return true;
    }
    return false;
}

/* A taken item in the head: "kept_head" when the kept head is used. */
static json_t *in_head(const struct explain *ex, json_t *it)
{
    if (it != NULL && ex->reused)
        json_object_set_new(it, "why", json_string("kept_head"));
    return part(it, true);
}

/* The question's terms fact e (its key and value) holds, into h. */
static void hold_fact(const struct explain *ex, struct held *h, const struct mp_mem_entity *e)
{
    int lang = mp_lang_detect(e->value, e->value_len);
    hold_text(ex, h, e->key, strlen(e->key), lang);
    hold_text(ex, h, e->value, e->value_len, lang);
}

/* Whether mine holds a question term theirs does not. */
static bool adds(const struct held *mine, const struct held *theirs)
{
    for (size_t i = 0; i < mine->q->n; i++) {
        if (mine->seen[i] && !theirs->seen[i])
            return true;
    }
    return false;
}

/* Counted once (core/recall/recall.h): whether fact e adds no question
 * term to the past messages of its turn in the head or the tail. */
static bool fact_counted(const struct explain *ex, const struct mp_mem_entity *e)
{
    const char *turn = mp_usermem_fact_turn(e);
    struct held mine = {.q = &ex->q}, theirs = {.q = &ex->q};
    if (!turn_in_past(ex, turn))
        return false;
    hold_fact(ex, &mine, e);
    for (size_t j = 0; j < ex->tail.npast; j++) {
        const struct mp_mem_message *m = ex->tail.past[j];
        if (strcmp(m->request_id, turn) == 0)
            hold_text(ex, &theirs, m->content, m->content_len, m->lang);
    }
    for (size_t j = 0; j < ex->nhpast; j++) {
        const struct mp_mem_message *m = &ex->hpast[j];
        if (strcmp(m->request_id, turn) == 0)
            hold_text(ex, &theirs, m->content, m->content_len, m->lang);
    }
    return !adds(&mine, &theirs);
}

/* Whether message m adds no question term to the facts of its turn in
 * the head or the tail. */
static bool message_counted(const struct explain *ex, const struct mp_mem_message *m)
{
    struct held mine = {.q = &ex->q}, theirs = {.q = &ex->q};
    if (!turn_in_facts(ex, m->request_id))
        return false;
    hold_text(ex, &mine, m->content, m->content_len, m->lang);
    for (size_t i = 0; i < ex->tail.nfacts; i++) {
        if (strcmp(mp_usermem_fact_turn(ex->tail.facts[i]), m->request_id) == 0)
            hold_fact(ex, &theirs, ex->tail.facts[i]);
    }
    for (size_t i = 0; ex->ch.head != NULL && i < ex->ch.head->nfacts; i++) {
        if (strcmp(mp_usermem_fact_turn(ex->ch.held[i]), m->request_id) == 0)
            hold_fact(ex, &theirs, ex->ch.held[i]);
    }
    return !adds(&mine, &theirs);
}

/* Why a scored fact was left out of the whole (head and tail). */
static const char *fact_why(const struct explain *ex, const struct mp_mem_entity *e, bool applies)
{
    return !applies                                    ? off_why(ex)
           : pii_out(ex, e->pii)                       ? "personal_data"
           : e->has_id && below_floor(ex, true, e->id) ? "below_floor"
           : fact_counted(ex, e)                       ? "duplicate"
                                                       : "budget";
}

static bool in_buffer(const struct explain *ex, uint64_t seq)
{
    for (size_t i = 0; i < ex->um.nmessages; i++) {
        if (ex->um.messages[i].seq == seq)
            return true;
    }
    return false;
}

/* The buffer may be replayed: an archived copy of a buffered message is
 * the buffer's (core/recall/recall.h). */
static bool replayed(const struct explain *ex)
{
    return (ex->p.sections & MP_RECALL_BUFFER) != 0 && !ex->req.upstream_state;
}

/* Whether the tail's past message seq is a recent turn: the buffer's,
 * which the tail's notes carry (core/recall/recall.h, "In the notes"), so
 * the buffer section lists it, not the past one. */
static bool tail_recent(const struct explain *ex, uint64_t seq)
{
    return replayed(ex) && in_buffer(ex, seq) && tail_message(ex, seq);
}

static const char *past_why(const struct explain *ex, const struct mp_mem_message *m, bool applies)
{
    if (!applies)
        return off_why(ex);
    const char *there = mp_there_why(&ex->there, m);
    if (there != NULL)
        return there;
    if (replayed(ex) && in_buffer(ex, m->seq))
        return "duplicate";
    if (pii_out(ex, m->pii))
        return "personal_data";
    if (below_floor(ex, false, (uint32_t)m->seq))
        return "below_floor";
    return message_counted(ex, m) ? "duplicate" : "budget";
}

/* The tail's facts and past messages, as taken items of its part, onto
 * items (the profile and past sections list them as the tail does). */
static void append_tail_facts(const struct explain *ex, json_t *items)
{
    for (size_t i = 0; items != NULL && i < ex->tail.nfacts; i++)
        json_array_append_new(items,
                              part(fact_item(ex, ex->tail.facts[i], true, "matched"), false));
}

static void append_tail_past(const struct explain *ex, json_t *items)
{
    for (size_t j = 0; items != NULL && j < ex->tail.npast; j++) {
        const struct mp_mem_message *m = ex->tail.past[j];
        if (tail_recent(ex, m->seq))
            continue;
        json_array_append_new(
            items, part(message_item(ex, m, true, "matched", score_of(ex, false, (uint32_t)m->seq)),
                        false));
    }
}

static json_t *profile(const struct explain *ex)
{
    bool applies = (ex->p.sections & MP_RECALL_PROFILE) != 0;
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && ex->ch.head != NULL && i < ex->ch.head->nfacts; i++)
        json_array_append_new(items, in_head(ex, fact_item(ex, ex->ch.held[i], true, "matched")));
    append_tail_facts(ex, items);
    for (size_t k = 0; items != NULL && k < ex->nfound; k++) {
        const struct mp_mem_entity *e = NULL;
        if (!ex->found[k].fact || ex->src->fact(ex->src->ctx, ex->found[k].id, &e) != MP_OK ||
            head_fact(ex, e) || tail_fact(ex, e))
            continue;
        json_array_append_new(items, fact_item(ex, e, false, fact_why(ex, e, applies)));
    }
    return section(applies, off_why(ex), items);
}

static json_t *past(const struct explain *ex)
{
    bool applies =
        (ex->p.sections & MP_RECALL_PAST) != 0 && ex->p.retrieval == MP_RETRIEVAL_RELEVANT;
    json_t *items = json_array();
    for (size_t j = 0; items != NULL && j < ex->nhpast; j++) {
        const struct mp_mem_message *m = &ex->hpast[j];
        json_array_append_new(items,
                              in_head(ex, message_item(ex, m, true, "matched",
                                                       score_of(ex, false, (uint32_t)m->seq))));
    }
    append_tail_past(ex, items);
    for (size_t k = 0; items != NULL && k < ex->nfound; k++) {
        struct mp_mem_message m;
        uint32_t id = ex->found[k].id;
        if (ex->found[k].fact || head_message(ex, id) ||
            (tail_message(ex, id) && !tail_recent(ex, id)) ||
            ex->src->message(ex->src->ctx, id, &m) != MP_OK)
            continue;
        json_array_append_new(
            items, message_item(ex, &m, false, past_why(ex, &m, applies), ex->found[k].score));
        free(m.content);
    }
    return section(applies, off_why(ex), items);
}

static json_t *summary_item(const struct explain *ex, bool taken, const char *why)
{
    const struct mp_mem_summary *s = &ex->um.summary;
    return item("summary", "summary", text_json(s->text, s->text_len), 0,
                terms_of(ex, s->text, s->text_len, NULL, 0, 0), taken, why);
}

static json_t *summary(const struct explain *ex)
{
    const struct mp_mem_summary *s = &ex->um.summary;
    bool applies = (ex->p.sections & MP_RECALL_SUMMARY) != 0;
    json_t *items = json_array();
    if (items == NULL || s->text == NULL)
        return section(applies, off_why(ex), items);
    bool taken = ex->ch.head != NULL && ex->ch.head->summary && ex->ch.head_sent;
    const char *why = !applies ? off_why(ex) : pii_out(ex, s->pii) ? "personal_data" : "budget";
    json_array_append_new(items, taken ? in_head(ex, summary_item(ex, true, "summary"))
                                       : summary_item(ex, false, why));
    return section(applies, off_why(ex), items);
}

static const struct mp_recall_pick *picked(const struct explain *ex, size_t idx)
{
    for (size_t k = 0; k < ex->tail.npicks; k++) {
        if (ex->tail.picks[k].idx == idx)
            return &ex->tail.picks[k];
    }
    return NULL;
}

static const char *buffer_why(const struct explain *ex, const struct mp_mem_message *m,
                              bool applies, const char *off)
{
    const char *there = applies ? mp_there_why(&ex->there, m) : NULL;
    return !applies              ? off
           : there != NULL       ? there
           : pii_out(ex, m->pii) ? "personal_data"
                                 : "budget";
}

static json_t *buffer(const struct explain *ex)
{
    bool applies = (ex->p.sections & MP_RECALL_BUFFER) != 0 && !ex->req.upstream_state;
    const char *off = ex->req.upstream_state ? "upstream_holds_conversation" : off_why(ex);
    json_t *items = json_array();
    for (size_t i = 0; items != NULL && i < ex->um.nmessages; i++) {
        const struct mp_mem_message *m = &ex->um.messages[i];
        const struct mp_recall_pick *pk = picked(ex, i);
        bool taken = pk != NULL || tail_recent(ex, m->seq); /* replayed, or in the notes */
        json_t *it =
            message_item(ex, m, taken, taken ? "recent" : buffer_why(ex, m, applies, off), 0);
        if (it != NULL && taken) {
            json_object_set_new(it, "cut", json_boolean(pk != NULL && pk->cut));
            part(it, false);
        }
        json_array_append_new(items, it);
    }
    return section(applies, off, items);
}

/* The conversation's head: its items as they go upstream, and its block
 * byte for byte. */
static json_t *head(const struct explain *ex)
{
    const struct mp_inject_head *h = ex->ch.head;
    json_t *items = json_array(), *s;
    if (h == NULL) {
        s = section(false, ex->user_mode == MP_USER_MODE_OFF ? "user_setting" : "nothing_stored",
                    items);
        if (s != NULL && json_object_update_new(s, json_pack("{s:b, s:i, s:n}", "reused", 0,
                                                             "tokens", 0, "block")) != 0) {
            json_decref(s);
            s = NULL;
        }
        return s;
    }
    for (size_t i = 0; items != NULL && i < h->nfacts; i++)
        json_array_append_new(items, in_head(ex, fact_item(ex, ex->ch.held[i], true, "matched")));
    if (items != NULL && h->summary)
        json_array_append_new(items, in_head(ex, summary_item(ex, true, "summary")));
    for (size_t j = 0; items != NULL && j < ex->nhpast; j++) {
        const struct mp_mem_message *m = &ex->hpast[j];
        json_array_append_new(items,
                              in_head(ex, message_item(ex, m, true, "matched",
                                                       score_of(ex, false, (uint32_t)m->seq))));
    }
    s = section(ex->ch.head_sent, "nothing_in_head", items);
    if (s != NULL) {
        json_object_set_new(s, "reused", json_boolean(ex->reused));
        json_object_set_new(s, "tokens", json_integer(ex->ch.head_sent ? h->tokens : 0));
        json_object_set_new(s, "block",
                            ex->ch.head_sent ? json_stringn(h->text, h->len) : json_null());
    }
    return s;
}

/* The tail: what this question added, and the scored items it left out. */
static json_t *tail(const struct explain *ex)
{
    bool facts = (ex->p.sections & MP_RECALL_PROFILE) != 0;
    bool msgs = (ex->p.sections & MP_RECALL_PAST) != 0 && ex->p.retrieval == MP_RETRIEVAL_RELEVANT;
    json_t *items = json_array();
    append_tail_facts(ex, items);
    append_tail_past(ex, items);
    for (size_t k = 0; items != NULL && k < ex->nfound; k++) {
        const struct mp_mem_entity *e = NULL;
        struct mp_mem_message m;
        uint32_t id = ex->found[k].id;
        if (ex->found[k].fact) {
            if (ex->src->fact(ex->src->ctx, id, &e) != MP_OK || tail_fact(ex, e))
                continue;
            json_array_append_new(
                items,
                fact_item(ex, e, false, head_fact(ex, e) ? "in_head" : fact_why(ex, e, facts)));
        } else if (!tail_message(ex, id) && ex->src->message(ex->src->ctx, id, &m) == MP_OK) {
            json_array_append_new(
                items, message_item(ex, &m, false,
                                    head_message(ex, id) ? "in_head" : past_why(ex, &m, msgs),
                                    ex->found[k].score));
            free(m.content);
        }
    }
    bool applies = ex->ch.has_tail && ex->tail.nfacts + ex->tail.npast + ex->tail.npicks > 0;
    return section(applies, ex->ch.head == NULL ? off_why(ex) : "nothing_in_tail", items);
}

/* ---- the document ---- */

static const char *const api_names[] = {"chat", "responses", "messages"};

static json_t *conversation(const struct explain *ex)
{
    const struct mp_explain_conv *c = ex->conv;
    return json_pack("{s:b, s:s?, s:b, s:b, s:b}", "identified", c != NULL && c->known, "rule",
                     c != NULL ? c->rule : NULL, "session", c != NULL && c->session, "kept_head",
                     c != NULL && c->kept != NULL, "reused", ex->reused);
}

static json_t *document(const struct explain *ex, const char *user, size_t user_len,
                        enum mp_admin_api api, bool injected, const char *why)
{
    const struct mp_inject_question *asked = &ex->asked;
    json_t *doc = json_object();
    if (doc == NULL || mp_memjson_set_user(doc, user, user_len) != 0) {
        json_decref(doc);
        return NULL;
    }
    json_t *more =
        json_pack("{s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:b, s:o, s:{s:o, s:o, s:o, s:o, s:o, s:o}}",
                  "api", api_names[api], "question",
                  asked->len > 0 ? json_stringn(asked->text, asked->len) : json_null(), "retrieval",
                  ex->p.retrieval == MP_RETRIEVAL_RELEVANT ? "relevant" : "recent", "mode",
                  mp_config_mode_name(ex->cfg->memory.mode), "user_mode",
                  mp_usermode_name(ex->user_mode), "budget_tokens", (json_int_t)ex->p.budget_tokens,
                  "tokens", (json_int_t)ex->ch.tokens, "injected", injected, "conversation",
                  conversation(ex), "sections", "head", head(ex), "tail", tail(ex), "profile",
                  profile(ex), "past", past(ex), "summary", summary(ex), "buffer", buffer(ex));
    if (more == NULL || json_object_update(doc, more) != 0) {
        json_decref(more);
        json_decref(doc);
        return NULL;
    }
    json_decref(more);
    if (ex->translations != NULL)
        json_object_set(doc, "translations", ex->translations);
    else
        json_object_set_new(doc, "translations", json_array());
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

/* The head's past messages, read by their seqs (one the source no longer
 * has is left out: such a head is not reused). */
static int load_head_past(struct explain *ex)
{
    const struct mp_inject_head *h = ex->ch.head;
    if (h == NULL || h->npast == 0)
        return MP_OK;
    ex->hpast = calloc(h->npast, sizeof(*ex->hpast));
    if (ex->hpast == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < h->npast; i++) {
        uint64_t seq = h->past[i].seq; /* an archived message's: within the index's ids */
        if (seq <= UINT32_MAX &&
            ex->src->message(ex->src->ctx, (uint32_t)seq, &ex->hpast[ex->nhpast]) == MP_OK)
            ex->nhpast++;
    }
    return MP_OK;
}

/* Injection's choice in the request's conversation. */
static int conv_choice(struct explain *ex, int64_t now_ms)
{
    uint64_t own = ex->conv != NULL ? ex->conv->own_conv : 0;
    struct mp_inject_conv conv = {.head = ex->conv != NULL ? ex->conv->kept : NULL,
                                  .head_share = ex->cfg->memory.head_share,
                                  .head_summary_only = ex->conv == NULL || ex->conv->session,
                                  .own_conv = own,
                                  .built = &ex->built};
    int rc = mp_inject_choose_conv(ex->w, ex->body, &ex->req, &ex->um, ex->src, &ex->p, now_ms,
                                   &conv, &ex->ch);
    if (rc != MP_OK)
        return rc;
    mp_there_init(&ex->there, ex->w, ex->body, &ex->req, &ex->um, own, ex->ch.head);
    ex->reused = conv.reused;
    if (ex->ch.has_tail)
        ex->tail = ex->ch.tail;
    return load_head_past(ex);
}

/* The choice (in the conversation) and the scores, over the open view. */
static int choose(struct explain *ex, struct mp_store_view *view, int64_t now_ms)
{
    struct mp_mem_message *all;
    size_t all_n;
    ex->um = *mp_store_view_head(view);
    mp_reqmem_keep_newest(&ex->um, ex->cfg->memory.buffer_messages, &all, &all_n);
    mp_store_view_set_max_postings(view, ex->cfg->memory.relevance_max_postings);
    mp_store_view_source(view, &ex->own_src, ex->ix);
    ex->own_src.dense = ex->dense;
    ex->own_src.fuse = ex->fuse;
    ex->src = &ex->own_src;
    ex->user_mode = mp_store_view_user_mode(view);
    mp_reqmem_recall_params(ex->cfg, ex->cfg->memory.mode, ex->terms, &ex->p);
    int rc = mp_inject_read_question(ex->w, ex->body, &ex->req, &ex->p, &ex->asked);
    if (rc == MP_OK && ex->user_mode == MP_USER_MODE_OFF)
        ex->p.sections = 0; /* nothing is read for such a user: only the scores are shown */
    else if (rc == MP_OK)
        rc = conv_choice(ex, now_ms);
    const struct mp_inject_question *asked = &ex->asked;
    struct mp_userlang_prior prior =
        MP_USERLANG_PRIOR_HELD(&ex->um, ex->own_src.lang, ex->own_src.langs); /* as recall's */
    if (rc == MP_OK && ex->terms != NULL && asked->len > 0) {
        (void)mp_terms_each_lang(ex->terms, asked->text, asked->len,
                                 mp_userlang_question(asked->text, asked->len, &prior), add_qterm,
                                 &ex->q);
        (void)mp_terms_each_lang(ex->terms, asked->prev, asked->prev_len,
                                 mp_userlang_question(asked->prev, asked->prev_len, &prior),
                                 add_qterm, &ex->q);
    }
    if (rc == MP_OK && ex->terms != NULL && asked->len > 0)
        rc = translations(ex, asked, &prior);
    if (rc == MP_OK && asked->len > 0)
        rc = mp_recall_search(ex->terms, ex->src, asked->text, asked->len,
                              asked->prev_len > 0 ? asked->prev : NULL, asked->prev_len, &prior,
                              true, true, &ex->found, &ex->nfound);
    return rc;
}

static void explain_free(struct explain *ex)
{
    json_decref(ex->translations);
    mp_inject_conv_choice_cleanup(&ex->ch);
    mp_inject_head_cleanup(&ex->built);
    for (size_t i = 0; i < ex->nhpast; i++)
        free(ex->hpast[i].content);
    free(ex->hpast);
    free(ex->found);
    free(ex);
}

int mp_explain_view(const struct mp_config *cfg, struct mp_store_view *view, struct mp_terms *terms,
                    const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                    const struct mp_chatreq *req, const struct mp_explain_conv *conv,
                    const struct mp_recall_dense *dense, const struct mp_recall_fuse_params *fuse,
                    int64_t now_ms, json_t **out)
{
    struct explain *ex = calloc(1, sizeof(*ex));
    json_t *doc = NULL;
    if (ex == NULL)
        return MP_ENOMEM;
    *ex = (struct explain){.cfg = cfg,
                           .terms = terms,
                           .w = wire_of(api),
                           .body = body,
                           .conv = conv,
                           .dense = dense,
                           .fuse = fuse};
    ex->req = *req;
    int rc = view != NULL ? choose(ex, view, now_ms) : MP_OK;
    if (rc == MP_OK) {
        bool injected = ex->ch.tokens > 0;
        doc = document(ex, user, user_len, api, injected,
                       view == NULL                                ? "nothing_stored"
                       : ex->user_mode == MP_USER_MODE_OFF         ? "user_setting"
                       : mp_recall_sections(cfg->memory.mode) == 0 ? "memory_off"
                                                                   : "nothing_qualifies");
        rc = doc != NULL ? MP_OK : MP_ENOMEM;
    }
    explain_free(ex);
    if (rc == MP_OK)
        *out = doc;
    return rc;
}

/* The request's conversation as the data plane finds it (the one
 * resolver, plane/convlook.h), without changing anything: its kept state,
 * as the store keeps it for every worker, into *kept (view: the user's). */
static void find_conversation(const struct mp_convid_headers *hd, struct mp_store_view *view,
                              const char *user, size_t user_len, const char *body, size_t len,
                              const struct mp_chatreq *req, const struct mp_config *cfg,
                              int64_t now_ms, struct mp_explain_conv *conv,
                              struct mp_store_conv *kept)
{
    struct mp_convlook_limits lim = mp_convlook_limits(cfg);
    struct mp_convlook look;
    struct mp_convid id;
    struct mp_convlook_lead note; /* the data plane notes it; explain changes nothing */
    mp_convid_identify(body, len, req, hd, &id);
    mp_convlook_resolve(view, mp_store_view_head(view), user, user_len, body, len, req, hd, &id,
                        now_ms, &lim, &look, &note);
    *conv = (struct mp_explain_conv){.known = look.known,
                                     .session = look.session,
                                     .rule = mp_convid_rule(mp_convlook_recorded_kind(&look)),
                                     .own_conv = mp_convlook_own_turns(&look, req)};
    if (look.known && mp_convlook_kept(view, look.key, now_ms, &lim, kept) && !kept->cleared)
        conv->kept = &kept->head;
}

int mp_explain_run(const struct mp_config *cfg, struct mp_store *store, struct mp_terms *terms,
                   const char *user, size_t user_len, enum mp_admin_api api, const char *body,
                   size_t len, const struct mp_convid_headers *hd, int64_t now_ms, json_t **out,
                   enum mp_perr *perr)
{
    struct mp_chatreq_msg *msgs = malloc(MP_CHATREQ_MAX_MESSAGES * sizeof(*msgs));
    struct mp_store_view *view = NULL;
    struct mp_store_conv kept = {0};
    struct mp_explain_conv conv;
    struct mp_chatreq req;
    struct mp_ownwords owns; /* as the request path finds them (plane/reqmem.c) */
    *perr = MP_PERR_INTERNAL;
    if (msgs == NULL)
        return MP_ENOMEM;
    int rc = wire_of(api)->scan(body, len, msgs, MP_CHATREQ_MAX_MESSAGES, &req);
    if (rc != MP_OK) {
        *perr = MP_PERR_INVALID_CHAT_REQUEST;
        rc = MP_EINVAL;
        goto out;
    }
    if (mp_ownwords_request(wire_of(api), body, &req, &cfg->memory.inserted_pattern_set, &owns) ==
        MP_OK)
        req.own = &owns;
    rc = mp_store_view_open(store, user, user_len, &view);
    if (rc == MP_OK)
        find_conversation(hd, view, user, user_len, body, len, &req, cfg, now_ms, &conv, &kept);
    if (rc == MP_OK || rc == MP_NOTFOUND)
        rc = mp_explain_view(cfg, view, terms, user, user_len, api, body, &req,
                             view != NULL ? &conv : NULL, NULL, NULL, now_ms, out);
out:
    mp_store_conv_cleanup(&kept);
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
