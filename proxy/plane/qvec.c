/* A question's vector (qvec.h): one embeddings call of one text. */
#include "plane/qvec.h"

#include <stdlib.h>
#include <string.h>

#include "embed/embed_answer.h"
#include "embed/embed_request.h"
#include "json/utf8.h"
#include "net/embcall.h"
#include "net/loop.h"
#include "net/upstream.h"
#include "status.h"

#define QVEC_INPUT_MAX  2048      /* bytes of the question sent, as the backfill's items */
#define QVEC_ANSWER_MAX (1 << 20) /* an answer past this is refused (too_big) */

struct mp_qvec_client {
    struct mp_upstream *up;
};

struct mp_qvec_call {
    struct mp_qvec_client *c;
    struct mp_embcall call;
    unsigned dims; /* configured; 0: the answer's */
    mp_qvec_done_fn done;
    void *arg;
};

static void finish(struct mp_qvec_call *q, enum mp_embed_query_result r, const float *vec,
                   unsigned dims)
{
    mp_qvec_done_fn done = q->done;
    void *arg = q->arg;
    mp_embcall_end(&q->call, q->c->up, false);
    free(q);
    done(arg, r, vec, dims);
}

static void on_done(void *req, CURLcode result)
{
    struct mp_qvec_call *q = req;
    int64_t after;
    enum mp_embcall_end end = mp_embcall_result(&q->call, result, &after);
    if (end != MP_EMBCALL_ANSWERED) {
        finish(q, end == MP_EMBCALL_TIMED_OUT ? MP_EMBQ_TIMEOUT : MP_EMBQ_ERROR, NULL, 0);
        return;
    }
    const char *body = q->call.resp.data != NULL ? q->call.resp.data : "";
    unsigned dims = q->dims != 0 ? q->dims : mp_embed_answer_sniff_dims(body, q->call.resp.len);
    float *vec = dims != 0 ? malloc(dims * sizeof(float)) : NULL;
    struct mp_embed_answer ans;
    bool ok = vec != NULL && mp_embed_answer_parse(body, q->call.resp.len, q->call.resp.max, 1,
                                                   dims, vec, &ans) == MP_EMBED_OK;
    finish(q, ok ? MP_EMBQ_OK : MP_EMBQ_ERROR, ok ? vec : NULL, ok ? dims : 0);
    free(vec);
}

struct mp_qvec_client *mp_qvec_client_new(struct event_base *base)
{
    struct mp_qvec_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->up = mp_upstream_new(base, on_done);
    if (c->up == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void mp_qvec_client_free(struct mp_qvec_client *c)
{
    if (c == NULL)
        return;
    mp_upstream_free(c->up);
    free(c);
}

int mp_qvec_start(struct mp_qvec_client *c, const struct mp_config *cfg, const char *text,
                  size_t len, mp_qvec_done_fn done, void *arg, struct mp_qvec_call **out)
{
    const struct mp_config *k = cfg;
    struct mp_embed_server srv = {k->embeddings.model,
                                  k->embeddings.dimensions,
                                  k->embeddings.query_prefix,
                                  k->embeddings.document_prefix,
                                  k->embeddings.input_type_field,
                                  NULL,
                                  NULL};
    const char *texts[1] = {text};
    size_t lens[1] = {mp_utf8_cut(text, len, QVEC_INPUT_MAX)};
    char *body = NULL;
    size_t blen = 0;
    if (k->embeddings.base_url.text[0] == '\0' || lens[0] == 0)
        return MP_EINVAL;
    struct mp_qvec_call *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return MP_ENOMEM;
    int rc = mp_embed_request_build(&srv, MP_EMBED_QUERY, texts, lens, 1, &body, &blen);
    if (rc != MP_OK) {
        free(q);
        return rc;
    }
    *q = (struct mp_qvec_call){.c = c, .dims = k->embeddings.dimensions, .done = done, .arg = arg};
    rc = mp_embcall_start(&q->call, c->up, k, body, blen, QVEC_ANSWER_MAX, q,
                          (long)k->embeddings.timeout_ms);
    if (rc != MP_OK) {
        free(q);
        return rc;
    }
    *out = q;
    return MP_OK;
}

void mp_qvec_cancel(struct mp_qvec_call *q)
{
    if (q == NULL)
        return;
    mp_embcall_end(&q->call, q->c->up, true);
    free(q);
}

static void on_ask(void *arg, enum mp_embed_query_result r, const float *vec, unsigned dims)
{
    struct mp_qvec_ask *a = arg;
    a->call = NULL;
    a->result = r;
    mp_metrics_embed_query(a->metrics, r);
    if (r == MP_EMBQ_OK) {
        a->vec = malloc(dims * sizeof(float));
        if (a->vec != NULL) {
            memcpy(a->vec, vec, dims * sizeof(float));
            a->dims = dims;
        }
    }
    a->then(a->arg);
}

int mp_qvec_ask(struct mp_qvec_ask *a, struct mp_loop *loop, const char *text, size_t len,
                void (*then)(void *arg), void *arg)
{
    const struct mp_config *cfg = loop->cfg;
    if (cfg->embeddings.base_url.text[0] == '\0' || len == 0)
        return MP_OK;
    a->then = then;
    a->arg = arg;
    a->metrics = loop->metrics;
    a->asked = true;
    if (loop->qvec == NULL)
        loop->qvec = mp_qvec_client_new(loop->base);
    if (loop->qvec != NULL &&
        mp_qvec_start(loop->qvec, cfg, text, len, on_ask, a, &a->call) == MP_OK) {
        return MP_AGAIN;
    }
    a->asked = true;
    a->result = MP_EMBQ_ERROR;
    mp_metrics_embed_query(loop->metrics, MP_EMBQ_ERROR);
    return MP_OK;
}

const char *mp_qvec_ask_retrieval(const struct mp_qvec_ask *a)
{
    return !a->asked                      ? NULL
           : a->result == MP_EMBQ_OK      ? "hybrid"
           : a->result == MP_EMBQ_TIMEOUT ? "lexical; reason=timeout"
                                          : "lexical; reason=error";
}

void mp_qvec_ask_cleanup(struct mp_qvec_ask *a)
{
    mp_qvec_cancel(a->call);
    a->call = NULL;
    free(a->vec);
    a->vec = NULL;
}
