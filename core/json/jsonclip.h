/* Clipping long JSON strings as bytes stream by: a copy of a JSON text in
 * which every string literal keeps at most MP_JSONCLIP_STRING_MAX bytes (as
 * escaped) and is closed right after, so the copy stays valid JSON with the
 * same structure while an image's base64 or a very long text costs a
 * bounded copy. It does not validate: invalid JSON in, invalid JSON out. */
#ifndef MP_CORE_JSONCLIP_H
#define MP_CORE_JSONCLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_JSONCLIP_STRING_MAX (128 * 1024)

/* The clipper's state between pieces: zero it to start. */
struct mp_jsonclip {
    bool in_string;
    bool skipping;    /* past the string's cut: bytes dropped until its end */
    bool high;        /* the last escape was a high surrogate (its pair follows) */
    uint8_t esc;      /* escape bytes still to come (0: none; 5: just after '\\') */
    uint16_t hex;     /* a \u escape's value so far */
    uint32_t run;     /* bytes of the string literal kept */
    uint64_t clipped; /* bytes dropped in all */
};

/* Copies in[0..len) clipped into out (room for len bytes: the copy is never
 * longer); returns the bytes written. A string is cut only before a whole
 * character or escape (never inside a UTF-8 sequence or between the two
 * halves of a surrogate pair). */
size_t mp_jsonclip_feed(struct mp_jsonclip *c, const char *in, size_t len, char *out);

#endif
