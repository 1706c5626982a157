/* The per-request state machine of the data plane.
 *
 *   on_request ── refuse (400/404) ───────────────────────────────┐
 *       │ build URL + header list, start the curl transfer          │
 *       ▼                                                           │
 *   WAITING ── curl header callbacks build the response head        │
 *       │ head complete: head appended to the client's output       │
 *       ▼                                                           │
 *   RELAYING ── body bytes appended as they come (SSE: whole events)│
 *       │ done / failed / idle timeout / client gone                │
 *       ▼                                                           │
 *   COMMITTING (durable ack: a recorded turn's reply holds back its │
 *       │ end until the memory worker has committed the turn)       │
 *       ▼                                                           ▼
 *   request_free(): the one place a request is released.
 *
 * Nothing here parses or re-serializes bodies: the native client
 * (net/h1client.h, the default) sends the client's bytes around the memory
 * by reference, curl reads the same pieces through its read callback (so
 * no request body is ever copied whole), and the
 * upstream's bytes are appended to the client's output as is. The native
 * head, or curl's header lines, are built in one buffer reserved up front
 * (curl's linked through curl_slist nodes allocated once for the request),
 * so a request allocates nothing per header. When the client reads slowly,
 * the upstream is paused above the connection's high watermark (curl's
 * transfer, or the native read) and resumed when its output drains.
 *
 * Durable acknowledgement ([memory] durable_ack): when the turn will be
 * recorded, the reply's end is held back until the turn is committed, so a
 * client that received a whole reply knows its turn survives a crash. What
 * is held: the last byte of a Content-Length (or close-delimited) body; a
 * stream's [DONE] event (and anything after it); the final chunk of a
 * chunked answer. Everything else flows as it arrives. */
#include "plane/request.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "wire/clienttask.h"
#include "wire/convid.h"
#include "http/http_lex.h"
#include "http/http_resp.h"
#include "memory/memworker.h"
#include "memory/sidetab.h"
#include "net/access.h"
#include "net/h1client.h"
#include "plane/memapi.h"
#include "plane/mcp.h"
#include "metrics.h"
#include "plane/convlook.h"
#include "plane/reqmem.h"
#include "plane/requsage.h"
#include "net/respond.h"
#include "wire/route.h"
#include "wire/sidereq.h"
#include "wire/splice.h"
#include "http/sse.h"
#include "decimal.h"
#include "hex.h"
#include "status.h"
#include "net/upstream.h"
#include "user_id.h"
#include "memory/userkey.h"

#define RESP_HEAD_MAX (64 * 1024) /* upstream response head cap */
/* One SSE event's cap: an image generation's partial or final image comes
 * whole in one event (base64 of a PNG of a few MB, and again inside
 * response.completed), so an event may be as large as an image a body may
 * carry; the pending bytes grow only as far as the largest event. */
#define SSE_EVENT_MAX   (16 << 20)
#define UPSTREAM_ID_MAX 128

struct mp_request {
    struct mp_loop *loop;
    struct mp_conn *conn;                    /* NULL once the client is gone */
    const struct mp_http_request_head *head; /* the connection's, valid while attached */
    CURL *easy;                              /* [upstream] client = curl */
    bool in_multi;
    struct mp_h1xfer *h1; /* client = native: the exchange in progress */
    const char *body;     /* the client's, borrowed from the connection */
    size_t body_len;
    size_t nsend;
    size_t send_pos;          /* bytes of send[] curl has read */
    struct mp_requsage usage; /* the upstream's token usage, for the metrics */
    struct curl_slist *nodes; /* curl's header list: MP_HTTP_MAX_HEADERS + 8 of them */
    size_t nnodes;
    struct mp_buf text;      /* URL, method, then header lines, NUL-terminated */
    struct mp_buf resp_head; /* response head under construction */
    struct mp_buf sse_pending;
    struct mp_sse sse;
    struct event idle_ev;
    double t_start, t_upstream, last_activity;
    int status;
    bool interim, head_done, no_body, has_length, is_sse, saw_accel;
    bool chunked_out, close_delimited, done_relayed, paused;
    bool hold;          /* durable ack: the end waits for the turn's commit */
    bool held_byte_set; /* a non-SSE body's last byte so far is held */
    char held_byte;
    struct mp_buf held_tail; /* SSE: the [DONE] event and what follows */
    int64_t content_length;  /* of the upstream answer; -1 when absent */
    uint64_t body_in;        /* body bytes received from the upstream */
    uint64_t bytes_out;
    size_t path_len;
    char request_id[MP_REQUEST_ID_LEN + 1];
    char upstream_id[UPSTREAM_ID_MAX];
    bool has_user;
    bool anthropic; /* the route goes to [anthropic] (its URL, x-api-key, error shape) */
    /* last: the large parts a relayed event touches at most at their start
       (request_new zeroes neither whole) */
    struct mp_reqmem mem;
    struct iovec send[MP_SPLICE_PIECES_MAX]; /* client = curl: the body it reads, in order:
                                                send[0..nsend) */
};

void mp_request_limits(const struct mp_loop *loop, struct mp_conn_limits *out)
{
    const struct mp_config *cfg = loop->cfg;
    out->max_header_bytes = cfg->server.max_header_bytes;
    out->max_body_bytes = cfg->server.max_body_bytes;
    out->client_timeout_ms = cfg->server.client_timeout_ms;
    /* keep-alive idle: client SDK pools expire idle connections after ~5 s,
     * so closing after client_timeout_ms (10 s) rarely races a new request */
    out->idle_timeout_ms = cfg->server.client_timeout_ms;
    out->send_timeout_ms = cfg->upstream.idle_timeout_ms;
}

static void fill_access(struct mp_request *r, struct mp_access *a)
{
    memset(a, 0, sizeof(*a));
    a->request_id = r->request_id;
    a->upstream_request_id = r->upstream_id[0] != '\0' ? r->upstream_id : NULL;
    if (r->head != NULL) {
        a->method = r->head->method;
        a->method_len = r->head->method_len;
        a->path = r->head->target;
        a->path_len = r->path_len;
    }
    a->status = r->status;
    a->stream = r->is_sse;
    a->duration_s = mp_access_now() - r->t_start;
    a->upstream_s = r->t_upstream > 0 ? mp_access_now() - r->t_upstream : -1;
    a->bytes_in = r->body_len;
    a->bytes_out = r->bytes_out;
    a->user = r->has_user ? r->mem.user : NULL;
    a->user_len = r->has_user ? r->mem.user_len : 0;
}

/* The one place a request is released, whatever ended it. */
static void request_free(struct mp_request *r)
{
    struct mp_loop *loop = r->loop;
    if (r->easy != NULL) {
        if (r->in_multi)
            mp_upstream_cancel(loop->upstream, r->easy);
        mp_upstream_easy_put(loop->upstream, r->easy);
    }
    if (r->h1 != NULL)
        mp_h1_cancel(r->h1);
    event_del(&r->idle_ev);
    mp_reqmem_cleanup(&r->mem, loop);
    mp_requsage_cleanup(&r->usage, loop);
    free(r->nodes);
    mp_buf_release(loop, &r->text);
    mp_buf_release(loop, &r->resp_head);
    mp_buf_release(loop, &r->sse_pending);
    mp_buf_release(loop, &r->held_tail);
    free(r);
}

