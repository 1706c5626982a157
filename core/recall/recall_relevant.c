/* The relevant strategy (recall.h): what answers the request's question,
 * within each section's share of the budget, the unused shares flowing on
 * in a second round. It says only what is offered when and to which
 * line: scoring is relevance.c's, fitting and the budget recall_fill.c's.
 *
 * The question is parsed once; the items of each kind are scored once,
 * those under the floor dropped (floor_hits()), and the rest put in
 * packing order as the offers reach them (rank()); each is fetched
 * from the source when it is offered, unless its estimate says it cannot
 * fit (it then lacks room unread), and given up for good once taken or
 * found unfit (pii, empty, already counted), but offered again in round 2
 * when it only lacked room. The strongest other facts come from the
 * source's ranked walk, which stops as soon as no fact can fit or
 * MP_RECALL_PROFILE_MAX were taken. Counted once reads the question's
 * words in an item's text only for an item whose turn is in the block
 * already (tokenizing it then). */
#include "recall/recall.h"

#include <stdlib.h>
#include <string.h>

#include "recall/excerpt.h"
#include "fnv1a.h"
#include "recall/lang.h"
#include "recall/memblock.h"
#include "recall/recall_fill.h"
#include "recall/recall_fuse.h"
#include "recall/relevance.h"
#include "status.h"
#include "recall/userlang.h"

/* The matched items of one kind, best value per token first: ids[0..got)
 * taken from the packing order so far, at most n (the offers usually stop
 * after the first few). */
struct matched {
    struct mp_relevance_order order;
    uint32_t *ids;
    uint32_t *tokens; /* the source's estimate of each (recall.h) */
    bool *done;       /* taken, or not to be injected at all */
    size_t n, got;
};

/* Names (request ids) of the items taken so far: a hash set of pointers
 * into the plan (its copies do not move), filled as the plan grows. Most
 * names asked about (every fact of the ranked walk) are not in it. */
struct name_slot {
    uint64_t h;
    const char *name; /* NULL: free */
};

#define NAMES_FIRST 32 /* the first table's slots: in the set itself, no allocation */
struct names {
    struct name_slot *slot;
    size_t cap; /* a power of two, at least twice n */
    size_t n;   /* the plan's items [0..n) are in the set */
    struct name_slot first[NAMES_FIRST];
};

/* The facts taken so far: a hash set of the source's pointers (one per
 * fact, recall.h), filled as the plan grows. */
#define TAKEN_FIRST 64 /* the first table's slots: in the set itself */
struct taken {
    const struct mp_mem_entity **slot; /* NULL: free */
    size_t cap;                        /* a power of two, at least twice n */
    size_t n;                          /* the plan's facts [0..n) are in the set */
    const struct mp_mem_entity *first[TAKEN_FIRST];
};

/* The question's words of the facts read so far (fact_words), by the
 * fact's pointer (recall.h: a fact is the same pointer in every call that
 * gives it): the walks ask of the same few facts again and again (each
 * fact of a past message's turn, for every fact and message offered), and
 * reading one runs language detection and the tokenizer over its key and
 * value. Open addressing, at most three quarters full: a fact asked of
 * once it is full is read each time. */
#define WORDS_MEMO_SLOTS 64 /* a power of two */
struct words_memo {
    const struct mp_mem_entity *e[WORDS_MEMO_SLOTS]; /* NULL: a free slot */
    uint64_t words[WORDS_MEMO_SLOTS];
    size_t n;
};

struct relevant {
    struct mp_recall_fill f;
    const struct mp_recall_source *src;
    const struct mp_relevance_question *qn; /* the question parsed; NULL: none asked */
    struct matched facts, turns;
    struct taken facts_taken; /* as of refresh */
    struct names fact_turns;  /* of the facts taken (as of refresh; only with past messages
                                 to offer, the one thing that asks) */
    struct names past_turns;  /* of the past messages taken (as of refresh) */
    struct words_memo *memo;  /* fact_words' (NULL until it is first asked) */
};

bool mp_recall_above_floor(bool fact, double score, double best, bool holds, bool beside)
{
    unsigned percent = fact ? MP_RECALL_FLOOR_FACTS : MP_RECALL_FLOOR_PAST;
    return (holds || beside) && score * 100 >= best * percent;
}

