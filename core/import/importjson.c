/* Spans of an export's JSON read as strings, numbers and text
 * (importjson.h). The document was validated whole before any of this
 * runs; each function still checks the kind of value it is handed. */
#include "import/importjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import/importitem.h"
#include "json/json_scan.h"
#include "status.h"
#include "json/utf8.h"

#define SECONDS_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */

bool mp_importjson_given(const char *buf, struct mp_importjson_span sp)
{
    return sp.e > sp.s && !mp_json_span_is(buf, sp.s, sp.e, "null");
}

bool mp_importjson_str_is(const char *buf, struct mp_importjson_span sp, const char *lit)
{
    size_t n = strlen(lit);
    return sp.e - sp.s == n + 2 && buf[sp.s] == '"' && memcmp(buf + sp.s + 1, lit, n) == 0;
}

bool mp_importjson_true(const char *buf, struct mp_importjson_span sp)
{
    return sp.e > sp.s && mp_json_span_is(buf, sp.s, sp.e, "true");
}

int mp_importjson_string(const char *buf, struct mp_importjson_span sp, char **out, size_t *len)
{
    if (sp.e - sp.s < 2 || buf[sp.s] != '"')
        return MP_EINVAL;
    size_t cap = sp.e - sp.s; /* the decoded length is at most e - s - 2 */
    char *d = malloc(cap);
    if (d == NULL)
        return MP_ENOMEM;
    size_t n = 0;
    if (mp_json_text_decode(buf, sp.s, sp.e, d, cap, &n) != MP_OK) {
        free(d);
        return MP_EINVAL;
    }
    d[n] = '\0';
    *out = d;
    *len = n;
    return MP_OK;
}

int mp_importjson_number(const char *buf, struct mp_importjson_span sp, double *out)
{
    char tmp[64];
    size_t n = sp.e - sp.s;
    char c = sp.e > sp.s ? buf[sp.s] : 'x';
    if (n == 0 || n >= sizeof(tmp) || !(c == '-' || (c >= '0' && c <= '9')))
        return MP_EINVAL;
    memcpy(tmp, buf + sp.s, n);
    tmp[n] = '\0';
    char *end = NULL;
    double v = strtod(tmp, &end);
    if (end != tmp + n || !isfinite(v))
        return MP_EINVAL;
    *out = v;
    return MP_OK;
}

int mp_importjson_seconds(double v, int64_t *ms)
{
    if (!(v >= 0 && v <= SECONDS_MAX))
        return MP_EINVAL;
    *ms = (int64_t)llround(v * 1000.0);
    return MP_OK;
}

int mp_importjson_members(const char *buf, struct mp_importjson_span sp, const char *const *keys,
                          size_t n, struct mp_importjson_span *spans)
{
    size_t raw[MP_JSON_MEMBERS_MAX][2];
    if (sp.e <= sp.s || buf[sp.s] != '{' ||
        mp_json_members_in(buf, sp.s, sp.e, keys, n, raw) != MP_OK)
        return MP_EINVAL;
    for (size_t i = 0; i < n; i++)
        spans[i] = (struct mp_importjson_span){raw[i][0], raw[i][1]};
    return MP_OK;
}

void mp_importjson_title(const char *buf, struct mp_importjson_span sp, struct mp_import_error *err)
{
    char *t = NULL;
    size_t n = 0;
    err->title[0] = '\0';
    if (mp_importjson_string(buf, sp, &t, &n) != MP_OK)
        return;
    size_t k = mp_utf8_cut(t, n, MP_IMPORT_TITLE_MAX);
    memcpy(err->title, t, k);
    memcpy(err->title + k, k < n ? "..." : "", k < n ? 4 : 1);
    free(t);
}

size_t mp_importjson_bom(const char *buf, size_t len)
{
    return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

int mp_importjson_each(const char *buf, size_t len, bool one_object, struct mp_import_error *err,
                       mp_importjson_each_fn fn, void *arg)
{
    size_t s, e, cursor = 0, es, ee, line = 1, at = 0;
    size_t from = mp_importjson_bom(buf, len);
    memset(err, 0, sizeof(*err));
    err->line = 1;
    if (mp_json_scan_value(buf, len, from, &s, &e) != MP_OK ||
        mp_json_skip_ws(buf, len, e) != len) {
        err->why = "not JSON";
        return MP_EINVAL;
    }
    if (one_object && buf[s] == '{') {
        err->conversation = 1;
        return fn(arg, (struct mp_importjson_span){s, e}, mp_importitem_line_at(buf, s));
    }
    if (buf[s] != '[') {
        err->why = "not a list of conversations";
        return MP_EINVAL;
    }
    int rc = MP_OK;
    while (rc == MP_OK && mp_json_next(buf, s, e, &cursor, NULL, NULL, &es, &ee) == MP_OK) {
        line += mp_importitem_line_at(buf + at, es - at) - 1; /* lines grow with offsets */
        at = es;
        err->conversation++;
        err->message = 0;
        err->title[0] = '\0';
        rc = fn(arg, (struct mp_importjson_span){es, ee}, line);
    }
    return rc;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return false;
    return true;
}

int mp_importjson_text_add(struct mp_importjson_text *t, const char *buf,
                           struct mp_importjson_span sp)
{
    char *piece = NULL;
    size_t n = 0;
    int rc = mp_importjson_string(buf, sp, &piece, &n);
    if (rc != MP_OK || blank(piece, n)) {
        free(piece);
        return rc;
    }
    size_t need = t->len + (t->len > 0 ? 2 : 0) + n + 1;
    if (need > t->cap) {
        size_t cap = t->cap > 0 ? t->cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            free(piece);
            return MP_ENOMEM;
        }
        t->p = p;
        t->cap = cap;
    }
    if (t->len > 0) {
        memcpy(t->p + t->len, "\n\n", 2);
        t->len += 2;
    }
    memcpy(t->p + t->len, piece, n);
    t->len += n;
    t->p[t->len] = '\0';
    free(piece);
    return MP_OK;
}

void mp_importjson_text_take(struct mp_importjson_text *t, size_t max, char **out, size_t *len)
{
    size_t a = 0, b = t->len;
    while (a < b && blank(t->p + a, 1))
        a++;
    while (b > a && blank(t->p + b - 1, 1))
        b--;
    *out = NULL;
    *len = 0;
    if (a == b)
        return;
    memmove(t->p, t->p + a, b - a);
    t->p[b - a] = '\0';
    *len = mp_utf8_cut_marked(t->p, b - a, max);
    t->p[*len] = '\0';
    *out = t->p;
    t->p = NULL;
    t->len = t->cap = 0;
}

void mp_importjson_text_free(struct mp_importjson_text *t)
{
    free(t->p);
    memset(t, 0, sizeof(*t));
}
