/* The native HTTP/1.1 upstream client (h1client.h).
 *
 * A connection is in exactly one of three places: connecting or carrying an
 * exchange (conn->x set), idle in its origin's list (read armed: anything
 * that arrives, EOF included, closes it), or freed. An exchange owns its
 * connection until it ends; then a connection whose response said
 * keep-alive, and left no byte unread, goes back to the front of the list.
 *
 * A plain connection to an IP address is made here, not by its
 * bufferevent (connect_direct()): its request is written right after
 * connect(2), and it reads through its own read event (on_raw_read(), no
 * FIONREAD before each read); the bufferevent keeps its input and output
 * buffers and writes what a full socket did not take. TLS connections and
 * host names go through the bufferevent alone.
 *
 * Callbacks to the caller run from bufferevent callbacks (or on_raw_read()),
 * with the exchange detached from anything the caller may free: on_done is
 * the last thing done with an exchange, after its memory is released. */
#include "net/h1client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http_resp.h"
#include "status.h"

#define RESP_HEAD_MAX (64 * 1024) /* a response head larger than this fails */
#define IDLE_MAX      1024        /* idle connections kept per origin */
#define ORIGINS_MAX   8           /* distinct origins one client keeps pools for */
#define HOST_MAX      256
/* libevent writes and reads at most 16 KiB per call by default: a 64 KiB
 * body would leave in four writes. One write carries a whole request (head
 * and body) when the socket takes it; reads take what a response has. */
#define SINGLE_IO_MAX (1 << 20)
#define CA_FILE_MAX   4096
#define RAW_READ_MAX  (64 * 1024) /* one read of a connection with its own read event */

struct h1conn;

struct origin {
    char host[HOST_MAX];
    uint16_t port;
    bool https;
    struct h1conn *idle; /* most recently used first; linked by next/prev */
    unsigned nidle;
};

struct h1conn {
    struct mp_h1client *cl;
    struct origin *o;
    struct bufferevent *bev;
    struct mp_h1xfer *x; /* NULL while idle */
    struct h1conn *next, *prev;
    bool connected;
    bool tls;
    bool nodelay;  /* TCP_NODELAY set before the connect (connect_direct()) */
    bool own_read; /* read through rd, not the bufferevent (see on_raw_read()) */
    struct event rd;
};

enum xstate { X_WAIT_HEAD, X_BODY };

struct mp_h1xfer {
    struct mp_h1client *cl;
    struct h1conn *c;
    struct mp_h1_request rq;
    struct mp_h1_callbacks cb;
    void *arg;
    enum xstate state;
    struct mp_http_body body;
    size_t request_bytes; /* the request's bytes (what the output buffer holds before any left) */
    bool reused, retried, paused, keep_alive;
    unsigned busy;            /* inside a callback to the caller */
    bool cancelled;           /* mp_h1_cancel() came during one: ended when it returns */
    struct event *resume_ev;  /* runs the buffered input after a resume */
    struct event *connect_ev; /* the connect timeout (made by the first connect) */
    struct iovec *pieces;     /* rq.body copied (a retry writes it again) */
};

struct mp_h1client {
    struct event_base *base;
    struct evdns_base *dns; /* made when a name first needs resolving */
    SSL_CTX *tls;
    char tls_ca[CA_FILE_MAX]; /* the ca_file tls was made for */
    bool tls_made;
    struct origin origins[ORIGINS_MAX];
    unsigned norigins;
    unsigned active;
};

/* ---- connections ---- */

static void conn_free(struct h1conn *c)
{
    if (c == NULL)
        return;
    if (c->own_read)
        event_del(&c->rd);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    free(c);
}

/* Reading from the upstream on or off: c's own read event, or its
 * bufferevent's. */
static void read_on(struct h1conn *c)
{
    if (c->own_read)
        event_add(&c->rd, NULL);
    else
        bufferevent_enable(c->bev, EV_READ);
}

static void read_off(struct h1conn *c)
{
    if (c->own_read)
        event_del(&c->rd);
    else
        bufferevent_disable(c->bev, EV_READ);
}

static void idle_unlink(struct h1conn *c)
{
    struct origin *o = c->o;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        o->idle = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    o->nidle--;
}

/* An idle connection heard something (the upstream closed it, or sent what
 * nobody asked for): it cannot carry another request. */