/* Keeps the hits of kind above the floor (recall.h), in their order. */
static size_t floor_hits(enum mp_relevance_kind kind, struct mp_relevance_hit *hits, size_t nhits)
{
    size_t m = 0;
    double best = 0;
    for (size_t i = 0; i < nhits; i++)
        best = hits[i].score > best ? hits[i].score : best;
    for (size_t i = 0; i < nhits; i++) {
        const struct mp_relevance_hit *h = &hits[i];
        if (mp_recall_above_floor(kind == MP_RELEVANCE_FACTS, h->score, best, h->holds, h->beside))
            hits[m++] = *h;
    }
    return m;
}

/* The hits above the floor (recall.h), fused with the question's dense
 * hits of kind when the source has them (recall_fuse.h): fused scores,
 * in place of hits[0..*nhits). */
static int fuse_hits(const struct mp_recall_source *src, enum mp_relevance_kind kind,
                     struct mp_relevance_hit **hits, size_t *nhits)
{
    const struct mp_recall_dense_list *dl = src->dense == NULL           ? NULL
                                            : kind == MP_RELEVANCE_FACTS ? &src->dense->facts
                                                                         : &src->dense->turns;
    struct mp_recall_fuse_params fp;
    struct mp_recall_fused *f = NULL;
    size_t nf = 0, m = 0;
    if (dl == NULL) {
        *nhits = floor_hits(kind, *hits, *nhits);
        return MP_OK;
    }
    if (src->fuse != NULL)
        fp = *src->fuse;
    else
        mp_recall_fuse_defaults(&fp);
    int rc = mp_recall_fuse(kind, *hits, *nhits, dl, &fp, &f, &nf);
    if (rc != MP_OK)
        return rc;
    struct mp_relevance_hit *h = realloc(*hits, (nf + 1) * sizeof(*h));
    if (h == NULL) {
        free(f);
        return MP_ENOMEM;
    }
    for (size_t i = 0; i < nf && f[i].above; i++)
        h[m++] = (struct mp_relevance_hit){.item = f[i].item,
                                           .score = f[i].score,
                                           .tokens = f[i].tokens,
                                           .holds = f[i].holds,
                                           .beside = f[i].beside};
    free(f);
    *hits = h;
    *nhits = m;
    return MP_OK;
}

/* The items of ix that match the question above the floor, best value per
 * token first, at most MP_RECALL_CANDIDATES. The one place that scores and
 * packs. */
static int rank(const struct mp_relevance_question *qn, const struct mp_recall_source *src,
                const struct mp_relevance_index *ix, enum mp_relevance_kind kind,
                uint64_t budget_tokens, struct matched *out)
{
    struct mp_relevance_params rp;
    struct mp_relevance_hit *hits = NULL;
    size_t nhits = 0;
    int rc = mp_relevance_score_kind(qn, ix, kind, mp_relevance_survivors_for(kind, budget_tokens),
                                     &rp, &hits, &nhits);
    if (rc == MP_OK)
        rc = fuse_hits(src, kind, &hits, &nhits);
    if (rc != MP_OK || nhits == 0) {
        free(hits);
        return rc;
    }
    rc = mp_relevance_order_init(&out->order, ix, &rp, hits, nhits);
    free(hits);
    if (rc != MP_OK)
        return rc;
    out->n = out->order.n < MP_RECALL_CANDIDATES ? out->order.n : MP_RECALL_CANDIDATES;
    out->ids = malloc((out->n + 1) * sizeof(*out->ids));
    out->tokens = malloc((out->n + 1) * sizeof(*out->tokens));
    out->done = calloc(out->n + 1, sizeof(*out->done));
    return out->ids != NULL && out->tokens != NULL && out->done != NULL ? MP_OK : MP_ENOMEM;
}

/* Takes the order up to its i-th item (i < n): ids[i], tokens[i]. */
static void matched_upto(struct matched *mt, size_t i)
{
    for (; mt->got <= i; mt->got++)
        mp_relevance_order_next(&mt->order, &mt->ids[mt->got], &mt->tokens[mt->got]);
}

static void matched_cleanup(struct matched *mt)
{
    mp_relevance_order_cleanup(&mt->order);
    free(mt->ids);
    free(mt->tokens);
    free(mt->done);
}

