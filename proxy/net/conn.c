/* Client connections: the HTTP/1.1 server side of memproxy.
 *
 * States: READ (waiting for or reading a head), BODY (reading the body),
 * ACTIVE (a handler owns the request), CLOSING (sending the last response),
 * LINGER (write side shut, reading and discarding until the peer closes, so
 * an early error such as 413 reaches a client that is still sending instead
 * of being destroyed by a reset).
 *
 * The read event stays registered for the connection's whole life (no epoll
 * re-registration per request) and keeps reading while a request is active,
 * so a client that hangs up is noticed at once and its upstream transfer
 * cancelled. Writes are deferred to the end of the loop pass (the loop's
 * flush event) so a response head and the body bytes that arrive in the same
 * pass leave in one writev; the write event is registered only while the
 * socket is full. One timer serves every deadline of the current state. */
#include "net/conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "status.h"

#define LINGER_MS  2000
#define READ_SLACK 4096 /* room beyond the limits, so an overflow is seen as one */
/* A request up to this size (head and body) is copied out of the read
 * buffer when it is handed on (copy_small_request()). */
#define SMALL_REQUEST 4096

enum conn_state { ST_READ, ST_BODY, ST_ACTIVE, ST_CLOSING, ST_LINGER };

struct mp_conn {
    TAILQ_ENTRY(mp_conn) link;       /* loop->conns */
    TAILQ_ENTRY(mp_conn) dirty_link; /* loop->dirty while 'dirty' */
    TAILQ_ENTRY(mp_conn) wait_link;  /* loop->waiting while 'waiting' */
    struct mp_loop *loop;
    const struct mp_conn_kind *kind;
    int fd;
    enum conn_state state;
    bool dirty;
    bool waiting;     /* on loop->waiting: a data-plane connection in ST_READ */
    bool reading;     /* read_ev registered */
    bool writing;     /* write_ev registered */
    bool started;     /* the current request has sent its first byte */
    bool keep_alive;  /* of the current request */
    bool http10;      /* of the current request */
    bool close_after; /* draining: close after the current response */
    bool want_drain;  /* the handler paused; tell it when output drains */
    bool held;        /* mp_conn_hold(): no write, no read until hold_ev */
    struct event read_ev, write_ev, timer_ev, hold_ev;
    struct mp_conn_limits lim;
    struct evbuffer *out;
    void *req;
    mp_conn_abort_fn on_abort; /* aborts req when the client goes away */
    struct mp_buf in;          /* bytes read, not yet handed to a request */
    struct mp_buf req_buf;     /* the active request's bytes (head + body) */
    struct mp_buf chunk_body;  /* decoded body of a chunked request */
    const char *head_base;     /* in.data when head was parsed (re-parse if moved) */
    struct mp_http_chunked chunked;
    size_t chunk_in_off; /* next undecoded byte of in */
    size_t req_end;      /* bytes of in that belong to the current request */
    /* last: 4 KiB that a stream's events never touch, after the fields
     * every relayed event does (links, state, out) */
    struct mp_http_request_head head;
};

static void conn_free(struct mp_conn *c);
static void process_input(struct mp_conn *c);

/* Every state change goes through here: a data-plane connection waiting
 * for a head (idle keep-alive) or reading one is on loop->waiting, in the
 * order it began to wait, so that the one waiting longest is the list's
 * first (see mp_conn_displace_oldest()). */
static void set_state(struct mp_conn *c, enum conn_state st)
{
    if (c->waiting) {
        TAILQ_REMOVE(&c->loop->waiting, c, wait_link);
        c->waiting = false;
    }
    if (st == ST_READ && c->kind->data_plane) { /* a new wait: to the back */
        TAILQ_INSERT_TAIL(&c->loop->waiting, c, wait_link);
        c->waiting = true;
    }
    c->state = st;
}

static void arm_timer(struct mp_conn *c, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    event_add(&c->timer_ev, &tv);
}

static void keep_reading(struct mp_conn *c)
{
    if (!c->reading) {
        event_add(&c->read_ev, NULL);
        c->reading = true;
    }
}

