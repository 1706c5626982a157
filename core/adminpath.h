/* The admin API's request target (docs/admin-api.md): which route a path names,
 * its decoded {id} and {key}, and the tenant/cursor/limit query parameters.
 * Pure parsing over plain bytes; authorization and the answers are the proxy's. */
#ifndef MP_CORE_ADMINPATH_H
#define MP_CORE_ADMINPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import/importitem.h"
#include "user_id.h"
#include "memory/usermem.h"

enum mp_admin_route {
    MP_ADMIN_USERS = 1,         /* /admin/users                      GET */
    MP_ADMIN_USER_MEMORY,       /* /admin/users/{id}/memory          GET, DELETE */
    MP_ADMIN_USER_EXPORT,       /* /admin/users/{id}/export          GET */
    MP_ADMIN_USER_HISTORY,      /* /admin/users/{id}/history         GET (change log) */
    MP_ADMIN_USER_IMPORT,       /* /admin/users/{id}/import          POST (JSON Lines) */
    MP_ADMIN_USER_ENTITY,       /* /admin/users/{id}/entities/{key}  PUT, DELETE */
    MP_ADMIN_USER_SETTINGS,     /* /admin/users/{id}/settings       GET, PUT (opt-out mode) */
    MP_ADMIN_USER_SEARCH,       /* /admin/users/{id}/search         GET (?q=, ranked memory) */
    MP_ADMIN_USER_EXPLAIN,      /* /admin/users/{id}/explain        GET, POST (last one; ?api=) */
    MP_ADMIN_USER_MESSAGE,      /* /admin/users/{id}/messages/{seq}      DELETE (one message) */
    MP_ADMIN_USER_CONVERSATION, /* /admin/users/{id}/conversations/{conv} DELETE (its messages) */
    MP_ADMIN_USER_REVOKE_LINKS, /* /admin/users/{id}/revoke-links   POST (page links void) */
    MP_ADMIN_COMPACT,           /* /admin/compact                   POST */
    MP_ADMIN_SWEEP,             /* /admin/sweep                     POST (run retention now) */
    MP_ADMIN_STATUS,      /* /admin/status                    GET (version, mode, queue, store) */
    MP_ADMIN_RELOAD,      /* /admin/reload                    POST (re-read the configuration) */
    MP_ADMIN_EXPLANATION, /* /admin/explain/{id}              GET (a request's explanation) */
    MP_ADMIN_EXTRACT,     /* /admin/extract                   POST (pending batches due now) */
    MP_ADMIN_JOBS,        /* /admin/jobs                      GET (the memory jobs) */
    MP_ADMIN_JOB,         /* /admin/jobs/{id}                 DELETE (drop one) */
    MP_ADMIN_JOB_RETRY,   /* /admin/jobs/{id}/retry           POST (run one again now) */
};

/* The routes that name a user ({id}), and the last route: for loops and
 * checks that must follow the enum. */
#define MP_ADMIN_USER_FIRST MP_ADMIN_USER_MEMORY
#define MP_ADMIN_USER_LAST  MP_ADMIN_USER_REVOKE_LINKS
#define MP_ADMIN_ROUTE_LAST MP_ADMIN_JOB_RETRY

#define MP_ADMIN_TENANT_LEN      32   /* lowercase hex chars of a tenant id */
#define MP_ADMIN_CURSOR_MAX      1024 /* cursor chars */
#define MP_ADMIN_LIMIT_DEFAULT   100
#define MP_ADMIN_LIMIT_MAX       1000
#define MP_ADMIN_KEY_RAW_MAX     1024       /* decoded {key} bytes before normalization */
#define MP_ADMIN_QUERY_MAX       1024       /* decoded bytes of a search's q */
#define MP_ADMIN_EXPLANATION_LEN 32         /* hex digits of an explanation's {id} */
#define MP_ADMIN_BUDGET_MAX      1000000000 /* an import's extract_max_tokens */

/* What a search asks for (types=facts,messages): a bit set. */
#define MP_ADMIN_TYPE_FACTS    1
#define MP_ADMIN_TYPE_MESSAGES 2
#define MP_ADMIN_TYPES_ALL     (MP_ADMIN_TYPE_FACTS | MP_ADMIN_TYPE_MESSAGES)

/* Which memory jobs a listing asks for (state=all|pending|leased|held|failed). */
enum mp_admin_job_state {
    MP_ADMIN_JOBS_ALL,
    MP_ADMIN_JOBS_PENDING,
    MP_ADMIN_JOBS_LEASED,
    MP_ADMIN_JOBS_HELD,
    MP_ADMIN_JOBS_FAILED
};

/* The chat API an explained request speaks (api=chat|responses|messages). */
enum mp_admin_api { MP_ADMIN_API_CHAT, MP_ADMIN_API_RESPONSES, MP_ADMIN_API_MESSAGES };

