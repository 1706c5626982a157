/* The fake upstream's embeddings server (POST /v1/embeddings, OpenAI's
 * shape; docs/fake-upstream-wires.md, "Embeddings"): deterministic vectors
 * from a hashed bag of words with a small synonym table, the log of the
 * requests for GET /_fake/embeddings, and the misbehaviour that
 * POST /_fake/embedmode sets. Pure text work, no I/O: the server frames and
 * times what it builds. */
#ifndef MP_TESTS_FAKE_EMBED_H
#define MP_TESTS_FAKE_EMBED_H

#include "fake_behavior.h"
#include "fake_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_EMBED_DIMS       64                 /* without "dimensions" */
#define FAKE_EMBED_DIMS_MAX   4096               /* "dimensions" 1..this */
#define FAKE_EMBED_INPUTS_MAX 2048               /* strings in one request, as OpenAI */
#define FAKE_EMBED_INPUT_MAX  (64 * 1024)        /* bytes of one string */
#define FAKE_EMBED_HUGE_PAD   (1024 * 1024 + 64) /* the padding of mode huge */
#define FAKE_EMBED_LOG_MAX    64                 /* requests /_fake/embeddings lists */
#define FAKE_EMBED_MODEL      "fake-embed"       /* the model of a request without one */

/* How the next embeddings requests answer (POST /_fake/embedmode?mode=M). */
enum fake_embed_mode {
    FAKE_EMBED_OK,
    FAKE_EMBED_WRONG_DIMS,      /* every vector has half the dimensions (at least 1 fewer) */
    FAKE_EMBED_NAN,             /* NaN first in the first vector, 1e999 last in the last */
    FAKE_EMBED_FEWER,           /* one vector fewer than inputs (the last one missing) */
    FAKE_EMBED_HUGE,            /* the ok answer padded past 1 MiB */
    FAKE_EMBED_STATUS429,       /* 429 with retry-after */
    FAKE_EMBED_STATUS500,       /* 500 */
    FAKE_EMBED_HANG,            /* never answers, the connection stays open */
    FAKE_EMBED_SLOW,            /* the ok answer after FAKE_SLOW_MS */
    FAKE_EMBED_MODEL_CHANGED,   /* another model's name and other vectors */
    FAKE_EMBED_VECTORS_CHANGED, /* the same name, other vectors */
    FAKE_EMBED_MODE_COUNT
};

/* The state between requests: the mode and the log. */
struct fake_embed;

struct fake_embed *fake_embed_new(void);
void fake_embed_free(struct fake_embed *e);

/* Back to mode ok, the log emptied. */
void fake_embed_reset(struct fake_embed *e);

/* "ok", "wrong_dims", ...: the name of the current mode. */
const char *fake_embed_mode_name(const struct fake_embed *e);

/* Sets the mode by name (exact, lower case). Returns 0, or -1 when unknown. */
int fake_embed_set_mode(struct fake_embed *e, const char *s, size_t n);

/* What the server does with the answer built. */
struct fake_embed_answer {
    long status;   /* 200, 400 (a bad request: out is OpenAI's error), 429, 500 */
    bool stall;    /* hang: nothing sent */
    long delay_ms; /* slow: wait before the head */
};

/* Answers the request body[0..len) (request number n): appends to out the
 * answer's body (any status) and says how to send it. A request the API
 * refuses (not JSON, no "input", an input that is neither a string nor an
 * array of 1..FAKE_EMBED_INPUTS_MAX strings, a string over
 * FAKE_EMBED_INPUT_MAX bytes, "dimensions" outside 1..FAKE_EMBED_DIMS_MAX,
 * "encoding_format" other than "float") gets 400 in every mode and is not
 * logged. Out of memory sets out->oom. */
void fake_embed_answer(struct fake_embed *e, uint64_t n, const char *body, size_t len,
                       struct fake_buf *out, struct fake_embed_answer *a);

/* Appends the JSON of GET /_fake/embeddings: {"mode":M,"requests":R,
 * "inputs":I,"recent":[{"n","model","input_type","dimensions","inputs"}]},
 * the last FAKE_EMBED_LOG_MAX requests oldest first. */
void fake_embed_log_json(const struct fake_embed *e, struct fake_buf *out);

/* The one-body wire of /v1/embeddings: r->content is the whole body. */
extern const struct fake_wire fake_wire_embed;

#endif
