/* Whose words at recording (store_whose.c): a RECORD_TURN's new turn
 * checked against what the store keeps of the user's turns (prints of
 * their blocks, the turns of the last minutes), before and after it is
 * appended; earlier records undone when they turn out to be a client's
 * (store.h: struct mp_store_recognize). Private to the op layer. */
#ifndef MP_STORAGE_STORE_WHOSE_H
#define MP_STORAGE_STORE_WHOSE_H

#include "ops/store_user.h"

/* A new turn as recognition leaves it: its messages (the op's, or copies
 * with templates cut out and messages of nothing else left out) and the
 * prints of its user messages that stay. */
struct mp_whose_turn {
    struct mp_mem_message *msgs; /* owned array; contents owned when edited[i] */
    bool *edited;
    size_t n;
    struct mp_store_print prints[MP_STORE_PRINTS_MAX];
    size_t nprints;
};

/* Before op's new turn is appended to the loaded user (op's recognize set):
 * fills *t with what to record and *r with what recognition did (the
 * store's changes to earlier records are made in w's transaction). t->n
 * 0 (or no user message left): record nothing; r->side tells a side
 * request. MP_OK or an error. Clean up t with mp_whose_turn_cleanup()
 * whatever the result. */
int mp_whose_before(struct mp_ops_ctx *w, const struct mp_op *op, struct mp_whose_turn *t,
                    struct mp_store_recognized *r);

/* After t was appended, its first message at first_seq: its prints,
 * layouts and recent-turn record written. */
int mp_whose_after(struct mp_ops_ctx *w, const struct mp_op *op, const struct mp_whose_turn *t,
                   uint64_t first_seq);

void mp_whose_turn_cleanup(struct mp_whose_turn *t);

#endif