static void on_idle_read(struct bufferevent *bev, void *arg)
{
    struct h1conn *c = arg;
    (void)bev;
    idle_unlink(c);
    conn_free(c);
}

static void on_idle_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    on_idle_read(bev, arg);
}

static void conn_park(struct h1conn *c)
{
    struct origin *o = c->o;
    c->x = NULL;
    if (o->nidle >= IDLE_MAX) {
        conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, on_idle_read, NULL, on_idle_event, c);
    read_on(c);
    c->prev = NULL;
    c->next = o->idle;
    if (o->idle != NULL)
        o->idle->prev = c;
    o->idle = c;
    o->nidle++;
}

/* ---- TLS ---- */

static SSL_CTX *tls_context(struct mp_h1client *cl, const char *ca_file)
{
    if (cl->tls_made && strcmp(cl->tls_ca, ca_file) == 0)
        return cl->tls;
    if (strlen(ca_file) >= sizeof(cl->tls_ca))
        return NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file[0] != '\0' ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_free(cl->tls); /* connections hold their own references */
    cl->tls = ctx;
    strcpy(cl->tls_ca, ca_file);
    cl->tls_made = true;
    return ctx;
}

/* An SSL for host: SNI (for a name, not an address) and the certificate
 * checked against it. */
static SSL *tls_for(SSL_CTX *ctx, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL)
        return NULL;
    unsigned char addr[16];
    bool literal = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                     : SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* ---- exchanges ---- */

static void x_free(struct mp_h1xfer *x)
{
    if (x->resume_ev != NULL)
        event_free(x->resume_ev);
    if (x->connect_ev != NULL)
        event_free(x->connect_ev);
    free(x->pieces);
    x->cl->active--;
    free(x);
}

/* Ends x without a word to the caller: its connection closed. */
static void x_abandon(struct mp_h1xfer *x)
{
    struct h1conn *c = x->c;
    if (c != NULL) {
        c->x = NULL;
        conn_free(c);
    }
    x_free(x);
}

/* Ends x: its connection parked (keep) or closed, its memory freed, then
 * on_done. */
static void x_end(struct mp_h1xfer *x, enum mp_xfer_end end, bool keep)
{
    struct mp_h1_callbacks cb = x->cb;
    void *arg = x->arg;
    struct h1conn *c = x->c;
    x->c = NULL;
    if (c != NULL) {
        c->x = NULL;
        if (keep)
            conn_park(c);
        else
            conn_free(c);
    }
    x_free(x);
    cb.on_done(arg, end);
}

static int x_connect(struct mp_h1xfer *x);

/* The connection failed before the response began: once more on a new
 * connection when it was a reused one and nothing of the request left. */
static void x_fail_early(struct mp_h1xfer *x, enum mp_xfer_end end)
{
    struct h1conn *c = x->c;
    bool unsent = c != NULL && c->bev != NULL &&
                  evbuffer_get_length(bufferevent_get_output(c->bev)) == x->request_bytes;
    if (x->reused && !x->retried && unsent && x->state == X_WAIT_HEAD) {
        x->retried = true;
        x->reused = false;
        x->c = NULL;
        c->x = NULL;
        conn_free(c);
        if (x_connect(x) == MP_OK)
            return;
        end = MP_XFER_CONNECT;
    }
    x_end(x, end, false);
}

/* Body bytes from the input buffer to on_body, as far as they go. Returns
 * false when x ended. */
static bool x_read_body(struct mp_h1xfer *x)
{
    struct bufferevent *bev = x->c->bev;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!x->paused && !mp_http_body_done(&x->body) && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        size_t used = 0;
        x->busy++;
        int rc = mp_http_body_feed(&x->body, v.iov_base, v.iov_len, &used, x->cb.on_body, x->arg);
        x->busy--;
        if (x->cancelled) {
            x_abandon(x);
            return false;
        }
        evbuffer_drain(in, used);
        if (rc != MP_OK && rc != MP_AGAIN) {
            x_end(x, rc == MP_EINVAL ? MP_XFER_PROTOCOL : MP_XFER_OTHER, false);
            return false;
        }
    }
    if (!mp_http_body_done(&x->body)) {
        if (x->cb.on_read_end != NULL && !x->paused)
            x->cb.on_read_end(x->arg);
        return true;
    }
    bool keep = x->keep_alive && evbuffer_get_length(in) == 0 &&
                evbuffer_get_length(bufferevent_get_output(bev)) == 0 && x->c->o != NULL;
    x_end(x, MP_XFER_OK, keep);
    return false;
}

