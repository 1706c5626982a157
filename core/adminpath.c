/* Admin API request targets: route, {id}, {key} and query parameters.
 * It decides nothing about authorization, tenants or storage.
 *
 * The path is split on raw '/' before anything is decoded, so "%2F" inside
 * an id can never create or remove a segment, and structure is matched
 * before the variable segments are decoded: a request that names no route
 * is a 404 whatever its bytes. Every copy goes into a fixed buffer with its
 * capacity checked first; the whole target is read a bounded number of
 * times, so the cost is linear in its length. */
#include "adminpath.h"

#include <string.h>

#include "hex.h"
#include "status.h"

#define ADMIN_PREFIX     "/admin/"
#define ADMIN_PREFIX_LEN (sizeof(ADMIN_PREFIX) - 1)
#define MAX_SEGMENTS     4  /* users/{id}/entities/{key} */
#define STATE_MAX_LEN    8  /* "pending" */
#define NAME_MAX_LEN     18 /* longer decoded names are unknown ones */
#define LIMIT_DIGITS_MAX 4  /* "1000" */

enum {
    SEEN_TENANT = 1,
    SEEN_CURSOR = 2,
    SEEN_LIMIT = 4,
    SEEN_RETENTION = 8,
    SEEN_Q = 16,
    SEEN_TYPES = 32,
    SEEN_API = 64,
    SEEN_FORMAT = 128,
    SEEN_DRY_RUN = 256,
    SEEN_BUDGET = 512,
    SEEN_STATE = 1024,
    SEEN_USER = 2048,
    SEEN_ENTITIES_CURSOR = 4096,
    SEEN_ENTITIES_LIMIT = 8192
};

struct span {
    const char *p;
    size_t n;
};

static bool span_is(struct span s, const char *want)
{
    size_t n = strlen(want);
    return s.n == n && memcmp(s.p, want, n) == 0;
}

static bool escape_at(const char *s, size_t len, size_t i)
{
    return i + 2 < len && mp_hex_value((unsigned char)s[i + 1]) >= 0 &&
           mp_hex_value((unsigned char)s[i + 2]) >= 0;
}

/* True when every '%' in s[0..len) starts a two-hex-digit escape. */
static bool escapes_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && !escape_at(s, len, i))
            return false;
    }
    return true;
}

/* Percent-decodes s[0..len) into dst[0..cap) ('+' to space when plus_space).
 * MP_EINVAL on a bad escape, MP_ETOOBIG when the result exceeds cap; dst
 * holds garbage then. No NUL is written. */
static int pct_decode(const char *s, size_t len, bool plus_space, char *dst, size_t cap,
                      size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (!escape_at(s, len, i))
                return MP_EINVAL;
            c = (char)(mp_hex_value((unsigned char)s[i + 1]) * 16 +
                       mp_hex_value((unsigned char)s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (o == cap)
            return MP_ETOOBIG;
        dst[o++] = c;
    }
    *out_len = o;
    return MP_OK;
}

/* Splits path[0..len) (after "/admin/") on '/'. MP_NOTFOUND for more than
 * MAX_SEGMENTS segments, an empty one (trailing or double slash) but the
 * second (a user route's {id} given as ?user=: match_route), or a literal
 * dot segment. */
static int split_segments(const char *path, size_t len, struct span *seg, size_t *nseg)
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        struct span s = {path + start, i - start};
        if (n == MAX_SEGMENTS || (s.n == 0 && n != 1) || span_is(s, ".") || span_is(s, ".."))
            return MP_NOTFOUND;
        seg[n++] = s;
        start = i + 1;
    }
    *nseg = n;
    return MP_OK;
}

