/* The upstream's token usage in a chat reply, on every chat API: the input,
 * cached input, cache creation and output tokens, and the model the reply
 * names, read from a whole JSON body or from a stream's events (chat
 * completions: the final usage chunk; Responses: the response of
 * response.completed; Messages: message_start and message_delta). Reading
 * only: what to do with the numbers is the proxy's (metrics). */
#ifndef MP_CORE_TOKENUSE_H
#define MP_CORE_TOKENUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_TOKENUSE_MODEL_MAX 128 /* longer model names are cut */

enum mp_tokenuse_api {
    MP_TOKENUSE_CHAT,
    MP_TOKENUSE_RESPONSES,
    MP_TOKENUSE_MESSAGES,
    MP_TOKENUSE_API_COUNT
};

/* One reply's usage, the same on every API: input is the whole prompt
 * (OpenAI: prompt_tokens / input_tokens, which include the cached ones;
 * Anthropic: input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens), cached the part read from the provider's
 * cache (OpenAI: cached_tokens; Anthropic: cache_read_input_tokens),
 * creation Anthropic's cache_creation_input_tokens. Zero it to start. */
struct mp_tokenuse {
    uint64_t input;
    uint64_t cached;
    uint64_t creation;
    uint64_t output;
    uint64_t a_input;                  /* Anthropic's uncached input_tokens, kept to sum input */
    bool seen;                         /* a usage object was read */
    char model[MP_TOKENUSE_MODEL_MAX]; /* decoded, NUL-terminated; "" when none seen */
};

/* The API of a wire (core/wire/wire.h name: "chat", "responses",
 * "messages"); MP_OK with *out, MP_NOTFOUND for another name. */
int mp_tokenuse_api_of(const char *wire_name, enum mp_tokenuse_api *out);

/* Reads a whole reply body[0..len) of api: the top-level model and usage.
 * A body that is not a JSON object, or has no usage, leaves u as it was. */
void mp_tokenuse_read_body(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *body,
                           size_t len);

/* Reads one SSE event ev[0..len) as relayed (data lines joined per the SSE
 * rules): later usage overrides earlier counts of the same field. Events
 * that cannot carry usage are skipped without a parse (no "usage" in
 * them, and a model already known). Never fails: an event it cannot read
 * changes nothing. */
void mp_tokenuse_read_event(struct mp_tokenuse *u, enum mp_tokenuse_api api, const char *ev,
                            size_t len);

#endif