/* Ends a request whose response is complete or cut. */
static void request_end(struct mp_request *r, enum mp_conn_end end, const char *error)
{
    struct mp_access a;
    fill_access(r, &a);
    a.error = error;
    mp_access_record(r->loop, &a);
    if (r->close_delimited) /* a close is its end: a cut must be a reset */
        end = end == MP_CONN_CUT ? MP_CONN_RESET : MP_CONN_CLOSE;
    mp_conn_finish(r->conn, end);
    request_free(r);
}

/* ---- building the upstream request ---- */

static char *text_put(struct mp_request *r, const char *a, size_t alen, const char *b, size_t blen)
{
    char *start = r->text.data + r->text.len;
    memcpy(start, a, alen);
    memcpy(start + alen, b, blen);
    start[alen + blen] = '\0';
    r->text.len += alen + blen + 1;
    return start;
}

static void add_header_line(struct mp_request *r, const char *line)
{
    struct curl_slist *node = &r->nodes[r->nnodes];
    node->data = (char *)line;
    node->next = NULL;
    if (r->nnodes > 0)
        r->nodes[r->nnodes - 1].next = node;
    r->nnodes++;
}

/* Appends "Name: value" (or "Name;" for an empty value, curl's way to send
 * an empty header) to the text buffer and the header list. */
static void add_header(struct mp_request *r, const char *name, size_t nlen, const char *value,
                       size_t vlen)
{
    char *line = r->text.data + r->text.len;
    memcpy(line, name, nlen);
    if (vlen == 0) {
        line[nlen] = ';';
        line[nlen + 1] = '\0';
        r->text.len += nlen + 2;
    } else {
        memcpy(line + nlen, ": ", 2);
        memcpy(line + nlen + 2, value, vlen);
        line[nlen + 2 + vlen] = '\0';
        r->text.len += nlen + 3 + vlen;
    }
    add_header_line(r, line);
}

/* Whether a field's name is name (a lower-case literal), in any case. */
static bool field_is(const char *field, size_t len, const char *name)
{
    return len == strlen(name) && mp_http_lex_ieq(field, name, len);
}

static bool name_is(const struct mp_http_header *h, const char *name)
{
    return field_is(h->name, h->name_len, name);
}

/* Whether a header is one of memproxy's own: the user id
 * ([memory] user_header), X-Memory, X-User-Signature, X-Memory-Task. They
 * name a user and may let their holder act as that user here: a
 * provider's logs are no place for them. */
static bool is_memory_header(const struct mp_config *cfg, const struct mp_http_header *h)
{
    const char *uh = cfg->memory.user_header;
    return name_is(h, "x-memory") || name_is(h, "x-user-signature") ||
           name_is(h, "x-memory-task") || name_is(h, "x-memory-explain") ||
           (h->name_len == strlen(uh) && mp_http_lex_ieq(h->name, uh, h->name_len));
}

/* Whether any Connection line of the request lists h's name: such a
 * field is hop-by-hop too. lines: whether the request has a Connection
 * line at all (found once for all its fields, not once a field). */
static bool connection_lists(const struct mp_request *r, bool lines, const struct mp_http_header *h)
{
    if (!lines)
        return false;
    struct mp_http_values it;
    const char *v;
    size_t n;
    mp_http_values_init(&it, r->head, "connection", 10, true);
    while (mp_http_values_next(&it, &v, &n))
        if (n == h->name_len && mp_http_lex_ieq(v, h->name, n))
            return true;
    return false;
}

/* Whether a client header goes upstream: hop-by-hop fields, Host,
 * Content-Length and Expect are the client's (curl's, or the native head's)
 * to write; Authorization is replaced when [upstream] api_key is set;
 * memproxy's own headers stay home unless [upstream]
 * forward_memory_headers; Accept-Encoding is dropped when the reply will
 * be recorded (a compressed reply could not be read). */
static bool forwards(const struct mp_request *r, const struct mp_config *cfg, bool lines,
                     const struct mp_http_header *h)
{
    if (mp_http_is_hop_by_hop(h->name, h->name_len) || name_is(h, "host") ||
        name_is(h, "content-length") || name_is(h, "expect"))
        return false;
    if (!cfg->upstream.forward_memory_headers && is_memory_header(cfg, h))
        return false;
    if (connection_lists(r, lines, h))
        return false;
    if (!r->anthropic && cfg->upstream.api_key[0] != '\0' && name_is(h, "authorization"))
        return false;
    if (r->anthropic && cfg->anthropic.api_key[0] != '\0' && name_is(h, "x-api-key"))
        return false;
    return !(r->mem.writes && name_is(h, "accept-encoding"));
}

/* Copies the client's headers for curl (forwards()). Accept and
 * Content-Type are suppressed when absent so curl adds no defaults. */
static void build_headers(struct mp_request *r, const struct mp_config *cfg)
{
    const struct mp_http_request_head *head = r->head;
    bool has_accept = false, has_ctype = false;
    bool lines = mp_http_find_header(head, "connection", 10) != NULL;
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct mp_http_header *h = &head->headers[i];
        if (!forwards(r, cfg, lines, h))
            continue;
        has_accept = has_accept || name_is(h, "accept");
        has_ctype = has_ctype || name_is(h, "content-type");
        add_header(r, h->name, h->name_len, h->value, h->value_len);
    }
    if (!r->anthropic && cfg->upstream.api_key[0] != '\0')
        add_header_line(r, text_put(r, "Authorization: Bearer ", 22, cfg->upstream.api_key,
                                    strlen(cfg->upstream.api_key)));
    if (r->anthropic && cfg->anthropic.api_key[0] != '\0')
        add_header_line(r, text_put(r, "x-api-key: ", 11, cfg->anthropic.api_key,
                                    strlen(cfg->anthropic.api_key)));
    add_header_line(r, text_put(r, "Expect:", 7, "", 0));
    if (!has_accept)
        add_header_line(r, text_put(r, "Accept:", 7, "", 0));
    if (!has_ctype)
        add_header_line(r, text_put(r, "Content-Type:", 13, "", 0));
}

static bool method_is(const struct mp_http_request_head *head, const char *m)
{
    size_t n = strlen(m);
    return head->method_len == n && memcmp(head->method, m, n) == 0;
}

/* curl reads the body from r->send[] (the client's bytes around the
 * memory, as the native client sends them) rather than from one flat copy:
 * a request holds its body once, whatever its images. */
static size_t on_upstream_read(char *buf, size_t size, size_t n, void *ud)
{
    struct mp_request *r = ud;
    size_t room = size * n, done = 0, skip = r->send_pos;
    for (size_t i = 0; i < r->nsend && done < room; i++) {
        const struct iovec *v = &r->send[i];
        if (skip >= v->iov_len) {
            skip -= v->iov_len;
            continue;
        }
        size_t k = v->iov_len - skip < room - done ? v->iov_len - skip : room - done;
        memcpy(buf + done, (const char *)v->iov_base + skip, k);
        done += k;
        skip = 0;
    }
    r->send_pos += done;
    return done;
}