/* The response head, once whole: interim ones skipped, the final one to
 * on_head, then the body. */
static void x_read_head(struct mp_h1xfer *x)
{
    struct evbuffer *in = bufferevent_get_input(x->c->bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        size_t n = len < RESP_HEAD_MAX ? len : RESP_HEAD_MAX;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        struct mp_http_response_head h;
        int rc = p == NULL ? MP_ENOMEM
                           : mp_http_response_parse(p, n, x->rq.head_request, RESP_HEAD_MAX, &h);
        if (rc == MP_AGAIN && len < RESP_HEAD_MAX)
            return;
        if (rc != MP_OK) {
            x_end(x, MP_XFER_PROTOCOL, false);
            return;
        }
        if (h.status < 200 && h.status != 101) {
            evbuffer_drain(in, h.head_len); /* interim: 100 Continue, 103 Early Hints */
            continue;
        }
        x->keep_alive = h.keep_alive && h.status != 101;
        mp_http_body_init(&x->body, &h);
        x->state = X_BODY;
        x->busy++;
        bool ok = x->cb.on_head(x->arg, &h);
        x->busy--;
        if (x->cancelled) {
            x_abandon(x);
            return;
        }
        evbuffer_drain(in, h.head_len);
        if (!ok) {
            x_end(x, MP_XFER_PROTOCOL, false);
            return;
        }
        x_read_body(x);
        return;
    }
}

static void x_read(struct mp_h1xfer *x)
{
    if (x->paused)
        return;
    if (x->state == X_WAIT_HEAD)
        x_read_head(x);
    else
        x_read_body(x);
}

static void on_conn_read(struct bufferevent *bev, void *arg)
{
    struct h1conn *c = arg;
    (void)bev;
    if (c->x != NULL)
        x_read(c->x);
}

/* What a failed connection's error says, for a connection that never
 * carried a byte of response. */
static enum mp_xfer_end early_end(struct h1conn *c, short what, int err)
{
    if (bufferevent_socket_get_dns_error(c->bev) != 0)
        return MP_XFER_DNS;
    if ((what & BEV_EVENT_TIMEOUT) != 0)
        return MP_XFER_TIMEOUT;
    if (c->tls && bufferevent_get_openssl_error(c->bev) != 0)
        return MP_XFER_TLS;
    if (!c->connected && (what & BEV_EVENT_EOF) == 0)
        return c->tls && err == 0 ? MP_XFER_TLS : MP_XFER_CONNECT;
    return MP_XFER_RESET;
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
    struct h1conn *c = arg;
    struct mp_h1xfer *x = c->x;
    if ((what & BEV_EVENT_CONNECTED) != 0) {
        int one = 1;
        c->connected = true;
        if (!c->nodelay)
            (void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (x != NULL && x->connect_ev != NULL)
            event_del(x->connect_ev);
        return;
    }
    if (x == NULL)
        return;
    int err = EVUTIL_SOCKET_ERROR();
    if (x->state == X_BODY && (what & BEV_EVENT_EOF) != 0) {
        if (!x_read_body(x))
            return; /* the body was whole */
        x_end(x, mp_http_body_eof(&x->body) == MP_OK ? MP_XFER_OK : MP_XFER_RESET, false);
        return;
    }
    if (x->state == X_BODY) {
        x_end(x, MP_XFER_RESET, false);
        return;
    }
    x_fail_early(x, early_end(c, what, err));
}

/* Appends p[0..n) to bev's input, which the bufferevent keeps frozen at
 * its end outside its own reads. False when out of memory. */
static bool add_input(struct bufferevent *bev, const char *p, size_t n)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_unfreeze(in, 0);
    int rc = evbuffer_add(in, p, n);
    evbuffer_freeze(in, 0);
    return rc == 0;
}

/* The read event of a connection that reads on its own (own_read): what
 * the bufferevent's read does, less its FIONREAD ioctl before every read
 * (libevent sizes each read so): one read(2) into a buffer on the stack,
 * its bytes appended to the bufferevent's input, then the callback the
 * bufferevent would have called. */
