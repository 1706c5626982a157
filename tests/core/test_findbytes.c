/* core/findbytes.c: the same answer as memmem on every text, ordinary and
 * built against it (a common first byte sends it to memmem part way),
 * whichever byte of the needle memchr runs to. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "findbytes.h"

Suite *mp_test_suite(void);

/* Also run to any other byte of the needle (mp_find_bytes_at). */
static void same_as_memmem(const char *hay, size_t n, const char *needle, size_t m)
{
    const char *want = memmem(hay, n, needle, m);
    ck_assert_ptr_eq(mp_find_bytes(hay, n, needle, m), want);
    for (size_t a = 1; a < m; a++)
        ck_assert_ptr_eq(mp_find_bytes_at(hay, n, needle, m, a), want);
}

START_TEST(test_findbytes_edges)
{
    const char *t = "<system-reminder>x</system-reminder>";
    size_t n = strlen(t);
    same_as_memmem(t, n, "<system-reminder>", 17);                        /* at the start */
    same_as_memmem(t, n, "</system-reminder>", 18);                       /* at the very end */
    same_as_memmem(t, n, t, n);                                           /* the whole text */
    same_as_memmem(t, n - 1, "</system-reminder>", 18);                   /* cut by one byte */
    same_as_memmem(t, n, "<system-reminder>x</system-reminder>!", n + 1); /* longer */
    same_as_memmem(t, n, "<", 1);
    same_as_memmem(t, n, "#", 1);
    same_as_memmem(t, 0, "<", 1);
    ck_assert_ptr_eq(mp_find_bytes(t, n, "", 0), t);
    ck_assert_ptr_eq(mp_find_bytes(t, n, "<system-reminder>", 17), t);
    ck_assert_ptr_eq(mp_find_bytes(t, n, "</system-reminder>", 18), t + 18);
    ck_assert_ptr_null(mp_find_bytes(t, n, "<system-reminders>", 18));
}
END_TEST

/* Texts of a small alphabet, so the first byte is everywhere and the
 * memmem fallback is reached, against needles of every short length. */
START_TEST(test_findbytes_matches_memmem_on_dense_text)
{
    char hay[4096], needle[16];
    unsigned seed = 7;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(hay)), m = 1 + (size_t)(rand_r(&seed) % 12);
        int letters = 2 + rand_r(&seed) % 3;
        for (size_t i = 0; i < n; i++)
            hay[i] = (char)('a' + rand_r(&seed) % letters);
        for (size_t i = 0; i < m; i++)
            needle[i] = (char)('a' + rand_r(&seed) % letters);
        same_as_memmem(hay, n, needle, m);
        if (n > m) { /* plant it past the fallback's start, once */
            memcpy(hay + n - m, needle, m);
            same_as_memmem(hay, n, needle, m);
        }
    }
}
END_TEST

/* "aaaa...ab" against "aa...ab": every byte a candidate; still found. */
START_TEST(test_findbytes_adversarial_text)
{
    size_t n = 1 << 16, m = 100;
    char *hay = malloc(n), needle[100];
    ck_assert_ptr_nonnull(hay);
    memset(hay, 'a', n);
    memset(needle, 'a', m);
    needle[m - 1] = 'b';
    same_as_memmem(hay, n, needle, m);
    hay[n - 1] = 'b';
    ck_assert_ptr_eq(mp_find_bytes(hay, n, needle, m), hay + n - m);
    free(hay);
}
END_TEST

/* The anchor is the first byte of the seldomest kind: a mark or a digit,
 * then a capital, then a byte beyond ASCII, then a letter or a space. */
START_TEST(test_findbytes_anchor_is_the_seldomest_byte)
{
    static const char reply[] = "please reply with a title that is 3-4 words";
    ck_assert_uint_eq(mp_find_bytes_anchor(reply, strlen(reply)),
                      strlen("please reply with a title that is "));
    ck_assert_uint_eq(mp_find_bytes_anchor("### Task:", 9), 0);
    ck_assert_uint_eq(mp_find_bytes_anchor("you are Open", 12), 8);
    ck_assert_uint_eq(mp_find_bytes_anchor("caf\xc3\xa9 au lait", 13), 3);
    ck_assert_uint_eq(mp_find_bytes_anchor("lorem ipsum", 11), 0);
    ck_assert_uint_eq(mp_find_bytes_anchor("", 0), 0);
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("findbytes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_findbytes_edges);
    tcase_add_test(tc, test_findbytes_matches_memmem_on_dense_text);
    tcase_add_test(tc, test_findbytes_adversarial_text);
    tcase_add_test(tc, test_findbytes_anchor_is_the_seldomest_byte);
    suite_add_tcase(s, tc);
    return s;
}
