/* Refusals of authentication on the admin and page listeners (a wrong
 * admin token: 401; a missing, altered, expired or revoked page link:
 * 403), answered and counted, late for a peer that failed too often
 * (core/backoff.h: the delay never blocks the loop, mp_conn_hold() keeps
 * the answer back). One table of peers for the process: these listeners
 * run on the admin loop (the main thread) only. */
#ifndef MP_PROXY_AUTHFAIL_H
#define MP_PROXY_AUTHFAIL_H

#include "net/conn.h"
#include "net/respond.h"

/* Answers the request of c with e (a 401 or 403 of respond.h), an
 * x-request-id and extra_headers (borrowed, may be NULL), ending with
 * MP_CONN_CLOSE; counts e's client error and, when the answer waits,
 * auth_backoff; logs one line with message log_msg (NULL: the caller logs)
 * holding request_id, method, status, error and backoff_ms, never the
 * credential. Usable from on_head() and on_request() alike. */
void mp_authfail_refuse(struct mp_conn *c, enum mp_perr e, const char *extra_headers,
                        const char *log_msg);

#endif
