/* Text for the ops command line (docs/ctl.md): path segments percent-encoded,
 * sizes, durations and times for people, and server text made safe for a
 * terminal. Pure functions over bytes: no I/O, no clock, no allocation. */
#ifndef MP_TOOLS_CTL_TEXT_H
#define MP_TOOLS_CTL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* in[0..len) (borrowed, any bytes) as one URL path segment into out (cap
 * bytes, NUL-terminated): every byte but the unreserved ones (RFC 3986:
 * A-Z a-z 0-9 - . _ ~) as "%XX" in upper-case hex. A segment made of dots
 * only ("." and "..", which clients and servers read as dot segments) has
 * its dots encoded too. Returns the length written, or 0 (out = "") when
 * len is 0 or out is too small (3 * len + 1 always fits). */
size_t mp_ctl_text_pct(const char *in, size_t len, char *out, size_t cap);

/* A byte count for people, into out (cap >= 16): "0 B" .. "1023 B", then
 * one decimal in the largest binary unit below it: "24.0 KiB", "1.5 MiB",
 * "64.0 GiB", up to EiB. Returns out. */
const char *mp_ctl_text_bytes(uint64_t n, char *out, size_t cap);

/* A duration in seconds for people, into out (cap >= 24): "0s", "59s",
 * "1m 05s", "2h 03m", "4d 02h" (the two largest units, the second padded
 * to two digits). Returns out. */
const char *mp_ctl_text_duration(uint64_t seconds, char *out, size_t cap);

/* An admin API time ("2025-01-31T09:15:02.123Z") as "2025-01-31 09:15:02"
 * (UTC, without the milliseconds), into out (cap >= 20). NULL or anything
 * that does not start "YYYY-MM-DDTHH:MM:SS" gives "-". Returns out. */
const char *mp_ctl_text_time(const char *iso, char *out, size_t cap);

/* in[0..len) (borrowed) made fit for one line of a terminal, into out (cap
 * bytes, NUL-terminated): every run of control characters (C0, DEL, C1,
 * so line breaks, tabs and escape sequences' ESC) and of blanks becomes one
 * space, leading and trailing blanks go, ill-formed UTF-8 becomes U+FFFD,
 * and text longer than max bytes is cut at a character boundary and ends
 * in "…" (max >= 4; then at most max bytes plus the NUL). A cap below
 * max + 1 cuts at cap - 1 the same way. Returns the length written. */
size_t mp_ctl_text_line(const char *in, size_t len, size_t max, char *out, size_t cap);

/* The columns s (NUL-terminated UTF-8) takes on a terminal, counted as one
 * per code point (a well-formed multibyte sequence is one column; each
 * ill-formed byte is one). */
size_t mp_ctl_text_width(const char *s);

#endif