static int match_user_route(const struct span *seg, size_t n, enum mp_admin_route *route)
{
    if (n == 3 && span_is(seg[2], "memory"))
        *route = MP_ADMIN_USER_MEMORY;
    else if (n == 3 && span_is(seg[2], "export"))
        *route = MP_ADMIN_USER_EXPORT;
    else if (n == 3 && span_is(seg[2], "history"))
        *route = MP_ADMIN_USER_HISTORY;
    else if (n == 3 && span_is(seg[2], "import"))
        *route = MP_ADMIN_USER_IMPORT;
    else if (n == 4 && span_is(seg[2], "entities"))
        *route = MP_ADMIN_USER_ENTITY;
    else if (n == 3 && span_is(seg[2], "settings"))
        *route = MP_ADMIN_USER_SETTINGS;
    else if (n == 3 && span_is(seg[2], "search"))
        *route = MP_ADMIN_USER_SEARCH;
    else if (n == 3 && span_is(seg[2], "explain"))
        *route = MP_ADMIN_USER_EXPLAIN;
    else if (n == 4 && span_is(seg[2], "messages"))
        *route = MP_ADMIN_USER_MESSAGE;
    else if (n == 4 && span_is(seg[2], "conversations"))
        *route = MP_ADMIN_USER_CONVERSATION;
    else if (n == 3 && span_is(seg[2], "revoke-links"))
        *route = MP_ADMIN_USER_REVOKE_LINKS;
    else
        return MP_NOTFOUND;
    return MP_OK;
}

static int match_route(const struct span *seg, size_t n, enum mp_admin_route *route)
{
    /* an empty second segment is only a user route's {id} (given as ?user=) */
    if (n > 1 && seg[1].n == 0 && (n < 3 || !span_is(seg[0], "users")))
        return MP_NOTFOUND;
    if (n == 1 && span_is(seg[0], "users"))
        *route = MP_ADMIN_USERS;
    else if (n == 1 && span_is(seg[0], "compact"))
        *route = MP_ADMIN_COMPACT;
    else if (n == 1 && span_is(seg[0], "sweep"))
        *route = MP_ADMIN_SWEEP;
    else if (n == 1 && span_is(seg[0], "status"))
        *route = MP_ADMIN_STATUS;
    else if (n == 1 && span_is(seg[0], "reload"))
        *route = MP_ADMIN_RELOAD;
    else if (n == 2 && span_is(seg[0], "explain"))
        *route = MP_ADMIN_EXPLANATION;
    else if (n == 1 && span_is(seg[0], "extract"))
        *route = MP_ADMIN_EXTRACT;
    else if (n == 1 && span_is(seg[0], "jobs"))
        *route = MP_ADMIN_JOBS;
    else if (n == 2 && span_is(seg[0], "jobs"))
        *route = MP_ADMIN_JOB;
    else if (n == 3 && span_is(seg[0], "jobs") && span_is(seg[2], "retry"))
        *route = MP_ADMIN_JOB_RETRY;
    else if (n > 1 && span_is(seg[0], "users"))
        return match_user_route(seg, n, route);
    else
        return MP_NOTFOUND;
    return MP_OK;
}

static int decode_user(struct span s, struct mp_admin_target *t)
{
    size_t n;
    if (pct_decode(s.p, s.n, false, t->user, MP_USER_ID_MAX, &n) != MP_OK)
        return MP_EINVAL;
    /* Refuses NUL and every other control byte as well. */
    if (mp_user_id_validate(t->user, n) != MP_OK)
        return MP_EINVAL;
    t->user[n] = '\0';
    t->user_len = n;
    return MP_OK;
}

static int decode_key(struct span s, struct mp_admin_target *t)
{
    char raw[MP_ADMIN_KEY_RAW_MAX];
    size_t n;
    if (pct_decode(s.p, s.n, false, raw, sizeof(raw), &n) != MP_OK)
        return MP_EINVAL;
    return mp_usermem_normalize_key(raw, n, t->key) == MP_OK ? MP_OK : MP_EINVAL;
}

static int decode_explanation(struct span s, struct mp_admin_target *t)
{
    if (s.n != MP_ADMIN_EXPLANATION_LEN)
        return MP_EINVAL;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return MP_EINVAL;
    }
    memcpy(t->explanation, s.p, s.n);
    t->explanation[s.n] = '\0';
    return MP_OK;
}

int mp_adminpath_parse_id(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19 || s[0] == '0')
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return MP_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX)
        return MP_EINVAL;
    *out = v;
    return MP_OK;
}

