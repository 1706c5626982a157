/* Placeholder until tests for core/sse.c land. */
#include <check.h>

#include "sse.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("sse");
}
