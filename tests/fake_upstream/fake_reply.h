/* What the fake "model" says, the same on every chat API: the text of an
 * answer in one body, the text pieces a stream sends, the model name and
 * the token counts. The wires put it in their own shapes; no framing here. */
#ifndef MP_TESTS_FAKE_REPLY_H
#define MP_TESTS_FAKE_REPLY_H

#include "fake_behavior.h"
#include "fake_http.h"

#include <stddef.h>
#include <stdint.h>

#define FAKE_REPLY_TEXT        "Hello from fake upstream"
#define FAKE_REPLY_TOKENS      4          /* output tokens of an answer in one body */
#define FAKE_REPLY_CREATED     1700000000 /* every object's creation time (unix s) */
#define FAKE_REPLY_TOOL_PIECES 2          /* a call's arguments come in this many pieces */
#define FAKE_CALL_MAX_NAME     64         /* bytes of a tool's name */
#define FAKE_CALL_MAX_ARGS     4096       /* bytes of a call's arguments */

/* The tool call an answer ends with (the `tool_use` directive, or the one
 * X-Fake-Tool-Call names: fake_toolcall.h). name: plain ASCII that needs
 * no escape; args: a compact JSON object, sent whole in an answer in one
 * body and in FAKE_REPLY_TOOL_PIECES pieces in a stream, the first
 * args[0..split), the second the rest. */
struct fake_call {
    char name[FAKE_CALL_MAX_NAME + 1];
    char args[FAKE_CALL_MAX_ARGS + 1];
    size_t args_len;
    size_t split;
};

/* The `tool_use` directive's call: get_weather with {"city": "Paris"},
 * in the pieces {"city": and  "Paris"}. */
extern const struct fake_call fake_reply_default_call;

#define FAKE_REPLY_AUDIO   "UklGRiQAAABXQVZF" /* a voice reply's audio data (base64) */
#define FAKE_REPLY_EXPIRES 1700003600         /* ... and when it expires (unix s) */

/* Where the reply's words are, by the directives `audio`, `refusal` and
 * `no_text` (given together, no_text wins, then refusal): each API puts
 * them in its own shape. */
enum fake_words {
    FAKE_WORDS_TEXT,    /* the text, as usual */
    FAKE_WORDS_AUDIO,   /* a voice reply: the audio's transcript */
    FAKE_WORDS_REFUSAL, /* a refusal */
    FAKE_WORDS_NONE,    /* none: a content filter's stop, reasoning, an image */
};

enum fake_words fake_reply_words(const struct fake_behavior *b);

/* The model of the request as raw JSON string content (escapes kept, no
 * quotes), or "fake". */
void fake_reply_put_model(struct fake_buf *o, const struct fake_v1_req *r);

/* The text of an answer in one body as a JSON value, quotes included: a
 * memory job's content (r->content) or FAKE_REPLY_TEXT. */
void fake_reply_put_text(struct fake_buf *o, const struct fake_v1_req *r);

/* Piece k of a stream's text, "tok<k> ": no quotes, nothing to escape. */
void fake_reply_put_piece(struct fake_buf *o, size_t k);

/* Pieces 0..n joined: the whole text of a stream of n pieces, as a JSON
 * string (quotes included). */
void fake_reply_put_pieces(struct fake_buf *o, size_t n);

/* The OpenAI APIs' id of the `tool_use` call, "call_fake<n>", quotes
 * included. */
void fake_reply_put_call_id(struct fake_buf *o, const struct fake_v1_req *r);

/* The request's call: r->call, or fake_reply_default_call. */
const struct fake_call *fake_reply_call(const struct fake_v1_req *r);

/* Piece i (< FAKE_REPLY_TOOL_PIECES) of the call's arguments: a pointer
 * into the call and its length in *len (raw JSON text, not a string). */
const char *fake_reply_tool_piece(const struct fake_v1_req *r, size_t i, size_t *len);

/* The call's arguments whole, as a JSON string (OpenAI's "arguments":
 * text, not an object), quotes included. */
void fake_reply_put_tool_args(struct fake_buf *o, const struct fake_v1_req *r);

/* The request's input tokens: r->usage.input (fake_cache.h). */
uint64_t fake_reply_input_tokens(const struct fake_v1_req *r);

/* Chat completions' usage object for output tokens:
 * {"prompt_tokens":P,"completion_tokens":C,"total_tokens":P+C,
 * "prompt_tokens_details":{"cached_tokens":K}}. */
void fake_reply_put_chat_usage(struct fake_buf *o, const struct fake_v1_req *r, uint64_t output);

#endif
