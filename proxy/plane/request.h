/* The data plane's request handler: validates a client request, forwards it
 * to the upstream through libcurl and relays the answer back as it arrives.
 * One struct mp_request owns all state of one forwarded request.
 * The memory engine will hook in here (reading memory before the upstream
 * call, recording the turn after it); this version forwards only. */
#ifndef MP_PROXY_REQUEST_H
#define MP_PROXY_REQUEST_H

#include "curl_lib.h"

#include "net/conn.h"

/* The handler table for data-plane connections. */
extern const struct mp_conn_handler mp_request_handler;

/* The limits data-plane connections apply, from loop->cfg. */
void mp_request_limits(const struct mp_loop *loop, struct mp_conn_limits *out);

/* mp_upstream_done_fn for the data plane's upstream glue. */
void mp_request_on_upstream_done(void *req, CURLcode result);

#endif