/* ---- counted once ---- */

static bool in_buffer(const struct mp_usermem *um, uint64_t seq)
{
    for (size_t i = 0; i < um->nmessages; i++) {
        if (um->messages[i].seq == seq)
            return true;
    }
    return false;
}

#define NAME_BYTES (MP_REQUEST_ID_MAX + 1)

/* FNV-1a of name, up to NAME_BYTES. */
static uint64_t name_hash(const char *name)
{
    return mp_fnv1a64(MP_FNV1A64_BASIS, name, strnlen(name, NAME_BYTES));
}

static struct name_slot *name_slot(struct name_slot *slot, size_t cap, uint64_t h, const char *name)
{
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        struct name_slot *sl = &slot[i];
        if (sl->name == NULL || (sl->h == h && strncmp(sl->name, name, NAME_BYTES) == 0))
            return sl;
    }
}

/* Adds name ("" is no name) unless the set has it. MP_OK or MP_ENOMEM. */
static int names_add(struct names *set, const char *name)
{
    if (name[0] == '\0')
        return MP_OK;
    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap > 0 ? 2 * set->cap : NAMES_FIRST;
        struct name_slot *slot = cap == NAMES_FIRST ? set->first : calloc(cap, sizeof(*slot));
        if (slot == NULL)
            return MP_ENOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i].name != NULL)
                *name_slot(slot, cap, set->slot[i].h, set->slot[i].name) = set->slot[i];
        if (set->slot != set->first)
            free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    uint64_t h = name_hash(name);
    struct name_slot *sl = name_slot(set->slot, set->cap, h, name);
    *sl = (struct name_slot){h, name};
    return MP_OK;
}

/* Adds the names get(pl, i) of the plan's items from where the set stopped
 * to n (the plan's arrays only grow). */
static int names_update(struct names *set, const struct mp_recall_plan *pl, size_t n,
                        const char *(*get)(const struct mp_recall_plan *pl, size_t i))
{
    for (; set->n < n; set->n++) {
        int rc = names_add(set, get(pl, set->n));
        if (rc != MP_OK)
            return rc;
    }
    return MP_OK;
}

static bool names_have(const struct names *set, const char *name)
{
    if (set->cap == 0 || name[0] == '\0')
        return false;
    return name_slot(set->slot, set->cap, name_hash(name), name)->name != NULL;
}

