/* Filling a recall plan: the budget arithmetic and the taking of pieces
 * that both strategies share. It orders nothing: the strategies do.
 *
 * The block is one message, so its cost is that of its whole text, not the
 * sum of its pieces' estimates: the fill tracks the block's bytes and the
 * block fits while they stay within the largest text the budget allows
 * beside the buffered messages taken. Buffered messages are priced one by
 * one with what budget the block left. Measuring is bounded by what can
 * fit, not by what is stored: a fact value is measured up to its cap, a
 * summary up to the room left.
 *
 * Every step can be called again with more room (the relevant strategy's
 * second round): a fact or past message not taken is simply offered again,
 * the summary is refitted when the room grew, and the buffer continues from
 * the message it stopped at, taking back a cut one first, so that it ends
 * as one call with the larger room would have left it. */
#include "recall/recall_fill.h"

#include <stdlib.h>
#include <string.h>

#include "recall/memblock.h"
#include "status.h"

int mp_recall_fill_init(struct mp_recall_fill *f, const struct mp_usermem *um,
                        const struct mp_recall_params *p, const struct mp_recall_request *rq)
{
    memset(f, 0, sizeof(*f));
    f->um = um;
    f->p = p;
    f->rq = rq;
    for (size_t i = 0; i < MP_RECALL_LINES; i++)
        f->cap[i] = SIZE_MAX;
    f->buffer_cap = UINT32_MAX;
    f->ranked_max = SIZE_MAX;
    if (um == NULL || p->sections == 0 ||
        mp_memblock_message_room(p->budget_tokens) < MP_MEMBLOCK_INTRO_LEN)
        return MP_NOTFOUND;
    f->buffer_next = um->nmessages;
    f->plan.block_len = MP_MEMBLOCK_INTRO_LEN;
    if ((p->sections & MP_RECALL_BUFFER) && !p->buffer_in_notes && um->nmessages > 0) {
        f->plan.picks = malloc(um->nmessages * sizeof(*f->plan.picks));
        if (f->plan.picks == NULL)
            return MP_ENOMEM;
    }
    return MP_OK;
}

/* ---- room ---- */

/* What the block can still take, in bytes, beside the buffered messages:
 * its cost, mp_memblock_message_cost(block_len + bytes, block_saved),
 * stays within what they leave for every bytes up to this. */
static size_t block_room(const struct mp_recall_fill *f)
{
    size_t room = mp_memblock_message_room(f->p->budget_tokens - f->buffer_tokens);
    uint64_t credit = f->plan.block_saved / 4;
    room = credit < SIZE_MAX - room ? room + (size_t)credit : SIZE_MAX;
    return room > f->plan.block_len ? room - f->plan.block_len : 0;
}

static size_t cap_left(const struct mp_recall_fill *f, enum mp_recall_line line)
{
    uint64_t credit = f->saved[line] / 4;
    size_t cap = credit < SIZE_MAX - f->cap[line] ? f->cap[line] + (size_t)credit : SIZE_MAX;
    return cap > f->used[line] ? cap - f->used[line] : 0;
}

size_t mp_recall_fill_room(const struct mp_recall_fill *f, enum mp_recall_line line)
{
    size_t room = block_room(f), cap = cap_left(f, line);
    return room < cap ? room : cap;
}

/* Tokens the buffered messages may still cost. */
static uint32_t buffer_left(const struct mp_recall_fill *f)
{
    uint32_t left = f->p->budget_tokens -
                    mp_memblock_message_cost(f->plan.block_len, f->plan.block_saved) -
                    f->buffer_tokens;
    uint32_t cap = f->buffer_cap > f->buffer_tokens ? f->buffer_cap - f->buffer_tokens : 0;
    return left < cap ? left : cap;
}

/* arr (of *room elements of size) with room for more; NULL when out of
 * memory (arr is then as it was). 64 at first: a line seldom takes more,
 * so one allocation. */
static void *grow(void *arr, size_t *room, size_t size)
{
    size_t n = *room > 0 ? *room * 2 : 64;
    void *p = realloc(arr, n * size);
    if (p != NULL)
        *room = n;
    return p;
}

