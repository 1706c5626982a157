/* The named tool call of the fake upstream (docs/fake-upstream.md,
 * "X-Fake-Tool-Call"): parsing the header that names a tool and its
 * arguments, and deciding whether a request gets the call, so that a real
 * agent's tool loop runs against the fake. The wires write the call
 * (fake_reply.h); no I/O, no state here. */
#ifndef MP_TESTS_FAKE_TOOLCALL_H
#define MP_TESTS_FAKE_TOOLCALL_H

#include "fake_cache.h"
#include "fake_reply.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Parses a header value v[0..n): the tool's name (1 to FAKE_CALL_MAX_NAME
 * of A-Z a-z 0-9 _ - .), blanks, then its arguments, a JSON object. Fills
 * call (the arguments compact, at most FAKE_CALL_MAX_ARGS bytes, split in
 * two pieces at a character boundary near the middle) and returns 0, or
 * returns -1 with a message in err (errlen bytes, JSON-safe text). */
int fake_toolcall_parse(const char *v, size_t n, struct fake_call *call, char *err, size_t errlen);

/* Whether req, a parsed request body of api (borrowed; NULL or not an
 * object: no), is answered with a call of the tool name: its top-level
 * "tools" declares a tool of that name ("name", or chat completions'
 * "function"."name") and the conversation does not end with a tool
 * result (chat: a last message of role "tool" or "function"; Messages: a
 * last message with a "tool_result" block; Responses: a last input item
 * whose type ends in "_call_output"). */
bool fake_toolcall_applies(enum fake_cache_api api, const json_t *req, const char *name);

#endif
