/* Placeholder until tests for core/json_scan.c land. */
#include <check.h>

#include "json_scan.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("json_scan");
}
