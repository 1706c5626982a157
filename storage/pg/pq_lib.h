/* libpq, loaded when the PostgreSQL backend first connects instead of when
 * memproxy starts (ondemand/ondemand.h).
 *
 *   memproxy starts ──> nothing of libpq is mapped (nor its Kerberos, LDAP
 *                       and GnuTLS libraries): an LMDB store never needs it
 *   first connection ─> mp_pq_load(): dlopen("libpq.so.5"), every function
 *                       below looked up (store_pg_conn.c)
 *   then ─────────────> mp_pq.exec(...) etc. call libpq itself
 *
 * Types and constants come from <libpq-fe.h>; only the calls go through the
 * table. Thread-safe: the first mp_pq_load() loads, others wait for it. */
#ifndef MP_STORAGE_PQ_LIB_H
#define MP_STORAGE_PQ_LIB_H

#include <libpq-fe.h>

/* The libpq functions memproxy calls, by their names without "PQ"; each
 * member has the type <libpq-fe.h> declares for it. */
#define MP_PQ_FUNCTIONS(X)                                                                         \
    X(clear)                                                                                       \
    X(cmdTuples)                                                                                   \
    X(connectPoll)                                                                                 \
    X(connectStartParams)                                                                          \
    X(connectdbParams)                                                                             \
    X(consumeInput)                                                                                \
    X(enterPipelineMode)                                                                           \
    X(errorMessage)                                                                                \
    X(exec)                                                                                        \
    X(execParams)                                                                                  \
    X(execPrepared)                                                                                \
    X(exitPipelineMode)                                                                            \
    X(finish)                                                                                      \
    X(flush)                                                                                       \
    X(getResult)                                                                                   \
    X(getlength)                                                                                   \
    X(getvalue)                                                                                    \
    X(isBusy)                                                                                      \
    X(ntuples)                                                                                     \
    X(pipelineSync)                                                                                \
    X(prepare)                                                                                     \
    X(resultErrorField)                                                                            \
    X(resultStatus)                                                                                \
    X(sendPrepare)                                                                                 \
    X(sendQueryParams)                                                                             \
    X(sendQueryPrepared)                                                                           \
    X(setNoticeProcessor)                                                                          \
    X(setnonblocking)                                                                              \
    X(socket)                                                                                      \
    X(status)                                                                                      \
    X(transactionStatus)

#define MP_PQ_MEMBER(name) __typeof__(PQ##name) *name;
struct mp_pq_lib {
    MP_PQ_FUNCTIONS(MP_PQ_MEMBER)
};
#undef MP_PQ_MEMBER

/* libpq's functions: call none before mp_pq_load() returned MP_OK; they
 * never change after. */
extern struct mp_pq_lib mp_pq;

/* Loads libpq the first time; later calls return the first call's result.
 * Returns MP_OK, or MP_EIO when libpq.so.5 or one of its functions is
 * missing; then *why (when why is not NULL) is a static sentence for an
 * error message, with no path or connection string in it. */
int mp_pq_load(const char **why);

#endif
