/* Filling a recall plan within its budget: the steps the strategies share
 * (recall.c's recent, recall_relevant.c's relevant), each piece measured
 * with memblock.c's exact byte counts. It decides no order and scores
 * nothing: the strategy says what to offer, in which order and with which
 * caps; a piece is taken when it fits, else left for the strategy to offer
 * again or drop. Only the strategies include this header.
 *
 * Budget: the block is one message costing mp_memblock_message_cost of
 * its whole text, each buffered message its own; the block may grow while
 * its cost and the buffered messages' stay within budget_tokens, the
 * buffer while its own cost does. On top of that, each line of the block
 * may add at most cap[line] bytes, the buffered messages at most
 * buffer_cap tokens (no cap: SIZE_MAX, UINT32_MAX). Rooms are in bytes at
 * 4 a token, plus a quarter of what the letters taken so far save
 * (memblock.h: Cyrillic, Arabic, Devanagari): a piece fits when its bytes
 * do, so the cost stays within budget whatever it saves, and what it
 * saves is room for the next. Text without those letters saves nothing:
 * its rooms, and so what is chosen, are those of bytes / 4. */
#ifndef MP_CORE_RECALL_FILL_H
#define MP_CORE_RECALL_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recall/dayset.h"
#include "recall/recall.h"

/* The block's lines, for the caps. */
enum mp_recall_line { MP_RECALL_LINE_PROFILE, MP_RECALL_LINE_PAST, MP_RECALL_LINE_SUMMARY };
#define MP_RECALL_LINES 3

/* Tells a fact walk to pass over e (borrowed for the call); it changes
 * nothing of the fill. */
typedef bool (*mp_recall_skip_fn)(void *arg, const struct mp_mem_entity *e);

/* A chunk of the texts buffered turns are written ahead into (the plan's
 * texts; mp_recall_plan_cleanup() frees them). */
struct mp_recall_texts {
    struct mp_recall_texts *next; /* the chunk before */
    size_t len, cap;              /* bytes[0..len) hold texts taken */
    char bytes[];
};

/* The buffered turn that did not fit (the fill offers it again with more
 * room): its texts, written ahead at the end of the plan's texts, and
 * whether its messages are there already (they were not), kept so that
 * the next offer measures nothing again. n 0: none. */
struct mp_recall_turn_memo {
    size_t j, i;       /* the turn: um->messages[j..i] */
    size_t n;          /* its first n texts are written */
    size_t len[2];     /* their lengths */
    uint64_t saved[2]; /* what they save */
};

/* A plan being filled. The strategy sets the caps; the rest is the fill's. */
struct mp_recall_fill {
    const struct mp_usermem *um; /* borrowed */
    const struct mp_recall_params *p;
    const struct mp_recall_request *rq;    /* may be NULL */
    size_t cap[MP_RECALL_LINES];           /* bytes each line may add */
    size_t used[MP_RECALL_LINES];          /* bytes each line adds */
    uint64_t saved[MP_RECALL_LINES];       /* what their letters save (quarter bytes) */
    uint32_t buffer_cap;                   /* tokens the buffered messages may cost */
    uint32_t buffer_tokens;                /* what they cost */
    uint64_t buffer_bytes;                 /* buffer_in_notes: the bytes its turns add */
    size_t buffer_next;                    /* um->messages[0..buffer_next) are not looked at yet */
    size_t facts_room, past_room;          /* allocated length of plan.facts, plan.past */
    struct mp_dayset fact_days, past_days; /* the days the profile and past lines write */
    int64_t last_fact_day;                 /* the day of plan.facts[nfacts - 1] */
    bool facts_by_day;                     /* plan.facts is day by day as taken */
    size_t ranked_max;   /* facts the ranked walks may take, together (SIZE_MAX: no cap) */
    size_t ranked_taken; /* facts they took */
    struct mp_recall_turn_memo memo;
    struct mp_recall_plan plan;
};

/* Starts an empty plan holding the intro, with no caps. Allocates the
 * picks when the BUFFER section is asked for. MP_OK; MP_NOTFOUND when um
 * is NULL, no section is asked for or the budget cannot carry the intro;
 * MP_ENOMEM. um, p and rq are borrowed for the life of the fill. */
int mp_recall_fill_init(struct mp_recall_fill *f, const struct mp_usermem *um,
                        const struct mp_recall_params *p, const struct mp_recall_request *rq);

/* Bytes the line may still add: what the budget and its cap allow. */
size_t mp_recall_fill_room(const struct mp_recall_fill *f, enum mp_recall_line line);

/* Whether e may be injected at all: a key, a value, and pii only with
 * inject_pii. */
bool mp_recall_fill_fact_ok(const struct mp_recall_fill *f, const struct mp_mem_entity *e);

/* Appends the fact e (fact_ok; borrowed by the plan, so it must outlive
 * it) to the profile line when it fits: 1 taken, 0 not, MP_ENOMEM. Never
 * grows plan.facts when facts_room already has room, so a caller may
 * append from an array that is plan.facts itself. */
int mp_recall_fill_fact(struct mp_recall_fill *f, const struct mp_mem_entity *e);

/* Walks src->ranked_facts, appending each fact that is fact_ok, not
 * skipped (skip may be NULL) and fits; stops once no fact can fit, or
 * once the walks have taken ranked_max facts. MP_OK, MP_ENOMEM, or what
 * the walk returned. */
int mp_recall_fill_ranked(struct mp_recall_fill *f, const struct mp_recall_source *src,
                          mp_recall_skip_fn skip, void *arg);

/* Appends the archived message m to the past line when it fits: 1 taken
 * (the plan now owns *m and its content; the caller must not free them),
 * 0 not (the caller still owns them), MP_ENOMEM (likewise). */
int mp_recall_fill_past(struct mp_recall_fill *f, struct mp_mem_message *m);

/* Whether m would be appended to the past line now (mp_recall_fill_past
 * without appending it). */
bool mp_recall_fill_past_fits(const struct mp_recall_fill *f, const struct mp_mem_message *m);

/* Whether the past line holds the message of sequence number seq. */
bool mp_recall_fill_in_past(const struct mp_recall_fill *f, uint64_t seq);

/* Whether the request already holds m (the request's seen callback). */
bool mp_recall_fill_seen(const struct mp_recall_fill *f, const struct mp_mem_message *m);

/* The summary line: whole, or cut to the room, or left out; called again
 * with more room, a cut or left-out summary is fitted anew. */
void mp_recall_fill_summary(struct mp_recall_fill *f);

/* The buffered messages, newest first, from where the last call stopped:
 * each whole while it fits, the first that does not cut (taken back and
 * fitted anew by the next call) or left out, which ends the call. With
 * p->buffer_in_notes, turn by turn into the past line instead (recall.h),
 * the first turn that does not fit whole ending the call and offered
 * again by the next; the past line's cap is not theirs: buffer_cap is.
 * MP_OK, MP_ENOMEM. */
int mp_recall_fill_messages(struct mp_recall_fill *f);

/* Ends the fill: MP_OK with *plan (the past line sorted oldest first, the
 * profile line day by day, oldest first, the facts of a day in the order
 * taken; the tokens counted); MP_NOTFOUND, the fill then freed, when
 * nothing but the intro was taken; MP_ENOMEM, the fill freed. Either way f
 * no longer owns anything. */
int mp_recall_fill_finish(struct mp_recall_fill *f, struct mp_recall_plan *plan);

/* Frees what the fill owns (its plan included), on a path that does not
 * finish it. */
void mp_recall_fill_cleanup(struct mp_recall_fill *f);

#endif
