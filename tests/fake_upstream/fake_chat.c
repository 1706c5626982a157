/* The chat completions wire (see fake_chat.h). The bytes are those of the
 * fake before it learnt other APIs: the tests compare them exactly. The
 * `tool_use` directive adds one tool call after the text (get_weather, or
 * the tool X-Fake-Tool-Call names); a stream sends it as OpenAI does, its
 * id and name first, then the arguments in pieces. `audio`, `refusal` and
 * `no_text` move the words out of the content. */
#include "fake_chat.h"

#include "fake_reply.h"

#include <string.h>

static const char *finish_reason(const struct fake_behavior *b)
{
    if (b->tool_use) {
        return "\"tool_calls\"";
    }
    return fake_reply_words(b) == FAKE_WORDS_NONE ? "\"content_filter\"" : "\"stop\"";
}

/* The audio object's members besides the transcript. */
static void put_audio_head(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "\"id\":\"audio_fake");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"expires_at\":");
    fake_buf_put_u64(o, FAKE_REPLY_EXPIRES);
    fake_buf_puts(o, ",\"data\":\"" FAKE_REPLY_AUDIO "\"");
}

/* The message's words: its content, or (`refusal`, `audio`, `no_text`)
 * a null content and the words where OpenAI puts them. */
static void put_words(struct fake_buf *o, const struct fake_v1_req *r,
                      const struct fake_behavior *b)
{
    enum fake_words w = fake_reply_words(b);
    if (w == FAKE_WORDS_TEXT) {
        fake_buf_puts(o, "\"content\":");
        fake_reply_put_text(o, r);
        return;
    }
    fake_buf_puts(o, "\"content\":null,\"refusal\":");
    if (w == FAKE_WORDS_REFUSAL) {
        fake_reply_put_text(o, r);
    } else {
        fake_buf_puts(o, "null");
    }
    if (w == FAKE_WORDS_AUDIO) {
        fake_buf_puts(o, ",\"audio\":{");
        put_audio_head(o, r);
        fake_buf_puts(o, ",\"transcript\":");
        fake_reply_put_text(o, r);
        fake_buf_puts(o, "}");
    }
}

/* The tool call's members up to its arguments' value: "id":…,
 * "type":"function","function":{"name":…,"arguments": */
static void put_call_head(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "\"id\":");
    fake_reply_put_call_id(o, r);
    fake_buf_puts(o, ",\"type\":\"function\",\"function\":{\"name\":\"");
    fake_buf_puts(o, fake_reply_call(r)->name);
    fake_buf_puts(o, "\",\"arguments\":");
}

static void put_completion(struct fake_buf *o, const struct fake_v1_req *r,
                           const struct fake_behavior *b)
{
    fake_buf_puts(o, "{\"id\":\"chatcmpl-fake");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"");
    fake_reply_put_model(o, r);
    fake_buf_puts(o, "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",");
    put_words(o, r, b);
    if (b->tool_use) {
        fake_buf_puts(o, ",\"tool_calls\":[{");
        put_call_head(o, r);
        fake_reply_put_tool_args(o, r);
        fake_buf_puts(o, "}}]");
    }
    fake_buf_puts(o, "},\"finish_reason\":");
    fake_buf_puts(o, finish_reason(b));
    fake_buf_puts(o, "}],\"usage\":");
    fake_reply_put_chat_usage(o, r, FAKE_REPLY_TOKENS);
    fake_buf_puts(o, "}");
}

void fake_chat_put_error(struct fake_buf *o, long status)
{
    fake_buf_puts(o, "{\"error\":{\"message\":\"fake error ");
    fake_buf_put_u64(o, (uint64_t)status);
    fake_buf_puts(o, "\",\"type\":\"fake_error\",\"param\":null,\"code\":\"fake_");
    fake_buf_put_u64(o, (uint64_t)status);
    fake_buf_puts(o, "\"}}");
}

