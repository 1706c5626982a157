/* The Messages wire (see fake_messages.h, docs/fake-upstream-wires.md). The
 * content is up to three blocks: thinking (directive `thinking`), the text,
 * tool_use (directive `tool_use`, or X-Fake-Tool-Call). A stream opens the message, pings, then
 * sends each block as start, deltas and stop, and ends with message_delta
 * (the stop reason) and message_stop. The thinking text and the tool's
 * input are sent in fixed pieces, so that the whole block of an answer in
 * one body is the same as the pieces of a stream joined. `refusal` leaves
 * the text out and stops with "refusal"; `no_text` puts a redacted_thinking
 * block in its place; `audio` does nothing (Anthropic speaks no audio). */
#include "fake_messages.h"

#include "fake_reply.h"

#include <string.h>

static const char *const thinking_pieces[] = {"Let me think", " about the answer."};
static const char thinking_signature[] = "ZmFrZS1zaWduYXR1cmU=";
static const char redacted_block[] =
    "{\"type\":\"redacted_thinking\",\"data\":\"ZmFrZS1yZWRhY3RlZA==\"}";

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *error_type(long status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 504:
        return "timeout_error";
    case 503:
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

static void put_error(struct fake_buf *o, long status)
{
    fake_buf_puts(o, "{\"type\":\"error\",\"error\":{\"type\":\"");
    fake_buf_puts(o, error_type(status));
    fake_buf_puts(o, "\",\"message\":\"fake error ");
    fake_buf_put_u64(o, (uint64_t)status);
    fake_buf_puts(o, "\"}}");
}

static void put_tool_id(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "\"toolu_fake");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\"");
}

/* The message up to its content's opening bracket. */
static void put_head(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "{\"id\":\"msg_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"");
    fake_reply_put_model(o, r);
    fake_buf_puts(o, "\",\"content\":[");
}

