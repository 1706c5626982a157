/* A text searched 32 bytes at a time on a CPU with AVX2, chosen when the
 * program runs (x86-64 builds assume only SSE2: core/scan16.h): the walk
 * the JSON escaper (json_write.c: past plain string bytes) and the memory
 * block (memblock.c: past plain block bytes) make over the long runs they
 * copy. It knows nothing of what a byte means: the caller's mask says. */
#ifndef MP_CORE_SCAN32_H
#define MP_CORE_SCAN32_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MP_SCAN32 1

/* Whether this CPU runs the functions below (the caller's mask among
 * them, declared with MP_SCAN32_TARGET). */
static inline bool mp_scan32_ok(void)
{
    return __builtin_cpu_supports("avx2");
}

/* What a mask and its callers are compiled for. */
#define MP_SCAN32_TARGET __attribute__((target("avx2")))

/* One bit per byte of the 32 at p that the caller looks for. */
typedef unsigned (*mp_scan32_mask_fn)(const unsigned char *p);

/* The first byte of s[i..len) that mask marks, len when none does, for
 * len - i >= 32: the first 32 bytes, then 64 at a time (two masks, one
 * test), then 32, the last bytes as the text's last 32 (the bits below i
 * dropped), so no byte past len is read. Inline, with the caller's mask
 * inlined in it: call it from a MP_SCAN32_TARGET function, only when
 * mp_scan32_ok(). */
MP_SCAN32_TARGET static inline size_t mp_scan32(const unsigned char *s, size_t i, size_t len,
                                                mp_scan32_mask_fn mask)
{
    unsigned first = mask(s + i);
    if (first != 0) /* most runs (a word, a short value) end in their first 32 */
        return i + (size_t)__builtin_ctz(first);
    for (i += 32; len - i >= 64; i += 64) {
        unsigned m0 = mask(s + i), m1 = mask(s + i + 32);
        if ((m0 | m1) != 0)
            return i + (size_t)__builtin_ctzll(m0 | (unsigned long long)m1 << 32);
    }
    for (; len - i >= 32; i += 32) {
        unsigned m = mask(s + i);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
    if (i == len)
        return len;
    size_t w = len - 32;
    unsigned m = mask(s + w) & ~((1u << (i - w)) - 1);
    return m != 0 ? w + (size_t)__builtin_ctz(m) : len;
}
#endif

#endif
