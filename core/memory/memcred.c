/* Which credential memory jobs may carry (the rule is in memcred.h). */
#include "memory/memcred.h"

const char *mp_memcred_configured(const struct mp_config *c)
{
    if (c->memory.api_key[0] != '\0')
        return c->memory.api_key;
    const char *key =
        c->memory.llm == MP_LLM_ANTHROPIC ? c->anthropic.api_key : c->upstream.api_key;
    return key[0] != '\0' ? key : NULL;
}

const char *mp_memcred_key_header(enum mp_llm_api api)
{
    return api == MP_LLM_ANTHROPIC ? "x-api-key" : "Authorization";
}

const struct mp_http_header *mp_memcred_client(const struct mp_http_request_head *head,
                                               enum mp_llm_api route, const char **name)
{
    const struct mp_http_header *h = NULL;
    if (route == MP_LLM_ANTHROPIC) {
        h = mp_http_find_header(head, "x-api-key", 9);
        *name = "x-api-key";
    }
    if (h == NULL) { /* OpenAI's, or Anthropic's bearer (OAuth, authToken) */
        h = mp_http_find_header(head, "authorization", 13);
        *name = "Authorization";
    }
    return h;
}

static bool has_jobs(enum mp_memory_mode mode)
{
    return mode == MP_MEMORY_SUMMARY || mode == MP_MEMORY_ENTITY || mode == MP_MEMORY_HYBRID;
}

bool mp_memcred_missing(const struct mp_config *c, enum mp_memory_mode mode, enum mp_llm_api route)
{
    return has_jobs(mode) && mp_memcred_configured(c) == NULL && route != c->memory.llm;
}

const char *mp_memcred_warning(const struct mp_config *c)
{
    if (!has_jobs(c->memory.mode) || mp_memcred_configured(c) != NULL)
        return NULL;
    if (c->memory.llm == MP_LLM_ANTHROPIC)
        return "[memory] llm = anthropic without [memory] api_key or [anthropic] api_key: the "
               "memory jobs of turns on the OpenAI routes wait until the same user sends a "
               "request to /v1/messages (a client's OpenAI key never goes to Anthropic)";
    if (c->anthropic.base_url.text[0] != '\0')
        return "[memory] llm = openai with [anthropic] enabled and without [memory] api_key or "
               "[upstream] api_key: the memory jobs of turns on /v1/messages wait until the same "
               "user sends a request to the OpenAI routes (a client's Anthropic key never goes "
               "to [upstream])";
    return NULL;
}