struct mp_admin_target {
    enum mp_admin_route route;
    char user[MP_USER_ID_MAX + 1];   /* percent-decoded, NUL at user_len; USER_* routes, else "" */
    size_t user_len;                 /* 0 for routes without {id} */
    char key[MP_ENTITY_KEY_MAX + 1]; /* mp_usermem_normalize_key() of the decoded {key};
                                        USER_ENTITY only, else "" */
    bool has_tenant;
    char tenant[MP_ADMIN_TENANT_LEN + 1]; /* lower-cased, NUL-terminated; "" without tenant */
    char cursor[MP_ADMIN_CURSOR_MAX + 1]; /* opaque, [A-Za-z0-9_-] only; "" = first page */
    size_t cursor_len;
    unsigned limit; /* 1..MP_ADMIN_LIMIT_MAX, MP_ADMIN_LIMIT_DEFAULT when absent */
    bool has_limit; /* the query gave limit */
    char entities_cursor[MP_ADMIN_CURSOR_MAX + 1]; /* a memory's facts: as cursor */
    size_t entities_cursor_len;
    unsigned entities_limit;        /* 1..MP_ADMIN_LIMIT_MAX; 0 when absent */
    bool retention_item;            /* retention=item (imports): age from the items' own time */
    enum mp_import_format format;   /* an import's format; MP_IMPORT_FORMAT_JSONL when absent */
    bool has_format;                /* the query gave format */
    bool dry_run;                   /* dry_run=true (imports): what it would do, nothing stored */
    uint64_t extract_max_tokens;    /* an import's bound, below the setting's */
    bool has_extract_max_tokens;    /* the query gave extract_max_tokens */
    char q[MP_ADMIN_QUERY_MAX + 1]; /* a search's q, decoded, NUL at q_len; "" when absent */
    size_t q_len;
    bool has_q;            /* the query gave q (maybe empty) */
    unsigned types;        /* MP_ADMIN_TYPE_* bits; MP_ADMIN_TYPES_ALL when absent */
    enum mp_admin_api api; /* an explain's chat API; MP_ADMIN_API_CHAT when absent */
    char explanation[MP_ADMIN_EXPLANATION_LEN + 1]; /* EXPLANATION's {id}: lowercase hex */
    uint64_t seq;                                   /* USER_MESSAGE's {seq}: 1 .. 2^63 - 1 */
    uint64_t conv;                     /* USER_CONVERSATION's {conv}: the digest's 16 hex digits */
    uint64_t job;                      /* JOB and JOB_RETRY's {id}: 1 .. 2^63 - 1 */
    enum mp_admin_job_state state;     /* a jobs listing's; MP_ADMIN_JOBS_ALL when absent */
    char job_user[MP_USER_ID_MAX + 1]; /* the query's user: decoded, NUL at job_user_len */
    size_t job_user_len;               /* 0 without it */
    bool has_job_user;                 /* the query gave user */
};

/* The methods route allows, for a 405 answer's Allow header: "GET",
 * "GET, DELETE", "GET, POST", "PUT, DELETE", "DELETE" or "POST". A static string, never NULL; ""
 * for a value outside the enum. */
const char *mp_adminpath_allow(enum mp_admin_route route);

/* True when method[0..method_len) (borrowed, not NUL-terminated) is one of
 * the methods route allows. Methods are case-sensitive (RFC 9110 §9.1) and
 * HEAD is not implied by GET. False for a route outside the enum. */
bool mp_adminpath_method_ok(enum mp_admin_route route, const char *method, size_t method_len);