/* Counts a piece of bytes the line took, its letters saving saved;
 * returns 1 (taken). */
static int add_bytes(struct mp_recall_fill *f, enum mp_recall_line line, size_t bytes,
                     uint64_t saved)
{
    f->plan.block_len += bytes;
    f->plan.block_saved += saved;
    f->used[line] += bytes;
    f->saved[line] += saved;
    return 1;
}

/* ---- facts ---- */

/* Whether the request's caller injects e elsewhere (a few pointers: the
 * facts of a conversation's head). */
static bool held(const struct mp_recall_request *rq, const struct mp_mem_entity *e)
{
    for (size_t i = 0; rq != NULL && i < rq->nheld; i++)
        if (rq->held[i] == e)
            return true;
    return false;
}

bool mp_recall_fill_fact_ok(const struct mp_recall_fill *f, const struct mp_mem_entity *e)
{
    return (f->p->inject_pii || !e->pii) && e->key[0] != '\0' && e->value != NULL &&
           e->value_len > 0 && !held(f->rq, e);
}

/* mp_recall_fill_fact() with the profile line's room already asked. A
 * fact writes its day when no fact of the line is of that day yet (the
 * line is rendered day by day, mp_recall_fill_finish). */
static int take_fact(struct mp_recall_fill *f, const struct mp_mem_entity *e, size_t room)
{
    struct mp_recall_plan *pl = &f->plan;
    int64_t day = mp_memblock_fact_day(e);
    bool had = mp_dayset_has(&f->fact_days, day);
    size_t bytes = mp_memblock_fact_bytes(e, pl->nfacts == 0, !had, room);
    if (bytes == 0)
        return 0;
    if (pl->nfacts == f->facts_room) {
        const struct mp_mem_entity **a = grow(pl->facts, &f->facts_room, sizeof(*a));
        if (a == NULL)
            return MP_ENOMEM;
        pl->facts = a;
    }
    if (!had && mp_dayset_add(&f->fact_days, day) != MP_OK)
        return MP_ENOMEM;
    f->facts_by_day = pl->nfacts == 0 || (f->facts_by_day && f->last_fact_day <= day);
    f->last_fact_day = day;
    pl->facts[pl->nfacts++] = e;
    return add_bytes(f, MP_RECALL_LINE_PROFILE, bytes,
                     mp_memblock_fact_saving(e, pl->nfacts == 1, !had));
}

int mp_recall_fill_fact(struct mp_recall_fill *f, const struct mp_mem_entity *e)
{
    return take_fact(f, e, mp_recall_fill_room(f, MP_RECALL_LINE_PROFILE));
}

/* A walk of the ranked facts. */
struct ranked {
    struct mp_recall_fill *f;
    mp_recall_skip_fn skip;
    void *arg;
    unsigned misses; /* eligible facts in a row that did not fit */
    size_t room;     /* the profile line's: only a fact taken changes it */
};

/* The room is asked again only when a fact is taken (nothing else
 * changes it during a walk), and a fact passed over does not look at it:
 * a second walk passes over all the first took. Passing over changes no
 * room, so the walk still stops at the next fact offered once no fact can
 * fit. A fact whose floor (memblock.h) is more than the room is not
 * measured: every walk ends on a run of such misses. */
static int on_ranked(void *arg, const struct mp_mem_entity *e)
{
    struct ranked *w = arg;
    int rc;
    if ((w->skip != NULL && w->skip(w->arg, e)) || !mp_recall_fill_fact_ok(w->f, e))
        return MP_OK;
    if (w->room < MP_MEMBLOCK_FACT_MIN || w->f->ranked_taken >= w->f->ranked_max)
        return 1; /* no fact can fit any more, or may */
    rc = mp_memblock_fact_floor(e) > w->room ? 0 : take_fact(w->f, e, w->room);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        w->room = mp_recall_fill_room(w->f, MP_RECALL_LINE_PROFILE);
        w->f->ranked_taken++;
    }
    w->misses = rc == 1 ? 0 : w->misses + 1;
    return w->misses < MP_RECALL_FACT_MISSES ? MP_OK : 1;
}

