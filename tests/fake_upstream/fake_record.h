/* The fake upstream's request log: the last FAKE_RECORD_MAX /v1 requests,
 * for GET /_fake/requests and GET /_fake/last. One copy per request into a
 * ring of reused buffers; the JSON view is built only when asked for. It
 * does no I/O. */
#ifndef MP_TESTS_FAKE_RECORD_H
#define MP_TESTS_FAKE_RECORD_H

#include "fake_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_RECORD_MAX      200
#define FAKE_RECORD_BODY_MAX (256 * 1024) /* body bytes kept per request */
#define FAKE_RECORD_HEADERS  256          /* header fields listed per request */

struct fake_record {
    uint64_t n;           /* request number, as in x-request-id */
    struct fake_buf raw;  /* bytes as received, cut after FAKE_RECORD_BODY_MAX body bytes */
    size_t head_len;      /* request line + fields + empty line */
    bool complete;        /* raw holds every byte of the request */
    bool chunked;         /* the body is in body (decoded), not after the head in raw */
    struct fake_buf body; /* chunked requests: the decoded body, cut like raw */
    bool body_truncated;  /* the body was longer than FAKE_RECORD_BODY_MAX */
    const char *job;      /* "extract", "summarize", or NULL: set by the caller */
    uint64_t t_ms;        /* CLOCK_MONOTONIC ms when the request was complete: set by the caller */
};

struct fake_records {
    struct fake_record e[FAKE_RECORD_MAX];
    size_t next;  /* where the next request goes */
    size_t count; /* requests held, at most FAKE_RECORD_MAX */
};

/* Records a request: raw[0..raw_len) as received, head_len its head, and
 * its body (body[0..body_len), decoded when chunked). Returns the record
 * (valid until the next add or clear), or NULL when out of memory. */
struct fake_record *fake_records_add(struct fake_records *r, uint64_t n, const char *raw,
                                     size_t raw_len, size_t head_len, const char *body,
                                     size_t body_len, bool chunked);

/* The newest record, or NULL when there is none. */
const struct fake_record *fake_records_newest(const struct fake_records *r);

void fake_records_clear(struct fake_records *r);
void fake_records_free(struct fake_records *r);

/* Appends the JSON array of every record, oldest first:
 * {"n":N,"t_ms":T,"method":"POST","path":"/v1/...","job":null,"headers":{...},
 *  "body":"...","body_truncated":false}. Header names are lower-cased,
 * repeated fields joined with ", ". Returns 0, or -1 when out of memory. */
int fake_records_json(const struct fake_records *r, struct fake_buf *out);

#endif