/* From the content's closing bracket to the end of the message. */
static void put_tail(struct fake_buf *o, const struct fake_v1_req *r, const char *stop_reason,
                     uint64_t output_tokens)
{
    fake_buf_puts(o, "],\"stop_reason\":");
    fake_buf_puts(o, stop_reason);
    fake_buf_puts(o, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
    fake_buf_put_u64(o, fake_reply_input_tokens(r));
    fake_buf_puts(o, ",\"cache_creation_input_tokens\":");
    fake_buf_put_u64(o, r->usage.cache_creation);
    fake_buf_puts(o, ",\"cache_read_input_tokens\":");
    fake_buf_put_u64(o, r->usage.cache_read);
    fake_buf_puts(o, ",\"output_tokens\":");
    fake_buf_put_u64(o, output_tokens);
    fake_buf_puts(o, "}}");
}

static const char *stop_reason(const struct fake_behavior *b)
{
    if (b->tool_use) {
        return "\"tool_use\"";
    }
    return fake_reply_words(b) == FAKE_WORDS_REFUSAL ? "\"refusal\"" : "\"end_turn\"";
}

/* Whether the reply has its text block (not with `refusal`, `no_text`). */
static bool has_text(const struct fake_behavior *b)
{
    enum fake_words w = fake_reply_words(b);
    return w != FAKE_WORDS_REFUSAL && w != FAKE_WORDS_NONE;
}

static void put_message(struct fake_buf *o, const struct fake_v1_req *r,
                        const struct fake_behavior *b)
{
    put_head(o, r);
    if (b->thinking) {
        fake_buf_puts(o, "{\"type\":\"thinking\",\"thinking\":\"");
        for (size_t i = 0; i < COUNT(thinking_pieces); i++) {
            fake_buf_puts(o, thinking_pieces[i]);
        }
        fake_buf_puts(o, "\",\"signature\":\"");
        fake_buf_puts(o, thinking_signature);
        fake_buf_puts(o, "\"}");
    }
    const char *sep = b->thinking ? "," : "";
    if (has_text(b)) {
        fake_buf_puts(o, sep);
        fake_buf_puts(o, "{\"type\":\"text\",\"text\":");
        fake_reply_put_text(o, r);
        fake_buf_puts(o, "}");
        sep = ",";
    } else if (fake_reply_words(b) == FAKE_WORDS_NONE) {
        fake_buf_puts(o, sep);
        fake_buf_puts(o, redacted_block);
        sep = ",";
    }
    if (b->tool_use) {
        fake_buf_puts(o, sep);
        fake_buf_puts(o, "{\"type\":\"tool_use\",\"id\":");
        put_tool_id(o, r);
        fake_buf_puts(o, ",\"name\":\"");
        fake_buf_puts(o, fake_reply_call(r)->name);
        fake_buf_puts(o, "\",\"input\":");
        fake_buf_put(o, fake_reply_call(r)->args, fake_reply_call(r)->args_len);
        fake_buf_puts(o, "}");
    }
    put_tail(o, r, stop_reason(b), FAKE_REPLY_TOKENS);
}

static struct fake_buf *block_event(struct fake_sse *s, const char *type, size_t index)
{
    struct fake_buf *e = fake_sse_begin_typed(s, type);
    fake_buf_puts(e, ",\"index\":");
    fake_buf_put_u64(e, index);
    return e;
}

/* content_block_start with the block as it starts (block: its JSON). */
static struct fake_buf *block_start(struct fake_sse *s, size_t index)
{
    struct fake_buf *e = block_event(s, "content_block_start", index);
    fake_buf_puts(e, ",\"content_block\":");
    return e;
}

/* A content_block_delta of this delta type whose one member field is the
 * JSON string of text[0..len). */
static void put_delta(struct fake_sse *s, size_t index, const char *type, const char *field,
                      const char *text, size_t len)
{
    struct fake_buf *e = block_event(s, "content_block_delta", index);
    fake_buf_puts(e, ",\"delta\":{\"type\":\"");
    fake_buf_puts(e, type);
    fake_buf_puts(e, "\",\"");
    fake_buf_puts(e, field);
    fake_buf_puts(e, "\":");
    fake_buf_put_json_string(e, text, len);
    fake_buf_puts(e, "}}");
    fake_sse_end(s, false);
}

static void block_stop(struct fake_sse *s, size_t index)
{
    fake_buf_puts(block_event(s, "content_block_stop", index), "}");
    fake_sse_end(s, false);
}

static void put_thinking_block(struct fake_sse *s, size_t index)
{
    fake_buf_puts(block_start(s, index), "{\"type\":\"thinking\",\"thinking\":\"\","
                                         "\"signature\":\"\"}}");
    fake_sse_end(s, false);
    for (size_t i = 0; i < COUNT(thinking_pieces); i++) {
        put_delta(s, index, "thinking_delta", "thinking", thinking_pieces[i],
                  strlen(thinking_pieces[i]));
    }
    put_delta(s, index, "signature_delta", "signature", thinking_signature,
              sizeof(thinking_signature) - 1);
    block_stop(s, index);
}

static void put_tool_block(struct fake_sse *s, const struct fake_v1_req *r, size_t index)
{
    struct fake_buf *e = block_start(s, index);
    fake_buf_puts(e, "{\"type\":\"tool_use\",\"id\":");
    put_tool_id(e, r);
    fake_buf_puts(e, ",\"name\":\"");
    fake_buf_puts(e, fake_reply_call(r)->name);
    fake_buf_puts(e, "\",\"input\":{}}}");
    fake_sse_end(s, false);
    for (size_t i = 0; i < FAKE_REPLY_TOOL_PIECES; i++) {
        size_t len;
        const char *piece = fake_reply_tool_piece(r, i, &len);
        put_delta(s, index, "input_json_delta", "partial_json", piece, len);
    }
    block_stop(s, index);
}

/* message_start and ping. */
static void put_opening(struct fake_sse *s, const struct fake_v1_req *r)
{
    struct fake_buf *e = fake_sse_begin_typed(s, "message_start");
    fake_buf_puts(e, ",\"message\":");
    put_head(e, r);
    put_tail(e, r, "null", 1);
    fake_buf_puts(e, "}");
    fake_sse_end(s, false);
    fake_buf_puts(fake_sse_begin(s, "ping"), "{\"type\": \"ping\"}");
    fake_sse_end(s, false);
}

/* message_delta and message_stop. */
static void put_closing(struct fake_sse *s, const struct fake_behavior *b, size_t pieces)
{
    struct fake_buf *e = fake_sse_begin_typed(s, "message_delta");
    fake_buf_puts(e, ",\"delta\":{\"stop_reason\":");
    fake_buf_puts(e, stop_reason(b));
    fake_buf_puts(e, ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":");
    fake_buf_put_u64(e, pieces);
    fake_buf_puts(e, "}}");
    fake_sse_end(s, false);
    fake_buf_puts(fake_sse_begin_typed(s, "message_stop"), "}");
    fake_sse_end(s, false);
}

static void put_stream(struct fake_sse *s, const struct fake_v1_req *r,
                       const struct fake_behavior *b)
{
    size_t index = 0;
    size_t pieces = has_text(b) ? fake_behavior_pieces(b) : 0;
    put_opening(s, r);
    if (b->thinking) {
        put_thinking_block(s, index++);
    }
    if (fake_reply_words(b) == FAKE_WORDS_NONE) {
        struct fake_buf *e = block_start(s, index);
        fake_buf_puts(e, redacted_block);
        fake_buf_puts(e, "}");
        fake_sse_end(s, false);
        block_stop(s, index++);
    }
    if (has_text(b)) {
        fake_buf_puts(block_start(s, index), "{\"type\":\"text\",\"text\":\"\"}}");
        fake_sse_end(s, false);
    }
    for (size_t k = 0; k < pieces; k++) {
        struct fake_buf *e = block_event(s, "content_block_delta", index);
        fake_buf_puts(e, ",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
        fake_reply_put_piece(e, k);
        fake_buf_puts(e, "\"}}");
        fake_sse_end(s, true);
    }
    if (b->error_after >= 0) {
        fake_buf_puts(fake_sse_begin_typed(s, "error"),
                      ",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
        fake_sse_end(s, false);
        return;
    }
    if (has_text(b)) {
        block_stop(s, index++);
    }
    if (b->tool_use) {
        put_tool_block(s, r, index++);
    }
    put_closing(s, b, pieces);
}

static void put_count(struct fake_buf *o, const struct fake_v1_req *r,
                      const struct fake_behavior *b)
{
    fake_buf_puts(o, "{\"input_tokens\":");
    fake_buf_put_u64(o, fake_reply_input_tokens(r));
    fake_buf_puts(o, "}");
}

const struct fake_wire fake_wire_messages = {
    .put_reply = put_message,
    .put_error = put_error,
    .put_stream = put_stream,
};

const struct fake_wire fake_wire_count_tokens = {
    .put_reply = put_count,
    .put_error = put_error,
    .put_stream = NULL,
};