/* curl rewinds to resend the body on a reused connection that closed. */
static int on_upstream_seek(void *ud, curl_off_t offset, int origin)
{
    struct mp_request *r = ud;
    size_t total = 0;
    for (size_t i = 0; i < r->nsend; i++)
        total += r->send[i].iov_len;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > total)
        return CURL_SEEKFUNC_CANTSEEK;
    r->send_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Returns MP_OK, or MP_ENOMEM when the body's pieces could not be made. */
static int set_method(struct mp_request *r, const char *body)
{
    const struct mp_http_request_head *head = r->head;
    CURL *e = r->easy;
    mp_curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    mp_curl.easy_setopt(e, CURLOPT_NOBODY, 0L);
    if (method_is(head, "HEAD")) {
        mp_curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
        r->no_body = true;
        return MP_OK;
    }
    if (method_is(head, "GET") && r->body_len == 0) {
        mp_curl.easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return MP_OK;
    }
    if (!method_is(head, "POST")) {
        char *m = text_put(r, head->method, head->method_len, "", 0);
        mp_curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
    if (r->body_len == 0 && !method_is(head, "POST") && !method_is(head, "PUT") &&
        !method_is(head, "PATCH")) {
        mp_curl.easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return MP_OK;
    }
    mp_curl.easy_setopt(e, CURLOPT_POST, 1L);
    if (mp_reqmem_body_iov(&r->mem, body, r->body_len, r->send, MP_SPLICE_PIECES_MAX, &r->nsend) !=
        MP_OK)
        return MP_ENOMEM;
    size_t send_len = 0;
    for (size_t i = 0; i < r->nsend; i++)
        send_len += r->send[i].iov_len;
    r->send_pos = 0;
    mp_curl.easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
    mp_curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)send_len);
    mp_curl.easy_setopt(e, CURLOPT_READFUNCTION, on_upstream_read);
    mp_curl.easy_setopt(e, CURLOPT_READDATA, r);
    mp_curl.easy_setopt(e, CURLOPT_SEEKFUNCTION, on_upstream_seek);
    mp_curl.easy_setopt(e, CURLOPT_SEEKDATA, r);
    return MP_OK;
}

static size_t on_upstream_header(char *buf, size_t size, size_t n, void *ud);
static size_t on_upstream_body(char *data, size_t size, size_t n, void *ud);
static void on_idle_timer(evutil_socket_t fd, short what, void *arg);

static void arm_idle(struct mp_request *r, double seconds)
{
    struct timeval tv = {.tv_sec = (time_t)seconds,
                         .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    event_add(&r->idle_ev, &tv);
}

/* ---- the native client's request ---- */

static void text_add(struct mp_request *r, const char *s, size_t n)
{
    memcpy(r->text.data + r->text.len, s, n);
    r->text.len += n;
}

static void text_line(struct mp_request *r, const char *name, const char *v1, size_t n1,
                      const char *v2, size_t n2)
{
    text_add(r, name, strlen(name));
    text_add(r, ": ", 2);
    text_add(r, v1, n1);
    text_add(r, v2, n2);
    text_add(r, "\r\n", 2);
}

/* The request line and fields of the native client's request, in r->text
 * (reserved by the caller): the target under the base URL's path, Host, the
 * forwarded fields (forwards()), the configured key, and Content-Length when
 * a body goes. */
static void build_native_head(struct mp_request *r, const struct mp_config *cfg,
                              const struct mp_url *base, size_t skip, size_t send_len,
                              bool has_body)
{
    const struct mp_http_request_head *head = r->head;
    char num[32];
    text_add(r, head->method, head->method_len);
    text_add(r, " ", 1);
    text_add(r, base->path, strlen(base->path));
    text_add(r, head->target + skip, head->target_len - skip);
    text_add(r, " HTTP/1.1\r\nHost: ", 17);
    bool v6 = strchr(base->host, ':') != NULL;
    text_add(r, "[", v6 ? 1 : 0);
    text_add(r, base->host, strlen(base->host));
    text_add(r, "]", v6 ? 1 : 0);
    if (base->port != (base->https ? 443 : 80)) {
        text_add(r, ":", 1);
        text_add(r, num, mp_decimal_u64(base->port, num));
    }
    text_add(r, "\r\n", 2);
    bool lines = mp_http_find_header(head, "connection", 10) != NULL;
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct mp_http_header *h = &head->headers[i];
        if (!forwards(r, cfg, lines, h))
            continue;
        text_add(r, h->name, h->name_len);
        text_add(r, ": ", 2);
        text_add(r, h->value, h->value_len);
        text_add(r, "\r\n", 2);
    }
    if (!r->anthropic && cfg->upstream.api_key[0] != '\0')
        text_line(r, "Authorization", "Bearer ", 7, cfg->upstream.api_key,
                  strlen(cfg->upstream.api_key));
    if (r->anthropic && cfg->anthropic.api_key[0] != '\0')
        text_line(r, "x-api-key", cfg->anthropic.api_key, strlen(cfg->anthropic.api_key), "", 0);
    if (has_body) {
        text_line(r, "Content-Length", num, mp_decimal_u64(send_len, num), "", 0);
    }
    text_add(r, "\r\n", 2);
}

static bool on_h1_head(void *arg, const struct mp_http_response_head *h);
static int on_h1_body(void *arg, const char *p, size_t n);
static void on_h1_read_end(void *arg);
static void on_h1_done(void *arg, enum mp_xfer_end end);

static const struct mp_h1_callbacks h1_callbacks = {
    .on_head = on_h1_head,
    .on_body = on_h1_body,
    .on_read_end = on_h1_read_end,
    .on_done = on_h1_done,
};

/* The exchange on the native client ([upstream] client = native). */
static int start_native(struct mp_request *r, const char *body, const struct mp_url *base,
                        size_t skip)
{
    const struct mp_config *cfg = r->loop->cfg;
    const struct mp_http_request_head *head = r->head;
    bool head_request = method_is(head, "HEAD");
    bool has_body = !head_request && (r->body_len > 0 || method_is(head, "POST") ||
                                      method_is(head, "PUT") || method_is(head, "PATCH"));
    /* the body as the client's bytes around the memory: nothing copied */
    struct iovec pieces[MP_SPLICE_PIECES_MAX];
    size_t npieces = 0, send_len = 0;
    if (has_body && mp_reqmem_body_iov(&r->mem, body, r->body_len, pieces, MP_SPLICE_PIECES_MAX,
                                       &npieces) != MP_OK)
        return MP_ENOMEM;
    for (size_t i = 0; i < npieces; i++)
        send_len += pieces[i].iov_len;
    size_t need =
        2 * head->head_len + strlen(base->path) + strlen(base->host) + MP_CONFIG_SECRET_MAX + 256;
    if (mp_buf_reserve(r->loop, &r->text, need) != MP_OK)
        return MP_ENOMEM;
    r->no_body = head_request;
    build_native_head(r, cfg, base, skip, send_len, has_body);
    struct mp_h1_request rq = {.host = base->host,
                               .port = base->port,
                               .https = base->https,
                               .ca_file = cfg->upstream.ca_file,
                               .head = r->text.data,
                               .head_len = r->text.len,
                               .body = pieces,
                               .nbody = npieces,
                               .head_request = head_request,
                               .connect_timeout_ms = cfg->upstream.connect_timeout_ms};
    return mp_h1_start(r->loop->h1, &rq, &h1_callbacks, r, &r->h1) == MP_OK ? MP_OK : MP_EUPSTREAM;
}

