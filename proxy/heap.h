/* The allocator's settings for a long-running process that handles one
 * request after another on the same threads. */
#ifndef MP_PROXY_HEAP_H
#define MP_PROXY_HEAP_H

/* Makes glibc's malloc keep freed memory for the next request instead of
 * returning it to the kernel: a thread's heap keeps up to
 * MP_HEAP_KEEP_BYTES free, and only blocks above MP_HEAP_MMAP_BYTES get
 * their own mapping. A request's scratch (relevance's tables: about 64
 * bytes per item looked at) is otherwise given back and page-faulted in
 * again by the next request, which cost as much as the scoring it serves
 * (tests/bench/memory.sh rows (i)). Call once at start, before threads.
 * 0, or -1 when the allocator refused a setting (nothing else changes);
 * 0 and nothing set under AddressSanitizer, whose allocator is its own. */
#define MP_HEAP_KEEP_BYTES (8 * 1024 * 1024)
#define MP_HEAP_MMAP_BYTES (4 * 1024 * 1024)
#define MP_HEAP_PAD_BYTES  (1024 * 1024) /* a heap grows by at least this much */
int mp_heap_tune(void);

#endif
