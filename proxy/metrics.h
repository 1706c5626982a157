/* The metrics registry: one shard of counters per event-loop thread, each
 * written only by its own thread (relaxed atomics, no lock on the request
 * path), summed when /metrics is scraped. Labels never carry user ids. */
#ifndef MP_PROXY_METRICS_H
#define MP_PROXY_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "wire/clienttask.h"
#include "wire/inserted.h"
#include "wire/ownwords.h"
#include "ops/store.h"
#include "wire/tokenuse.h"

enum mp_upstream_error_kind {
    MP_UPERR_CONNECT,
    MP_UPERR_TIMEOUT,
    MP_UPERR_RESET,
    MP_UPERR_TLS,
    MP_UPERR_DNS,
    MP_UPERR_OTHER,
    MP_UPERR_COUNT
};

enum mp_client_error_kind {
    MP_CLERR_BAD_REQUEST,
    MP_CLERR_INVALID_USER_ID,
    MP_CLERR_INVALID_MEMORY_HEADER,
    MP_CLERR_NOT_FOUND,
    MP_CLERR_CLIENT_TIMEOUT,
    MP_CLERR_BODY_TOO_LARGE,
    MP_CLERR_HEADERS_TOO_LARGE,
    MP_CLERR_OVERLOADED,
    MP_CLERR_UNAUTHORIZED, /* admin token, user signature, tenant API key */
    MP_CLERR_PRECONDITION, /* If-Match missing or stale */
    MP_CLERR_DISPLACED,    /* closed at max_connections: the longest wait for a head */
    /* a user id, signature or tenant API key on lines that differ */
    MP_CLERR_CONFLICTING_HEADERS,
    MP_CLERR_PAGE_LINK,    /* a memory page link altered, expired, revoked, missing (403) */
    MP_CLERR_AUTH_BACKOFF, /* a 401/403 answered late: its peer failed too often */
    MP_CLERR_COUNT
};

enum mp_job_metric_kind { MP_JOBM_RECORD, MP_JOBM_SUMMARIZE, MP_JOBM_EXTRACT, MP_JOBM_KIND_COUNT };

enum mp_job_metric_result {
    MP_JOBR_OK,       /* done */
    MP_JOBR_RETRY,    /* failed, will retry */
    MP_JOBR_FAILED,   /* failed for good (retries exhausted) */
    MP_JOBR_INVALID,  /* the model's answer could not be used */
    MP_JOBR_DROPPED,  /* queue full, or the store is full */
    MP_JOBR_SKIPPED,  /* nothing left to do (duplicate turn, messages gone) */
    MP_JOBR_REPLACED, /* record: a known turn's reply replaced (a regenerated reply) */
    MP_JOBR_EXPIRED,  /* held for a credential past [memory] held_jobs_ttl_seconds: dropped */
    MP_JOBR_EVICTED,  /* held beyond held_jobs_per_user or held_jobs_max: the oldest dropped */
    MP_JOBR_ERASED,   /* a call's result not written: the user's memory erased meanwhile */
    MP_JOBR_COUNT
};

/* Why a turn was not recorded (memproxy_turns_unrecorded_total{reason}). */
enum mp_unrecorded {
    MP_UNREC_QUEUE_FULL,       /* the queue was at one of its bounds */
    MP_UNREC_STORAGE_FULL,     /* the store refused the write: full */
    MP_UNREC_STORAGE_ERROR,    /* the store failed the write, or a drain could not park it */
    MP_UNREC_REPLY_TOO_BIG,    /* the reply could not be kept to be read */
    MP_UNREC_REPLY_UNREADABLE, /* the reply's text could not be read */
    MP_UNREC_REQUEST,          /* the request's messages could not be read */
    MP_UNREC_NO_MEMORY,        /* out of memory */
    MP_UNREC_COUNT
};

struct mp_metrics;
struct mp_metrics_shard;