static void mark_dirty(struct mp_conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    TAILQ_INSERT_TAIL(&c->loop->dirty, c, dirty_link);
    mp_loop_schedule_flush(c->loop);
}

/* The client is gone or its socket failed: abort the handler's request and
 * free the connection. */
static void conn_gone(struct mp_conn *c)
{
    void *req = c->req;
    c->req = NULL;
    if (req != NULL)
        c->on_abort(c, req);
    conn_free(c);
}

static void start_linger(struct mp_conn *c)
{
    set_state(c, ST_LINGER);
    shutdown(c->fd, SHUT_WR);
    arm_timer(c, LINGER_MS);
    keep_reading(c);
}

/* Writes pending output now. Returns false when the connection was freed. */
static bool flush_now(struct mp_conn *c)
{
    if (c->held)
        return true; /* on_hold() flushes */
    while (evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->writing) {
                event_add(&c->write_ev, NULL);
                c->writing = true;
            }
            arm_timer(c, c->lim.send_timeout_ms);
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        conn_gone(c);
        return false;
    }
    if (c->writing) {
        event_del(&c->write_ev);
        c->writing = false;
        if (c->state == ST_ACTIVE)
            event_del(&c->timer_ev);
    }
    if (c->state == ST_CLOSING) {
        start_linger(c);
        return true;
    }
    if (c->req != NULL && c->want_drain) {
        c->want_drain = false;
        c->kind->handler->on_drain(c, c->req);
    }
    return true;
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct mp_conn *c = arg;
    (void)fd;
    (void)what;
    flush_now(c);
}

/* Room to read into now, growing the input buffer within the limits. */
static size_t read_room(struct mp_conn *c)
{
    size_t limit = c->lim.max_header_bytes + c->lim.max_body_bytes + READ_SLACK;
    if (c->held)
        return 0; /* an answer waits: nothing the client sends is read meanwhile */
    if (c->state == ST_READ)
        limit = c->lim.max_header_bytes + READ_SLACK;
    if (c->in.len >= limit)
        return 0;
    if (c->in.len == c->in.cap) {
        size_t want = c->in.cap == 0 ? MP_BUF_STD : c->in.cap * 2;
        if (want > limit)
            want = limit;
        if (mp_buf_reserve(c->loop, &c->in, want) != MP_OK)
            return 0;
    }
    return c->in.cap - c->in.len;
}

static void linger_read(struct mp_conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = read(c->fd, sink, sizeof(sink));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_free(c);
        return;
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct mp_conn *c = arg;
    (void)what;
    if (c->state == ST_LINGER) {
        linger_read(c);
        return;
    }
    for (;;) {
        size_t room = read_room(c);
        if (room == 0) {
            /* full: stop reading until the request in progress completes */
            event_del(&c->read_ev);
            c->reading = false;
            break;
        }
        ssize_t n = read(fd, c->in.data + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            /* parse at once: a known Content-Length reserves the whole body
             * in one step instead of doubling the buffer as bytes arrive */
            if (c->state == ST_READ || c->state == ST_BODY)
                process_input(c);
            if ((size_t)n < room || c->state == ST_CLOSING || c->state == ST_LINGER)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* nothing waiting to be parsed: the buffer goes back to the
             * pool, so that a connection waiting for its first request
             * (or idle between two) holds none */
            if (c->in.len == 0)
                mp_buf_release(c->loop, &c->in);
            break;
        }
        conn_gone(c);
        return;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mp_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->held && (c->state == ST_ACTIVE || c->state == ST_CLOSING)) {
        arm_timer(c, c->lim.send_timeout_ms); /* the send timeout starts after the hold */
        return;
    }
    switch (c->state) {
    case ST_READ:
        if (!c->started) {
            conn_free(c); /* idle keep-alive connection */
            return;
        }
        /* fall through */
    case ST_BODY:
        c->kind->refuse(c, MP_CONN_REFUSE_CLIENT_TIMEOUT);
        return;
    case ST_ACTIVE:
        conn_gone(c); /* the client stopped reading */
        return;
    case ST_CLOSING:
    case ST_LINGER:
        conn_free(c);
        return;
    }
}

