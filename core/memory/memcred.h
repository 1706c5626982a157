/* Whose credential a memory job (summary, extraction) may carry, as pure
 * rules over the configuration and a request head: a client's credential
 * goes only to the provider the client sent it to. It does not remember
 * credentials (proxy/memory/jobauth.c does) nor send anything.
 *
 * The rule, for the memory provider P = [memory] llm:
 *   1. [memory] api_key, when set, in P's form (OpenAI: Authorization:
 *      Bearer <key>; Anthropic: x-api-key: <key>);
 *   2. else P's configured key ([upstream] api_key for OpenAI, [anthropic]
 *      api_key for Anthropic), in the same form;
 *   3. else the credential of the user's latest turn on P's routes
 *      (OpenAI: /v1/chat/completions, /v1/responses; Anthropic:
 *      /v1/messages), in the form that turn sent it: Authorization for
 *      OpenAI; x-api-key, else Authorization, for Anthropic. A turn on P's
 *      routes that carried none lets the jobs run without one (an upstream
 *      that needs no key).
 * A turn on the other provider's routes lends nothing: without 1, 2 or a
 * turn of 3 the job waits. */
#ifndef MP_CORE_MEMCRED_H
#define MP_CORE_MEMCRED_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "http/http_parse.h"

/* The configured key memory jobs send ([memory] api_key, else the memory
 * provider's api_key): borrowed from c, or NULL when neither is set. */
const char *mp_memcred_configured(const struct mp_config *c);

/* The header name a credential goes in to provider api when it is a
 * configured key: "Authorization" (as "Bearer <key>") for OpenAI,
 * "x-api-key" for Anthropic. */
const char *mp_memcred_key_header(enum mp_llm_api api);

/* The credential header of a request sent to provider route (borrowed from
 * head), the one that provider's memory jobs may borrow: Authorization for
 * OpenAI; x-api-key, else Authorization, for Anthropic. NULL when the
 * request carries none. *name gets the header's name as memory jobs send
 * it ("Authorization" or "x-api-key"). */
const struct mp_http_header *mp_memcred_client(const struct mp_http_request_head *head,
                                               enum mp_llm_api route, const char **name);

/* Whether the memory jobs of a turn recorded in mode from a request to
 * provider route can use no credential that turn brings or the
 * configuration holds: memory jobs run in mode (summary, entity, hybrid),
 * no key is configured for them, and the route is not the memory
 * provider's. Then the jobs wait (X-Memory-Error: no_memory_credential). */
bool mp_memcred_missing(const struct mp_config *c, enum mp_memory_mode mode, enum mp_llm_api route);

/* The warning for a configuration under which some memory jobs can get no
 * credential but from the other provider's routes (memory jobs on, no key
 * configured for them, both providers' routes served): a static line
 * naming the keys to set (never a value), or NULL. */
const char *mp_memcred_warning(const struct mp_config *c);

#endif
