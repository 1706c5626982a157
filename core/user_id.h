/* The user id rules of docs/http-api.md: which strings name a user. Pure check;
 * where the id comes from (header or body) is the proxy's business. */
#ifndef MP_CORE_USER_ID_H
#define MP_CORE_USER_ID_H

#include <stddef.h>

#define MP_USER_ID_MAX 256

/* Returns MP_OK when id[0..len) is 1 to MP_USER_ID_MAX bytes of valid UTF-8
 * (no overlong forms, surrogates or code points past U+10FFFF) made of
 * printable characters: no C0/C1 controls, DEL, invisible format characters
 * (U+00AD, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF), or
 * noncharacters, and is not an unexpanded template (contains "{{" or "}}", or
 * looks like "${...}", "%name%" or "<%...%>"). Otherwise MP_EINVAL. */
int mp_user_id_validate(const char *id, size_t len);

#endif