/* Creates a registry with nshards shards. Caller frees with mp_metrics_free(). */
struct mp_metrics *mp_metrics_new(unsigned nshards);
void mp_metrics_free(struct mp_metrics *m);

/* Shard i (< nshards), owned by the registry; one thread writes it. */
struct mp_metrics_shard *mp_metrics_shard(struct mp_metrics *m, unsigned i);

void mp_metrics_request(struct mp_metrics_shard *s, int http_status, bool stream, double seconds);
void mp_metrics_upstream_error(struct mp_metrics_shard *s, enum mp_upstream_error_kind kind);
void mp_metrics_client_error(struct mp_metrics_shard *s, enum mp_client_error_kind kind);
void mp_metrics_client_disconnect(struct mp_metrics_shard *s);

/* Registry-wide values, any thread. */
void mp_metrics_reload(struct mp_metrics *m, bool ok);
/* Adds delta to the open data-plane connections; returns the new count. */
long mp_metrics_conn_add(struct mp_metrics *m, long delta);
long mp_metrics_open_connections(struct mp_metrics *m);

/* Memory engine counters (any thread). */
void mp_metrics_memory_job(struct mp_metrics *m, enum mp_job_metric_kind kind,
                           enum mp_job_metric_result result);
/* Governance (any thread): what retention purged, by item kind (enum
 * mp_purge_kind), and compactions and sweeps by outcome. */
enum mp_purge_kind {
    MP_PURGE_FACTS,
    MP_PURGE_MESSAGES,
    MP_PURGE_SUMMARIES,
    MP_PURGE_HISTORY,
    MP_PURGE_IDEM,
    MP_PURGE_COUNT
};
void mp_metrics_purged(struct mp_metrics *m, enum mp_purge_kind kind, unsigned long long n);
void mp_metrics_sweep(struct mp_metrics *m, bool ok);
void mp_metrics_compaction(struct mp_metrics *m, bool ok);
/* Imports (POST /admin/users/{id}/import) that reached the store, by
 * outcome (any thread). */
enum mp_import_result {
    MP_IMPORTR_OK,
    MP_IMPORTR_STORAGE_FULL,
    MP_IMPORTR_ERROR,
    MP_IMPORTR_COUNT
};
void mp_metrics_import(struct mp_metrics *m, enum mp_import_result r);
/* Imports refused before the store, by format (enum mp_import_format)
 * and reason: an item dated past now plus the skew, or another item or a
 * file its reader does not take (any thread). */
enum mp_import_refusal {
    MP_IMPORTX_INVALID,
    MP_IMPORTX_FUTURE,
    MP_IMPORTX_QUEUE_FULL, /* past imports' share of the memory queue */
    MP_IMPORTX_LIMIT,      /* past an item limit, of the import or of the user */
    MP_IMPORTX_QUOTA,      /* past the user's memory-model tokens of the day */
    MP_IMPORTX_COUNT
};
#define MP_METRICS_IMPORT_FORMATS 4
void mp_metrics_import_refused(struct mp_metrics *m, int format, enum mp_import_refusal why);
/* What the memory worker reports for the queue gauges. */
struct mp_metrics_queue {
    unsigned depth;              /* pending memory work: turns, changes, jobs */
    size_t bytes;                /* what the queued turns hold */
    bool write_ok;               /* the store took the last write */
    const char *why;             /* !write_ok: the X-Memory-Error code */
    unsigned max;                /* [memory] queue_max: depth at which work is refused */
    size_t max_bytes;            /* [memory] queue_max_bytes: bytes at which turns are refused */
    unsigned held_no_credential; /* memory jobs waiting for a credential (core/memory/memcred.h) */
    unsigned held_batch;         /* extraction jobs waiting for their batch to be due */
    double held_oldest_seconds;  /* how long the oldest held_no_credential job has waited */
    unsigned failed;             /* memory jobs kept as failed, waiting for a re-run */
};
/* The function reporting the memory queue for the gauges. */
typedef void (*mp_metrics_depth_fn)(const void *arg, struct mp_metrics_queue *out);
void mp_metrics_set_depth_source(struct mp_metrics *m, mp_metrics_depth_fn fn, const void *arg);
/* Tokens injected into one request (histogram), on the request's shard. */
void mp_metrics_injected(struct mp_metrics_shard *s, unsigned tokens);
/* A request found to be a client's background task (core/wire/clienttask.h),
 * forwarded without memory: memproxy_client_tasks_total{kind}. */