static void on_raw_read(evutil_socket_t fd, short what, void *arg)
{
    struct h1conn *c = arg;
    char buf[RAW_READ_MAX];
    (void)what;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (c->x == NULL) {
        on_idle_read(c->bev, c);
        return;
    }
    if (n > 0 && add_input(c->bev, buf, (size_t)n)) {
        on_conn_read(c->bev, c);
        return;
    }
    on_conn_event(c->bev, (short)(BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR)),
                  c);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct mp_h1xfer *x = arg;
    (void)fd;
    (void)what;
    if (x->c != NULL && !x->c->connected)
        x_end(x, MP_XFER_TIMEOUT, false);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    x_read(arg);
}

/* The request into the connection's output from its byte skip on (what a
 * direct write sent): the head copied, the body pieces referenced. Sets
 * request_bytes to the whole request's. */
static int x_queue_request(struct mp_h1xfer *x, size_t skip)
{
    struct evbuffer *out = bufferevent_get_output(x->c->bev);
    size_t at = 0;
    for (size_t i = 0; i <= x->rq.nbody; i++) {
        const char *p = i == 0 ? x->rq.head : x->rq.body[i - 1].iov_base;
        size_t n = i == 0 ? x->rq.head_len : x->rq.body[i - 1].iov_len;
        size_t from = skip > at ? (skip - at < n ? skip - at : n) : 0;
        at += n;
        if (from == n)
            continue;
        int rc = i == 0 ? evbuffer_add(out, p + from, n - from)
                        : evbuffer_add_reference(out, p + from, n - from, NULL, NULL);
        if (rc != 0)
            return MP_ENOMEM;
    }
    x->request_bytes = at;
    return MP_OK;
}

/* Pieces one direct write takes at most. */
#define DIRECT_IOV_MAX 16

/* The whole request's bytes (head and body). */
static size_t x_request_len(const struct mp_h1xfer *x)
{
    size_t total = x->rq.head_len;
    for (size_t i = 0; i < x->rq.nbody; i++)
        total += x->rq.body[i].iov_len;
    return total;
}

/* Writes what the plain socket fd takes of the request now, head and body
 * in one sendmsg, without waiting: the bytes sent (0: none, the socket is
 * full or still connecting), or -1 with errno (the connection failed). */
static ssize_t send_direct(const struct mp_h1xfer *x, int fd)
{
    struct iovec iov[DIRECT_IOV_MAX];
    size_t n = 0;
    iov[n++] = (struct iovec){(void *)x->rq.head, x->rq.head_len};
    for (size_t i = 0; i < x->rq.nbody && n < DIRECT_IOV_MAX; i++)
        if (x->rq.body[i].iov_len > 0)
            iov[n++] = x->rq.body[i];
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
    ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return sent;
}

/* Sends the request on a reused connection: on a plain one straight to its
 * socket first, head and body in one sendmsg, so that a keep-alive request
 * costs no write event (no epoll_ctl, no extra wakeup); what the socket
 * does not take (all of it when it would block or failed: the write event
 * then reports the failure) waits in the output buffer for the write
 * event. A TLS connection writes through its bufferevent. */
static int x_send_request(struct mp_h1xfer *x)
{
    size_t total = x_request_len(x);
    ssize_t sent = x->c->tls ? 0 : send_direct(x, bufferevent_getfd(x->c->bev));
    if (sent < 0)
        sent = 0;
    if ((size_t)sent == total) {
        x->request_bytes = total;
        return MP_OK;
    }
    int rc = x_queue_request(x, (size_t)sent);
    if (rc == MP_OK && bufferevent_enable(x->c->bev, EV_WRITE) != 0)
        rc = MP_EIO;
    return rc;
}

static struct bufferevent *new_bev(struct mp_h1client *cl, const struct mp_h1_request *rq)
{
    if (!rq->https)
        return bufferevent_socket_new(cl->base, -1, BEV_OPT_CLOSE_ON_FREE);
    SSL_CTX *ctx = tls_context(cl, rq->ca_file);
    SSL *ssl = ctx != NULL ? tls_for(ctx, rq->host) : NULL;
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        cl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* host:port as a socket address when host is an IP literal: true with
 * *ss and *len set; false for a name. */
static bool literal_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return true;
    }
    return false;
}

/* Starts the connect of host:port: an address at once, a name through
 * evdns. MP_OK or MP_EIO. */
