/* The Responses wire (see fake_responses.h, docs/fake-upstream-wires.md). One
 * output message with one output_text part; a stream announces the
 * response, the message and the part, sends the text pieces as deltas,
 * then closes the part, the message and the response, each event with its
 * "sequence_number". The response object of response.completed is the
 * object a request without "stream" gets, with the stream's text. The
 * `tool_use` directive adds a function_call item after the message (output
 * index 1); a stream sends it after the message is done, its arguments in
 * pieces, in the order of OpenAI's events. `refusal` makes the part a
 * refusal, `audio` an output_audio whose transcript is the text; `no_text`
 * puts a reasoning item and an image generation in the message's place. */
#include "fake_responses.h"

#include "fake_chat.h"
#include "fake_reply.h"

#include <string.h>

/* The text of the output message: the answer in one body, or the first n
 * pieces of a stream; call: a function_call item follows the message. */
struct text {
    bool stream;
    size_t pieces;
    bool call;
    enum fake_words words; /* the part's kind (FAKE_WORDS_NONE: no message) */
};

#define IMAGE "iVBORw0KGgo=" /* `no_text`'s generated image (base64) */

/* The part's opening, its words' event types, by fake_reply_words. */
static const char *const part_open[] = {
    "{\"type\":\"output_text\",\"text\":",
    "{\"type\":\"output_audio\",\"data\":\"" FAKE_REPLY_AUDIO "\",\"transcript\":",
    "{\"type\":\"refusal\",\"refusal\":",
};
static const char *const delta_type[] = {
    "response.output_text.delta",
    "response.audio.transcript.delta",
    "response.refusal.delta",
};
static const char *const done_type[] = {
    "response.output_text.done",
    "response.audio.transcript.done",
    "response.refusal.done",
};
static const char *const done_member[] = {",\"text\":", ",\"transcript\":", ",\"refusal\":"};

static void put_text(struct fake_buf *o, const struct fake_v1_req *r, struct text t)
{
    if (t.stream) {
        fake_reply_put_pieces(o, t.pieces);
    } else {
        fake_reply_put_text(o, r);
    }
}

/* The part of kind w; t NULL: no words yet. */
static void put_part(struct fake_buf *o, const struct fake_v1_req *r, enum fake_words w,
                     const struct text *t)
{
    fake_buf_puts(o, part_open[w]);
    if (t != NULL) {
        put_text(o, r, *t);
    } else {
        fake_buf_puts(o, "\"\"");
    }
    fake_buf_puts(o, w == FAKE_WORDS_TEXT ? ",\"annotations\":[]}" : "}");
}

/* The items of a reply without words (`no_text`): reasoning, then an
 * image generation; done: the image's result, else as it starts. */
static void put_reasoning(struct fake_buf *o, const struct fake_v1_req *r)
{
    fake_buf_puts(o, "{\"type\":\"reasoning\",\"id\":\"rs_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"summary\":[]}");
}

static void put_image(struct fake_buf *o, const struct fake_v1_req *r, bool done)
{
    fake_buf_puts(o, "{\"type\":\"image_generation_call\",\"id\":\"ig_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, done ? "\",\"status\":\"completed\",\"result\":\"" IMAGE "\"}"
                          : "\",\"status\":\"in_progress\",\"result\":null}");
}

/* The output message; t NULL: no part yet (in progress). */
static void put_item(struct fake_buf *o, const struct fake_v1_req *r, const struct text *t)
{
    fake_buf_puts(o, "{\"type\":\"message\",\"id\":\"msg_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, t != NULL ? "\",\"status\":\"completed\"" : "\",\"status\":\"in_progress\"");
    fake_buf_puts(o, ",\"role\":\"assistant\",\"content\":[");
    if (t != NULL) {
        put_part(o, r, t->words, t);
    }
    fake_buf_puts(o, "]}");
}

/* The function_call item; done: with its arguments, else as it starts. */
static void put_call(struct fake_buf *o, const struct fake_v1_req *r, bool done)
{
    fake_buf_puts(o, "{\"type\":\"function_call\",\"id\":\"fc_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"call_id\":");
    fake_reply_put_call_id(o, r);
    fake_buf_puts(o, ",\"name\":\"");
    fake_buf_puts(o, fake_reply_call(r)->name);
    fake_buf_puts(o, "\",\"arguments\":");
    if (done) {
        fake_reply_put_tool_args(o, r);
    } else {
        fake_buf_puts(o, "\"\"");
    }
    fake_buf_puts(o, done ? ",\"status\":\"completed\"}" : ",\"status\":\"in_progress\"}");
}

/* The response object with status; t NULL: no output and no usage yet
 * (queued, in progress, failed). */