void mp_metrics_client_task(struct mp_metrics_shard *s, enum mp_clienttask_kind kind);
/* What a turn's builder left out of its recorded user texts
 * (core/wire/ownwords.h): the pattern file's blocks,
 * memproxy_inserted_context_total{client}; structure's,
 * memproxy_client_text_total{how}; only: the turn was not recorded, its
 * new user messages held nothing else
 * (memproxy_inserted_context_only_turns_total). */
void mp_metrics_client_text(struct mp_metrics_shard *s, const struct mp_ownwords_count *c,
                            bool only);
/* What recognition at recording did (storage/ops/store.h: struct
 * mp_store_recognized; any thread): template blocks left out,
 * memproxy_client_text_total{how="repeated"}; a side request not recorded,
 * {how="side_request"}; earlier records undone,
 * memproxy_client_text_undone_total{what="turns|messages|facts"}. */
void mp_metrics_recognized(struct mp_metrics *m, const struct mp_store_recognized *r);
/* n of the user's statements kept out because a stored value outranked
 * them (storage/ops/store.h: mp_op.kept, a KEPT history entry each), by
 * why (MP_REASON_NEWER, _GIVEN, _ADMIN; another reason counts nothing):
 * memproxy_memory_statements_kept_out_total{reason}. Any thread. */
void mp_metrics_kept_out(struct mp_metrics *m, enum mp_hist_reason why, unsigned n);
/* A temporary chat (core/wire/convid.h) forwarded with memory read and its
 * turn not recorded: memproxy_temporary_chats_total. */
void mp_metrics_temporary_chat(struct mp_metrics_shard *s);
/* A request's conversation head (core/wire/inject.h, plane/convlook.h):
 * memproxy_conversation_heads_total{result}. */
enum mp_conv_head_result {
    MP_CONVHEAD_REUSED,  /* the kept head was still true and went in again */
    MP_CONVHEAD_NEW,     /* none kept (a new, idle or aged conversation): built */
    MP_CONVHEAD_REBUILT, /* the kept head was no longer true (memory corrected or erased,
                            its summary rewritten, the settings changed): built anew */
    MP_CONVHEAD_COUNT
};
void mp_metrics_conversation_head(struct mp_metrics_shard *s, enum mp_conv_head_result r);
/* Conversations the store dropped to stay within a user's bounds
 * ([memory] conversations_max, conversation_bytes_max):
 * memproxy_conversations_evicted_total. Any thread. */
void mp_metrics_conversations_evicted(struct mp_metrics *m, unsigned n);
/* Memory lookups that failed and were skipped (X-Memory-Error), by code. */
void mp_metrics_memory_error(struct mp_metrics_shard *s);
/* The outcome of one request's memory read, on the request's shard: the
 * denominator of a hit rate (requests that read no memory count nothing). */
enum mp_memory_read_result {
    MP_MEMREAD_HIT,   /* memory was injected */
    MP_MEMREAD_MISS,  /* nothing stored, or nothing qualified: forwarded unchanged */
    MP_MEMREAD_ERROR, /* the read failed and was skipped (X-Memory-Error) */
    MP_MEMREAD_COUNT
};
void mp_metrics_memory_read(struct mp_metrics_shard *s, enum mp_memory_read_result result);
/* What one request's relevance scoring did (core/recall/relevance.h): the
 * postings it scored (memproxy_relevance_postings_total) and whether it met
 * the ceiling (memproxy_relevance_capped_total). */