/* Parses target[0..len) (borrowed, not NUL-terminated, any bytes): the
 * origin-form request-target of an admin request, a path and an optional
 * "?query". Linear in len; uses no heap.
 *
 * Path. It ends at the first '?' or '#'. It must be "/admin/" followed by
 * one of the routes above, exactly: segments are split on '/' before any
 * decoding, and a trailing slash, an empty segment, a literal "." or ".."
 * segment, an unknown or extra segment, or a different letter case is
 * MP_NOTFOUND. Routes are matched on structure first, so a bad {id} in an
 * unknown shape ("/admin/users/%zz/nope") is MP_NOTFOUND too.
 * {id} and {key} are percent-decoded: "%XX" with two hex digits of either
 * case; '+' stays '+'. A decoded '/' ("%2F") is just a byte of the id, and
 * an encoded dot ("%2E%2E") is data, not a dot segment: the id ".." can be
 * addressed that way (the id is never used as a file path). A browser
 * folds "%2E" and "%2E%2E" segments away like "." and ".." before it sends
 * a request, so a user route may also leave {id} empty and name the user
 * in the query: "/admin/users//memory?user=.." is the user "..". An empty
 * {id} without user= is MP_NOTFOUND, as every other empty segment.
 * - {id} is rejected ("user") when a '%' is not followed by two hex digits,
 *   or the decoded bytes fail mp_user_id_validate() (which refuses NUL,
 *   controls, bad UTF-8, templates, and more than MP_USER_ID_MAX bytes).
 * - /admin/explain/{id}: {id} must be MP_ADMIN_EXPLANATION_LEN lowercase
 *   hex digits, else "id".
 * - {seq} is a decimal 1 .. 2^63 - 1, digits only, no leading zero, else
 *   "seq"; {conv} exactly 16 hex digits of either case, else
 *   "conversation".
 * - /admin/jobs/{id} and /admin/jobs/{id}/retry: {id} is a job id, a
 *   decimal 1 .. 2^63 - 1 as {seq} is, else "id".
 * - {key} is rejected ("key") on a bad escape, when it decodes to more than
 *   MP_ADMIN_KEY_RAW_MAX bytes, or when mp_usermem_normalize_key() refuses
 *   it. "Vector%20DB" gives the key "vector_db".
 *
 * Query. Pairs are split on '&'; empty pairs ("&&", a trailing '&') are
 * skipped; "name" without '=' has the empty value. Names and values are
 * percent-decoded with '+' meaning space. Names are case-sensitive; the
 * known ones apply to every route:
 * - tenant: exactly MP_ADMIN_TENANT_LEN hex digits, either case, stored
 *   lower-cased; anything else (empty included) is "tenant".
 * - cursor: 0..MP_ADMIN_CURSOR_MAX characters of [A-Za-z0-9_-]; empty means
 *   the first page; anything else is "cursor".
 * - limit: a decimal 1..MP_ADMIN_LIMIT_MAX written with digits only: no
 *   sign, blank, leading zero or other character; anything else, empty
 *   included, is "limit".
 * - entities_cursor, entities_limit: as cursor and limit, each its own
 *   name ("entities_cursor", "entities_limit"); a memory reads them for
 *   its page of facts (entities_limit 0 when absent).
 * - retention: "receipt" (the default) or "item" (retention_item set);
 *   anything else is "retention". Only an import reads it.
 * - q: any bytes, decoded ('+' a space), at most MP_ADMIN_QUERY_MAX of
 *   them (more, or a NUL byte, is "q"); empty is allowed here (has_q set,
 *   q_len 0): a search refuses it. Only a search reads it.
 * - types: a comma-separated list of "facts" and "messages" (each at most
 *   once, none empty); anything else is "types". Only a search reads it.
 * - api: "chat", "responses" or "messages"; anything else is "api". Only
 *   an explain reads it.
 * - format: "jsonl", "chatgpt", "claude" or "memory-text"
 *   (mp_importitem_format_name); anything else is "format". dry_run:
 *   "true" or "false"; anything else is "dry_run". extract_max_tokens: a
 *   decimal 0..MP_ADMIN_BUDGET_MAX, digits only (no sign, blank or
 *   leading zero); anything else is "extract_max_tokens". Only an import
 *   reads them.
 * - state: "all", "pending", "leased", "held" or "failed"; anything else
 *   is "state". user: a user id, decoded ('+' a space) and checked as
 *   {id} is (mp_user_id_validate()), else "user"; it never replaces a
 *   path's {id} (job_user), and is the user of a user route whose {id}
 *   is empty (above). Only a jobs listing reads state.
 * Other names are ignored, values unread, for forward compatibility. A known
 * name given twice, or a bad escape in any name, is "query".
 * A '#' anywhere in the target (a fragment, which a request-target never
 * carries) is "query" once the path has matched a route.
 *
 * Returns MP_OK with *out filled (fields a route does not use are zero/"");
 * MP_NOTFOUND when the path is not an admin API route (answer 404);
 * MP_EINVAL when the route matched but something is bad, with *param set to
 * a static string naming it: "user", "key", "seq", "conversation", "tenant", "cursor", "limit",
 * "entities_cursor", "entities_limit", "retention", "q", "types", "api", "format", "dry_run",
 * "extract_max_tokens", "state", "id" or "query". The first problem wins, checked in that order for
 * the path
 * ({id}, then {key}), then the fragment, then the query pairs left to right.
 * out is untouched on failure; *param is written only on MP_EINVAL, and
 * param may be NULL when the caller does not want the name. */
int mp_adminpath_parse(const char *target, size_t len, struct mp_admin_target *out,
                       const char **param);

/* A decimal 1 .. 2^63 - 1 in s[0..n) (borrowed), digits only: no sign,
 * blank or leading zero; as a {seq} or a job's {id} is written (the jobs
 * listing's cursor is one too). MP_OK with *out, else MP_EINVAL (*out
 * untouched). */
int mp_adminpath_parse_id(const char *s, size_t n, uint64_t *out);

/* The query part alone (q[0..len), after the '?'), by the rules above, into
 * t's tenant, cursor and limit (t's other fields untouched; set t->limit
 * to the default first). MP_OK, or MP_EINVAL with *param. GET /v1/memory
 * reads its cursor and limit with it. */
int mp_adminpath_parse_query(const char *q, size_t len, struct mp_admin_target *t,
                             const char **param);

#endif
