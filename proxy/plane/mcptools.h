/* The MCP tools over the caller's memory (docs/mcp.md): search_memory,
 * add_memory, list_memories, delete_memory and get_profile. Reads go
 * through plane/memread.h, changes through the memory worker, as the
 * user's memory API does (plane/memapi.c); results are data for a model,
 * their text the memory block's (memview/memsearch.h: mp_memsearch_block),
 * their structured content memjson's shapes. */
#ifndef MP_PROXY_MCPTOOLS_H
#define MP_PROXY_MCPTOOLS_H

#include <jansson.h>
#include <stddef.h>

#include "memview/memsearch.h"
#include "plane/qvec.h"
#include "metrics.h"
#include "ops/store.h"

struct mp_mcp_call;
struct mp_memticket;
struct mp_memread_call;

/* A tool call's state, embedded in its struct mp_mcp_call. */
struct mp_mcptool {
    enum mp_mcp_tool tool;
    char text[MP_ADMIN_QUERY_MAX + 1]; /* search_memory's query */
    struct mp_memsearch_query query;
    size_t offset; /* list_memories' page */
    unsigned limit;
    struct mp_op op; /* add_memory, delete_memory */
    char value[MP_ENTITY_VALUE_MAX + 1];
    struct mp_memticket *ticket;  /* a change the worker applies */
    struct mp_memread_call *read; /* a read in flight, or NULL */
    int read_rc;                  /* the last run's */
    struct mp_memsearch_result found;
    json_t *doc; /* a read's structured content (owned) */
    enum mp_user_mode mode;
    struct mp_qvec_ask qask; /* search_memory: the query's vector (plane/qvec.h) */
};

/* The tools' definitions: the "tools" array of tools/list (new reference,
 * or NULL when out of memory). */
json_t *mp_mcptools_list(void);

/* Runs the tool that params (body[ps..pe), an object: "name",
 * "arguments") names for call, which it answers (mp_mcp_reply,
 * mp_mcp_fail: the call is then freed), now or once the store or the
 * worker has. An unknown tool is a JSON-RPC error (-32602); bad arguments
 * a result with isError. */
void mp_mcptools_call(struct mp_mcp_call *call, const char *body, size_t ps, size_t pe);

/* The client left: whether call can be freed now (false: a change is
 * being applied, and its answer frees it). */
bool mp_mcptools_abort(struct mp_mcp_call *call);

/* Releases what t owns. */
void mp_mcptools_cleanup(struct mp_mcptool *t);

#endif
