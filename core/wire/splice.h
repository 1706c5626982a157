/* Splicing memory into a request, the pieces every wire writes with: the
 * escaped block, replayed messages as ordinary user and assistant messages
 * with string content (each JSON-escaped; a cut one ends with the
 * ellipsis), and, for the wires whose requests are arrays of
 * {"role","content"} messages (chat completions' "messages", the Responses
 * API's "input"), the whole splice: the block as one message of the wire's
 * role for instructions, then the replayed messages, oldest first. */
#ifndef MP_CORE_WIRE_SPLICE_H
#define MP_CORE_WIRE_SPLICE_H

#include <stddef.h>

#include "wire.h"

/* The most bytes mp_wire_put_messages writes for mem with a block role
 * of role_len bytes (escaping at most doubles the sanitized block and at
 * most sextuples raw message text). */
size_t mp_wire_messages_bound(const struct mp_wire_memory *mem, size_t role_len);

/* Copies s[0..n) to w; returns w + n. */
char *mp_wire_put(char *w, const char *s, size_t n);

/* The block JSON-escaped (inside a string literal, without quotes) at w;
 * returns the end. At most 2 * mem->block_len bytes. */
char *mp_wire_put_block(char *w, const struct mp_wire_memory *mem);

/* One replayed message, {"role":"user"|"assistant","content":"<text>"}, at
 * w (returns its end), and the most bytes that takes with a ',' before. */
char *mp_wire_put_pick(char *w, const struct mp_wire_pick *pk);
size_t mp_wire_pick_bound(const struct mp_wire_pick *pk);

/* Writes {"role":"<role>","content":"<block>"} and, each after a ',', the
 * replayed messages, at w; returns the end of what it wrote. */
char *mp_wire_put_messages(char *w, const struct mp_wire_memory *mem, const char *role,
                           size_t role_len);

/* The new body: body[0..len) with the messages of mp_wire_put_messages
 * inserted at req->insert_at, joined with the commas req asks for
 * (insert_needs_comma_before/after); every other byte as it was. MP_OK with
 * *out (malloc'd, NUL-terminated) and *out_len; MP_ENOMEM. */
int mp_wire_splice_messages(const char *body, size_t len, const struct mp_chatreq *req,
                            const struct mp_wire_memory *mem, const char *role, size_t role_len,
                            char **out, size_t *out_len);

#endif