static void put_response(struct fake_buf *o, const struct fake_v1_req *r, const char *status,
                         const struct text *t)
{
    fake_buf_puts(o, "{\"id\":\"resp_");
    fake_buf_put_u64(o, r->n);
    fake_buf_puts(o, "\",\"object\":\"response\",\"created_at\":");
    fake_buf_put_u64(o, FAKE_REPLY_CREATED);
    fake_buf_puts(o, ",\"status\":\"");
    fake_buf_puts(o, status);
    fake_buf_puts(o, "\"");
    if (strcmp(status, "failed") == 0) {
        fake_buf_puts(o, ",\"error\":{\"code\":\"server_error\","
                         "\"message\":\"fake response failed\"}");
    }
    fake_buf_puts(o, ",\"model\":\"");
    fake_reply_put_model(o, r);
    fake_buf_puts(o, "\",\"output\":[");
    if (t == NULL) {
        fake_buf_puts(o, "],\"usage\":null}");
        return;
    }
    if (t->words == FAKE_WORDS_NONE) {
        put_reasoning(o, r);
        fake_buf_puts(o, ",");
        put_image(o, r, true);
    } else {
        put_item(o, r, t);
    }
    if (t->call) {
        fake_buf_puts(o, ",");
        put_call(o, r, true);
    }
    uint64_t in = fake_reply_input_tokens(r);
    uint64_t out = t->stream ? t->pieces : FAKE_REPLY_TOKENS;
    fake_buf_puts(o, "],\"usage\":{\"input_tokens\":");
    fake_buf_put_u64(o, in);
    fake_buf_puts(o, ",\"input_tokens_details\":{\"cached_tokens\":");
    fake_buf_put_u64(o, r->usage.cached);
    fake_buf_puts(o, "},\"output_tokens\":");
    fake_buf_put_u64(o, out);
    fake_buf_puts(o, ",\"total_tokens\":");
    fake_buf_put_u64(o, in + out);
    fake_buf_puts(o, "}}");
}

static void put_reply(struct fake_buf *o, const struct fake_v1_req *r,
                      const struct fake_behavior *b)
{
    struct text t = {.stream = false, .call = b->tool_use, .words = fake_reply_words(b)};
    if (b->failed) {
        put_response(o, r, "failed", NULL);
    } else if (r->background) {
        put_response(o, r, "queued", NULL);
    } else {
        put_response(o, r, "completed", &t);
    }
}

/* Ends the event with the next sequence number. */
static void end_event(struct fake_sse *s, struct fake_buf *e, size_t *seq, bool content)
{
    fake_buf_puts(e, ",\"sequence_number\":");
    fake_buf_put_u64(e, (*seq)++);
    fake_buf_puts(e, "}");
    fake_sse_end(s, content);
}

/* The members that say where a part is: its message, output and content index. */
static void put_where(struct fake_buf *e, const struct fake_v1_req *r)
{
    fake_buf_puts(e, ",\"item_id\":\"msg_");
    fake_buf_put_u64(e, r->n);
    fake_buf_puts(e, "\",\"output_index\":0,\"content_index\":0");
}

static void put_response_event(struct fake_sse *s, const struct fake_v1_req *r, const char *type,
                               const char *status, const struct text *t, size_t *seq)
{
    struct fake_buf *e = fake_sse_begin_typed(s, type);
    fake_buf_puts(e, ",\"response\":");
    put_response(e, r, status, t);
    end_event(s, e, seq, false);
}

/* An output item's event (added or done) at output index at, open for
 * the item's JSON. */
static struct fake_buf *item_event(struct fake_sse *s, const char *type, size_t at)
{
    struct fake_buf *e = fake_sse_begin_typed(s, type);
    fake_buf_puts(e, ",\"output_index\":");
    fake_buf_put_u64(e, at);
    fake_buf_puts(e, ",\"item\":");
    return e;
}

/* `no_text`: the reasoning item and the image generation, each added and
 * done. */
static void put_wordless(struct fake_sse *s, const struct fake_v1_req *r, size_t *seq)
{
    struct fake_buf *e = item_event(s, "response.output_item.added", 0);
    put_reasoning(e, r);
    end_event(s, e, seq, false);
    e = item_event(s, "response.output_item.done", 0);
    put_reasoning(e, r);
    end_event(s, e, seq, false);
    e = item_event(s, "response.output_item.added", 1);
    put_image(e, r, false);
    end_event(s, e, seq, false);
    e = item_event(s, "response.output_item.done", 1);
    put_image(e, r, true);
    end_event(s, e, seq, false);
}

/* response.created .. response.content_part.added (and an audio's data);
 * `no_text`: the items without words instead of the message. */
static void put_opening(struct fake_sse *s, const struct fake_v1_req *r, enum fake_words w,
                        size_t *seq)
{
    put_response_event(s, r, "response.created", "in_progress", NULL, seq);
    put_response_event(s, r, "response.in_progress", "in_progress", NULL, seq);
    if (w == FAKE_WORDS_NONE) {
        put_wordless(s, r, seq);
        return;
    }
    struct fake_buf *e = item_event(s, "response.output_item.added", 0);
    put_item(e, r, NULL);
    end_event(s, e, seq, false);
    e = fake_sse_begin_typed(s, "response.content_part.added");
    put_where(e, r);
    fake_buf_puts(e, ",\"part\":");
    put_part(e, r, w, NULL);
    end_event(s, e, seq, false);
    if (w == FAKE_WORDS_AUDIO) {
        e = fake_sse_begin_typed(s, "response.audio.delta");
        fake_buf_puts(e, ",\"delta\":\"" FAKE_REPLY_AUDIO "\"");
        end_event(s, e, seq, false);
    }
}

