/* The fake upstream's prompt caching (docs/fake-upstream.md, "Prompt
 * caching"): the token count of a request's prompt and what of it the
 * providers would serve from their cache, OpenAI's automatic prefix cache
 * and Anthropic's explicit cache_control breakpoints. Pure bookkeeping over
 * the request body; the wires put the numbers in their usage shapes. */
#ifndef MP_TESTS_FAKE_CACHE_H
#define MP_TESTS_FAKE_CACHE_H

#include "fake_http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_CACHE_TOKEN_BYTES 4    /* a token is 4 bytes of the canonical prompt */
#define FAKE_CACHE_MIN_TOKENS  1024 /* shortest cacheable prefix, both providers */
#define FAKE_CACHE_STEP        128  /* OpenAI counts cached tokens in steps of this */
#define FAKE_CACHE_PROMPTS     64   /* OpenAI: earlier prompts kept (least recently used goes) */
#define FAKE_CACHE_PREFIXES    256  /* Anthropic: cached breakpoint prefixes kept */
#define FAKE_CACHE_BREAKPOINTS 4    /* Anthropic: more cache_control blocks is a 400 */
#define FAKE_CACHE_LOOKBACK    20   /* Anthropic: block boundaries a breakpoint looks back */
/* bigger bodies (over 128k tokens): counted, never cached nor parsed for the
 * cache, so a test that floods the fake with large bodies pays no JSON parse
 * for them (unless they mention tools: fake_validate.h) */
#define FAKE_CACHE_MAX_BODY (512 * 1024)

enum fake_cache_api { FAKE_CACHE_CHAT, FAKE_CACHE_RESPONSES, FAKE_CACHE_MESSAGES };

/* One request's usage. OpenAI: input is the whole prompt, cached the part
 * of it read from the cache. Anthropic: input is what follows the last
 * breakpoint, cache_read + cache_creation + input the whole prompt. */
struct fake_usage {
    uint64_t input;
    uint64_t cached;
    uint64_t cache_read;
    uint64_t cache_creation;
    bool include_usage; /* chat: stream_options.include_usage is true */
};

struct fake_cache;

/* Caller frees with fake_cache_free(); NULL when out of memory. */
struct fake_cache *fake_cache_new(void);
void fake_cache_free(struct fake_cache *c);

/* Forgets every cached prompt and zeroes the counters. */
void fake_cache_reset(struct fake_cache *c);

/* The usage of a request of api whose body is len bytes, req its parse
 * (borrowed), and the cache updated as the provider would (prompts and
 * prefixes written). req NULL or not an object (a body that is no JSON,
 * or one the caller does not parse: past FAKE_CACHE_MAX_BODY) counts the
 * bytes and caches nothing. Out of memory: nothing cached. c NULL: the
 * prompt's tokens only (count_tokens), no cache read or written. More than
 * FAKE_CACHE_BREAKPOINTS breakpoints (a request fake_validate refuses):
 * the tokens only. */
void fake_cache_use(struct fake_cache *c, enum fake_cache_api api, json_t *req, size_t len,
                    struct fake_usage *u);

/* {"prompts":N,"prefixes":N,"requests":N,"input_tokens":N,"cached_tokens":N,
 * "cache_read_input_tokens":N,"cache_creation_input_tokens":N}: what is
 * cached now and the sums of every usage reported since the last reset. */
void fake_cache_stats(const struct fake_cache *c, struct fake_buf *o);

#endif