/* {conv}: a conversation's digest, 16 hex digits of either case. */
static int decode_conv(struct span s, struct mp_admin_target *t)
{
    uint64_t v = 0;
    if (s.n != 16)
        return MP_EINVAL;
    for (size_t i = 0; i < s.n; i++) {
        int d = mp_hex_value((unsigned char)s.p[i]);
        if (d < 0)
            return MP_EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    t->conv = v;
    return MP_OK;
}

static int parse_tenant(struct span v, struct mp_admin_target *t)
{
    char buf[MP_ADMIN_TENANT_LEN];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n != MP_ADMIN_TENANT_LEN)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (mp_hex_value((unsigned char)buf[i]) < 0)
            return MP_EINVAL;
        t->tenant[i] = (char)(buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i]);
    }
    t->tenant[n] = '\0';
    t->has_tenant = true;
    return MP_OK;
}

static bool cursor_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A cursor into out (MP_ADMIN_CURSOR_MAX + 1 bytes) and *len. */
static int parse_cursor(struct span v, char *out, size_t *len)
{
    size_t n;
    if (pct_decode(v.p, v.n, true, out, MP_ADMIN_CURSOR_MAX, &n) != MP_OK)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!cursor_char(out[i]))
            return MP_EINVAL;
    }
    out[n] = '\0';
    *len = n;
    return MP_OK;
}

/* A limit 1..MP_ADMIN_LIMIT_MAX into *out. */
static int parse_limit(struct span v, unsigned *out)
{
    char buf[LIMIT_DIGITS_MAX];
    size_t n;
    unsigned value = 0;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK || n == 0 || buf[0] == '0')
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return MP_EINVAL;
        value = value * 10 + (unsigned)(buf[i] - '0');
    }
    if (value > MP_ADMIN_LIMIT_MAX)
        return MP_EINVAL;
    *out = value;
    return MP_OK;
}

static int parse_retention(struct span v, struct mp_admin_target *t)
{
    char buf[8];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    struct span dv = {buf, n};
    if (!span_is(dv, "receipt") && !span_is(dv, "item"))
        return MP_EINVAL;
    t->retention_item = span_is(dv, "item");
    return MP_OK;
}

static int parse_q(struct span v, struct mp_admin_target *t)
{
    size_t n;
    if (pct_decode(v.p, v.n, true, t->q, MP_ADMIN_QUERY_MAX, &n) != MP_OK ||
        memchr(t->q, '\0', n) != NULL)
        return MP_EINVAL;
    t->q[n] = '\0';
    t->q_len = n;
    t->has_q = true;
    return MP_OK;
}

/* "facts", "messages" or both, comma-separated. */
static int parse_types(struct span v, struct mp_admin_target *t)
{
    char buf[32];
    size_t n, start = 0;
    unsigned types = 0;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && buf[i] != ',')
            continue;
        struct span one = {buf + start, i - start};
        unsigned bit = span_is(one, "facts")      ? MP_ADMIN_TYPE_FACTS
                       : span_is(one, "messages") ? MP_ADMIN_TYPE_MESSAGES
                                                  : 0;
        if (bit == 0 || (types & bit) != 0)
            return MP_EINVAL;
        types |= bit;
        start = i + 1;
    }
    t->types = types;
    return MP_OK;
}

static int parse_api(struct span v, struct mp_admin_target *t)
{
    char buf[16];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    struct span dv = {buf, n};
    if (span_is(dv, "chat"))
        t->api = MP_ADMIN_API_CHAT;
    else if (span_is(dv, "responses"))
        t->api = MP_ADMIN_API_RESPONSES;
    else if (span_is(dv, "messages"))
        t->api = MP_ADMIN_API_MESSAGES;
    else
        return MP_EINVAL;
    return MP_OK;
}

static int parse_format(struct span v, struct mp_admin_target *t)
{
    char buf[16];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    struct span dv = {buf, n};
    for (int f = MP_IMPORT_FORMAT_JSONL; f < MP_IMPORT_FORMAT_COUNT; f++) {
        if (span_is(dv, mp_importitem_format_name((enum mp_import_format)f))) {
            t->format = (enum mp_import_format)f;
            return MP_OK;
        }
    }
    return MP_EINVAL;
}