/* Sets the transfer up and starts it. Returns MP_OK or a status. */
static int start_upstream(struct mp_request *r, const char *body)
{
    const struct mp_config *cfg = r->loop->cfg;
    const struct mp_http_request_head *head = r->head;
    /* OpenAI's base URL ends with /v1 (the target's is dropped); Anthropic's
     * is the host: the whole target is appended */
    const char *base = r->anthropic ? cfg->anthropic.base_url.text : cfg->upstream.base_url.text;
    size_t skip = r->anthropic ? 0 : 3;
    if (cfg->upstream.client == MP_UPSTREAM_NATIVE) {
        int rc = start_native(
            r, body, r->anthropic ? &cfg->anthropic.base_url : &cfg->upstream.base_url, skip);
        if (rc != MP_OK)
            return rc;
        r->t_upstream = mp_access_now();
        r->last_activity = r->t_upstream;
        arm_idle(r, cfg->upstream.idle_timeout_ms / 1000.0);
        return MP_OK;
    }
    /* every header line for curl is at most its client line + 1 byte */
    size_t need = 2 * head->head_len + strlen(base) + MP_CONFIG_SECRET_MAX + 256;
    if (mp_buf_reserve(r->loop, &r->text, need) != MP_OK)
        return MP_ENOMEM;
    r->nodes = malloc((MP_HTTP_MAX_HEADERS + 8) * sizeof(*r->nodes));
    if (r->nodes == NULL)
        return MP_ENOMEM;
    r->easy = mp_upstream_easy_get(r->loop->upstream, cfg->upstream.ca_file);
    if (r->easy == NULL)
        return MP_ENOMEM;
    char *url = text_put(r, base, strlen(base), head->target + skip, head->target_len - skip);
    build_headers(r, cfg);
    CURL *e = r->easy;
    mp_curl.easy_setopt(e, CURLOPT_URL, url);
    mp_curl.easy_setopt(e, CURLOPT_HTTPHEADER, &r->nodes[0]);
    mp_curl.easy_setopt(e, CURLOPT_PRIVATE, r);
    mp_curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_upstream_header);
    mp_curl.easy_setopt(e, CURLOPT_HEADERDATA, r);
    mp_curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_upstream_body);
    mp_curl.easy_setopt(e, CURLOPT_WRITEDATA, r);
    mp_curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->upstream.connect_timeout_ms);
    if (set_method(r, body) != MP_OK)
        return MP_ENOMEM;
    if (mp_upstream_start(r->loop->upstream, e) != MP_OK)
        return MP_EUPSTREAM;
    r->in_multi = true;
    r->t_upstream = mp_access_now();
    r->last_activity = r->t_upstream;
    arm_idle(r, cfg->upstream.idle_timeout_ms / 1000.0);
    return MP_OK;
}

/* ---- relaying the response ---- */

/* An event up to this size goes out as one chunk assembled in place, its
 * size line and CRLF around it, in one append (the usual token event). */
#define RELAY_SMALL 1024

static void relay(struct mp_request *r, const char *data, size_t len)
{
    struct evbuffer *out = mp_conn_output(r->conn);
    if (len == 0)
        return;
    if (r->chunked_out) {
        char chunk[16 + 2 + RELAY_SMALL + 2];
        size_t n = mp_hex_size(len, chunk);
        chunk[n++] = '\r';
        chunk[n++] = '\n';
        if (len <= RELAY_SMALL) {
            memcpy(chunk + n, data, len);
            memcpy(chunk + n + len, "\r\n", 2);
            evbuffer_add(out, chunk, n + len + 2);
        } else {
            evbuffer_add(out, chunk, n);
            evbuffer_add(out, data, len);
            evbuffer_add(out, "\r\n", 2);
        }
    } else {
        evbuffer_add(out, data, len);
    }
    r->bytes_out += len;
    mp_conn_flush(r->conn);
}

/* len more bytes of the response head, to be written at the pointer
 * returned; NULL past RESP_HEAD_MAX or out of memory. */
static char *head_room(struct mp_request *r, size_t len)
{
    if (r->resp_head.len + len > RESP_HEAD_MAX ||
        mp_buf_reserve(r->loop, &r->resp_head, r->resp_head.len + len) != MP_OK)
        return NULL;
    r->resp_head.len += len;
    return r->resp_head.data + r->resp_head.len - len;
}

static bool head_add(struct mp_request *r, const char *s, size_t len)
{
    char *p = head_room(r, len);
    if (p != NULL)
        memcpy(p, s, len);
    return p != NULL;
}

/* ---- the upstream's head, from either client ---- */

/* The status: the upstream's code and reason, in HTTP/1.1 (reason_len <=
 * 512 bytes are kept). An interim (1xx) head is not relayed. */
static bool take_status(struct mp_request *r, int status, const char *reason, size_t reason_len)
{
    char line[600];
    r->status = status;
    r->interim = status < 200;
    r->resp_head.len = 0;
    if (r->interim)
        return true;
    /* "HTTP/1.1 %d %.*s\r\n": the reason up to its first NUL, as printf's */
    size_t rn = strnlen(reason, reason_len < 512 ? reason_len : 512);
    size_t n = sizeof("HTTP/1.1 ") - 1;
    memcpy(line, "HTTP/1.1 ", n);
    n += mp_decimal_u64((uint64_t)status, line + n); /* >= 200 here */
    line[n++] = ' ';
    memcpy(line + n, reason, rn);
    n += rn;
    memcpy(line + n, "\r\n", 2);
    return head_add(r, line, n + 2);
}

/* What the proxy needs of one field of the upstream's head (value without
 * its surrounding blanks). */
static void note_header(struct mp_request *r, const char *name, size_t nlen, const char *v,
                        size_t vlen)
{
    if (field_is(name, nlen, "content-length")) {
        uint64_t n;
        r->has_length = true; /* -1: not a plain decimal */
        r->content_length = mp_http_lex_length(v, vlen, &n) == MP_OK ? (int64_t)n : -1;
    } else if (field_is(name, nlen, "content-type")) {
        r->is_sse = vlen >= 17 && mp_http_lex_ieq(v, "text/event-stream", 17);
    } else if (field_is(name, nlen, "x-accel-buffering")) {
        r->saw_accel = true;
    } else if (field_is(name, nlen, "x-request-id")) {
        if (vlen >= sizeof(r->upstream_id))
            vlen = sizeof(r->upstream_id) - 1;
        memcpy(r->upstream_id, v, vlen);
        r->upstream_id[vlen] = '\0';
    }
}

