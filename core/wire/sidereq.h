/* A chat request's shape as a client's side request would have it (docs/
 * memory-whose-words.md "Whose words"): a title, tags, a summary, follow-up
 * suggestions are one-shot requests about the conversation, under
 * instructions of their own. This module reads that shape from the
 * request's scan: whether it is lone, the prints of its instructions, and
 * the kind its instructions name. Whether a lone request IS a side request
 * is the store's to tell (it quotes a turn the user just made:
 * storage/ops/store_whose.c) or a learned print's (proxy/plane/sidetab.h).
 * Pure: no I/O, no allocation; reads raw JSON bytes only. */
#ifndef MP_CORE_WIRE_SIDEREQ_H
#define MP_CORE_WIRE_SIDEREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_chatreq;
struct mp_wire;

#define MP_SIDEREQ_INSTR_MAX   4   /* instruction blocks printed (== MP_STORE_INSTR_MAX) */
#define MP_SIDEREQ_INSTR_MIN   64  /* bytes of an instruction block's raw JSON to print it */
#define MP_SIDEREQ_PRINT_BYTES 512 /* bytes of it the print reads (its start) */

struct mp_sidereq {
    /* no earlier turn in it (no assistant message, tool result or other
       item such as a function call or a tool list), a user message, and no
       tools (absent, null or []) */
    bool lone;
    uint64_t instr[MP_SIDEREQ_INSTR_MAX]; /* the prints of its instruction blocks */
    size_t ninstr;
};

/* Reads the shape of the request body (borrowed; req its scan by w) into
 * *out. The instruction blocks, in order: Anthropic's "system" (a string,
 * or each text block's "text"), the Responses API's "instructions" (a
 * string), then each leading system or developer message's content (a
 * string, or each text part's "text"); each printed when its raw JSON
 * string is at least MP_SIDEREQ_INSTR_MIN bytes, by mp_blocks_print over
 * its first MP_SIDEREQ_PRINT_BYTES raw bytes (a block of a client's is the
 * same bytes every time; the part that varies, a date or a path, comes
 * late). Cost: a walk over the leading messages' parts, no decoding. */
void mp_sidereq_read(const struct mp_wire *w, const char *body, const struct mp_chatreq *req,
                     struct mp_sidereq *out);

/* The kind (core/wire/clienttask.h: enum mp_clienttask_kind) the
 * instructions of body name, read from the first MP_SIDEREQ_PRINT_BYTES
 * raw bytes of each of its instruction blocks, ASCII case-insensitive:
 * "title" a title, "tag" tags, "follow-up" or "follow up" follow-ups,
 * "search quer" search queries, "summar" or "compact" a compaction,
 * "classif" a classifier; else other. A label for the metric and
 * X-Memory-Skipped, nothing more. */
int mp_sidereq_kind(const struct mp_wire *w, const char *body, const struct mp_chatreq *req);

#endif
