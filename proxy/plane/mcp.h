/* The MCP endpoint (docs/mcp.md): POST /mcp speaks the Model Context
 * Protocol over Streamable HTTP, both the 2025-11-25 revision (initialize,
 * then requests that name their version in MCP-Protocol-Version) and the
 * stateless 2026-07-28 one (server/discover; every request carries its
 * version in _meta and the Mcp-Method header), answering each request
 * with one JSON object or an SSE stream of one event. It keeps no session:
 * every request stands alone, names its user as a chat request does
 * (plane/reqmem.h: mp_reqmem_user_key) and, with [mcp] token_file, carries
 * the bearer token. The tools are mcptools.c's. No GET stream, no
 * server-to-client requests. */
#ifndef MP_PROXY_MCP_H
#define MP_PROXY_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "json/jsonrpc.h"
#include "metrics.h"
#include "net/conn.h"
#include "net/loop.h"
#include "plane/mcptools.h"
#include "memory/userkey.h"

/* One MCP request, owned by the endpoint until answered. */
struct mp_mcp_call {
    struct mp_conn *conn; /* NULL once the client left */
    struct mp_loop *loop;
    char request_id[MP_REQUEST_ID_LEN + 1];
    double t_start;
    char user[MP_USERKEY_MAX]; /* the store user key */
    size_t user_len;
    char id[MP_JSONRPC_ID_MAX + 1]; /* the request's id, its JSON text */
    size_t id_len;
    bool modern; /* 2026-07-28: results carry "resultType" */
    bool sse;    /* the answer goes as an SSE stream */
    enum mp_mcp_method method;
    struct mp_mcptool tool;
};

/* Answers a request to /mcp (head and body borrowed from c). */
void mp_mcp_handle(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                   size_t len);

/* Answers call with result (stolen; NULL: out of memory, answered as an
 * internal error), counts it and frees call. */
void mp_mcp_reply(struct mp_mcp_call *call, json_t *result);

/* Answers call with a JSON-RPC error (HTTP status; message static or
 * borrowed; data stolen, may be NULL), counts it and frees call. */
void mp_mcp_fail(struct mp_mcp_call *call, int status, int code, const char *message, json_t *data);

#endif
