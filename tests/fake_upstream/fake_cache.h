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

/* OpenAI's routing (docs/fake-upstream-wires.md, "Routing: machines and
 * prompt_cache_key"), off unless machines is set: a request goes to the
 * machine its route (model, the prompt's first FAKE_ROUTE_PREFIX_BYTES,
 * prompt_cache_key) hashes to, each machine with a prompt cache of its
 * own, until the route is over rate requests in the last
 * FAKE_ROUTE_WINDOW_MS of the virtual clock: then the next other machine
 * by the route's count of overflows. A cached prompt unused for idle_ms
 * of the clock is dropped. */
#define FAKE_ROUTE_PREFIX_BYTES 1024 /* 256 tokens */
#define FAKE_ROUTE_WINDOW_MS    60000
#define FAKE_MACHINES_MAX       64
#define FAKE_ROUTE_RATE_MAX     100000
#define FAKE_ROUTE_RATE         15     /* OpenAI: "about 15 requests per minute" */
#define FAKE_CACHE_IDLE_MS      300000 /* OpenAI: cleared after 5-10 minutes of inactivity */

struct fake_routing {
    unsigned machines; /* 0: off (one cache, no clock, nothing dropped); 1..FAKE_MACHINES_MAX */
    unsigned rate;     /* a route's requests a window to its machine; 0: no limit */
    uint64_t idle_ms;  /* a cached prompt unused this long is dropped; 0: never */
};

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
    int machine;        /* routing on: the machine that served it; else -1 */
};

struct fake_cache;

/* Caller frees with fake_cache_free(); NULL when out of memory. */
struct fake_cache *fake_cache_new(void);
void fake_cache_free(struct fake_cache *c);

/* Forgets every cached prompt, route and the clock, and zeroes the
 * counters; the routing settings stay. */
void fake_cache_reset(struct fake_cache *c);

/* Sets the routing (r->machines 0: off) and resets the cache. -1 when a
 * value is out of range or out of memory: nothing changed. */
int fake_cache_set_routing(struct fake_cache *c, const struct fake_routing *r);
void fake_cache_get_routing(const struct fake_cache *c, struct fake_routing *r);

/* The virtual clock moves to now_ms (milliseconds, any origin); it never
 * goes back: an earlier time leaves it. Requests are at the clock's time. */
void fake_cache_set_now(struct fake_cache *c, uint64_t now_ms);

/* {"machines":M,"rate":R,"idle_ms":I,"now_ms":T,"routes":N,"home":N,
 * "overflow":N,"dropped":N,"requests":[per machine],"prompts":[per
 * machine]}: the settings, the clock, the routes seen in the last window,
 * the requests routed to their machine and over it since the last reset,
 * the prompts dropped idle, and per machine the requests it served and the
 * prompts it caches now. */
void fake_cache_routing_stats(const struct fake_cache *c, struct fake_buf *o);

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
