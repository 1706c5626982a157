/* The order an import stores its messages in, and which of its turns go
 * to the memory model (docs/admin-import-export.md "History from other assistants").
 * Pure: it reads the items and counts tokens, the proxy turns the plan
 * into store ops.
 *
 * Without turns (an import that asks for no extraction) the messages go
 * oldest first by their own time, equal times in the file's order. With
 * turns they go turn by turn: a turn is a user's message and the
 * assistant's messages after it in the same conversation (conv; 0 is one
 * conversation too) up to the next message of the user; an assistant's
 * message with no user's message before it in its conversation is a turn
 * of its own, which no model is asked about. Turns go in the order of
 * their first message's time (then the file's), their messages together
 * (so that a turn's messages have consecutive places in the archive, as a
 * recorded turn's have), oldest first inside.
 *
 * Extraction. A turn with a user's message costs its estimated tokens
 * (core/recall/memblock.h: mp_memblock_estimate_text of each message's
 * text); every batch_turns turns make one memory-model call, which costs
 * call_tokens more (its instructions). The newest turns go first, each
 * one that still fits max_tokens with the calls it adds; the others are
 * left out (stored, never sent). max_tokens 0: none goes. */
#ifndef MP_CORE_IMPORT_IMPORTPLAN_H
#define MP_CORE_IMPORT_IMPORTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"

struct mp_importplan_limits {
    bool turns;           /* order by turns and plan extraction */
    uint64_t max_tokens;  /* the extraction's bound */
    unsigned batch_turns; /* turns per memory-model call (>= 1) */
    uint32_t call_tokens; /* a call's instructions */
};

struct mp_importplan_turn {
    size_t first, n; /* its messages: order[first .. first + n) */
    bool user;       /* it has a user's message */
    uint64_t tokens; /* its messages' estimate */
    bool extract;    /* it goes to the memory model */
};

struct mp_importplan {
    const struct mp_import_item **order; /* the messages, in the order to store them */
    size_t n;
    struct mp_importplan_turn *turns; /* with turns: in order; else none */
    size_t nturns;
    size_t extract_turns; /* turns that go to the model */
    size_t left_out;      /* turns with a user's message that the bound left out */
    uint64_t tokens;      /* their estimate, instructions of the calls included */
    size_t calls;         /* memory-model calls they make */
};

/* Plans the messages of b (borrowed until mp_importplan_free; their conv
 * final) under lim: MP_OK with *out, or MP_ENOMEM. */
int mp_importplan_make(const struct mp_import_batch *b, const struct mp_importplan_limits *lim,
                       struct mp_importplan *out);

void mp_importplan_free(struct mp_importplan *p);

#endif