static int bev_connect(struct mp_h1client *cl, struct bufferevent *bev, const char *host,
                       uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (literal_addr(host, port, &ss, &len))
        return bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)len) == 0 ? MP_OK
                                                                                      : MP_EIO;
    if (cl->dns == NULL)
        cl->dns = evdns_base_new(cl->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (cl->dns == NULL)
        return MP_EIO;
    return bufferevent_socket_connect_hostname(bev, cl->dns, AF_UNSPEC, host, port) == 0 ? MP_OK
                                                                                         : MP_EIO;
}

static struct origin *origin_of(struct mp_h1client *cl, const struct mp_h1_request *rq)
{
    for (unsigned i = 0; i < cl->norigins; i++) {
        struct origin *o = &cl->origins[i];
        if (o->port == rq->port && o->https == rq->https && strcmp(o->host, rq->host) == 0)
            return o;
    }
    if (cl->norigins == ORIGINS_MAX || strlen(rq->host) >= HOST_MAX)
        return NULL; /* its connections are not pooled */
    struct origin *o = &cl->origins[cl->norigins++];
    strcpy(o->host, rq->host);
    o->port = rq->port;
    o->https = rq->https;
    return o;
}

/* The connect timeout of x, armed (its event made by the first connect
 * that waits: a reused connection, or one connected at once, needs none).
 * MP_OK or MP_ENOMEM. */
static int arm_connect_timeout(struct mp_h1xfer *x)
{
    if (x->connect_ev == NULL)
        x->connect_ev = evtimer_new(x->cl->base, on_connect_timeout, x);
    if (x->connect_ev == NULL)
        return MP_ENOMEM;
    struct timeval tv = {.tv_sec = x->rq.connect_timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(x->rq.connect_timeout_ms % 1000) * 1000};
    return event_add(x->connect_ev, &tv) == 0 ? MP_OK : MP_ENOMEM;
}

static void bev_setup(struct h1conn *c)
{
    bufferevent_set_max_single_write(c->bev, SINGLE_IO_MAX);
    bufferevent_set_max_single_read(c->bev, SINGLE_IO_MAX);
    bufferevent_setcb(c->bev, on_conn_read, NULL, on_conn_event, c);
}

/* x's connection (x->c, without a bufferevent yet) to an address, the
 * socket made here so that the request can be written at once: a connect to
 * the same host completes inside connect(2), and a request written then
 * leaves in the pass that asked for it, without waiting a pass for the
 * socket to report writable (nor the getsockopt and epoll_ctl that wait
 * costs); a burst of new streams reaches the upstream that much sooner.
 * When the connect is still under way (a remote upstream: the write finds
 * no room) the bufferevent waits for it as bufferevent_socket_connect()
 * does, with the request in its output. MP_OK; MP_NOTFOUND when this path
 * does not apply (TLS, a host name) or the connect failed at once (the
 * usual connect then reports why); MP_ENOMEM, MP_EIO. */
