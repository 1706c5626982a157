/* Reading an OpenAI-compatible embeddings server's answer into unit float
 * vectors. Trusts the server for nothing: every way an answer can be
 * wrong is its own verdict with a stable name, so the caller can log it,
 * count it, and keep the items pending. Does not retry, time, or read
 * HTTP statuses: that is the caller's. */
#ifndef MP_CORE_EMBED_ANSWER_H
#define MP_CORE_EMBED_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest model name an answer may carry (bytes of UTF-8). */
#define MP_EMBED_MODEL_MAX 255

/* What an answer was. Every value but MP_EMBED_OK means no vector of the
 * answer may be used; the first fault met decides (see
 * mp_embed_answer_parse for the order). */
enum mp_embed_verdict {
    MP_EMBED_OK = 0,
    MP_EMBED_TOO_BIG,   /* the body is over the caller's cap */
    MP_EMBED_NOT_JSON,  /* not one valid JSON object */
    MP_EMBED_NO_DATA,   /* no "data" member, or it is not an array */
    MP_EMBED_COUNT,     /* data has fewer or more elements than inputs */
    MP_EMBED_BAD_ITEM,  /* an element is not an object, or its "embedding" is
                           missing or not an array of numbers (base64) */
    MP_EMBED_BAD_INDEX, /* an "index" is not an integer in [0, inputs) */
    MP_EMBED_DUP_INDEX, /* two elements carry the same index */
    MP_EMBED_DIMS,      /* a vector's length is not the expected dimensions */
    MP_EMBED_NONFINITE, /* NaN, Infinity, or a number past float's range */
    MP_EMBED_ZERO,      /* an all-zero vector: it has no direction */
    MP_EMBED_BAD_MODEL, /* "model" is not a string, is over
                           MP_EMBED_MODEL_MAX bytes, or holds control bytes */
    MP_EMBED_ARGS,      /* the caller's inputs or dimensions are out of range */
};
#define MP_EMBED_VERDICTS (MP_EMBED_ARGS + 1)

/* A verdict's stable lower-case name for a log line or a metric label
 * ("ok", "too_big", "not_json", "no_data", "count", "bad_item",
 * "bad_index", "dup_index", "dims", "nonfinite", "zero", "bad_model",
 * "args"); "unknown" for a value outside the enum. Static storage. */
const char *mp_embed_answer_verdict_name(enum mp_embed_verdict v);

/* What an answer says besides its vectors. */
struct mp_embed_answer {
    /* The answer's "model" as sent (decoded UTF-8, NUL-terminated), so a
     * different model behind the same configured name is noticed; ""
     * when the answer has none. */
    char model[MP_EMBED_MODEL_MAX + 1];
    size_t model_len;
    /* usage.prompt_tokens, when it is a non-negative integer of at most
     * 18 digits; has_tokens false (and 0) otherwise. */
    bool has_tokens;
    uint64_t prompt_tokens;
};

/* The length of the first "embedding" array of body[0..len): the
 * dimensions an answer seems to have, for a caller that was told none
 * (mp_embed_answer_parse then checks every vector against it); 0 when
 * none is found or it is over MP_EMBED_DIMS_MAX. body need not be
 * NUL-terminated. */
unsigned mp_embed_answer_sniff_dims(const char *body, size_t len);

/* Reads body[0..len), the answer to a request of n texts
 * (mp_embed_request_build), whose vectors must have dims numbers each.
 * Writes vector i, for the element whose "index" is i, L2-normalized, at
 * vecs[i * dims .. (i + 1) * dims). An element without "index" counts as
 * its position in data; an extra member anywhere is ignored.
 * Checks, in this order: n in [1, MP_EMBED_BATCH_MAX] and dims in
 * [1, MP_EMBED_DIMS_MAX] (ARGS); len <= cap (TOO_BIG, before a byte is
 * read); the body is one JSON object (NOT_JSON, or NONFINITE when it is
 * not JSON because a bare NaN or Infinity stands outside a string, as
 * Python's json writes them); "model" (BAD_MODEL); "data" (NO_DATA); then
 * each element in order: its shape (BAD_ITEM), its index (BAD_INDEX,
 * DUP_INDEX), its numbers (BAD_ITEM for a non-number, NONFINITE for a
 * value that is infinite as a float, 1e999 or 1e39), its length (DIMS,
 * as soon as it passes dims), its norm (ZERO); an element past the n-th,
 * or fewer than n, is COUNT. A value too small for a float becomes 0.
 * body is borrowed and need not be NUL-terminated; vecs holds n * dims
 * floats and is caller-owned; its contents are unspecified unless
 * MP_EMBED_OK. *ans is written only on MP_EMBED_OK. */
enum mp_embed_verdict mp_embed_answer_parse(const char *body, size_t len, size_t cap, size_t n,
                                            unsigned dims, float *vecs,
                                            struct mp_embed_answer *ans);

#endif