static size_t taken_slot(const struct mp_mem_entity **slot, size_t cap,
                         const struct mp_mem_entity *e)
{
    size_t i = (size_t)(((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (slot[i] != NULL && slot[i] != e)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Adds the plan's facts from where the set stopped. MP_OK or MP_ENOMEM. */
static int taken_update(struct taken *set, const struct mp_recall_plan *pl)
{
    if (2 * pl->nfacts > set->cap) {
        size_t cap = set->cap > 0 ? set->cap : TAKEN_FIRST;
        while (2 * pl->nfacts > cap)
            cap *= 2;
        const struct mp_mem_entity **slot =
            cap == TAKEN_FIRST ? set->first : calloc(cap, sizeof(*slot));
        if (slot == NULL)
            return MP_ENOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slot[i] != NULL)
                slot[taken_slot(slot, cap, set->slot[i])] = set->slot[i];
        if (set->slot != set->first)
            free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    for (; set->n < pl->nfacts; set->n++)
        set->slot[taken_slot(set->slot, set->cap, pl->facts[set->n])] = pl->facts[set->n];
    return MP_OK;
}

static bool taken_has(const struct taken *set, const struct mp_mem_entity *e)
{
    return set->cap > 0 && set->slot[taken_slot(set->slot, set->cap, e)] != NULL;
}

static const char *fact_turn(const struct mp_recall_plan *pl, size_t i)
{
    return mp_usermem_fact_turn(pl->facts[i]);
}

static const char *past_turn(const struct mp_recall_plan *pl, size_t i)
{
    return pl->past[i]->request_id;
}

/* Adds the facts (and, when past messages are to be offered, their turns)
 * and the turns of the past messages taken since the last refresh, for
 * fact_ok(), past_ok() and skip_ranked(). */
static int refresh(struct relevant *r)
{
    const struct mp_recall_plan *pl = &r->f.plan;
    int rc = taken_update(&r->facts_taken, pl);
    if (rc == MP_OK && r->turns.n > 0)
        rc = names_update(&r->fact_turns, pl, pl->nfacts, fact_turn);
    return rc != MP_OK ? rc : names_update(&r->past_turns, pl, pl->npast, past_turn);
}

/* Whether a message of e's turn is in the past line (as of refresh). */
static bool turn_in_past(const struct relevant *r, const struct mp_mem_entity *e)
{
    return names_have(&r->past_turns, mp_usermem_fact_turn(e));
}

/* ---- what an item adds for the question ---- */

struct words_arg {
    const struct mp_relevance_question *qn;
    uint64_t mask;
};

static int on_word_term(void *arg, const char *term, size_t len, uint32_t pos)
{
    struct words_arg *a = arg;
    (void)pos;
    for (size_t i = 0; i < a->qn->nq; i++) {
        if (a->qn->w[i].len == len && memcmp(a->qn->w[i].term, term, len) == 0)
            a->mask |= (uint64_t)1 << i;
    }
    return MP_OK;
}

/* The question's words (its own, not the previous turn's) text[0..len)
 * holds, read as language lang: bit i for word i (at most 64,
 * MP_RELEVANCE_MAX_GROUPS). 0 with no question or no tokenizer. */
static uint64_t words_of(const struct relevant *r, const char *text, size_t len, int lang)
{
    struct words_arg a = {r->qn, 0};
    if (r->qn == NULL || r->f.p->terms == NULL || text == NULL || len == 0)
        return 0;
    (void)mp_terms_each_lang(r->f.p->terms, text, len, lang, on_word_term, &a);
    return a.mask;
}

/* A fact's words: its key's and its value's, read in its value's
 * language (as the index reads them); each fact read once (r->memo, made
 * when first asked; without it, each time). */
static uint64_t fact_words(struct relevant *r, const struct mp_mem_entity *e)
{
    size_t i = (size_t)(((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ull) & (WORDS_MEMO_SLOTS - 1);
    if (r->memo == NULL)
        r->memo = calloc(1, sizeof(*r->memo));
    while (r->memo != NULL && r->memo->e[i] != NULL && r->memo->e[i] != e)
        i = (i + 1) & (WORDS_MEMO_SLOTS - 1);
    if (r->memo != NULL && r->memo->e[i] == e)
        return r->memo->words[i];
    int lang = mp_lang_detect(e->value, e->value_len);
    uint64_t words =
        words_of(r, e->key, strlen(e->key), lang) | words_of(r, e->value, e->value_len, lang);
    if (r->memo != NULL && 4 * (r->memo->n + 1) <= 3 * WORDS_MEMO_SLOTS) {
        r->memo->e[i] = e;
        r->memo->words[i] = words;
        r->memo->n++;
    }
    return words;
}

static uint64_t message_words(const struct relevant *r, const struct mp_mem_message *m)
{
    return words_of(r, m->content, m->content_len, m->lang != 0 ? m->lang : MP_LANG_AUTO);
}

/* Whether e (a fact, held by the head or taken) was drawn from turn. */
static bool of_turn(const struct mp_mem_entity *e, const char *turn)
{
    return strncmp(mp_usermem_fact_turn(e), turn, NAME_BYTES) == 0;
}

/* Whether a fact the head holds was drawn from turn ("" is no turn). */
static bool turn_held(const struct relevant *r, const char *turn)
{
    const struct mp_recall_request *rq = r->f.rq;
    for (size_t i = 0; rq != NULL && turn[0] != '\0' && i < rq->nheld; i++) {
        if (of_turn(rq->held[i], turn))
            return true;
    }
    return false;
}

/* Whether message m, of a turn a fact was drawn from (taken, or held by
 * the head), holds a word of the question none of those facts holds. */
static bool message_adds(struct relevant *r, const struct mp_mem_message *m)
{
    const struct mp_recall_request *rq = r->f.rq;
    const struct mp_recall_plan *pl = &r->f.plan;
    uint64_t mine = message_words(r, m), theirs = 0;
    for (size_t i = 0; mine != 0 && i < pl->nfacts; i++)
        theirs |= of_turn(pl->facts[i], m->request_id) ? fact_words(r, pl->facts[i]) : 0;
    for (size_t i = 0; mine != 0 && rq != NULL && i < rq->nheld; i++)
        theirs |= of_turn(rq->held[i], m->request_id) ? fact_words(r, rq->held[i]) : 0;
    return (mine & ~theirs) != 0;
}

/* Whether fact e, of a turn the past line holds a message of, holds a
 * word of the question none of those messages holds. */
static bool fact_adds(struct relevant *r, const struct mp_mem_entity *e)
{
    const struct mp_recall_plan *pl = &r->f.plan;
    const char *turn = mp_usermem_fact_turn(e);
    uint64_t mine = fact_words(r, e), theirs = 0;
    for (size_t i = 0; mine != 0 && i < pl->npast; i++)
        theirs |= strncmp(pl->past[i]->request_id, turn, NAME_BYTES) == 0
                      ? message_words(r, pl->past[i])
                      : 0;
    return (mine & ~theirs) != 0;
}

/* Counted once (recall.h): whether fact e is left out because a message
 * of its turn is in the past line and e adds no word of the question. */
static bool fact_counted(struct relevant *r, const struct mp_mem_entity *e)
{
    return turn_in_past(r, e) && !fact_adds(r, e);
}

/* Whether message m is left out because a fact of its turn is taken or
 * held and m adds no word of the question. */
static bool message_counted(struct relevant *r, const struct mp_mem_message *m)
{
    return (names_have(&r->fact_turns, m->request_id) || turn_held(r, m->request_id)) &&
           !message_adds(r, m);
}

/* ---- offering ---- */

static bool fact_ok(struct relevant *r, const struct mp_mem_entity *e)
{
    return mp_recall_fill_fact_ok(&r->f, e) && !taken_has(&r->facts_taken, e) &&
           !fact_counted(r, e);
}

/* The line of a kind of item: the least any item adds to it, and the
 * least an item the source estimates at tokens adds (memblock.h). */
struct line_of {
    enum mp_recall_line line;
    size_t min;
    size_t (*least)(uint32_t tokens);
};

static const struct line_of profile_line = {MP_RECALL_LINE_PROFILE, MP_MEMBLOCK_FACT_MIN,
                                            mp_memblock_fact_least};
static const struct line_of past_line = {MP_RECALL_LINE_PAST, MP_MEMBLOCK_PAST_MIN,
                                         mp_memblock_past_least};

/* Offers the matched items of mt not given up, best first, to the line,
 * while it has room for the least item and until MP_RECALL_FACT_MISSES in
 * a row lacked room; try fetches one and takes it when it fits, saying
 * whether to keep it for a later offer. An item whose estimate says it
 * cannot fit (its least) lacks room without being fetched: most offers
 * end on such a run, and a fetch is a read of the store. */
static int offer(struct relevant *r, struct matched *mt, const struct line_of *ln,
                 int (*try)(struct relevant *r, uint32_t id, bool *keep))
{
    int rc = MP_OK;
    unsigned misses = 0;
    for (size_t i = 0; i < mt->n && rc == MP_OK && misses < MP_RECALL_FACT_MISSES; i++) {
        if (mt->done[i])
            continue;
        bool keep = true;
        size_t room = mp_recall_fill_room(&r->f, ln->line);
        if (room < ln->min)
            break;
        matched_upto(mt, i);
        if (ln->least(mt->tokens[i]) <= room) {
            keep = false;
            rc = try(r, mt->ids[i], &keep);
            mt->done[i] = !keep;
        }
        misses = keep ? misses + 1 : 0; /* kept: it only lacked room */
    }
    return rc;
}

/* Fact id: taken when fit and fitting (the plan borrows the source's),
 * kept when it only lacked room. */
static int try_fact(struct relevant *r, uint32_t id, bool *keep)
{
    const struct mp_mem_entity *e;
    int rc = r->src->fact(r->src->ctx, id, &e);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    if (fact_ok(r, e)) {
        rc = mp_recall_fill_fact(&r->f, e);
        *keep = rc == 0;
    }
    return rc < 0 ? rc : MP_OK;
}

static bool past_ok(struct relevant *r, const struct mp_mem_message *m)
{
    const struct mp_recall_fill *f = &r->f;
    return m->content != NULL && m->content_len > 0 && (!m->pii || f->p->inject_pii) &&
           !((f->p->sections & MP_RECALL_BUFFER) && f->p->share_buffer > 0 &&
             in_buffer(f->um, m->seq)) &&
           !mp_recall_fill_seen(f, m) && !message_counted(r, m) &&
           !(f->p->past_recent && mp_recall_fill_in_past(f, m->seq));
}

/* m's content replaced by its excerpt for the question when the block
 * would cut it, the excerpt differs from that cut (excerpt.h) and the cut
 * fits: a message offered without room is not read for its sentences
 * (offers try many; most long ones lack room). Both are at most
 * MP_MEMBLOCK_PAST_TEXT_MAX bytes, so an excerpt that does not fit where
 * the cut did is rare; it then waits for round 2 as any item lacking room. */
static int excerpt(const struct relevant *r, struct mp_mem_message *m)
{
    char *ex;
    size_t n;
    if (r->qn == NULL || m->content_len <= MP_MEMBLOCK_PAST_TEXT_MAX ||
        !mp_recall_fill_past_fits(&r->f, m))
        return MP_OK;
    int rc = mp_excerpt_make(r->qn, m->content, m->content_len, MP_MEMBLOCK_PAST_TEXT_MAX, &ex, &n);
    if (rc != MP_OK || ex == NULL)
        return rc;
    free(m->content);
    m->content = ex;
    m->content_len = n;
    return MP_OK;
}

/* Archived message id: taken when fit and fitting (the plan then owns
 * it), kept when it only lacked room. */
static int try_past(struct relevant *r, uint32_t id, bool *keep)
{
    struct mp_mem_message m;
    int rc = r->src->message(r->src->ctx, id, &m);
    if (rc != MP_OK)
        return rc == MP_NOTFOUND ? MP_OK : rc;
    bool ok = past_ok(r, &m);
    if (ok)
        rc = excerpt(r, &m);
    if (ok && rc == MP_OK) {
        rc = mp_recall_fill_past(&r->f, &m);
        *keep = rc == 0;
    }
    if (rc != 1)
        free(m.content);
    return rc < 0 ? rc : MP_OK;
}

/* The user's newest buffered messages into the past line (past_recent,
 * recall.h), newest first, each whole (its text capped as any past
 * message's), until one does not fit; the plan owns the copies taken. */
static int offer_recent(struct relevant *r)
{
    const struct mp_usermem *um = r->f.um;
    int rc = refresh(r);
    for (size_t i = um->nmessages; rc == MP_OK && i > 0; i--) {
        const struct mp_mem_message *b = &um->messages[i - 1];
        if (!past_ok(r, b))
            continue;
        if (!mp_recall_fill_past_fits(&r->f, b))
            break;
        struct mp_mem_message m = *b;
        m.content = malloc(b->content_len);
        if (m.content == NULL)
            return MP_ENOMEM;
        memcpy(m.content, b->content, b->content_len);
        rc = mp_recall_fill_past(&r->f, &m);
        if (rc != 1)
            free(m.content);
        rc = rc < 0 ? rc : MP_OK;
    }
    return rc;
}

static int offer_facts(struct relevant *r)
{
    int rc = r->facts.n > 0 ? refresh(r) : MP_OK;
    return rc != MP_OK ? rc : offer(r, &r->facts, &profile_line, try_fact);
}

static int offer_past(struct relevant *r)
{
    int rc = r->turns.n > 0 ? refresh(r) : MP_OK;
    return rc != MP_OK ? rc : offer(r, &r->turns, &past_line, try_past);
}

static bool skip_ranked(void *arg, const struct mp_mem_entity *e)
{
    struct relevant *r = arg;
    return taken_has(&r->facts_taken, e) || fact_counted(r, e);
}

/* The strongest facts not taken yet, in the ranked order. */
static int offer_ranked(struct relevant *r)
{
    int rc = refresh(r);
    return rc != MP_OK ? rc : mp_recall_fill_ranked(&r->f, r->src, skip_ranked, r);
}

/* ---- the rounds ---- */

/* share percent of rest tokens, in tokens */
static uint64_t share_of(uint64_t rest, unsigned share)
{
    return rest * share / 100;
}

static size_t share_bytes(uint64_t rest, unsigned share)
{
    uint64_t b = share_of(rest, share) * 4;
    return b > SIZE_MAX ? SIZE_MAX : (size_t)b;
}

/* Round 1's caps: each section's share of what the intro leaves. */
static void set_shares(struct mp_recall_fill *f)
{
    const struct mp_recall_params *p = f->p;
    uint64_t rest = p->budget_tokens - mp_memblock_message_tokens(MP_MEMBLOCK_INTRO_LEN);
    uint64_t buffer = share_of(rest, p->share_buffer);
    f->cap[MP_RECALL_LINE_PROFILE] = share_bytes(rest, p->share_profile);
    f->cap[MP_RECALL_LINE_PAST] = share_bytes(rest, p->share_past);
    f->cap[MP_RECALL_LINE_SUMMARY] = share_bytes(rest, p->share_summary);
    f->buffer_cap = buffer > UINT32_MAX ? UINT32_MAX : (uint32_t)buffer;
}

static int round_one(struct relevant *r)
{
    int rc;
    set_shares(&r->f);
    rc = offer_facts(r);
    if (rc == MP_OK && r->f.p->past_recent)
        rc = offer_recent(r);
    if (rc == MP_OK)
        rc = offer_past(r);
    if (rc == MP_OK)
        rc = offer_ranked(r);
    mp_recall_fill_summary(&r->f);
    return rc == MP_OK ? mp_recall_fill_messages(&r->f) : rc;
}

static int round_two(struct relevant *r)
{
    int rc;
    for (size_t i = 0; i < MP_RECALL_LINES; i++)
        r->f.cap[i] = SIZE_MAX;
    r->f.buffer_cap = UINT32_MAX;
    rc = offer_facts(r);
    if (rc == MP_OK)
        rc = offer_past(r);
    mp_recall_fill_summary(&r->f);
    if (rc == MP_OK)
        rc = mp_recall_fill_messages(&r->f);
    return rc == MP_OK ? offer_ranked(r) : rc;
}

int mp_recall_relevant(const struct mp_usermem *um, const struct mp_recall_source *src,
                       const struct mp_recall_params *p, const struct mp_recall_request *rq,
                       struct mp_recall_plan *plan)
{
    struct relevant r = {.src = src};
    struct mp_relevance_question qn; /* about 9 KiB */
    int rc;
    if (src == NULL)
        return mp_recall_recent(um, NULL, p, rq, plan);
    rc = mp_recall_fill_init(&r.f, um, p, rq);
    r.f.ranked_max = MP_RECALL_PROFILE_MAX;
    bool asked = p->terms != NULL && rq != NULL && rq->question != NULL && rq->question_len > 0 &&
                 (((p->sections & MP_RECALL_PROFILE) && src->facts != NULL) ||
                  ((p->sections & MP_RECALL_PAST) && src->turns != NULL));
    if (rc == MP_OK && asked) { /* parsed once for both kinds */
        struct mp_userlang_prior prior = MP_USERLANG_PRIOR_HELD(um, src->lang, src->langs);
        rc = mp_relevance_question_parse(p->terms, rq->question, rq->question_len, rq->previous,
                                         rq->previous_len, &prior, &qn);
        r.qn = &qn;
    }
    if (rc == MP_OK && asked && (p->sections & MP_RECALL_PROFILE))
        rc = rank(&qn, src, src->facts, MP_RELEVANCE_FACTS, p->budget_tokens, &r.facts);
    if (rc == MP_OK && asked && (p->sections & MP_RECALL_PAST))
        rc = rank(&qn, src, src->turns, MP_RELEVANCE_TURNS, p->budget_tokens, &r.turns);
    if (rc == MP_OK)
        rc = round_one(&r);
    if (rc == MP_OK)
        rc = round_two(&r);
    matched_cleanup(&r.facts);
    matched_cleanup(&r.turns);
    if (r.facts_taken.slot != r.facts_taken.first)
        free(r.facts_taken.slot);
    if (r.fact_turns.slot != r.fact_turns.first)
        free(r.fact_turns.slot);
    if (r.past_turns.slot != r.past_turns.first)
        free(r.past_turns.slot);
    free(r.memo);
    if (rc == MP_OK)
        return mp_recall_fill_finish(&r.f, plan);
    mp_recall_fill_cleanup(&r.f);
    return rc;
}
