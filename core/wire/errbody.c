/* OpenAI-shaped error bodies. Formatting only: no HTTP status, no
 * allocation; the string escaping is json_write.c's. */
#include "wire/errbody.h"

#include <stdbool.h>
#include <string.h>

#include "json/json_write.h"

/* Appends to out[0..cap) at *n; false once something did not fit. */
struct writer {
    char *out;
    size_t cap;
    size_t n;
    bool full;
};

static void put_raw(struct writer *w, const char *s)
{
    size_t len = strlen(s);
    if (w->full || len > w->cap - w->n) {
        w->full = true;
        return;
    }
    memcpy(w->out + w->n, s, len);
    w->n += len;
}

/* A quoted, escaped string; NULL is written as the empty string. */
static void put_string(struct writer *w, const char *s)
{
    put_raw(w, "\"");
    if (w->full)
        return;
    size_t len = s != NULL ? strlen(s) : 0;
    size_t done = mp_json_escape(w->out + w->n, w->cap - w->n, s != NULL ? s : "", len);
    if (done == (size_t)-1) {
        w->full = true;
        return;
    }
    w->n += done;
    put_raw(w, "\"");
}

/* The body's length, or 0 (out emptied) when it did not fit. */
static size_t finish(struct writer *w)
{
    if (w->full || w->n >= w->cap) {
        if (w->cap > 0)
            w->out[0] = '\0';
        return 0;
    }
    w->out[w->n] = '\0';
    return w->n;
}

size_t mp_errbody_format(char *out, size_t cap, const char *message, const char *type,
                         const char *code)
{
    struct writer w = {out, cap, 0, false};

    put_raw(&w, "{\"error\":{\"message\":");
    put_string(&w, message);
    put_raw(&w, ",\"type\":");
    put_string(&w, type);
    put_raw(&w, ",\"param\":null,\"code\":");
    if (code != NULL)
        put_string(&w, code);
    else
        put_raw(&w, "null");
    put_raw(&w, "}}");
    return finish(&w);
}

const char *mp_errbody_anthropic_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 408:
    case 504:
        return "timeout_error";
    case 413:
    case 431:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 503:
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

size_t mp_errbody_format_anthropic(char *out, size_t cap, const char *message, int status,
                                   const char *code)
{
    struct writer w = {out, cap, 0, false};

    put_raw(&w, "{\"type\":\"error\",\"error\":{\"type\":");
    put_string(&w, mp_errbody_anthropic_type(status));
    put_raw(&w, ",\"message\":");
    put_string(&w, message);
    if (code != NULL) {
        put_raw(&w, ",\"code\":");
        put_string(&w, code);
    }
    put_raw(&w, "}}");
    return finish(&w);
}
