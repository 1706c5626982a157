/* Placeholder until tests for core/http_parse.c land. */
#include <check.h>

#include "http_parse.h"

Suite *mp_test_suite(void);

Suite *mp_test_suite(void)
{
    return suite_create("http_parse");
}