/* Starts a chunk event up to its "delta" value. */
static struct fake_buf *chunk(struct fake_sse *s, const struct fake_v1_req *r)
{
    struct fake_buf *e = fake_sse_begin(s, NULL);
    fake_buf_puts(e, "{\"id\":\"chatcmpl-fake");
    fake_buf_put_u64(e, r->n);
    fake_buf_puts(e, "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"");
    fake_reply_put_model(e, r);
    fake_buf_puts(e, "\",\"choices\":[{\"index\":0,\"delta\":");
    return e;
}

/* The tool call's chunks: id, type and name with empty arguments, then
 * each piece of the arguments. */
static void put_call_chunks(struct fake_sse *s, const struct fake_v1_req *r)
{
    struct fake_buf *e = chunk(s, r);
    fake_buf_puts(e, "{\"tool_calls\":[{\"index\":0,");
    put_call_head(e, r);
    fake_buf_puts(e, "\"\"}}]},\"finish_reason\":null}]}");
    fake_sse_end(s, false);
    for (size_t i = 0; i < FAKE_REPLY_TOOL_PIECES; i++) {
        e = chunk(s, r);
        size_t len;
        const char *piece = fake_reply_tool_piece(r, i, &len);
        fake_buf_puts(e, "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":");
        fake_buf_put_json_string(e, piece, len);
        fake_buf_puts(e, "}}]},\"finish_reason\":null}]}");
        fake_sse_end(s, false);
    }
}

static void put_stream(struct fake_sse *s, const struct fake_v1_req *r,
                       const struct fake_behavior *b)
{
    /* where a piece goes in the delta, by fake_reply_words */
    static const char *const piece_open[] = {"{\"content\":\"", "{\"audio\":{\"transcript\":\"",
                                             "{\"refusal\":\"", ""};
    static const char *const piece_close[] = {"\"}", "\"}}", "\"}", ""};
    enum fake_words w = fake_reply_words(b);
    size_t pieces = fake_behavior_pieces(b);
    for (size_t k = 0; k < pieces; k++) {
        struct fake_buf *e = chunk(s, r);
        fake_buf_puts(e, piece_open[w]);
        fake_reply_put_piece(e, k);
        fake_buf_puts(e, piece_close[w]);
        fake_buf_puts(e, ",\"finish_reason\":null}]}");
        fake_sse_end(s, true);
    }
    if (b->error_after >= 0) {
        fake_buf_puts(fake_sse_begin(s, NULL),
                      "{\"error\":{\"message\":\"fake error event\",\"type\":\"server_error\","
                      "\"param\":null,\"code\":\"server_error\"}}");
        fake_sse_end(s, false);
        return;
    }
    if (w == FAKE_WORDS_AUDIO) { /* the audio's data and id after its words */
        struct fake_buf *e = chunk(s, r);
        fake_buf_puts(e, "{\"audio\":{");
        put_audio_head(e, r);
        fake_buf_puts(e, "}},\"finish_reason\":null}]}");
        fake_sse_end(s, false);
    }
    if (b->tool_use) {
        put_call_chunks(s, r);
    }
    struct fake_buf *e = chunk(s, r);
    fake_buf_puts(e, "{},\"finish_reason\":");
    fake_buf_puts(e, finish_reason(b));
    fake_buf_puts(e, "}]}");
    fake_sse_end(s, false);
    if (r->usage.include_usage) {
        /* as OpenAI: a last chunk with no choices and the usage */
        e = chunk(s, r);
        e->len -= strlen("\"choices\":[{\"index\":0,\"delta\":");
        fake_buf_puts(e, "\"choices\":[],\"usage\":");
        fake_reply_put_chat_usage(e, r, pieces);
        fake_buf_puts(e, "}");
        fake_sse_end(s, false);
    }
    if (!b->no_done) {
        fake_buf_puts(fake_sse_begin(s, NULL), "[DONE]");
        fake_sse_end(s, false);
    }
}

const struct fake_wire fake_wire_chat = {
    .put_reply = put_completion,
    .put_error = fake_chat_put_error,
    .put_stream = put_stream,
};