void mp_metrics_relevance(struct mp_metrics_shard *s, uint64_t postings, bool capped);

/* A memory search (GET /v1/memory/search, the admin API's, the MCP
 * search_memory tool) by result: memproxy_memory_searches_total{result}. */
enum mp_search_result {
    MP_SEARCH_HIT,     /* something was found */
    MP_SEARCH_MISS,    /* nothing was */
    MP_SEARCH_INVALID, /* refused: an empty or oversized query, a bad parameter */
    MP_SEARCH_ERROR,   /* the store could not answer */
    MP_SEARCH_COUNT
};
void mp_metrics_search(struct mp_metrics_shard *s, enum mp_search_result result);

/* An MCP request (POST /mcp) by method and result:
 * memproxy_mcp_requests_total{method, result}. */
enum mp_mcp_method {
    MP_MCPM_INITIALIZE,
    MP_MCPM_DISCOVER,
    MP_MCPM_TOOLS_LIST,
    MP_MCPM_TOOLS_CALL,
    MP_MCPM_PING,
    MP_MCPM_NOTIFICATION,
    MP_MCPM_OTHER, /* unknown methods, and what could not be read */
    MP_MCPM_COUNT
};
enum mp_mcp_result {
    MP_MCPR_OK,           /* answered with a result (a tool's own error included) */
    MP_MCPR_ERROR,        /* answered with a JSON-RPC error */
    MP_MCPR_UNAUTHORIZED, /* no token, no user, a bad signature */
    MP_MCPR_COUNT
};
void mp_metrics_mcp(struct mp_metrics_shard *s, enum mp_mcp_method method,
                    enum mp_mcp_result result);

/* An MCP tool call by tool and result (error: the tool said isError):
 * memproxy_mcp_tool_calls_total{tool, result}. */
enum mp_mcp_tool {
    MP_MCPT_SEARCH,
    MP_MCPT_ADD,
    MP_MCPT_LIST,
    MP_MCPT_DELETE,
    MP_MCPT_PROFILE,
    MP_MCPT_COUNT
};
void mp_metrics_mcp_tool(struct mp_metrics_shard *s, enum mp_mcp_tool tool, bool ok);
/* A round of statements a request's memory read sent to PostgreSQL
 * (plane/memread.h), on the request's shard. */
enum mp_pg_read_round {
    MP_PGROUND_USER,        /* the user's records, one statement */
    MP_PGROUND_TRANSACTION, /* a bigger user's: BEGIN and the user's records */
    MP_PGROUND_FETCH,       /* what the read needs beyond them, in that transaction */
    MP_PGROUND_COUNT
};
void mp_metrics_pg_read_round(struct mp_metrics_shard *s, enum mp_pg_read_round round);
/* A turn refused because the memory queue was full (any thread). */
void mp_metrics_queue_full(struct mp_metrics *m);
/* A turn not recorded, by reason (any thread). */
void mp_metrics_turn_unrecorded(struct mp_metrics *m, enum mp_unrecorded reason);
/* Its label ("queue_full", "reply_too_big"...). */
const char *mp_metrics_unrecorded_name(enum mp_unrecorded reason);
/* Memory jobs of kind kept as failed for a re-run, by reason (enum
 * mp_job_fail: memproxy_memory_jobs_failed_total; any thread). */
void mp_metrics_memory_job_failed(struct mp_metrics *m, enum mp_job_metric_kind kind,
                                  enum mp_job_fail reason);
/* The label of a failed job's reason ("malformed", "rate_limited"...). */
const char *mp_metrics_job_fail_name(enum mp_job_fail reason);
/* Queued turns parked on disk at shutdown, and parked turns recorded at
 * start (any thread). */
void mp_metrics_parked(struct mp_metrics *m, unsigned long long n);
/* Follow-ups of committed turns (a buffer trim, a summary job) applied:
 * with_turns, in the next commit of turns; else alone, the worker idle. */
void mp_metrics_followups(struct mp_metrics *m, bool with_turns, unsigned long long n);

