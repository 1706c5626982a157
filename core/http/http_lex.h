/* The HTTP/1.1 grammar the request parser (http_parse.c) and the response
 * parser (http_resp.c) share: character classes, the end of a head, field
 * lines and what they say about framing, the chunked framing. Not a public
 * interface: only core/http_*.c include it. */
#ifndef MP_CORE_HTTP_LEX_H
#define MP_CORE_HTTP_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parse.h"

/* Character classes of mp_http_lex_ctype, one bit each. */
#define MP_HTTP_TCHAR 1 /* RFC 9110 tchar: methods and field names */
#define MP_HTTP_VCHAR 2 /* visible ASCII 0x21-0x7e: request targets */
#define MP_HTTP_FIELD 4 /* field value or reason phrase byte: HTAB, SP, VCHAR, obs-text */
#define MP_HTTP_HEX   8 /* hex digit: chunk sizes */

/* The class bits of every byte. CR, LF and NUL are in no class, so a scan
 * over a class stops at a line end: inside a head whose last byte is a LF
 * (mp_http_lex_head_end), such scans need no bounds checks. */
extern const unsigned char mp_http_lex_ctype[256];

static inline bool mp_http_lex_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Ends a line at p[i]: "\r\n" only. Returns the next line's offset, or 0
 * (never a valid next offset) when p[i] is anything else. p[i + 1] is read
 * only after a CR, which is never the last byte of a head. */
static inline size_t mp_http_lex_line_end(const unsigned char *p, size_t i)
{
    return p[i] == '\r' && p[i + 1] == '\n' ? i + 2 : 0;
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n); locale-free. */
bool mp_http_lex_ieq(const char *a, const char *b, size_t n);

/* A Content-Length value s[0..len): 1*DIGIT up to INT64_MAX (no sign, no
 * blanks, no list, no overflow) into *out. MP_OK or MP_EINVAL. */
int mp_http_lex_length(const char *s, size_t len, uint64_t *out);

/* Finds the end of a head whose first line starts at p[start]: the first
 * CRLF followed by an empty line (CRLF) within p[0..lim). *end is one past
 * that empty line's LF. MP_AGAIN when there is none yet; MP_EINVAL at once
 * for a LF without its CR, complete head or not. */
int mp_http_lex_head_end(const unsigned char *p, size_t start, size_t lim, size_t *end);

/* What the field lines say about framing and the connection. */
struct mp_http_lex_facts {
    uint64_t content_length; /* when has_length: at most INT64_MAX */
    bool has_length;
    bool chunked;         /* Transfer-Encoding: chunked, the only coding accepted */
    bool conn_close;      /* Connection lists "close" */
    bool conn_keep_alive; /* Connection lists "keep-alive" */
    bool expect_continue; /* Expect: 100-continue (the request parser's concern) */
};

/* Whether the connection may carry another message after this one, by
 * the version and the Connection field: HTTP/1.1 unless "close", HTTP/1.0
 * only with "keep-alive" (and not "close"). */
bool mp_http_lex_keep_alive(int minor_version, const struct mp_http_lex_facts *k);

/* Parses the field lines from p[i] up to and including the empty line that
 * mp_http_lex_head_end placed at end, into hdrs[0..*num) and *k.
 * Refuses (MP_EINVAL): a name that is not a token or a blank before the
 * colon (obs-fold starts with a blank), a control byte or bare CR in a
 * value, a Content-Length that is not 1*DIGIT or over INT64_MAX, differing
 * Content-Length values (equal repeats are one value), a Transfer-Encoding
 * other than a single "chunked". MP_ETOOBIG past MP_HTTP_MAX_HEADERS
 * fields. *num and *k are written on MP_OK only. */
int mp_http_lex_fields(const unsigned char *p, size_t i, size_t end, struct mp_http_header *hdrs,
                       size_t *num, struct mp_http_lex_facts *k);

/* The first field of fields[0..n) named name[0..name_len)
 * (case-insensitive), or NULL. */
const struct mp_http_header *mp_http_lex_find(const struct mp_http_header *fields, size_t n,
                                              const char *name, size_t name_len);

/* The chunked framing: chunk-size lines (extensions skipped), the CRLF after
 * chunk data, the last chunk and the trailer section (read and discarded).
 * It does not move chunk data: the caller takes it with
 * mp_http_lex_chunk_take, so the request decoder copies and the response
 * decoder hands out spans. Caps: 16 hex digits of size, 4096 bytes of a
 * size line or a trailer line (CRLF excluded), 16384 bytes of the whole
 * trailer section. */
void mp_http_lex_chunk_init(struct mp_http_chunked *c);

/* Reads framing bytes from in[*pos..n) and advances *pos over them, up to
 * where chunk data starts (then it returns MP_AGAIN with data pending), the
 * end of the input (MP_AGAIN), or the end of the body (MP_OK: *pos is one
 * past the final CRLF). MP_EINVAL for malformed framing or a cap passed;
 * MP_ETOOBIG when the pending chunk's size (what is left of it) is over
 * max_size. After an error the decoder stays failed (MP_EINVAL, *pos kept);
 * after MP_OK it stays done. */
int mp_http_lex_chunk_frame(struct mp_http_chunked *c, const char *in, size_t n, size_t *pos,
                            uint64_t max_size);

/* Takes up to avail bytes of pending chunk data: returns how many (0 when
 * the decoder is not in chunk data), which the caller then consumes. */
size_t mp_http_lex_chunk_take(struct mp_http_chunked *c, size_t avail);

#endif