/* One field of the upstream's head: noted, and relayed unless it is
 * hop-by-hop (or the head is an interim one). */
static bool take_field(struct mp_request *r, const char *name, size_t nlen, const char *v,
                       size_t vlen)
{
    if (r->interim || mp_http_is_hop_by_hop(name, nlen))
        return true;
    note_header(r, name, nlen, v, vlen);
    char *p = head_room(r, nlen + 2 + vlen + 2);
    if (p == NULL)
        return false;
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, v, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 2);
    return true;
}

/* The upstream head is complete: decide the framing and send it. */
static bool finish_head(struct mp_request *r)
{
    struct mp_conn *c = r->conn;
    r->head_done = true;
    r->no_body = r->no_body || r->status == 204 || r->status == 304;
    if (!r->no_body && !r->has_length) {
        if (mp_conn_is_http10(c))
            r->close_delimited = true;
        else
            r->chunked_out = true;
    }
    bool ok = true;
    if (r->chunked_out)
        ok = head_add(r, "Transfer-Encoding: chunked\r\n", 28);
    if (ok && r->is_sse && !r->saw_accel)
        ok = head_add(r, "X-Accel-Buffering: no\r\n", 23);
    if (ok && r->mem.wire != NULL) {
        char lines[256];
        mp_reqmem_start_reply(&r->mem, r->loop, r->status, r->is_sse);
        mp_requsage_start(&r->usage, r->mem.wire, r->status,
                          mp_reqmem_keeps_body(&r->mem, r->is_sse));
        /* the end waits for the turn's commit, or for the conversation's
           state when no turn will carry it (X-Memory: read) */
        r->hold = (r->mem.writes || r->mem.conv_put != NULL) && r->loop->cfg->memory.durable_ack &&
                  !r->no_body;
        ok = head_add(r, lines, mp_reqmem_headers(&r->mem, lines, sizeof(lines)));
        /* the id memory records as the turn's source (provenance) */
        static const char rid[] = "X-Memproxy-Request-Id: ";
        if (ok)
            ok = head_add(r, rid, sizeof(rid) - 1) &&
                 head_add(r, r->request_id, strlen(r->request_id)) && head_add(r, "\r\n", 2);
    }
    if (ok && (r->close_delimited || mp_conn_wants_close(c)))
        ok = head_add(r, "Connection: close\r\n", 19);
    else if (ok && mp_conn_is_http10(c))
        ok = head_add(r, "Connection: keep-alive\r\n", 24);
    if (!ok || !head_add(r, "\r\n", 2))
        return false;
    evbuffer_add(mp_conn_output(c), r->resp_head.data, r->resp_head.len);
    mp_buf_release(r->loop, &r->resp_head);
    mp_sse_init(&r->sse);
    mp_conn_flush(c);
    return true;
}

/* curl's status line "HTTP/x.y CODE [REASON]" (CRLF included). */
static bool curl_status_line(struct mp_request *r, const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len), *end = line + len;
    if (sp == NULL || (size_t)(end - sp) < 4)
        return false;
    const char *reason = sp + 4 < end && sp[4] == ' ' ? sp + 5 : sp + 4;
    while (end > reason && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    return take_status(r, atoi(sp + 1), reason, reason < end ? (size_t)(end - reason) : 0);
}

/* curl's header callback: one line of the head at a time, split here into
 * the status or a field for the handling both clients share. */
static size_t on_upstream_header(char *buf, size_t size, size_t n, void *ud)
{
    struct mp_request *r = ud;
    size_t len = size * n;
    r->last_activity = mp_access_now();
    if (r->head_done)
        return len; /* trailers */
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        return curl_status_line(r, buf, len) ? len : 0;
    bool blank = (len == 2 && buf[0] == '\r') || (len == 1 && buf[0] == '\n');
    if (r->interim)
        return len;
    if (blank)
        return finish_head(r) ? len : 0;
    const char *colon = memchr(buf, ':', len), *v, *end = buf + len;
    if (colon == NULL)
        return len;
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return take_field(r, buf, (size_t)(colon - buf), v, (size_t)(end - v)) ? len : 0;
}

/* Keeps bytes of a stream's end for after the commit. */
static bool hold_bytes(struct mp_request *r, const char *data, size_t len)
{
    struct mp_buf *b = &r->held_tail;
    if (b->len + len > SSE_EVENT_MAX || mp_buf_reserve(r->loop, b, b->len + len) != MP_OK)
        return false;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return true;
}

/* Relays a non-SSE body's bytes but its last one so far, which is held. */
static void relay_holding_last(struct mp_request *r, const char *data, size_t len)
{
    struct evbuffer *out = mp_conn_output(r->conn);
    if (r->held_byte_set)
        evbuffer_add(out, &r->held_byte, 1);
    evbuffer_add(out, data, len - 1);
    r->bytes_out += len - (r->held_byte_set ? 0 : 1);
    r->held_byte = data[len - 1];
    r->held_byte_set = true;
    mp_conn_flush(r->conn);
}

/* Relays every complete event of the answer so far; [DONE] only once. The
 * events are read where they arrived; only an event begun and not ended
 * waits in sse_pending, which holds no buffer between events (a stream
 * keeps none while it waits for its next token). */
static bool relay_sse(struct mp_request *r, const char *data, size_t len)
{
    struct mp_buf *p = &r->sse_pending;
    const char *buf = data;
    size_t n = len;
    if (p->len > 0) { /* the rest of an event begun in an earlier read */
        if (p->len + len > SSE_EVENT_MAX || mp_buf_reserve(r->loop, p, p->len + len) != MP_OK)
            return false;
        memcpy(p->data + p->len, data, len);
        p->len += len;
        buf = p->data;
        n = p->len;
    }
    size_t off = 0, ev_len = 0;
    while (mp_sse_next_event(&r->sse, buf + off, n - off, &ev_len) == MP_OK) {
        const char *ev = buf + off;
        bool done = mp_sse_is_done(ev, ev_len);
        if (!(done && r->done_relayed)) {
            if (r->hold && (done || r->held_tail.len > 0)) {
                if (!hold_bytes(r, ev, ev_len))
                    return false;
            } else {
                relay(r, ev, ev_len);
            }
            mp_reqmem_on_reply(&r->mem, r->loop, ev, ev_len, true);
            mp_requsage_event(&r->usage, ev, ev_len);
        }
        r->done_relayed = r->done_relayed || done;
        off += ev_len;
    }
    size_t rest = n - off;
    if (buf == p->data) {
        memmove(p->data, p->data + off, rest);
        p->len = rest;
    } else if (rest > 0) {
        if (rest > SSE_EVENT_MAX || mp_buf_reserve(r->loop, p, rest) != MP_OK)
            return false;
        memcpy(p->data, buf + off, rest);
        p->len = rest;
    }
    if (p->len == 0)
        mp_buf_release(r->loop, p);
    return true;
}

