/* Placeholder until the module lands. */
#include "config.h"

typedef int mp_placeholder_config;