static int parse_dry_run(struct span v, struct mp_admin_target *t)
{
    char buf[8];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    struct span dv = {buf, n};
    if (!span_is(dv, "true") && !span_is(dv, "false"))
        return MP_EINVAL;
    t->dry_run = span_is(dv, "true");
    return MP_OK;
}

/* A decimal 0..MP_ADMIN_BUDGET_MAX, digits only. */
static int parse_budget(struct span v, struct mp_admin_target *t)
{
    uint64_t value = 0;
    if (v.n == 0 || v.n > 10 || (v.n > 1 && v.p[0] == '0'))
        return MP_EINVAL;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return MP_EINVAL;
        value = value * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (value > MP_ADMIN_BUDGET_MAX)
        return MP_EINVAL;
    t->extract_max_tokens = value;
    t->has_extract_max_tokens = true;
    return MP_OK;
}

static int parse_state(struct span v, struct mp_admin_target *t)
{
    static const char *const names[] = {
        [MP_ADMIN_JOBS_ALL] = "all",       [MP_ADMIN_JOBS_PENDING] = "pending",
        [MP_ADMIN_JOBS_LEASED] = "leased", [MP_ADMIN_JOBS_HELD] = "held",
        [MP_ADMIN_JOBS_FAILED] = "failed",
    };
    char buf[STATE_MAX_LEN];
    size_t n;
    if (pct_decode(v.p, v.n, true, buf, sizeof(buf), &n) != MP_OK)
        return MP_EINVAL;
    struct span dv = {buf, n};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (span_is(dv, names[i])) {
            t->state = (enum mp_admin_job_state)i;
            return MP_OK;
        }
    }
    return MP_EINVAL;
}

/* A user id in the query: the rules of a path's {id}, '+' a space. */
static int parse_job_user(struct span v, struct mp_admin_target *t)
{
    size_t n;
    if (pct_decode(v.p, v.n, true, t->job_user, MP_USER_ID_MAX, &n) != MP_OK ||
        mp_user_id_validate(t->job_user, n) != MP_OK)
        return MP_EINVAL;
    t->job_user[n] = '\0';
    t->job_user_len = n;
    t->has_job_user = true;
    return MP_OK;
}

/* The parameters of one route each: an import's, a jobs listing's. */
static int route_pair(unsigned bit, struct span value, struct mp_admin_target *t,
                      const char **param)
{
    if (bit == SEEN_STATE) {
        *param = "state";
        return parse_state(value, t);
    }
    if (bit == SEEN_USER) {
        *param = "user";
        return parse_job_user(value, t);
    }
    if (bit == SEEN_FORMAT) {
        *param = "format";
        return parse_format(value, t);
    }
    if (bit == SEEN_DRY_RUN) {
        *param = "dry_run";
        return parse_dry_run(value, t);
    }
    *param = "extract_max_tokens";
    return parse_budget(value, t);
}

/* One "name[=value]" pair. Unknown names are skipped without reading the
 * value, so a future parameter with any syntax cannot break old servers. */
