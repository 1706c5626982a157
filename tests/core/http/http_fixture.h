/* What the HTTP suites (test_http_parse, test_http_resp) share: exact-size
 * copies for ASan, span and field assertions, and the malformed input both
 * parsers refuse alike, as they share the grammar (core/http/http_lex.c): field
 * lines, Content-Length and Transfer-Encoding values, chunked framings, and
 * lines at their caps. The helpers fail the running Check test on misuse or
 * when a case is accepted. */
#ifndef MP_TESTS_CORE_HTTP_FIXTURE_H
#define MP_TESTS_CORE_HTTP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http_parse.h"

/* A list of inputs. */
struct hf_cases {
    const char *const *v;
    size_t n;
};

/* Field lines (each with its CRLF) that make any head malformed. */
extern const struct hf_cases hf_fields_obs_fold;
extern const struct hf_cases hf_fields_blank_before_colon;
extern const struct hf_cases hf_fields_bad_names;
extern const struct hf_cases hf_fields_bare_cr;
extern const struct hf_cases hf_fields_controls;

/* Content-Length values that are not 1*DIGIT: a sign, blanks, a list,
 * another base. */
extern const struct hf_cases hf_bad_lengths;

/* Transfer-Encoding values other than one "chunked". */
extern const struct hf_cases hf_bad_codings;

/* Chunked bodies every decoder refuses: malformed sizes, extensions, data
 * ends and trailers; and a bare LF in each kind of line. */
extern const struct hf_cases hf_chunked_malformed;
extern const struct hf_cases hf_chunked_bare_lf;

/* A heap copy of exactly n bytes (caller frees), so ASan catches any read
 * past the end. */
char *hf_dup_exact(const char *s, size_t n);

/* Asserts p[0..n) is want. */
void hf_assert_span(const char *p, size_t n, const char *want);

/* Asserts fields[i] exists among fields[0..num) and is name: value. */
void hf_assert_field(const struct mp_http_header *fields, size_t num, size_t i, const char *name,
                     const char *value);

/* Asserts that parse_rc gives MP_EINVAL for each head start + lines + CRLF;
 * start is the first line with its CRLF. */
void hf_assert_fields_refused(int (*parse_rc)(const char *head), const char *start,
                              const struct hf_cases *lines);

/* Asserts that parse_rc gives MP_EINVAL for each head start + "name: " +
 * value + CRLF + CRLF. */
void hf_assert_values_refused(int (*parse_rc)(const char *head), const char *start,
                              const char *name, const struct hf_cases *values);

/* Writes the head start + count fields "X-H<i>: v<i>" + the empty line to
 * buf[0..cap) (NUL-terminated) and returns its length. */
size_t hf_build_fields(char *buf, size_t cap, const char *start, int count);

/* A chunked decoder under test: the status of decoding in[0..n) whole. */
typedef int (*hf_decode_fn)(const char *in, size_t n);

/* Asserts that decode gives MP_EINVAL for each of bodies. */
void hf_assert_chunked_refused(hf_decode_fn decode, const struct hf_cases *bodies);

/* Asserts the caps of a chunk-size line (with its extensions) and of one
 * trailer line: 4096 bytes without the CRLF decode, 4097 do not. */
void hf_assert_chunked_line_caps(hf_decode_fn decode);

/* Asserts the cap of the trailer section: 16010 bytes (four lines of 4002
 * and the final CRLF) decode, 20012 do not. */
void hf_assert_chunked_trailer_cap(hf_decode_fn decode);

#endif