static void on_hold(evutil_socket_t fd, short what, void *arg)
{
    struct mp_conn *c = arg;
    (void)fd;
    (void)what;
    c->held = false;
    if (c->state == ST_CLOSING)
        arm_timer(c, c->lim.send_timeout_ms);
    else if (c->state != ST_LINGER)
        keep_reading(c);
    mark_dirty(c);
}

static void begin_wait(struct mp_conn *c)
{
    set_state(c, ST_READ);
    c->started = false;
    c->kind->limits(c->loop, &c->lim);
    arm_timer(c, c->lim.idle_timeout_ms);
}

/* A connection zeroed but for its head's header array (4 KiB of its 5):
 * only headers[0..num_headers) is ever written (mp_http_parse_request_head)
 * or read, so the array's bytes past a fresh connection's 0 are never
 * looked at. NULL when out of memory. */
static struct mp_conn *conn_alloc(void)
{
    struct mp_conn *c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    size_t arr = offsetof(struct mp_conn, head.headers);
    size_t after = offsetof(struct mp_conn, head.num_headers);
    memset(c, 0, arr);
    memset((char *)c + after, 0, sizeof(*c) - after);
    return c;
}

void mp_conn_new(struct mp_loop *loop, int fd, const struct mp_conn_kind *kind, bool reject)
{
    struct mp_conn *c = conn_alloc();
    if (c == NULL)
        goto fail;
    c->out = evbuffer_new();
    if (c->out == NULL)
        goto fail;
    c->fd = fd;
    c->loop = loop;
    c->kind = kind;
    event_assign(&c->read_ev, loop->base, fd, EV_READ | EV_PERSIST, on_read, c);
    event_assign(&c->write_ev, loop->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    evtimer_assign(&c->timer_ev, loop->base, on_timer, c);
    evtimer_assign(&c->hold_ev, loop->base, on_hold, c);
    TAILQ_INSERT_TAIL(&loop->conns, c, link);
    loop->nconns++;
    if (kind->data_plane)
        mp_metrics_conn_add(loop->metrics, 1);
    event_add(&c->read_ev, NULL);
    c->reading = true;
    begin_wait(c);
    if (reject)
        c->kind->refuse(c, MP_CONN_REFUSE_OVERLOADED);
    else
        on_read(fd, EV_READ, c); /* may free c */
    return;
fail:
    if (c != NULL)
        free(c);
    close(fd);
}

static void conn_free(struct mp_conn *c)
{
    struct mp_loop *loop = c->loop;
    event_del(&c->read_ev);
    event_del(&c->write_ev);
    event_del(&c->timer_ev);
    event_del(&c->hold_ev);
    if (c->dirty)
        TAILQ_REMOVE(&loop->dirty, c, dirty_link);
    if (c->waiting)
        TAILQ_REMOVE(&loop->waiting, c, wait_link);
    TAILQ_REMOVE(&loop->conns, c, link);
    loop->nconns--;
    if (c->kind->data_plane)
        mp_metrics_conn_add(loop->metrics, -1);
    close(c->fd);
    mp_buf_release(loop, &c->in);
    mp_buf_release(loop, &c->req_buf);
    mp_buf_release(loop, &c->chunk_body);
    evbuffer_free(c->out);
    free(c);
}

/* p, which points into from, moved to the same offset in to. */
static const char *moved(const char *p, const char *from, char *to)
{
    return to + (p - from);
}

/* Copies a small request (in[0..req_end)) to req_buf, a buffer of its own
 * size, with the head's pointers (and *body, when it is in the read
 * buffer) moved along; what follows it stays in in, and an empty read
 * buffer goes back to the loop's pool at once. A stream holds its request
 * for as long as it lasts: a burst of thousands would otherwise hold a
 * pooled buffer (MP_BUF_STD) each, grown fresh from the heap. False when
 * out of memory (nothing changed). */
static bool copy_small_request(struct mp_conn *c, const char **body)
{
    char *copy = malloc(c->req_end);
    if (copy == NULL)
        return false;
    const char *from = c->in.data;
    memcpy(copy, from, c->req_end);
    struct mp_http_request_head *h = &c->head;
    h->method = moved(h->method, from, copy);
    h->target = moved(h->target, from, copy);
    for (size_t i = 0; i < h->num_headers; i++) {
        h->headers[i].name = moved(h->headers[i].name, from, copy);
        h->headers[i].value = moved(h->headers[i].value, from, copy);
    }
    if (!h->chunked) /* a chunked body was decoded to chunk_body */
        *body = moved(*body, from, copy);
    c->head_base = NULL;
    c->req_buf = (struct mp_buf){copy, c->req_end, c->req_end};
    c->in.len -= c->req_end;
    memmove(c->in.data, c->in.data + c->req_end, c->in.len);
    if (c->in.len == 0)
        mp_buf_release(c->loop, &c->in);
    return true;
}

/* The request's bytes to req_buf, what follows them to in: a small one is
 * copied, a larger one keeps its buffer (the bytes after it are copied). */
static void take_request(struct mp_conn *c, const char **body)
{
    if (c->req_end <= SMALL_REQUEST && copy_small_request(c, body))
        return;
    c->req_buf = c->in;
    c->in = (struct mp_buf){0};
    size_t extra = c->req_buf.len - c->req_end;
    if (extra > 0 && mp_buf_reserve(c->loop, &c->in, extra) == MP_OK) {
        memcpy(c->in.data, c->req_buf.data + c->req_end, extra);
        c->in.len = extra;
    }
    c->req_buf.len = c->req_end;
}

/* Hands the complete request to the handler. */
static void dispatch(struct mp_conn *c, const char *body, size_t body_len)
{
    take_request(c, &body);
    set_state(c, ST_ACTIVE);
    event_del(&c->timer_ev);
    keep_reading(c);
    c->kind->handler->on_request(c, &c->head, body, body_len);
}

/* The head may point into a buffer that has since been reallocated. */
static void refresh_head(struct mp_conn *c)
{
    if (c->head_base != c->in.data) {
        mp_http_parse_request_head(c->in.data, c->in.len, c->lim.max_header_bytes, &c->head);
        c->head_base = c->in.data;
    }
}

static void read_chunked(struct mp_conn *c)
{
    size_t consumed = 0, produced = 0;
    size_t avail = c->in.len - c->chunk_in_off;
    size_t room = c->lim.max_body_bytes - c->chunk_body.len;
    size_t want = c->chunk_body.len + (avail < room ? avail : room);
    if (mp_buf_reserve(c->loop, &c->chunk_body, want > 0 ? want : 1) != MP_OK) {
        c->kind->refuse(c, MP_CONN_REFUSE_INTERNAL);
        return;
    }
    int rc = mp_http_chunked_decode(&c->chunked, c->in.data + c->chunk_in_off, avail, &consumed,
                                    c->chunk_body.data + c->chunk_body.len, room, &produced);
    c->chunk_in_off += consumed;
    c->chunk_body.len += produced;
    if (rc == MP_ETOOBIG) {
        c->kind->refuse(c, MP_CONN_REFUSE_BODY_TOO_LARGE);
    } else if (rc == MP_EINVAL) {
        c->kind->refuse(c, MP_CONN_REFUSE_BAD_REQUEST);
    } else if (rc == MP_OK) {
        c->req_end = c->chunk_in_off;
        refresh_head(c);
        dispatch(c, c->chunk_body.data, c->chunk_body.len);
    } else {
        /* drop decoded input, keeping the head in place */
        size_t head_len = c->head.head_len;
        memmove(c->in.data + head_len, c->in.data + c->chunk_in_off, c->in.len - c->chunk_in_off);
        c->in.len -= c->chunk_in_off - head_len;
        c->chunk_in_off = head_len;
        keep_reading(c);
    }
}

static void read_body(struct mp_conn *c)
{
    if (c->head.chunked) {
        read_chunked(c);
        return;
    }
    size_t total = c->head.head_len + (size_t)c->head.content_length;
    if (c->in.len < total) {
        if (mp_buf_reserve_exact(c->loop, &c->in, total) != MP_OK)
            c->kind->refuse(c, MP_CONN_REFUSE_INTERNAL);
        else
            keep_reading(c);
        return;
    }
    c->req_end = total;
    refresh_head(c);
    dispatch(c, c->in.data + c->head.head_len, (size_t)c->head.content_length);
}

static void send_continue(struct mp_conn *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    evbuffer_add(c->out, cont, sizeof(cont) - 1);
    mp_conn_flush(c);
}

static void read_head(struct mp_conn *c)
{
    int rc = mp_http_parse_request_head(c->in.data, c->in.len, c->lim.max_header_bytes, &c->head);
    if (rc == MP_AGAIN)
        return;
    if (rc == MP_ETOOBIG) {
        c->kind->refuse(c, MP_CONN_REFUSE_HEADERS_TOO_LARGE);
        return;
    }
    if (rc != MP_OK) {
        c->kind->refuse(c, MP_CONN_REFUSE_BAD_REQUEST);
        return;
    }
    c->head_base = c->in.data;
    set_state(c, ST_BODY); /* the head is known from here on (error log lines use it) */
    c->keep_alive = c->head.keep_alive;
    c->http10 = c->head.minor_version == 0;
    if (c->head.content_length > 0 && (uint64_t)c->head.content_length > c->lim.max_body_bytes) {
        c->kind->refuse(c, MP_CONN_REFUSE_BODY_TOO_LARGE);
        return;
    }
    if (c->head.content_length < 0 && !c->head.chunked)
        c->head.content_length = 0;
    if (c->head.chunked) {
        mp_http_chunked_init(&c->chunked);
        c->chunk_in_off = c->head.head_len;
    }
    if (c->kind->handler->on_head != NULL) {
        c->kind->handler->on_head(c, &c->head);
        if (c->state != ST_BODY)
            return; /* refused: the body is never read */
    }
    bool body_missing =
        c->head.chunked || c->in.len < c->head.head_len + (size_t)c->head.content_length;
    if (c->head.expect_continue && body_missing)
        send_continue(c);
}

static void process_input(struct mp_conn *c)
{
    if (c->state == ST_READ) {
        if (c->in.len == 0)
            return;
        if (!c->started) {
            c->started = true;
            arm_timer(c, c->lim.client_timeout_ms);
        }
        read_head(c);
    }
    if (c->state == ST_BODY)
        read_body(c);
}

void mp_conn_attach(struct mp_conn *c, void *req, mp_conn_abort_fn on_abort)
{
    c->req = req;
    c->on_abort = on_abort;
}

struct evbuffer *mp_conn_output(struct mp_conn *c)
{
    return c->out;
}

size_t mp_conn_pending(const struct mp_conn *c)
{
    return evbuffer_get_length(c->out);
}

void mp_conn_want_drain(struct mp_conn *c)
{
    c->want_drain = true;
}

void mp_conn_flush(struct mp_conn *c)
{
    mark_dirty(c);
}

void mp_conn_write_now(struct mp_conn *c)
{
    /* waiting for the socket already (write_ev armed), or a state whose
       end flush_now() handles: the pass's flush writes it */
    while (!c->writing && c->state == ST_ACTIVE && evbuffer_get_length(c->out) > 0) {
        int n = evbuffer_write(c->out, c->fd);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break; /* full or failed: flush_now() arms write_ev or ends the connection */
    }
    if (evbuffer_get_length(c->out) > 0 || c->want_drain || c->state != ST_ACTIVE)
        mark_dirty(c);
}

bool mp_conn_wants_close(const struct mp_conn *c)
{
    return !c->keep_alive || c->close_after || c->loop->draining;
}

bool mp_conn_is_http10(const struct mp_conn *c)
{
    return c->http10;
}

bool mp_conn_is_data_plane(const struct mp_conn *c)
{
    return c->kind->data_plane;
}

struct mp_loop *mp_conn_loop(const struct mp_conn *c)
{
    return c->loop;
}

const struct mp_http_request_head *mp_conn_head(const struct mp_conn *c)
{
    return c->state == ST_ACTIVE || c->state == ST_BODY ? &c->head : NULL;
}

void mp_conn_finish(struct mp_conn *c, enum mp_conn_end end)
{
    c->req = NULL;
    c->want_drain = false;
    mp_buf_release(c->loop, &c->req_buf);
    mp_buf_release(c->loop, &c->chunk_body);
    if (end == MP_CONN_RESET || (end == MP_CONN_CUT && evbuffer_get_length(c->out) == 0)) {
        if (end == MP_CONN_RESET) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* close sends RST */
        }
        conn_free(c);
        return;
    }
    /* CUT with output pending: what was relayed still goes out, then the
     * close (the client sees the framing unfinished) */
    if (end != MP_CONN_KEEP || mp_conn_wants_close(c)) {
        set_state(c, ST_CLOSING);
        arm_timer(c, c->lim.send_timeout_ms);
    } else {
        begin_wait(c);
    }
    mark_dirty(c);
}