/* The upstream's token usage of one chat reply that ended whole, on the
 * request's shard: memproxy_upstream_{input,cached_input,cache_creation,
 * output}_tokens_total{api,model} when the reply carried usage (u->seen),
 * memproxy_upstream_replies_total{api,usage} either way. The model label
 * is u->model (else the request's model[0..model_len), else "unknown");
 * the first MP_METRICS_MODELS_MAX distinct names have their own series,
 * later ones count as "other". */
#define MP_METRICS_MODELS_MAX 64
void mp_metrics_tokens(struct mp_metrics *m, struct mp_metrics_shard *s, enum mp_tokenuse_api api,
                       const struct mp_tokenuse *u, const char *model, size_t model_len);

/* One memory-model call answered (any thread): memproxy_memory_model_
 * calls_total{kind,model}, and when the answer carried usage (u->seen)
 * memproxy_memory_model_{input,cached_input,output}_tokens_total{kind,
 * model}. kind: MP_JOBM_SUMMARIZE or MP_JOBM_EXTRACT (an extraction batch,
 * with its fold in hybrid mode). The model label is u->model, else model
 * (the configured one; borrowed, NUL-terminated), labelled as
 * mp_metrics_tokens() labels. */
void mp_metrics_memory_model(struct mp_metrics *m, enum mp_job_metric_kind kind,
                             const struct mp_tokenuse *u, const char *model);

/* The result of one background embeddings call
 * (memproxy_embeddings_calls_total{result}): ok, or why nothing of it was
 * stored (proxy/memory/embjob.h). */
enum mp_embed_result {
    MP_EMBR_OK,
    MP_EMBR_RATE_LIMITED,  /* 429 */
    MP_EMBR_SERVER_ERROR,  /* 5xx */
    MP_EMBR_REJECTED,      /* another status (401, 400...) */
    MP_EMBR_NO_ANSWER,     /* no answer in time, or no connection */
    MP_EMBR_TOO_BIG,       /* over 1 MiB */
    MP_EMBR_DIMS,          /* vectors of other dimensions */
    MP_EMBR_NONFINITE,     /* NaN or Infinity */
    MP_EMBR_COUNT,         /* fewer (or more) vectors than texts */
    MP_EMBR_MODEL_CHANGED, /* the answer names another model than the first one did */
    MP_EMBR_MALFORMED,     /* any other unusable answer */
    MP_EMBR_ERASED,        /* the user's memory was erased meanwhile: read again */
    MP_EMBR_STORE_ERROR,   /* the store did not take the vectors */
    MP_EMBR_RESULTS
};
/* One call (any thread), with the tokens its usage counted. */
void mp_metrics_embed_call(struct mp_metrics *m, enum mp_embed_result r, uint64_t tokens);
/* Its label ("ok", "rate_limited"...). */
const char *mp_metrics_embed_result_name(enum mp_embed_result r);
/* A chat request's or a search's question vector
 * (memproxy_embeddings_queries_total{result}): used, or why the request
 * went on by words alone (X-Memory-Retrieval). */
enum mp_embed_query_result {
    MP_EMBQ_OK,
    MP_EMBQ_TIMEOUT, /* no answer within [embeddings] timeout_ms */
    MP_EMBQ_ERROR,   /* no connection, a refusal, or an answer not usable */
    MP_EMBQ_RESULTS
};
void mp_metrics_embed_query(struct mp_metrics *m, enum mp_embed_query_result r);
const char *mp_metrics_embed_query_name(enum mp_embed_query_result r);
/* Items waiting for a vector (memproxy_embeddings_pending), as last counted. */
void mp_metrics_embed_pending(struct mp_metrics *m, uint64_t n);

/* Renders the Prometheus text exposition (version 0.0.4). Returns a
 * malloc'd NUL-terminated string with *len set (caller frees), or NULL when
 * out of memory. */
char *mp_metrics_render(struct mp_metrics *m, size_t *len);

#endif