/* One piece of the words (k), as its kind's delta event. */
static void put_delta(struct fake_sse *s, const struct fake_v1_req *r, enum fake_words w, size_t k,
                      size_t *seq)
{
    struct fake_buf *e = fake_sse_begin_typed(s, delta_type[w]);
    if (w != FAKE_WORDS_AUDIO) { /* OpenAI's audio events say no more */
        put_where(e, r);
    }
    fake_buf_puts(e, ",\"delta\":\"");
    fake_reply_put_piece(e, k);
    fake_buf_puts(e, "\"");
    end_event(s, e, seq, true);
}

/* The words' done event .. response.output_item.done (nothing without
 * words). */
static void put_closing(struct fake_sse *s, const struct fake_v1_req *r, const struct text *t,
                        size_t *seq)
{
    if (t->words == FAKE_WORDS_NONE) {
        return;
    }
    struct fake_buf *e = fake_sse_begin_typed(s, done_type[t->words]);
    if (t->words != FAKE_WORDS_AUDIO) {
        put_where(e, r);
    }
    fake_buf_puts(e, done_member[t->words]);
    put_text(e, r, *t);
    end_event(s, e, seq, false);
    if (t->words == FAKE_WORDS_AUDIO) {
        end_event(s, fake_sse_begin_typed(s, "response.audio.done"), seq, false);
    }
    e = fake_sse_begin_typed(s, "response.content_part.done");
    put_where(e, r);
    fake_buf_puts(e, ",\"part\":");
    put_part(e, r, t->words, t);
    end_event(s, e, seq, false);
    e = item_event(s, "response.output_item.done", 0);
    put_item(e, r, t);
    end_event(s, e, seq, false);
}

/* The function_call item at output index at: added, its arguments'
 * deltas and done, then the item done. */
static void put_call_events(struct fake_sse *s, const struct fake_v1_req *r, size_t at, size_t *seq)
{
    struct fake_buf *e = item_event(s, "response.output_item.added", at);
    put_call(e, r, false);
    end_event(s, e, seq, false);
    for (size_t i = 0; i < FAKE_REPLY_TOOL_PIECES; i++) {
        e = fake_sse_begin_typed(s, "response.function_call_arguments.delta");
        fake_buf_puts(e, ",\"item_id\":\"fc_");
        fake_buf_put_u64(e, r->n);
        size_t len;
        const char *piece = fake_reply_tool_piece(r, i, &len);
        fake_buf_puts(e, "\",\"output_index\":");
        fake_buf_put_u64(e, at);
        fake_buf_puts(e, ",\"delta\":");
        fake_buf_put_json_string(e, piece, len);
        end_event(s, e, seq, false);
    }
    e = fake_sse_begin_typed(s, "response.function_call_arguments.done");
    fake_buf_puts(e, ",\"item_id\":\"fc_");
    fake_buf_put_u64(e, r->n);
    fake_buf_puts(e, "\",\"output_index\":");
    fake_buf_put_u64(e, at);
    fake_buf_puts(e, ",\"arguments\":");
    fake_reply_put_tool_args(e, r);
    end_event(s, e, seq, false);
    e = item_event(s, "response.output_item.done", at);
    put_call(e, r, true);
    end_event(s, e, seq, false);
}

static void put_stream(struct fake_sse *s, const struct fake_v1_req *r,
                       const struct fake_behavior *b)
{
    size_t seq = 0;
    struct text t = {.stream = true,
                     .pieces = fake_behavior_pieces(b),
                     .call = b->tool_use,
                     .words = fake_reply_words(b)};
    put_opening(s, r, t.words, &seq);
    for (size_t k = 0; k < t.pieces; k++) {
        put_delta(s, r, t.words, k, &seq);
    }
    if (b->error_after >= 0 && !b->failed) {
        struct fake_buf *e = fake_sse_begin_typed(s, "error");
        fake_buf_puts(e, ",\"code\":\"server_error\",\"message\":\"fake error event\","
                         "\"param\":null");
        end_event(s, e, &seq, false);
        return;
    }
    if (b->error_after < 0) {
        put_closing(s, r, &t, &seq);
    }
    if (b->error_after < 0 && t.call) {
        put_call_events(s, r, t.words == FAKE_WORDS_NONE ? 2 : 1, &seq);
    }
    if (b->failed) {
        put_response_event(s, r, "response.failed", "failed", NULL, &seq);
    } else {
        put_response_event(s, r, "response.completed", "completed", &t, &seq);
    }
}

const struct fake_wire fake_wire_responses = {
    .put_reply = put_reply,
    .put_error = fake_chat_put_error,
    .put_stream = put_stream,
};