/* Body bytes of the upstream's answer (after its head) to the client and
 * to memory. false: the answer cannot be relayed (an SSE event over its cap,
 * out of memory). */
static bool take_body(struct mp_request *r, const char *data, size_t len)
{
    r->body_in += len;
    if (r->is_sse)
        return relay_sse(r, data, len);
    if (r->hold && !r->chunked_out && len > 0)
        relay_holding_last(r, data, len);
    else
        relay(r, data, len);
    mp_reqmem_on_reply(&r->mem, r->loop, data, len, false);
    mp_requsage_body(&r->usage, r->loop, data, len);
    return true;
}

/* curl's write callback: a client that reads slowly pauses the transfer
 * before the bytes are taken (curl hands them again on resume). */
static size_t on_upstream_body(char *data, size_t size, size_t n, void *ud)
{
    struct mp_request *r = ud;
    size_t len = size * n;
    r->last_activity = mp_access_now();
    if (!r->head_done)
        return 0;
    if (r->no_body)
        return len;
    if (mp_conn_pending(r->conn) > MP_CONN_HIGH_WATER) {
        r->paused = true;
        mp_conn_want_drain(r->conn);
        return CURL_WRITEFUNC_PAUSE;
    }
    return take_body(r, data, len) ? len : 0;
}

/* The native client's head: its parsed status and fields, as they are,
 * to the handling curl's lines get. */
static bool on_h1_head(void *arg, const struct mp_http_response_head *h)
{
    struct mp_request *r = arg;
    r->last_activity = mp_access_now();
    if (r->head_done)
        return true;
    if (!take_status(r, h->status, h->reason, h->reason_len))
        return false;
    if (r->interim)
        return true;
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct mp_http_header *f = &h->headers[i];
        if (!take_field(r, f->name, f->name_len, f->value, f->value_len))
            return false;
    }
    /* the request's head (in text) is the client's no more: a stream does
     * not keep its buffer while it lasts */
    mp_buf_release(r->loop, &r->text);
    return finish_head(r);
}

/* The native client's body bytes: taken at once; a client that reads
 * slowly then stops the reading until its output drains. */
static int on_h1_body(void *arg, const char *p, size_t n)
{
    struct mp_request *r = arg;
    r->last_activity = mp_access_now();
    if (r->no_body)
        return MP_OK;
    if (!take_body(r, p, n))
        return MP_EINVAL;
    if (!r->paused && mp_conn_pending(r->conn) > MP_CONN_HIGH_WATER) {
        r->paused = true;
        mp_conn_want_drain(r->conn);
        mp_h1_pause(r->h1);
    }
    return MP_OK;
}

static void on_drain(struct mp_conn *c, void *req)
{
    struct mp_request *r = req;
    (void)c;
    if (!r->paused)
        return;
    r->paused = false;
    r->last_activity = mp_access_now();
    if (r->h1 != NULL)
        mp_h1_resume(r->h1);
    else
        mp_curl.easy_pause(r->easy, CURLPAUSE_CONT);
}

/* ---- ending ---- */

static enum mp_upstream_error_kind classify(enum mp_xfer_end end, enum mp_perr *perr)
{
    *perr = MP_PERR_UPSTREAM_UNREACHABLE;
    switch (end) {
    case MP_XFER_CONNECT:
        return MP_UPERR_CONNECT;
    case MP_XFER_DNS:
        return MP_UPERR_DNS;
    case MP_XFER_TIMEOUT:
        *perr = MP_PERR_UPSTREAM_TIMEOUT;
        return MP_UPERR_TIMEOUT;
    case MP_XFER_TLS:
        return MP_UPERR_TLS;
    case MP_XFER_RESET:
        return MP_UPERR_RESET;
    case MP_XFER_PROTOCOL:
        *perr = MP_PERR_UPSTREAM_PROTOCOL;
        return MP_UPERR_OTHER;
    default:
        return MP_UPERR_OTHER;
    }
}

/* The upstream failed: an error response if nothing was sent yet, an SSE
 * error event if a stream is under way (then the last chunk, or to an
 * HTTP/1.0 client the close: the error event says the stream is broken),
 * else a cut connection. */
static void request_fail(struct mp_request *r, enum mp_perr perr, enum mp_upstream_error_kind kind)
{
    mp_metrics_upstream_error(r->loop->shard, kind);
    if (!r->head_done) {
        struct mp_access a;
        fill_access(r, &a);
        mp_respond_error(r->conn, perr, &a, MP_CONN_KEEP);
        request_free(r);
        return;
    }
    const char *code = kind == MP_UPERR_TIMEOUT ? "upstream_timeout" : "upstream_reset";
    if (r->is_sse && (r->chunked_out || r->close_delimited)) {
        char ev[512];
        size_t n = mp_respond_sse_error(ev, sizeof(ev),
                                        kind == MP_UPERR_TIMEOUT ? MP_PERR_UPSTREAM_TIMEOUT
                                                                 : MP_PERR_UPSTREAM_PROTOCOL,
                                        r->anthropic);
        relay(r, ev, n);
        if (r->chunked_out)
            evbuffer_add(mp_conn_output(r->conn), "0\r\n\r\n", 5);
        request_end(r, MP_CONN_KEEP, code);
        return;
    }
    request_end(r, MP_CONN_CUT, code);
}

/* Sends what durable ack held back (a body's last byte, a stream's
 * [DONE]) and the end of the chunked stream, then ends the request. */
static void release_end(struct mp_request *r)
{
    struct evbuffer *out = mp_conn_output(r->conn);
    if (r->held_byte_set) {
        evbuffer_add(out, &r->held_byte, 1);
        r->bytes_out++;
        r->held_byte_set = false;
    }
    if (r->held_tail.len > 0)
        relay(r, r->held_tail.data, r->held_tail.len);
    if (r->chunked_out)
        evbuffer_add(out, "0\r\n\r\n", 5);
    mp_conn_flush(r->conn);
    request_end(r, MP_CONN_KEEP, NULL);
}

/* The memory worker committed (or failed) the turn: the reply may end. */
static void on_turn_committed(struct mp_memticket *t, void *arg, int status)
{
    struct mp_request *r = arg;
    (void)t;
    (void)status; /* a failed commit is counted by the worker; the chat goes on */
    r->mem.ticket = NULL;
    release_end(r);
}

/* A completed chat turn goes to the memory worker (if recording applies).
 * Returns true when the reply's end waits for the commit. */
static bool record_turn(struct mp_request *r)
{
    return mp_reqmem_record(&r->mem, r->loop, r->request_id, r->body, r->body_len, r->head,
                            r->hold ? on_turn_committed : NULL, r) == MP_OK;
}

/* A stream's bytes after its last whole event begin another event: there
 * is more than the line ends SSE ignores between events. */
static bool partial_event(const struct mp_request *r)
{
    const struct mp_buf *p = &r->sse_pending;
    for (size_t i = 0; i < p->len; i++) {
        if (p->data[i] != '\r' && p->data[i] != '\n')
            return true;
    }
    return false;
}

/* The answer arrived whole though the transfer then failed: a stream that
 * relayed [DONE] and nothing of an event after it, or a Content-Length
 * body with every byte. */
