/* Placeholder until the module lands. */
#include "http_parse.h"

typedef int mp_placeholder_http_parse;
