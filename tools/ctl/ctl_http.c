/* The admin API client; see ctl_http.h. One easy handle, reset before each
 * request (a reset keeps the open connection), so every request states all
 * of its options. */
#include "ctl/ctl_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl_main.h"
#include "curl_lib.h"
#include "ctl/ctl_text.h"
#include "status.h"

#define MESSAGE_MAX 300 /* bytes of a server's error message shown */

struct mp_ctl_client {
    CURL *h;
    char url[MP_CONFIG_URL_MAX];
    char auth[MP_CONFIG_TOKEN_MAX + 32]; /* "Authorization: Bearer <token>": wiped at free */
};

/* What a transfer collects. */
struct sink {
    char *data;
    size_t len, cap;
    bool too_big;
    char cursor[MP_CTL_CURSOR_MAX + 1];
};

int mp_ctl_client_new(const struct mp_ctl_target *target, struct mp_ctl_client **out,
                      const char **why)
{
    *why = "cannot start libcurl";
    if (mp_curl_load(why) != MP_OK)
        return MP_EIO;
    struct mp_ctl_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MP_ENOMEM;
    c->h = mp_curl.easy_init();
    if (c->h == NULL) {
        free(c);
        return MP_ENOMEM;
    }
    memcpy(c->url, target->url, sizeof(c->url));
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", target->token);
    *out = c;
    return MP_OK;
}

void mp_ctl_client_free(struct mp_ctl_client *c)
{
    if (c == NULL)
        return;
    mp_curl.easy_cleanup(c->h);
    explicit_bzero(c->auth, sizeof(c->auth));
    free(c);
}

const char *mp_ctl_client_url(const struct mp_ctl_client *c)
{
    return c->url;
}

void mp_ctl_reply_cleanup(struct mp_ctl_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap > 0 ? s->cap : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        if (cap > MP_CTL_REPLY_MAX + 1) {
            s->too_big = true;
            return 0;
        }
        char *d = realloc(s->data, cap);
        if (d == NULL)
            return 0;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

/* Keeps X-Next-Cursor when it is a cursor ([A-Za-z0-9_-], not too long). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb, name = 14; /* "X-Next-Cursor:" */
    if (n <= name || strncasecmp(ptr, "X-Next-Cursor:", name) != 0)
        return n;
    const char *v = ptr + name;
    size_t len = n - name;
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    bool ok = len > 0 && len <= MP_CTL_CURSOR_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '_';
    if (ok) {
        memcpy(s->cursor, v, len);
        s->cursor[len] = '\0';
    }
    return n;
}

/* curl's upload progress to the call's own function. */
static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    const struct mp_ctl_call *call = arg;
    (void)dltotal;
    (void)dlnow;
    if (ultotal > 0)
        call->progress(call->progress_arg, (uint64_t)ulnow, (uint64_t)ultotal);
    return 0;
}

static void set_request(struct mp_ctl_client *c, const struct mp_ctl_call *call, const char *url,
                        struct curl_slist *headers, struct sink *sink)
{
    CURL *h = c->h;
    mp_curl.easy_reset(h);
    mp_curl.easy_setopt(h, CURLOPT_URL, url);
    mp_curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    mp_curl.easy_setopt(h, CURLOPT_PROXY, ""); /* never through a proxy: the token stays here */
    mp_curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    mp_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)MP_CTL_CONNECT_MS);
    mp_curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)MP_CTL_TIMEOUT_MS);
    mp_curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    mp_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    mp_curl.easy_setopt(h, CURLOPT_WRITEDATA, sink);
    mp_curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    mp_curl.easy_setopt(h, CURLOPT_HEADERDATA, sink);
    if (strcmp(call->method, "POST") == 0 || strcmp(call->method, "PUT") == 0) {
        mp_curl.easy_setopt(h, CURLOPT_POSTFIELDS, call->body != NULL ? call->body : "");
        mp_curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)(call->body != NULL ? call->len : 0));
    }
    if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "POST") != 0)
        mp_curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    if (call->progress != NULL) {
        mp_curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
        mp_curl.easy_setopt(h, CURLOPT_XFERINFODATA, (void *)call);
        mp_curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
}

