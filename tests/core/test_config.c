/* Placeholder until tests for core/config.c land. */
#include <check.h>

#include "config.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("config");
}