static bool complete_despite(const struct mp_request *r)
{
    if (!r->head_done)
        return false;
    if (r->is_sse)
        return r->done_relayed && !partial_event(r);
    return r->content_length >= 0 && r->body_in == (uint64_t)r->content_length;
}

/* The exchange ended, on either client: nothing more comes from the
 * upstream, so nothing waits on it any more (a pause for a slow client, the
 * idle timer); what was taken still drains to the client. */
static void upstream_done(struct mp_request *r, enum mp_xfer_end result)
{
    enum mp_perr perr;
    r->paused = false;
    event_del(&r->idle_ev);
    if (result != MP_XFER_OK && complete_despite(r))
        result = MP_XFER_OK; /* e.g. a reset after [DONE]: the client has it all */
    if (result != MP_XFER_OK || !r->head_done) {
        enum mp_upstream_error_kind kind = classify(result, &perr);
        if (result == MP_XFER_OK)
            perr = MP_PERR_UPSTREAM_PROTOCOL;
        request_fail(r, perr, kind);
        return;
    }
    if (r->is_sse && partial_event(r)) {
        /* the stream ended inside an event (a close-delimited answer's
           close, or a last chunk): as broken as a reset there */
        request_fail(r, MP_PERR_UPSTREAM_PROTOCOL, MP_UPERR_RESET);
        return;
    }
    if (r->is_sse && r->sse_pending.len > 0) { /* blank lines: no event */
        if (r->held_tail.len > 0)
            hold_bytes(r, r->sse_pending.data, r->sse_pending.len);
        else
            relay(r, r->sse_pending.data, r->sse_pending.len);
    }
    size_t reply_len = 0;
    const char *reply = mp_reqmem_reply_body(&r->mem, &reply_len);
    mp_requsage_count(&r->usage, r->loop, reply, reply_len, r->body, r->body_len);
    if (r->mem.wire != NULL && record_turn(r)) {
        mp_conn_flush(r->conn);
        return;
    }
    release_end(r);
}

void mp_request_on_upstream_done(void *req, CURLcode result)
{
    struct mp_request *r = req;
    r->in_multi = false;
    upstream_done(r, mp_upstream_end_of(result));
}

/* A stream's events of one upstream read go out now, in one write, not
 * after the rest of the loop pass's reads (under thousands of streams a
 * pass is milliseconds; nginx writes in the read's handler too). A read
 * that ends the answer waits for the pass's flush, with the stream's end. */
static void on_h1_read_end(void *arg)
{
    struct mp_request *r = arg;
    if (r->is_sse)
        mp_conn_write_now(r->conn);
}

static void on_h1_done(void *arg, enum mp_xfer_end end)
{
    struct mp_request *r = arg;
    r->h1 = NULL;
    upstream_done(r, end);
}

static void on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mp_request *r = arg;
    double idle = r->loop->cfg->upstream.idle_timeout_ms / 1000.0;
    double quiet = mp_access_now() - r->last_activity;
    (void)fd;
    (void)what;
    if (r->paused || quiet < idle) {
        arm_idle(r, r->paused ? idle : idle - quiet);
        return;
    }
    if (r->h1 != NULL) {
        mp_h1_cancel(r->h1);
        r->h1 = NULL;
    } else {
        mp_upstream_cancel(r->loop->upstream, r->easy);
        r->in_multi = false;
    }
    request_fail(r, MP_PERR_UPSTREAM_TIMEOUT, MP_UPERR_TIMEOUT);
}

static void on_abort(struct mp_conn *c, void *req)
{
    struct mp_request *r = req;
    struct mp_access a;
    (void)c;
    mp_metrics_client_disconnect(r->loop->shard);
    r->status = 499; /* nginx's "client closed request" */
    fill_access(r, &a);
    a.error = "client_disconnect";
    mp_access_record(r->loop, &a);
    r->conn = NULL;
    request_free(r);
}

/* ---- accepting a request ---- */

/* Checks X-Memory and the user id of a chat request. Returns MP_OK or the
 * error to answer with (*perr). */
static int check_memory_controls(struct mp_request *r, const char *body, enum mp_perr *perr)
{
    const struct mp_config *cfg = r->loop->cfg;
    enum mp_memory_control ctl = MP_MEMCTL_AUTO;
    char user[MP_USERKEY_MAX];
    size_t ulen = 0;
    const char *explain;
    size_t elen;
    if (mp_route_memory_header(r->head, &ctl) != MP_OK) {
        *perr = MP_PERR_INVALID_MEMORY_HEADER;
        return MP_EINVAL;
    }
    if (cfg->memory.mode == MP_MEMORY_OFF || ctl == MP_MEMCTL_OFF) {
        mp_reqmem_init(&r->mem, MP_MEMORY_OFF, (int)ctl, NULL, 0);
        return MP_OK;
    }
    int rc = mp_reqmem_user_key(r->loop, r->head, body, r->body_len, user, &ulen, perr);
    if (rc == MP_EINVAL)
        return MP_EINVAL;
    r->has_user = rc == MP_OK;
    mp_reqmem_init(&r->mem, cfg->memory.mode, (int)ctl, r->has_user ? user : NULL, ulen);
    /* explaining is asked by every line or by none */
    bool ask = mp_http_find_single(r->head, "x-memory-explain", 16, &explain, &elen) == MP_OK &&
               elen == 1 && explain[0] == '1';
    r->mem.explain = cfg->admin.explain_requests && r->has_user && ask;
    r->mem.explain_last = cfg->page.explain_last && r->has_user;
    return MP_OK;
}

/* The hint headers of core/wire/clienttask.h, in its order, each line
 * looked at alone: any line that says task makes the request one, and
 * the first such line names its kind. */
static bool task_from_hints(const struct mp_request *r, enum mp_clienttask_kind *kind)
{
    const char *names[] = {"x-claude-code-request-class", "x-openai-subagent",
                           r->loop->cfg->memory.task_header, "x-memory-task"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mp_clienttask_hints h = {0};
        const char **vals[] = {&h.request_class, &h.subagent, &h.custom, &h.own};
        size_t *lens[] = {&h.request_class_len, &h.subagent_len, &h.custom_len, &h.own_len};
        struct mp_http_values it;
        mp_http_values_init(&it, r->head, names[i], strlen(names[i]), false);
        while (names[i][0] != '\0' && mp_http_values_next(&it, vals[i], lens[i]))
            if (mp_clienttask_from_hints(&h, kind))
                return true;
    }
    return false;
}

/* The client's own conversation ids (plane/convlook.h). Read only when
 * memory is read or recorded (a recorded turn keeps its conversation). */
static void conversation_headers(struct mp_request *r)
{
    if (r->mem.reads || r->mem.writes)
        mp_convlook_headers(r->head, &r->mem.conv_headers);
}

/* A lone request whose instructions are a side request's the store
 * learned for the user's tenant (memory/sidetab.h, core/wire/sidereq.h):
 * a client's task whatever its words, *kind the kind learned with it.
 * Looked at only when some side request is known. */