static int connect_direct(struct mp_h1xfer *x)
{
    struct h1conn *c = x->c;
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    if (x->rq.https || !literal_addr(x->rq.host, x->rq.port, &ss, &len))
        return MP_NOTFOUND;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return MP_NOTFOUND;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ssize_t sent = -1;
    if (connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS)
        sent = send_direct(x, fd);
    c->bev = sent >= 0 ? bufferevent_socket_new(x->cl->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (c->bev == NULL) {
        close(fd);
        return sent >= 0 ? MP_ENOMEM : MP_NOTFOUND;
    }
    c->nodelay = true;
    bev_setup(c);
    size_t total = x_request_len(x);
    if (sent > 0) { /* connected: it reads on its own from here on */
        c->connected = true;
        c->own_read = true;
        event_assign(&c->rd, x->cl->base, fd, EV_READ | EV_PERSIST, on_raw_read, c);
        if (event_add(&c->rd, NULL) != 0)
            return MP_EIO;
    }
    if ((size_t)sent == total) { /* the request went whole */
        x->request_bytes = total;
        return MP_OK;
    }
    if (x_queue_request(x, (size_t)sent) != MP_OK)
        return MP_ENOMEM;
    if (sent > 0) /* the socket full: the write event sends the rest */
        return bufferevent_enable(c->bev, EV_WRITE) == 0 ? MP_OK : MP_EIO;
    if (bufferevent_socket_connect(c->bev, NULL, 0) != 0 ||
        bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
        return MP_EIO;
    return arm_connect_timeout(x);
}

/* x on a new connection through its bufferevent: TLS, a host name to
 * resolve, or an address connect_direct() could not connect at once.
 * MP_OK or MP_EIO / MP_ENOMEM. */
static int connect_bev(struct mp_h1xfer *x)
{
    struct h1conn *c = x->c;
    c->bev = new_bev(x->cl, &x->rq);
    if (c->bev == NULL)
        return MP_EIO;
    bev_setup(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (x_queue_request(x, 0) != MP_OK ||
        bev_connect(x->cl, c->bev, x->rq.host, x->rq.port) != MP_OK)
        return MP_EIO;
    return arm_connect_timeout(x);
}

/* x on a new connection. MP_OK or MP_EIO / MP_ENOMEM (nothing called). */
static int x_connect(struct mp_h1xfer *x)
{
    struct mp_h1client *cl = x->cl;
    struct h1conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MP_ENOMEM;
    c->cl = cl;
    c->o = origin_of(cl, &x->rq);
    c->tls = x->rq.https;
    c->x = x;
    x->c = c;
    int rc = connect_direct(x);
    if (rc == MP_NOTFOUND)
        rc = connect_bev(x);
    if (rc != MP_OK) {
        x->c = NULL;
        conn_free(c);
        return rc == MP_ENOMEM ? MP_ENOMEM : MP_EIO;
    }
    return MP_OK;
}

int mp_h1_start(struct mp_h1client *cl, const struct mp_h1_request *rq,
                const struct mp_h1_callbacks *cb, void *arg, struct mp_h1xfer **out)
{
    struct mp_h1xfer *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return MP_ENOMEM;
    x->cl = cl;
    x->rq = *rq;
    x->cb = *cb;
    x->arg = arg;
    cl->active++;
    x->resume_ev = event_new(cl->base, -1, 0, on_resume, x);
    x->pieces = rq->nbody > 0 ? malloc(rq->nbody * sizeof(*x->pieces)) : NULL;
    if (x->pieces != NULL)
        memcpy(x->pieces, rq->body, rq->nbody * sizeof(*x->pieces));
    x->rq.body = x->pieces;
    if (x->resume_ev == NULL || (rq->nbody > 0 && x->pieces == NULL)) {
        x_free(x);
        return MP_ENOMEM;
    }
    struct origin *o = origin_of(cl, rq);
    struct h1conn *c = o != NULL ? o->idle : NULL;
    if (c != NULL) {
        idle_unlink(c);
        c->x = x;
        x->c = c;
        x->reused = true;
        bufferevent_setcb(c->bev, on_conn_read, NULL, on_conn_event, c);
        read_on(c);
        if (x_send_request(x) == MP_OK) {
            *out = x;
            return MP_OK;
        }
        x_abandon(x);
        return MP_ENOMEM;
    }
    int rc = x_connect(x);
    if (rc != MP_OK) {
        x_free(x);
        return rc;
    }
    *out = x;
    return MP_OK;
}

void mp_h1_pause(struct mp_h1xfer *x)
{
    x->paused = true;
    if (x->c != NULL)
        read_off(x->c);
}

void mp_h1_resume(struct mp_h1xfer *x)
{
    if (!x->paused)
        return;
    x->paused = false;
    if (x->c != NULL)
        read_on(x->c);
    event_active(x->resume_ev, 0, 0); /* what was read before the pause */
}

void mp_h1_cancel(struct mp_h1xfer *x)
{
    if (x->busy > 0) {
        x->cancelled = true;
        return;
    }
    x_abandon(x);
}

struct mp_h1client *mp_h1client_new(struct event_base *base)
{
    struct mp_h1client *cl = calloc(1, sizeof(*cl));
    if (cl != NULL)
        cl->base = base;
    return cl;
}

void mp_h1client_free(struct mp_h1client *cl)
{
    if (cl == NULL)
        return;
    for (unsigned i = 0; i < cl->norigins; i++) {
        while (cl->origins[i].idle != NULL) {
            struct h1conn *c = cl->origins[i].idle;
            idle_unlink(c);
            conn_free(c);
        }
    }
    if (cl->dns != NULL)
        evdns_base_free(cl->dns, 0);
    SSL_CTX_free(cl->tls);
    free(cl);
}

unsigned mp_h1client_active(const struct mp_h1client *cl)
{
    return cl->active;
}
