/* Placeholder until the module lands. */
#include "errbody.h"

typedef int mp_placeholder_errbody;
