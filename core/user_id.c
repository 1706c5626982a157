/* Placeholder until the module lands. */
#include "user_id.h"

typedef int mp_placeholder_user_id;