void mp_conn_respond(struct mp_conn *c, int status, const char *reason, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len,
                     enum mp_conn_end end)
{
    bool closing = end != MP_CONN_KEEP || mp_conn_wants_close(c);
    evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\n", status, reason);
    if (status != 204 && status != 304)
        evbuffer_add_printf(c->out, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                            content_type != NULL ? content_type : "application/octet-stream",
                            body_len);
    evbuffer_add_printf(c->out, "%s%s\r\n", extra_headers != NULL ? extra_headers : "",
                        closing     ? "Connection: close\r\n"
                        : c->http10 ? "Connection: keep-alive\r\n"
                                    : "");
    const struct mp_http_request_head *head = mp_conn_head(c);
    bool head_only = head != NULL && head->method_len == 4 && memcmp(head->method, "HEAD", 4) == 0;
    if (!head_only) /* RFC 9110 9.3.2: the same head, no content */
        evbuffer_add(c->out, body, body_len);
    mp_conn_finish(c, closing ? MP_CONN_CLOSE : MP_CONN_KEEP);
}

void mp_conn_hold(struct mp_conn *c, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    c->held = true;
    event_add(&c->hold_ev, &tv);
}

void mp_conn_peer(const struct mp_conn *c, unsigned char out[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(out, 0, 16);
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET6) {
        memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    } else if (ss.ss_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    }
}