/* The request's headers: the token, the body's type (none: no type at
 * all), and no "Expect: 100-continue" round trip. NULL when out of memory. */
static struct curl_slist *request_headers(const struct mp_ctl_client *c, const char *ctype)
{
    char type[128];
    snprintf(type, sizeof(type), "Content-Type:%s%s", ctype != NULL ? " " : "",
             ctype != NULL ? ctype : "");
    struct curl_slist *l = mp_curl.slist_append(NULL, c->auth);
    struct curl_slist *all = l != NULL ? mp_curl.slist_append(l, type) : NULL;
    all = all != NULL ? mp_curl.slist_append(all, "Expect:") : NULL;
    if (all == NULL)
        mp_curl.slist_free_all(l);
    return all;
}

/* One exchange: MP_OK with *status and the sink filled, else curl's code
 * in *crc (MP_EIO) or MP_ENOMEM. */
static int exchange(struct mp_ctl_client *c, const struct mp_ctl_call *call, struct sink *sink,
                    long *status, CURLcode *crc)
{
    size_t n = strlen(c->url) + strlen(call->path) + 1;
    char *url = malloc(n);
    struct curl_slist *headers = request_headers(c, call->ctype);
    int rc = MP_ENOMEM;
    if (url == NULL || headers == NULL)
        goto out;
    snprintf(url, n, "%s%s", c->url, call->path);
    set_request(c, call, url, headers, sink);
    *crc = mp_curl.easy_perform(c->h);
    rc = *crc == CURLE_OK ? MP_OK : MP_EIO;
    if (rc == MP_OK)
        mp_curl.easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
out:
    /* the handle keeps pointers to both until the next reset */
    mp_curl.easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
    mp_curl.slist_free_all(headers);
    free(url);
    return rc;
}

static int transport_error(const struct mp_ctl_client *c, CURLcode crc, const struct sink *s)
{
    char reason[160];
    long oserr = 0;
    curl_off_t connected = 0;
    int result = MP_CTL_UNREACHABLE;
    switch (crc) {
    case CURLE_COULDNT_CONNECT:
        mp_curl.easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
        snprintf(reason, sizeof(reason), "%s", oserr != 0 ? strerror((int)oserr) : "no connection");
        reason[0] = (char)tolower((unsigned char)reason[0]);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(reason, sizeof(reason), "the host name does not resolve");
        break;
    case CURLE_OPERATION_TIMEDOUT:
        mp_curl.easy_getinfo(c->h, CURLINFO_CONNECT_TIME_T, &connected);
        snprintf(reason, sizeof(reason), "no %s within %d s",
                 connected > 0 ? "answer" : "connection",
                 (connected > 0 ? MP_CTL_TIMEOUT_MS : MP_CTL_CONNECT_MS) / 1000);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        snprintf(reason, sizeof(reason), "the connection closed without an answer");
        break;
    default:
        result = MP_CTL_FAILED;
        snprintf(reason, sizeof(reason), "%s",
                 s->too_big ? "the answer is larger than 64 MiB" : mp_curl.easy_strerror(crc));
        break;
    }
    if (result == MP_CTL_UNREACHABLE)
        fprintf(stderr, "memproxy ctl: cannot reach the admin API at %s: %s\n", c->url, reason);
    else
        fprintf(stderr, "memproxy ctl: no valid answer from the admin API at %s: %s\n", c->url,
                reason);
    return result;
}

