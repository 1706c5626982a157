/* Placeholder until the module lands. */
#include "json_scan.h"

typedef int mp_placeholder_json_scan;
