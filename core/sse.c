/* Placeholder until the module lands. */
#include "sse.h"

typedef int mp_placeholder_sse;