static int parse_pair(struct span pair, struct mp_admin_target *t, unsigned *seen,
                      const char **param)
{
    const char *eq = memchr(pair.p, '=', pair.n);
    struct span name = {pair.p, eq != NULL ? (size_t)(eq - pair.p) : pair.n};
    struct span value = {eq != NULL ? eq + 1 : pair.p + pair.n, 0};
    char nbuf[NAME_MAX_LEN];
    size_t nlen;
    int rc;

    value.n = (size_t)(pair.p + pair.n - value.p);
    *param = "query";
    if (!escapes_ok(name.p, name.n))
        return MP_EINVAL;
    if (pct_decode(name.p, name.n, true, nbuf, sizeof(nbuf), &nlen) != MP_OK)
        return MP_OK; /* too long to be a known name */
    struct span dn = {nbuf, nlen};
    unsigned bit = span_is(dn, "tenant")               ? SEEN_TENANT
                   : span_is(dn, "cursor")             ? SEEN_CURSOR
                   : span_is(dn, "limit")              ? SEEN_LIMIT
                   : span_is(dn, "retention")          ? SEEN_RETENTION
                   : span_is(dn, "q")                  ? SEEN_Q
                   : span_is(dn, "types")              ? SEEN_TYPES
                   : span_is(dn, "api")                ? SEEN_API
                   : span_is(dn, "format")             ? SEEN_FORMAT
                   : span_is(dn, "dry_run")            ? SEEN_DRY_RUN
                   : span_is(dn, "extract_max_tokens") ? SEEN_BUDGET
                   : span_is(dn, "state")              ? SEEN_STATE
                   : span_is(dn, "user")               ? SEEN_USER
                   : span_is(dn, "entities_cursor")    ? SEEN_ENTITIES_CURSOR
                   : span_is(dn, "entities_limit")     ? SEEN_ENTITIES_LIMIT
                                                       : 0;
    if (bit == 0)
        return MP_OK;
    if (*seen & bit)
        return MP_EINVAL;
    *seen |= bit;
    if (bit == SEEN_TENANT) {
        *param = "tenant";
        rc = parse_tenant(value, t);
    } else if (bit == SEEN_CURSOR) {
        *param = "cursor";
        rc = parse_cursor(value, t->cursor, &t->cursor_len);
    } else if (bit == SEEN_LIMIT) {
        *param = "limit";
        rc = parse_limit(value, &t->limit);
        t->has_limit = rc == MP_OK;
    } else if (bit == SEEN_ENTITIES_CURSOR) {
        *param = "entities_cursor";
        rc = parse_cursor(value, t->entities_cursor, &t->entities_cursor_len);
    } else if (bit == SEEN_ENTITIES_LIMIT) {
        *param = "entities_limit";
        rc = parse_limit(value, &t->entities_limit);
    } else if (bit == SEEN_RETENTION) {
        *param = "retention";
        rc = parse_retention(value, t);
    } else if (bit == SEEN_Q) {
        *param = "q";
        rc = parse_q(value, t);
    } else if (bit == SEEN_TYPES) {
        *param = "types";
        rc = parse_types(value, t);
    } else if (bit == SEEN_API) {
        *param = "api";
        rc = parse_api(value, t);
    } else {
        rc = route_pair(bit, value, t, param);
    }
    return rc;
}

int mp_adminpath_parse_query(const char *q, size_t len, struct mp_admin_target *t,
                             const char **param)
{
    unsigned seen = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && q[i] != '&')
            continue;
        struct span pair = {q + start, i - start};
        start = i + 1;
        if (pair.n == 0)
            continue;
        if (parse_pair(pair, t, &seen, param) != MP_OK)
            return MP_EINVAL;
    }
    return MP_OK;
}

/* Everything after the route has matched; *param names the culprit. */
static int parse_parts(const char *target, size_t len, size_t path_len, const struct span *seg,
                       struct mp_admin_target *t, const char **param)
{
    if (t->route >= MP_ADMIN_USER_FIRST && t->route <= MP_ADMIN_USER_LAST && seg[1].n > 0) {
        *param = "user";
        if (decode_user(seg[1], t) != MP_OK)
            return MP_EINVAL;
    }
    if (t->route == MP_ADMIN_USER_ENTITY) {
        *param = "key";
        if (decode_key(seg[3], t) != MP_OK)
            return MP_EINVAL;
    }
    if (t->route == MP_ADMIN_USER_MESSAGE) {
        *param = "seq";
        if (mp_adminpath_parse_id(seg[3].p, seg[3].n, &t->seq) != MP_OK)
            return MP_EINVAL;
    }
    if (t->route == MP_ADMIN_USER_CONVERSATION) {
        *param = "conversation";
        if (decode_conv(seg[3], t) != MP_OK)
            return MP_EINVAL;
    }
    if (t->route == MP_ADMIN_EXPLANATION) {
        *param = "id";
        if (decode_explanation(seg[1], t) != MP_OK)
            return MP_EINVAL;
    }
    if (t->route == MP_ADMIN_JOB || t->route == MP_ADMIN_JOB_RETRY) {
        *param = "id";
        if (mp_adminpath_parse_id(seg[1].p, seg[1].n, &t->job) != MP_OK)
            return MP_EINVAL;
    }
    *param = "query";
    if (memchr(target, '#', len) != NULL)
        return MP_EINVAL;
    if (path_len == len)
        return MP_OK;
    return mp_adminpath_parse_query(target + path_len + 1, len - path_len - 1, t, param);
}

