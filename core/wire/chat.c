/* The chat completions wire (wire.h): POST /v1/chat/completions. The request
 * is read by core/wire/chatreq.c, the reply by core/wire/completion.c; memory goes in
 * as one system message with the block, then the replayed messages as
 * ordinary user and assistant messages (splice.h), after the leading
 * system/developer messages:
 *
 *   {"role":"system","content":"<block>"},{"role":"user","content":"..."},... */
#include "wire/completion.h"
#include "wire/splice.h"
#include "wire/wire.h"

static int splice(const char *body, size_t len, const struct mp_chatreq *req,
                  const struct mp_wire_memory *mem, struct mp_splice *out)
{
    return mp_wire_splice_messages(body, len, req, mem, "system", 6, out);
}

const struct mp_wire mp_wire_chat = {
    .name = "chat",
    .scan = mp_chatreq_scan,
    .message_text = mp_chatreq_message_text,
    .message_text_equals = mp_chatreq_message_text_equals,
    .splice = splice,
    .reply_reader = mp_completion_read_chat,
    .reply_body_text = mp_completion_reply_words,
    .reply_body_calls_tool = mp_completion_reply_calls_tool,
};
