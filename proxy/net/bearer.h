/* The check of a request's bearer token against a configured secret, for
 * the admin API ([admin] token) and the MCP endpoint ([mcp] token_file). */
#ifndef MP_PROXY_BEARER_H
#define MP_PROXY_BEARER_H

#include <stdbool.h>

#include "http/http_parse.h"

/* Whether head (borrowed) carries exactly one Authorization field,
 * "Bearer" (any case), one or more spaces, then token (borrowed,
 * NUL-terminated, not empty), compared in time independent of where they
 * differ. */
bool mp_bearer_ok(const struct mp_http_request_head *head, const char *token);

#endif
