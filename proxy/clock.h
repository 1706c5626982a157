/* Wall-clock time for memory records and retention, in ms since the epoch.
 * Tests move it with the environment variable MEMPROXY_TEST_CLOCK_OFFSET_MS
 * (a signed number of ms added to CLOCK_REALTIME, read once at start): a
 * process restarted 400 days "later" sweeps what a year's retention
 * expires, with no sleeping. Operators never set it. */
#ifndef MP_PROXY_CLOCK_H
#define MP_PROXY_CLOCK_H

#include <stdint.h>

/* Reads the offset; call once before starting threads. Returns 0, or -1
 * when the variable is set but not a number (the offset stays 0). */
int mp_clock_init(void);

/* The offset in force (0 when the variable is not set). */
int64_t mp_clock_offset_ms(void);

/* CLOCK_REALTIME plus the offset. Any thread. */
int64_t mp_clock_now_ms(void);

/* CLOCK_MONOTONIC in ms, for deadlines (never moved by the offset). */
int64_t mp_clock_monotonic_ms(void);

#endif