int mp_recall_fill_ranked(struct mp_recall_fill *f, const struct mp_recall_source *src,
                          mp_recall_skip_fn skip, void *arg)
{
    struct ranked w = {f, skip, arg, 0, mp_recall_fill_room(f, MP_RECALL_LINE_PROFILE)};
    if (!(f->p->sections & MP_RECALL_PROFILE) || src == NULL || src->ranked_facts == NULL ||
        w.room < MP_MEMBLOCK_FACT_MIN || f->ranked_taken >= f->ranked_max)
        return MP_OK;
    return src->ranked_facts(src->ctx, on_ranked, &w);
}

/* ---- past messages ---- */

/* What m adds to the past line, 0 when it does not fit; what those bytes
 * save in *saved. A message writes its day when no message of the line is
 * of that day yet (had false: the line is rendered oldest first, a day's
 * messages together). */
static size_t past_bytes(const struct mp_recall_fill *f, const struct mp_mem_message *m, bool had,
                         uint64_t *saved)
{
    return mp_memblock_past_measure(m, f->plan.npast == 0, !had,
                                    mp_recall_fill_room(f, MP_RECALL_LINE_PAST), saved);
}

bool mp_recall_fill_past_fits(const struct mp_recall_fill *f, const struct mp_mem_message *m)
{
    return mp_memblock_past_bytes(m, f->plan.npast == 0,
                                  !mp_dayset_has(&f->past_days, mp_memblock_past_day(m)),
                                  mp_recall_fill_room(f, MP_RECALL_LINE_PAST)) > 0;
}

/* Room for more past messages, their texts written ahead beside them:
 * MP_OK or MP_ENOMEM (the plan is then as it was, but for room). */
static int grow_past(struct mp_recall_fill *f)
{
    struct mp_recall_plan *pl = &f->plan;
    size_t n = f->past_room > 0 ? f->past_room * 2 : 64;
    const struct mp_mem_message **a = realloc(pl->past, n * sizeof(*a));
    if (a == NULL)
        return MP_ENOMEM;
    pl->past = a;
    struct mp_memblock_ahead *w = realloc(pl->past_ahead, n * sizeof(*w));
    if (w == NULL)
        return MP_ENOMEM;
    pl->past_ahead = w;
    f->past_room = n;
    return MP_OK;
}

/* Appends c to the past line as measured: bytes that save saved, with
 * its day already there or not (had); c is the plan's (allocated, its
 * content too) when ahead holds no text, else a buffered turn's message
 * of um, its text written ahead in the plan's texts. 1 (taken) or
 * MP_ENOMEM (the caller still owns c). */
static int append_copy(struct mp_recall_fill *f, const struct mp_mem_message *c,
                       struct mp_memblock_ahead ahead, bool had, size_t bytes, uint64_t saved)
{
    struct mp_recall_plan *pl = &f->plan;
    if (pl->npast == f->past_room && grow_past(f) != MP_OK)
        return MP_ENOMEM;
    if (!had && mp_dayset_add(&f->past_days, mp_memblock_past_day(c)) != MP_OK)
        return MP_ENOMEM;
    pl->past_ahead[pl->npast] = ahead;
    pl->past[pl->npast++] = c;
    return add_bytes(f, MP_RECALL_LINE_PAST, bytes, saved);
}

/* append_copy() of m (the plan then owns *m's fields and its content): 1
 * (taken) or MP_ENOMEM (the caller still owns m's content). */
static int append_past(struct mp_recall_fill *f, const struct mp_mem_message *m, bool had,
                       size_t bytes, uint64_t saved)
{
    struct mp_mem_message *c = malloc(sizeof(*c));
    if (c == NULL)
        return MP_ENOMEM;
    *c = *m;
    int rc = append_copy(f, c, (struct mp_memblock_ahead){NULL, 0}, had, bytes, saved);
    if (rc != 1)
        free(c);
    return rc;
}

int mp_recall_fill_past(struct mp_recall_fill *f, struct mp_mem_message *m)
{
    bool had = mp_dayset_has(&f->past_days, mp_memblock_past_day(m));
    uint64_t saved = 0;
    size_t bytes = past_bytes(f, m, had, &saved);
    return bytes == 0 ? 0 : append_past(f, m, had, bytes, saved);
}

