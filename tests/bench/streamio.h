/* streamio: what the streams benchmark's upstream and load client share: the
 * clock they stamp events with, the open-file limit, socket options, epoll
 * interest, and a header lookup in a raw HTTP head. No loop, no HTTP state. */
#ifndef MP_TESTS_BENCH_STREAMIO_H
#define MP_TESTS_BENCH_STREAMIO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The JSON member every token event carries: the upstream's CLOCK_MONOTONIC
 * in microseconds when it wrote the event (both tools run on one machine,
 * so the client subtracts it from its own clock). */
#define MP_STREAMIO_STAMP "\"bench_t\":"

/* The request headers that shape a stream: token events, the pause before
 * each (ms), and the pause before the first (ms; default: the interval). */
#define MP_STREAMIO_H_TOKENS   "x-bench-tokens"
#define MP_STREAMIO_H_INTERVAL "x-bench-interval-ms"
#define MP_STREAMIO_H_FIRST    "x-bench-first-ms"

/* CLOCK_MONOTONIC in microseconds. */
uint64_t mp_streamio_now_us(void);

/* Set when SIGTERM or SIGINT came (after mp_streamio_process_init). */
extern volatile sig_atomic_t mp_streamio_stop;

/* What both tools do first: SIGTERM and SIGINT set mp_streamio_stop (and
 * interrupt a wait), SIGPIPE is ignored, and the soft RLIMIT_NOFILE is
 * raised to the hard limit. Returns the soft limit in force afterwards (the
 * old one when raising failed). */
uint64_t mp_streamio_process_init(void);

/* O_NONBLOCK on fd, and TCP_NODELAY when nodelay (events are small writes
 * that must leave at once). 0 or -1 (errno set). */
int mp_streamio_socket_opts(int fd, bool nodelay);

/* Sets fd's interest in the epoll set ep (data: ptr) to reading, plus
 * writing when want_write; *has_write is what is set now, and nothing is
 * done when it already matches. 0 or -1 (errno set). */
int mp_streamio_want_write(int ep, int fd, void *ptr, bool *has_write, bool want_write);

/* Looks up the field name (lower case, without the colon) in the HTTP head
 * head[0..len) (request or status line first, CRLF or LF line ends), name
 * compared case-insensitively. True with *value pointing into head and
 * *vlen its length, blanks trimmed; false when absent. */
bool mp_streamio_header(const char *head, size_t len, const char *name, const char **value,
                        size_t *vlen);

/* The decimal number p[0..n) (1 to 18 digits, nothing else). True with *out
 * set; false (out untouched) otherwise. */
bool mp_streamio_uint(const char *p, size_t n, uint64_t *out);

#endif