unsigned mp_conn_count_kind(const struct mp_loop *loop, const struct mp_conn_kind *kind)
{
    unsigned n = 0;
    const struct mp_conn *c;
    TAILQ_FOREACH(c, &loop->conns, link)
    {
        if (c->kind == kind)
            n++;
    }
    return n;
}

void mp_conn_drain_all(struct mp_loop *loop)
{
    struct mp_conn *c, *next;
    for (c = TAILQ_FIRST(&loop->conns); c != NULL; c = next) {
        next = TAILQ_NEXT(c, link);
        if (c->state == ST_READ && !c->started)
            conn_free(c);
        else
            c->close_after = true;
    }
}

bool mp_conn_displace_oldest(struct mp_loop *loop)
{
    struct mp_conn *c = TAILQ_FIRST(&loop->waiting);
    if (c == NULL)
        return false;
    mp_metrics_client_error(loop->shard, MP_CLERR_DISPLACED);
    conn_free(c); /* it has no request attached: it is still waiting for one */
    return true;
}

void mp_conn_close_all(struct mp_loop *loop)
{
    while (!TAILQ_EMPTY(&loop->conns))
        conn_gone(TAILQ_FIRST(&loop->conns));
}

void mp_conn_run_dirty(struct mp_loop *loop)
{
    while (!TAILQ_EMPTY(&loop->dirty)) {
        struct mp_conn *c = TAILQ_FIRST(&loop->dirty);
        TAILQ_REMOVE(&loop->dirty, c, dirty_link);
        c->dirty = false;
        if (!flush_now(c))
            continue;
        if (c->state == ST_READ && c->in.len > 0)
            process_input(c);
    }
}