/* Whether a comes before b in the past line: oldest first, by time, then
 * sequence (unique per user). */
static bool past_before(const struct mp_mem_message *a, const struct mp_mem_message *b)
{
    return a->at_ms != b->at_ms ? a->at_ms < b->at_ms : a->seq < b->seq;
}

/* A past message with its text written ahead, as qsort moves them. */
struct past_item {
    const struct mp_mem_message *m;
    struct mp_memblock_ahead ahead;
};

static int past_cmp(const void *pa, const void *pb)
{
    const struct mp_mem_message *a = ((const struct past_item *)pa)->m;
    const struct mp_mem_message *b = ((const struct past_item *)pb)->m;
    return past_before(a, b) ? -1 : past_before(b, a);
}

/* ---- summary ---- */

void mp_recall_fill_summary(struct mp_recall_fill *f)
{
    const struct mp_mem_summary *sm = &f->um->summary;
    struct mp_recall_plan *pl = &f->plan;
    size_t *used = &f->used[MP_RECALL_LINE_SUMMARY];
    uint64_t *saved = &f->saved[MP_RECALL_LINE_SUMMARY];
    size_t cap = f->cap[MP_RECALL_LINE_SUMMARY], keep = 0, bytes;
    if (!(f->p->sections & MP_RECALL_SUMMARY) || sm->text == NULL || sm->text_len == 0 ||
        (sm->pii && !f->p->inject_pii) || pl->summary_len == sm->text_len)
        return;
    /* the line is written anew: it has its own bytes as well as the room,
       but not the credit of what its letters saved */
    pl->block_saved -= *saved;
    size_t room = block_room(f) + *used;
    pl->block_saved += *saved;
    bytes = mp_memblock_summary_bytes(sm->text, sm->text_len, room < cap ? room : cap, &keep);
    if (bytes <= *used)
        return;
    pl->block_len += bytes - *used;
    *used = bytes;
    pl->block_saved -= *saved;
    *saved = mp_memblock_script_saving(sm->text, keep);
    pl->block_saved += *saved;
    pl->summary_len = keep;
    pl->summary_cut = keep < sm->text_len;
}

/* ---- buffered messages ---- */

/* What buffered message m costs as picked. */
static uint32_t pick_tokens(const struct mp_recall_pick *pk, const struct mp_mem_message *m)
{
    return mp_memblock_message_cost(pk->len + (pk->cut ? MP_MEMBLOCK_ELLIPSIS_LEN : 0),
                                    mp_memblock_script_saving(m->content, pk->len));
}

/* A replay without a share of its own comes after the past line: a
 * buffered message whose archived copy it took is not replayed (recall.h). */
bool mp_recall_fill_in_past(const struct mp_recall_fill *f, uint64_t seq)
{
    const struct mp_recall_plan *pl = &f->plan;
    for (size_t i = 0; i < pl->npast; i++) {
        if (pl->past[i]->seq == seq)
            return true;
    }
    return false;
}

/* Whether buffered message m, um->messages[idx], is passed over: 1 it
 * may not go in (no text, or pii), 2 it is there already (the request
 * holds it, or the past line does: counted as deduplicated by the
 * caller), 0 neither. The messages of the turn that did not fit were not
 * in the request (the memo): only the past line may hold them since. */
static int buffer_skip(const struct mp_recall_fill *f, const struct mp_mem_message *m, size_t idx)
{
    const struct mp_recall_turn_memo *mo = &f->memo;
    if (m->content == NULL || m->content_len == 0 || (m->pii && !f->p->inject_pii))
        return 1;
    bool memo = mo->n > 0 && idx >= mo->j && idx <= mo->i;
    return (!memo && mp_recall_fill_seen(f, m)) || mp_recall_fill_in_past(f, m->seq) ? 2 : 0;
}

/* ---- buffered turns in the notes ---- */

/* Bytes the buffer's turns may still add to the block: what the budget
 * leaves, within the buffer's cap (in tokens, 4 bytes each). */
