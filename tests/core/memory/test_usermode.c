/* Tests for core/memory/usermode.c: the user's memory setting and how it combines
 * with X-Memory (the table of docs/http-api.md). */
#include <check.h>
#include <string.h>

#include "status.h"
#include "memory/usermode.h"

Suite *mp_test_suite(void);

START_TEST(test_usermode_names_round_trip)
{
    enum mp_user_mode modes[] = {MP_USER_MODE_AUTO, MP_USER_MODE_READ, MP_USER_MODE_OFF};
    for (size_t i = 0; i < 3; i++) {
        const char *name = mp_usermode_name(modes[i]);
        enum mp_user_mode back = (enum mp_user_mode)99;
        ck_assert_int_eq(mp_usermode_parse(name, strlen(name), &back), MP_OK);
        ck_assert_int_eq(back, modes[i]);
    }
    ck_assert_str_eq(mp_usermode_name(MP_USER_MODE_OFF), "off");
    ck_assert_str_eq(mp_usermode_name((enum mp_user_mode)7), "");
}
END_TEST

START_TEST(test_usermode_parse_is_exact)
{
    enum mp_user_mode m = MP_USER_MODE_READ;
    static const char *bad[] = {"", "OFF", "of", "offf", " off", "write", "auto\n", "none"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(mp_usermode_parse(bad[i], strlen(bad[i]), &m), MP_EINVAL);
    ck_assert_int_eq(m, MP_USER_MODE_READ); /* untouched */
    ck_assert_int_eq(mp_usermode_parse("offx", 3, &m), MP_OK);
    ck_assert_int_eq(m, MP_USER_MODE_OFF);
}
END_TEST

/* Every combination: the most restrictive wins. */
START_TEST(test_usermode_access_table)
{
    static const struct {
        enum mp_memory_control ctl;
        enum mp_user_mode mode;
        bool reads, writes;
    } rows[] = {
        {MP_MEMCTL_AUTO, MP_USER_MODE_AUTO, true, true},
        {MP_MEMCTL_AUTO, MP_USER_MODE_READ, true, false},
        {MP_MEMCTL_AUTO, MP_USER_MODE_OFF, false, false},
        {MP_MEMCTL_READ, MP_USER_MODE_AUTO, true, false},
        {MP_MEMCTL_READ, MP_USER_MODE_READ, true, false},
        {MP_MEMCTL_READ, MP_USER_MODE_OFF, false, false},
        {MP_MEMCTL_WRITE, MP_USER_MODE_AUTO, false, true},
        {MP_MEMCTL_WRITE, MP_USER_MODE_READ, false, false},
        {MP_MEMCTL_WRITE, MP_USER_MODE_OFF, false, false},
        {MP_MEMCTL_OFF, MP_USER_MODE_AUTO, false, false},
        {MP_MEMCTL_OFF, MP_USER_MODE_READ, false, false},
        {MP_MEMCTL_OFF, MP_USER_MODE_OFF, false, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool r = !rows[i].reads, w = !rows[i].writes;
        mp_usermode_access(rows[i].ctl, rows[i].mode, &r, &w);
        ck_assert_msg(r == rows[i].reads && w == rows[i].writes, "row %zu: reads %d writes %d", i,
                      r, w);
    }
}
END_TEST

Suite *mp_test_suite(void)
{
    Suite *s = suite_create("usermode");
    TCase *tc = tcase_create("usermode");
    tcase_add_test(tc, test_usermode_names_round_trip);
    tcase_add_test(tc, test_usermode_parse_is_exact);
    tcase_add_test(tc, test_usermode_access_table);
    suite_add_tcase(s, tc);
    return s;
}
