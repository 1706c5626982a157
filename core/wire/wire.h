/* One request pipeline, many chat APIs (a "wire" each). Everything memory
 * does is the same for every API: who the user is, the modes and X-Memory,
 * the budget and what recall selects, recording and the memory jobs
 * (proxy/plane/reqmem.c, core/inject.c, proxy/memory/memworker.c). What differs per API
 * is here, as a table of functions:
 *
 *   - reading the request in place: its messages (role, where the text is,
 *     the text's hash), the turn's new user messages, where memory goes;
 *   - the text of a message (each API names its text parts differently);
 *   - splicing the memory block and the replayed messages into the
 *     client's bytes, touching nothing else;
 *   - reading the reply: the assistant's text from a JSON body, or gathered
 *     from the SSE events of a stream, with whether the stream completed.
 *
 * The request read in place has one shape for every wire (struct
 * mp_chatreq of core/chatreq.h: spans into the body, roles as MP_CR_*,
 * text hashes from mp_chatreq_hash_text), so that the pipeline compares,
 * selects and records without knowing the API. One file per API:
 * wire/chat.c (POST /v1/chat/completions), wire/responses.c (POST
 * /v1/responses), wire/messages.c (POST /v1/messages, Anthropic's). */
#ifndef MP_CORE_WIRE_H
#define MP_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "chatreq.h"
#include "completion.h"
#include "usermem.h"

/* A buffered message to replay after the block, oldest first: text[0..len)
 * is the stored content (borrowed), cut marks that the ellipsis follows. */
struct mp_wire_pick {
    enum mp_role role;
    const char *text;
    size_t len;
    bool cut;
};

/* What goes into the request: the block's decoded text (sanitized by
 * memblock: no control byte but '\n') and the messages to replay. */
struct mp_wire_memory {
    const char *block;
    size_t block_len;
    const struct mp_wire_pick *picks;
    size_t npicks;
};

struct mp_wire {
    const char *name; /* "chat", "responses", "messages" */
    /* Reads body[0..len) (borrowed) into *out over msgs[0..cap) as
     * mp_chatreq_scan does: MP_OK; MP_EINVAL when the body is not a request
     * of this API (forwarded as is, X-Memory-Error: invalid_json);
     * MP_ETOOBIG past cap messages. */
    int (*scan)(const char *body, size_t len, struct mp_chatreq_msg *msgs, size_t cap,
                struct mp_chatreq *out);
    /* The decoded text of message m, as mp_chatreq_message_text gives it
     * (MP_OK, MP_NOTFOUND: none, MP_ETOOBIG), and the comparison of that
     * text with text[0..len) without copying. */
    int (*message_text)(const char *body, const struct mp_chatreq_msg *m, char *out, size_t cap,
                        size_t *out_len);
    bool (*message_text_equals)(const char *body, const struct mp_chatreq_msg *m, const char *text,
                                size_t len);
    /* The new body: body[0..len) with mem spliced in where req says (req
     * from scan on this body); every other byte as it was. MP_OK with *out
     * (malloc'd, NUL-terminated; caller frees) and *out_len; MP_ENOMEM. */
    int (*splice)(const char *body, size_t len, const struct mp_chatreq *req,
                  const struct mp_wire_memory *mem, char **out, size_t *out_len);
    /* The reply of a stream: the reader of one SSE event's data for
     * core/completion.c's accumulator (mp_completion_new_reader), which
     * gathers the text and says whether the stream completed. */
    mp_completion_reader reply_reader;
    /* The reply of a JSON body: MP_OK with *out (malloc'd, NUL-terminated)
     * and *out_len; MP_NOTFOUND when it holds no text (nothing to record);
     * MP_EINVAL when it is not this API's reply; MP_ENOMEM. */
    int (*reply_body_text)(const char *body, size_t len, char **out, size_t *out_len);
};

/* POST /v1/chat/completions (wire/chat.c). */
extern const struct mp_wire mp_wire_chat;
/* POST /v1/responses (wire/responses.c). */
extern const struct mp_wire mp_wire_responses;
/* POST /v1/messages, Anthropic's (wire/messages.c). */
extern const struct mp_wire mp_wire_messages;

#endif