static size_t notes_room(const struct mp_recall_fill *f)
{
    size_t room = block_room(f);
    if (f->buffer_cap == UINT32_MAX)
        return room;
    uint64_t cap = (uint64_t)f->buffer_cap * 4;
    uint64_t left = cap > f->buffer_bytes ? cap - f->buffer_bytes : 0;
    return left < room ? (size_t)left : room;
}

#define TEXTS_FIRST 4064  /* bytes of the first chunk of texts: the turns of most blocks */
#define TEXTS_MOST  16384 /* a chunk grows no larger: each one is twice the one before */

/* Where a turn's texts, need bytes at most, are written ahead: the end of
 * the plan's texts, with room for them; NULL when out of memory. A turn
 * that does not fit leaves its texts there, not taken, for its next
 * offer. */
static char *texts_end(struct mp_recall_plan *pl, size_t need)
{
    struct mp_recall_texts *c = pl->texts;
    if (c == NULL || c->cap - c->len < need) {
        size_t cap = c == NULL ? TEXTS_FIRST : c->cap < TEXTS_MOST ? 2 * c->cap : TEXTS_MOST;
        cap = cap < need ? need : cap;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        *c = (struct mp_recall_texts){pl->texts, 0, cap};
        pl->texts = c;
    }
    return c->bytes + c->len;
}

/* The length of the text k of the turn um->messages[j..i] written ahead
 * at at (after the turn's text before it): from the memo when that turn's
 * was written already (the same turn, offered again), else written now. */
static size_t turn_text(struct mp_recall_fill *f, size_t j, size_t i, char *at, size_t k)
{
    struct mp_recall_turn_memo *mo = &f->memo;
    if (mo->n == 0 || mo->j != j || mo->i != i)
        *mo = (struct mp_recall_turn_memo){.j = j, .i = i};
    if (k >= mo->n) {
        char *w = at + (k == 1 ? mo->len[0] : 0);
        mo->len[k] = mp_memblock_past_text(&f->um->messages[j + k], w, &mo->saved[k]);
        mo->n = k + 1;
    }
    return mo->len[k];
}

/* The turn um->messages[j..i] (one message, or a user message and its
 * reply) into the past line when all of it fits notes_room: 1 taken, 0
 * not (nothing taken), MP_ENOMEM. Measured as the line will be written,
 * whichever order the line sorts them in: one header, one separator per
 * other message, each day once; each text written ahead (turn_text), so
 * that the block copies it. The line borrows the messages from um. */
static int take_turn(struct mp_recall_fill *f, size_t j, size_t i)
{
    const struct mp_mem_message *msgs = f->um->messages;
    const struct mp_recall_turn_memo *mo = &f->memo;
    size_t room = notes_room(f), bytes[2] = {0, 0};
    bool had[2];
    size_t need = mp_memblock_past_text_bound(&msgs[j]);
    char *at = texts_end(&f->plan, need + (i > j ? mp_memblock_past_text_bound(&msgs[i]) : 0));
    if (at == NULL)
        return MP_ENOMEM;
    int64_t day0 = mp_memblock_past_day(&msgs[j]);
    for (size_t k = 0; k <= i - j; k++) {
        int64_t day = k == 0 ? day0 : mp_memblock_past_day(&msgs[j + k]);
        had[k] = mp_dayset_has(&f->past_days, day) || (k == 1 && day == day0);
        bytes[k] = mp_memblock_past_bytes_ahead(&msgs[j + k], f->plan.npast == 0 && k == 0, !had[k],
                                                turn_text(f, j, i, at, k), room - bytes[0]);
        if (bytes[k] == 0)
            return 0;
    }
    for (size_t k = 0; k <= i - j; k++) {
        struct mp_memblock_ahead ahead = {at + (k == 1 ? mo->len[0] : 0), mo->len[k]};
        if (append_copy(f, &msgs[j + k], ahead, had[k], bytes[k], mo->saved[k]) != 1)
            return MP_ENOMEM;
        f->buffer_bytes += bytes[k];
    }
    f->plan.texts->len += mo->len[0] + (i > j ? mo->len[1] : 0);
    f->memo.n = 0;
    return 1;
}

/* Whether user message u and its neighbour m (the next in the buffer)
 * are one turn: m the reply to u, of the same request. */
