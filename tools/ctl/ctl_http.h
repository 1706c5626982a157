/* The admin API client of the ops command line: libcurl's easy interface
 * over one keep-alive connection, the bearer token on every request, 5 s to
 * connect and 60 s for a whole exchange, no proxy and no redirect (the token
 * goes to the URL given and nowhere else). It turns every failure into one
 * line on stderr and an exit status (ctl_main.h); what a success means is
 * the commands' business. */
#ifndef MP_TOOLS_CTL_HTTP_H
#define MP_TOOLS_CTL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl_target.h"

#define MP_CTL_CONNECT_MS 5000
#define MP_CTL_TIMEOUT_MS 60000
#define MP_CTL_REPLY_MAX  (64u * 1024 * 1024) /* the largest answer read */
#define MP_CTL_CURSOR_MAX 1024                /* X-Next-Cursor, as the server's cursors */

struct mp_ctl_client;

/* A 2xx answer. */
struct mp_ctl_reply {
    long status;
    char *body; /* owned, NUL-terminated at len ("" for none) */
    size_t len;
    char next_cursor[MP_CTL_CURSOR_MAX + 1]; /* X-Next-Cursor ([A-Za-z0-9_-]), "" when absent */
};

/* One request. */
struct mp_ctl_call {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;   /* "/admin/...", percent-encoded, with its query */
    const char *body;   /* borrowed; NULL: none (POST and PUT then send an empty one) */
    size_t len;
    const char *ctype; /* the body's Content-Type, or NULL */
    /* What a 404 would be about ("user 'alice'", borrowed), for a route
     * that names a user; NULL for the others (there, 404 means the admin
     * API is disabled). */
    const char *subject;
    /* A 404 on the user's route (the admin API answering) is an expected
     * answer: MP_CTL_NOTFOUND without a line on stderr. */
    bool missing_ok;
    /* NULL, or told how much of the body went (sent of total bytes) as it
     * uploads, with progress_arg. */
    void (*progress)(void *arg, uint64_t sent, uint64_t total);
    void *progress_arg;
};

/* A client for target (copied; the token is wiped at free), loading
 * libcurl the first time (ondemand/curl_lib.h: the commands that work on
 * files never need it). MP_OK with *out (free with mp_ctl_client_free());
 * MP_EIO or MP_ENOMEM with *why a static sentence for the user. */
int mp_ctl_client_new(const struct mp_ctl_target *target, struct mp_ctl_client **out,
                      const char **why);
void mp_ctl_client_free(struct mp_ctl_client *c);

/* Sends call and reads the answer. A 2xx: MP_CTL_OK with *out filled (free
 * its body with mp_ctl_reply_cleanup()). Anything else: *out empty, one line
 * on stderr, and
 *   MP_CTL_UNREACHABLE  no connection, no answer in time, or the connection
 *                       closed without an answer;
 *   MP_CTL_REFUSED      401 (the token), or 404 not_found on a route that
 *                       names no user, or on one that does while
 *                       GET /admin/status is 404 too (no token set on the
 *                       server: the admin API is disabled);
 *   MP_CTL_NOTFOUND     404 on a user's route while the admin API answers;
 *   MP_CTL_FAILED       any other status (its error code and message are
 *                       printed), an answer above MP_CTL_REPLY_MAX, or one
 *                       that is not HTTP. */
int mp_ctl_client_send(struct mp_ctl_client *c, const struct mp_ctl_call *call,
                       struct mp_ctl_reply *out);

/* mp_ctl_client_send() of an answer that must be a JSON object: MP_CTL_OK
 * with *doc (the caller json_decref()s it) and *out as above; a 2xx whose
 * body is not a JSON object is MP_CTL_FAILED ("malformed answer"). */
int mp_ctl_client_json(struct mp_ctl_client *c, const struct mp_ctl_call *call,
                       struct mp_ctl_reply *out, json_t **doc);

/* The base URL (borrowed from c), for messages. */
const char *mp_ctl_client_url(const struct mp_ctl_client *c);

void mp_ctl_reply_cleanup(struct mp_ctl_reply *r);

#endif