/* memproxy's error shape: {"error":{"code":"...","message":"..."}}. */
static bool error_of(const struct sink *s, char *code, size_t code_cap, char *message,
                     size_t message_cap)
{
    json_t *doc = s->data != NULL ? json_loadb(s->data, s->len, 0, NULL) : NULL;
    json_t *e = json_object_get(doc, "error");
    const char *k = json_string_value(json_object_get(e, "code"));
    const char *m = json_string_value(json_object_get(e, "message"));
    bool ok = k != NULL && m != NULL;
    if (ok) {
        mp_ctl_text_line(k, strlen(k), code_cap - 1, code, code_cap);
        mp_ctl_text_line(m, strlen(m), MESSAGE_MAX, message, message_cap);
    }
    json_decref(doc);
    return ok;
}

/* GET /admin/status answers 404: no token is set on the server. */
static bool api_disabled(struct mp_ctl_client *c)
{
    const struct mp_ctl_call probe = {.method = "GET", .path = "/admin/status"};
    struct sink s = {0};
    long status = 0;
    CURLcode crc = CURLE_OK;
    bool disabled = exchange(c, &probe, &s, &status, &crc) == MP_OK && status == 404;
    free(s.data);
    return disabled;
}

static int answer_error(struct mp_ctl_client *c, const struct mp_ctl_call *call, long status,
                        const struct sink *s)
{
    char code[64] = "", message[MESSAGE_MAX + 1] = "";
    bool ours = error_of(s, code, sizeof(code), message, sizeof(message));
    if (status == 401) {
        fprintf(stderr, "memproxy ctl: the admin token was refused (401 %s)\n",
                ours ? code : "unauthorized");
        return MP_CTL_REFUSED;
    }
    if (status == 404 && ours && strcmp(code, "not_found") == 0) {
        if (call->subject == NULL || api_disabled(c)) {
            fprintf(stderr, "memproxy ctl: the admin API is disabled: [admin] token is not set on "
                            "the server\n");
            return MP_CTL_REFUSED;
        }
        if (!call->missing_ok)
            fprintf(stderr, "memproxy ctl: %s: %s (404 not_found)\n", call->subject, message);
        return MP_CTL_NOTFOUND;
    }
    if (ours)
        fprintf(stderr, "memproxy ctl: memproxy answered %ld %s: %s\n", status, code, message);
    else
        fprintf(stderr, "memproxy ctl: unexpected answer %ld from the admin API at %s\n", status,
                c->url);
    return MP_CTL_FAILED;
}

int mp_ctl_client_send(struct mp_ctl_client *c, const struct mp_ctl_call *call,
                       struct mp_ctl_reply *out)
{
    struct sink s = {0};
    long status = 0;
    CURLcode crc = CURLE_OK;
    int result = MP_CTL_OK;
    memset(out, 0, sizeof(*out));
    int rc = exchange(c, call, &s, &status, &crc);
    if (rc == MP_ENOMEM) {
        fprintf(stderr, "memproxy ctl: out of memory\n");
        result = MP_CTL_FAILED;
    } else if (rc != MP_OK) {
        result = transport_error(c, crc, &s);
    } else if (status < 200 || status > 299) {
        result = answer_error(c, call, status, &s);
    }
    if (result != MP_CTL_OK) {
        free(s.data);
        return result;
    }
    out->status = status;
    out->body = s.data != NULL ? s.data : calloc(1, 1);
    out->len = s.len;
    memcpy(out->next_cursor, s.cursor, sizeof(out->next_cursor));
    if (out->body == NULL) {
        fprintf(stderr, "memproxy ctl: out of memory\n");
        return MP_CTL_FAILED;
    }
    return MP_CTL_OK;
}

int mp_ctl_client_json(struct mp_ctl_client *c, const struct mp_ctl_call *call,
                       struct mp_ctl_reply *out, json_t **doc)
{
    int result = mp_ctl_client_send(c, call, out);
    if (result != MP_CTL_OK)
        return result;
    *doc = json_loadb(out->body, out->len, 0, NULL);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        mp_ctl_reply_cleanup(out);
        fprintf(stderr,
                "memproxy ctl: malformed answer from the admin API at %s (not a JSON "
                "object)\n",
                c->url);
        return MP_CTL_FAILED;
    }
    return MP_CTL_OK;
}