int mp_adminpath_parse(const char *target, size_t len, struct mp_admin_target *out,
                       const char **param)
{
    struct mp_admin_target t;
    struct span seg[MAX_SEGMENTS];
    size_t nseg;
    const char *why = NULL;
    size_t path_len = 0;

    while (path_len < len && target[path_len] != '?' && target[path_len] != '#')
        path_len++;
    if (path_len < ADMIN_PREFIX_LEN || memcmp(target, ADMIN_PREFIX, ADMIN_PREFIX_LEN) != 0)
        return MP_NOTFOUND;
    memset(&t, 0, sizeof(t));
    t.limit = MP_ADMIN_LIMIT_DEFAULT;
    t.types = MP_ADMIN_TYPES_ALL;
    if (split_segments(target + ADMIN_PREFIX_LEN, path_len - ADMIN_PREFIX_LEN, seg, &nseg) !=
            MP_OK ||
        match_route(seg, nseg, &t.route) != MP_OK)
        return MP_NOTFOUND;
    if (parse_parts(target, len, path_len, seg, &t, &why) != MP_OK) {
        if (param != NULL)
            *param = why;
        return MP_EINVAL;
    }
    if (t.route >= MP_ADMIN_USER_FIRST && t.route <= MP_ADMIN_USER_LAST && seg[1].n == 0) {
        /* "/admin/users//memory?user=..": the id a browser cannot put in a
         * path (it folds ".", "..", "%2E" and "%2E%2E" segments away) */
        if (!t.has_job_user)
            return MP_NOTFOUND;
        memcpy(t.user, t.job_user, t.job_user_len + 1);
        t.user_len = t.job_user_len;
    }
    *out = t;
    return MP_OK;
}

const char *mp_adminpath_allow(enum mp_admin_route route)
{
    switch (route) {
    case MP_ADMIN_USERS:
    case MP_ADMIN_USER_EXPORT:
    case MP_ADMIN_USER_HISTORY:
    case MP_ADMIN_USER_SEARCH:
    case MP_ADMIN_STATUS:
    case MP_ADMIN_EXPLANATION:
    case MP_ADMIN_JOBS:
        return "GET";
    case MP_ADMIN_USER_SETTINGS:
        return "GET, PUT";
    case MP_ADMIN_USER_MEMORY:
        return "GET, DELETE";
    case MP_ADMIN_USER_ENTITY:
        return "PUT, DELETE";
    case MP_ADMIN_USER_MESSAGE:
    case MP_ADMIN_USER_CONVERSATION:
    case MP_ADMIN_JOB:
        return "DELETE";
    case MP_ADMIN_USER_EXPLAIN:
        return "GET, POST";
    case MP_ADMIN_USER_IMPORT:
    case MP_ADMIN_COMPACT:
    case MP_ADMIN_SWEEP:
    case MP_ADMIN_RELOAD:
    case MP_ADMIN_EXTRACT:
    case MP_ADMIN_JOB_RETRY:
    case MP_ADMIN_USER_REVOKE_LINKS:
        return "POST";
    }
    return "";
}

/* Walks the Allow list, so the two can never disagree. */
bool mp_adminpath_method_ok(enum mp_admin_route route, const char *method, size_t method_len)
{
    const char *p = mp_adminpath_allow(route);
    if (method == NULL || method_len == 0)
        return false;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        if (n == method_len && memcmp(p, method, n) == 0)
            return true;
        p += n;
        p += strspn(p, ", ");
    }
    return false;
}