static bool one_turn(const struct mp_mem_message *u, const struct mp_mem_message *m)
{
    return u->role == MP_ROLE_USER && m->role == MP_ROLE_ASSISTANT && u->request_id[0] != '\0' &&
           strcmp(u->request_id, m->request_id) == 0;
}

/* mp_recall_fill_messages with p->buffer_in_notes: newest first, turn by
 * turn (a reply with the user message before it), each whole into the
 * past line while it fits; the first that does not ends the call and is
 * offered again by the next. */
static int notes_messages(struct mp_recall_fill *f)
{
    const struct mp_mem_message *msgs = f->um->messages;
    for (; f->buffer_next > 0; f->buffer_next--) {
        size_t i = f->buffer_next - 1, j = i;
        int skip = buffer_skip(f, &msgs[i], i);
        f->plan.ndeduplicated += skip == 2;
        if (skip != 0)
            continue;
        if (i > 0 && one_turn(&msgs[i - 1], &msgs[i]) && buffer_skip(f, &msgs[i - 1], i - 1) == 0)
            j = i - 1;
        int rc = take_turn(f, j, i);
        if (rc <= 0)
            return rc;
        f->buffer_next = j + 1; /* the loop goes on before the turn */
    }
    return MP_OK;
}

int mp_recall_fill_messages(struct mp_recall_fill *f)
{
    struct mp_recall_plan *pl = &f->plan;
    if (!(f->p->sections & MP_RECALL_BUFFER))
        return MP_OK;
    if (f->p->buffer_in_notes)
        return notes_messages(f);
    if (pl->message_cut) { /* taken back: with more room it may fit longer */
        const struct mp_recall_pick *pk = &pl->picks[--pl->npicks];
        f->buffer_tokens -= pick_tokens(pk, &f->um->messages[pk->idx]);
        f->buffer_next = pk->idx + 1;
        pl->message_cut = false;
    }
    for (; f->buffer_next > 0; f->buffer_next--) {
        size_t i = f->buffer_next - 1;
        const struct mp_mem_message *m = &f->um->messages[i];
        struct mp_recall_pick *pk = &pl->picks[pl->npicks];
        int skip = buffer_skip(f, m, i);
        pl->ndeduplicated += skip == 2;
        if (skip != 0)
            continue;
        pk->idx = i;
        pk->len = mp_memblock_fit_text(m->content, m->content_len,
                                       mp_memblock_message_room(buffer_left(f)));
        pk->cut = pk->len < m->content_len;
        if (pk->len == 0)
            return MP_OK; /* looked at again by the next call */
        f->buffer_tokens += pick_tokens(pk, m);
        pl->npicks++;
        if (pk->cut) {
            pl->message_cut = true;
            f->buffer_next = i;
            return MP_OK;
        }
    }
    return MP_OK;
}

bool mp_recall_fill_seen(const struct mp_recall_fill *f, const struct mp_mem_message *m)
{
    const struct mp_recall_request *rq = f->rq;
    return rq != NULL && rq->seen != NULL && rq->seen(rq->seen_ctx, m);
}

/* ---- the end ---- */

/* A fact of the profile line, its day and where it was taken. */
struct taken_fact {
    const struct mp_mem_entity *e;
    int64_t day;
    size_t at;
};