static bool learned_side_request(struct mp_request *r, const char *body,
                                 enum mp_clienttask_kind *kind)
{
    struct mp_sidetab *sides =
        r->loop->memworker != NULL ? mp_memworker_sides(r->loop->memworker) : NULL;
    const unsigned char *tenant = NULL;
    const char *id = NULL;
    size_t idlen = 0;
    struct mp_sidereq shape;
    uint8_t k = MP_TASK_OTHER;
    if (sides == NULL || mp_sidetab_count(sides) == 0 ||
        mp_reqmem_scan(&r->mem, r->loop, body, r->body_len) != MP_OK)
        return false;
    mp_sidereq_read(r->mem.wire, body, &r->mem.req, &shape);
    if (!shape.lone || shape.ninstr == 0)
        return false;
    mp_userkey_split(r->mem.user, r->mem.user_len, &tenant, &id, &idlen);
    if (!mp_sidetab_find(sides, tenant, shape.instr, shape.ninstr, &k))
        return false;
    *kind = k < MP_TASK_KINDS ? (enum mp_clienttask_kind)k : MP_TASK_OTHER;
    return true;
}

/* A client's background task (core/wire/clienttask.h) goes upstream as it
 * came: memory off for it, before anything is read. Only a request memory
 * would apply to is looked at. */
static void skip_client_task(struct mp_request *r, const char *body)
{
    const struct mp_config *cfg = r->loop->cfg;
    enum mp_clienttask_kind kind = MP_TASK_OTHER;
    struct mp_clienttask_texts texts = {0}; /* decoded once for both rules */
    if (!cfg->memory.task_detection || (!r->mem.reads && !r->mem.writes))
        return;
    bool task = task_from_hints(r, &kind);
    if (!task && cfg->memory.task_pattern_set.n > 0 &&
        mp_reqmem_scan(&r->mem, r->loop, body, r->body_len) == MP_OK)
        task = mp_clienttask_from_prompt(r->mem.wire, body, r->body_len, &r->mem.req,
                                         &cfg->memory.task_pattern_set, &texts, &kind) == MP_OK;
    if (!task && mp_reqmem_scan(&r->mem, r->loop, body, r->body_len) == MP_OK)
        task = mp_clienttask_from_shape(r->mem.wire, body, r->body_len, &r->mem.req, &texts,
                                        &kind) == MP_OK;
    mp_clienttask_texts_cleanup(&texts);
    if (!task)
        task = learned_side_request(r, body, &kind);
    if (task)
        mp_reqmem_skip_task(&r->mem, r->loop, kind);
}

/* A temporary chat (core/wire/convid.h) is read as any chat but recorded
 * only with [memory] record_temporary_chats. Only a request whose turn
 * would be recorded is looked at (not a client task, not X-Memory: read). */
static void skip_temporary_chat(struct mp_request *r)
{
    if (r->loop->cfg->memory.record_temporary_chats || !r->mem.writes)
        return;
    if (mp_convlook_temporary(r->head))
        mp_reqmem_skip_temporary(&r->mem, r->loop);
}

static struct mp_request *request_new(struct mp_conn *c, const struct mp_http_request_head *head,
                                      size_t body_len)
{
    struct mp_loop *loop = mp_conn_loop(c);
    struct mp_request *r = malloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    /* zero but for the arrays read only up to a length set with them:
       send[0..nsend) and mem's (mp_reqmem_clear), 2 KB of 5 */
    memset(r, 0, offsetof(struct mp_request, mem));
    mp_reqmem_clear(&r->mem);
    r->loop = loop;
    r->conn = c;
    r->head = head;
    r->body_len = body_len;
    r->t_start = mp_access_now();
    r->content_length = -1;
    evtimer_assign(&r->idle_ev, loop->base, on_idle_timer, r);
    mp_loop_request_id(loop, r->request_id);
    return r;
}

static void refuse(struct mp_request *r, enum mp_perr perr)
{
    struct mp_access a;
    fill_access(r, &a);
    mp_respond_error(r->conn, perr, &a, MP_CONN_KEEP);
    request_free(r);
}

/* Sends the request upstream, its memory read (or not needed). */
static void go_upstream(struct mp_request *r)
{
    if (start_upstream(r, r->body) != MP_OK) {
        mp_metrics_upstream_error(r->loop->shard, MP_UPERR_OTHER);
        refuse(r, MP_PERR_INTERNAL);
    }
}

/* The user's memory came from the database (or could not). */
static void on_memory_read(void *arg)
{
    go_upstream(arg);
}

static void on_request(struct mp_conn *c, const struct mp_http_request_head *head, const char *body,
                       size_t body_len)
{
    enum mp_route route;
    enum mp_perr perr = MP_PERR_INTERNAL;
    struct mp_request *r = request_new(c, head, body_len);
    if (r == NULL) {
        mp_respond_error(c, MP_PERR_INTERNAL, NULL, MP_CONN_CLOSE);
        return;
    }
    r->path_len = head->target_len;
    if (mp_route_classify(head->method, head->method_len, head->target, head->target_len, &route,
                          &r->path_len) != MP_OK) {
        r->path_len = 0; /* never log what a client put in an unroutable path */
        refuse(r, MP_PERR_BAD_REQUEST);
        return;
    }
    if (route == MP_ROUTE_NOT_FOUND) {
        r->path_len = 0;
        refuse(r, MP_PERR_NOT_FOUND);
        return;
    }
    if (route == MP_ROUTE_MEMORY) {
        request_free(r);
        mp_memapi_handle(c, head, body, body_len);
        return;
    }
    if (route == MP_ROUTE_MCP && r->loop->cfg->mcp.enabled) {
        request_free(r);
        mp_mcp_handle(c, head, body, body_len);
        return;
    }
    if (route == MP_ROUTE_MCP) {
        r->path_len = 0;
        refuse(r, MP_PERR_NOT_FOUND); /* [mcp] enabled = false */
        return;
    }
    r->anthropic = mp_route_is_anthropic(route);
    if (r->anthropic && r->loop->cfg->anthropic.base_url.text[0] == '\0') {
        refuse(r, MP_PERR_NOT_FOUND); /* [anthropic] is off */
        return;
    }
    r->body = body;
    if (mp_route_wire(route) != NULL) {
        if (check_memory_controls(r, body, &perr) != MP_OK) {
            refuse(r, perr);
            return;
        }
        r->mem.wire = mp_route_wire(route);
        r->mem.route_api = r->anthropic ? MP_LLM_ANTHROPIC : MP_LLM_OPENAI;
        skip_client_task(r, body);
        skip_temporary_chat(r);
        conversation_headers(r);
        mp_conn_attach(c, r, on_abort);
        if (mp_reqmem_inject(&r->mem, r->loop, body, body_len, on_memory_read, r) == MP_AGAIN)
            return; /* on_memory_read goes on */
    } else {
        mp_conn_attach(c, r, on_abort);
    }
    go_upstream(r);
}

const struct mp_conn_handler mp_request_handler = {
    .on_request = on_request,
    .on_drain = on_drain,
};
