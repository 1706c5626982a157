/* The providers' refusals of a broken tool loop (docs/fake-upstream.md,
 * "Request validation"): a request the real API answers with a 400 gets
 * the same 400 here, so that a scenario test sees memproxy send it. Only
 * the tool-use rules and Anthropic's cache_control cap; no schema check,
 * no I/O, no state. */
#ifndef MP_TESTS_FAKE_VALIDATE_H
#define MP_TESTS_FAKE_VALIDATE_H

#include "fake_cache.h"
#include "fake_http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether body[0..len) can break a rule at all: it contains "tool",
 * "function_call" or "cache_control" (every field a rule reads has one of
 * them in its name or value). A body without them needs no parse. */
bool fake_validate_wanted(const char *body, size_t len);

/* Checks req, a parsed request body of api (borrowed), as the provider
 * does and reports the first breach in request order. Returns true when
 * it passes (also when req is NULL or not an object: nothing to check),
 * false with the provider's 400 error body appended to o (JSON: OpenAI's
 * {"error":{...}} for FAKE_CACHE_CHAT and FAKE_CACHE_RESPONSES,
 * Anthropic's {"type":"error","error":{...}} for FAKE_CACHE_MESSAGES).
 * Out of memory while writing the refusal: true (the request passes). */
bool fake_validate(enum fake_cache_api api, const json_t *req, struct fake_buf *o);

#endif
