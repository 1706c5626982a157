/* proxy/heap.h: after mp_heap_tune(), a block of a few MiB comes from the
 * heap (not a mapping of its own) and, freed, stays with the process. In a
 * sanitizer build the allocator is the sanitizer's: nothing to check. */
#include <check.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define BLOCK (2 * 1024 * 1024) /* over glibc's default mmap threshold, under ours */

START_TEST(test_a_freed_block_stays_with_the_process)
{
    ck_assert_int_eq(mp_heap_tune(), 0);
#if !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 before = mallinfo2();
    char *volatile b = malloc(BLOCK); /* volatile: the compiler may not drop the block */
    ck_assert_ptr_nonnull(b);
    memset(b, 1, BLOCK); /* touched: its pages are the process's */
    struct mallinfo2 held = mallinfo2();
    ck_assert_uint_eq(held.hblks, before.hblks); /* no mapping of its own */
    free(b);
    struct mallinfo2 after = mallinfo2();
    ck_assert_uint_ge(after.arena, BLOCK); /* not trimmed back to the kernel */
    ck_assert_uint_ge(after.fordblks, BLOCK);
#endif
}
END_TEST

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, test_a_freed_block_stays_with_the_process);
    suite_add_tcase(s, tc);
    return s;
}