/* Day, then the order taken (so that the sort is stable). */
static int taken_cmp(const void *pa, const void *pb)
{
    const struct taken_fact *a = pa, *b = pb;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

#define INSERTION_MAX 64 /* a line this short is sorted in place: no allocation */

/* Moves each fact back past the facts of later days (stable). */
static void facts_by_day_few(struct mp_recall_plan *pl)
{
    for (size_t i = 1; i < pl->nfacts; i++) {
        const struct mp_mem_entity *e = pl->facts[i];
        int64_t day = mp_memblock_fact_day(e);
        size_t j = i;
        for (; j > 0 && mp_memblock_fact_day(pl->facts[j - 1]) > day; j--)
            pl->facts[j] = pl->facts[j - 1];
        pl->facts[j] = e;
    }
}

/* The past line in its order, in place, with the texts written ahead (a
 * few messages: qsort's calls through a pointer cost more than the
 * moves). A line taken newest first (the buffered turns, as the fill
 * walks them) is turned around whole. */
static void past_sort_few(struct mp_recall_plan *pl)
{
    size_t n = pl->npast, down = 1;
    while (down < n && past_before(pl->past[down], pl->past[down - 1]))
        down++;
    for (size_t i = 0; down == n && i < n / 2; i++) {
        const struct mp_mem_message *m = pl->past[i];
        struct mp_memblock_ahead w = pl->past_ahead[i];
        pl->past[i] = pl->past[n - 1 - i];
        pl->past_ahead[i] = pl->past_ahead[n - 1 - i];
        pl->past[n - 1 - i] = m;
        pl->past_ahead[n - 1 - i] = w;
    }
    for (size_t i = down == n ? n : 1; i < n; i++) {
        const struct mp_mem_message *m = pl->past[i];
        struct mp_memblock_ahead w = pl->past_ahead[i];
        size_t j = i;
        for (; j > 0 && past_before(m, pl->past[j - 1]); j--) {
            pl->past[j] = pl->past[j - 1];
            pl->past_ahead[j] = pl->past_ahead[j - 1];
        }
        pl->past[j] = m;
        pl->past_ahead[j] = w;
    }
}

/* The past line in its order (many messages), each with its text
 * written ahead, which also says whose the message is
 * (mp_recall_plan_cleanup). MP_OK, MP_ENOMEM. */
static int past_sort(struct mp_recall_plan *pl)
{
    if (pl->npast <= INSERTION_MAX) {
        past_sort_few(pl);
        return MP_OK;
    }
    struct past_item *t = malloc(pl->npast * sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < pl->npast; i++)
        t[i] = (struct past_item){pl->past[i], pl->past_ahead[i]};
    qsort(t, pl->npast, sizeof(*t), past_cmp);
    for (size_t i = 0; i < pl->npast; i++) {
        pl->past[i] = t[i].m;
        pl->past_ahead[i] = t[i].ahead;
    }
    free(t);
    return MP_OK;
}

/* The profile line day by day, oldest first, the facts of a day in the
 * order they were taken (the fill calls it only when they are not so
 * already, as they are when all are of one day). MP_OK, MP_ENOMEM. */
static int facts_by_day(struct mp_recall_plan *pl)
{
    if (pl->nfacts <= INSERTION_MAX) {
        facts_by_day_few(pl);
        return MP_OK;
    }
    struct taken_fact *t = malloc(pl->nfacts * sizeof(*t));
    if (t == NULL)
        return MP_ENOMEM;
    for (size_t i = 0; i < pl->nfacts; i++)
        t[i] = (struct taken_fact){pl->facts[i], mp_memblock_fact_day(pl->facts[i]), i};
    qsort(t, pl->nfacts, sizeof(*t), taken_cmp);
    for (size_t i = 0; i < pl->nfacts; i++)
        pl->facts[i] = t[i].e;
    free(t);
    return MP_OK;
}

void mp_recall_fill_cleanup(struct mp_recall_fill *f)
{
    mp_recall_plan_cleanup(&f->plan);
    mp_dayset_free(&f->fact_days);
    mp_dayset_free(&f->past_days);
}

int mp_recall_fill_finish(struct mp_recall_fill *f, struct mp_recall_plan *plan)
{
    struct mp_recall_plan *pl = &f->plan;
    mp_dayset_free(&f->fact_days);
    mp_dayset_free(&f->past_days);
    if (pl->nfacts == 0 && pl->summary_len == 0 && pl->npast == 0 && pl->npicks == 0) {
        mp_recall_plan_cleanup(pl);
        return MP_NOTFOUND;
    }
    if (past_sort(pl) != MP_OK || (!f->facts_by_day && facts_by_day(pl) != MP_OK)) {
        mp_recall_plan_cleanup(pl);
        return MP_ENOMEM;
    }
    pl->tokens = mp_memblock_message_cost(pl->block_len, pl->block_saved) + f->buffer_tokens;
    *plan = *pl;
    memset(pl, 0, sizeof(*pl));
    return MP_OK;
}
