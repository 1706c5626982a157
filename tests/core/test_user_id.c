/* Placeholder until tests for core/user_id.c land. */
#include <check.h>

#include "user_id.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("user_id");
}
