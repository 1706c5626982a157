/* How an upstream exchange ended, whichever client carried it (libcurl:
 * net/upstream.h, mp_xfer_end_of_curl(); native: net/h1client.h), so that
 * the request path handles one set of outcomes. */
#ifndef MP_PROXY_NET_XFER_H
#define MP_PROXY_NET_XFER_H

enum mp_xfer_end {
    MP_XFER_OK,       /* the response is complete */
    MP_XFER_CONNECT,  /* no connection: refused, unreachable */
    MP_XFER_DNS,      /* the host name did not resolve */
    MP_XFER_TIMEOUT,  /* connecting took longer than allowed */
    MP_XFER_TLS,      /* the TLS handshake or the peer's certificate failed */
    MP_XFER_RESET,    /* the connection ended before the response did */
    MP_XFER_PROTOCOL, /* the response was not valid HTTP */
    MP_XFER_OTHER     /* the caller's callback refused, or anything else */
};

#endif
