/* Placeholder until tests for core/errbody.c land. */
#include <check.h>

#include "errbody.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("errbody");
}
