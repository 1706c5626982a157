/* The pii_mode policy (see piipolicy.h). */
#include "memory/piipolicy.h"

#include <stdlib.h>
#include <string.h>

#include "memory/pii.h"
#include "status.h"

static int copy(const char *text, size_t len, char **out, size_t *out_len)
{
    char *c = malloc(len + 1);
    if (c == NULL)
        return MP_ENOMEM;
    memcpy(c, text, len);
    c[len] = '\0';
    *out = c;
    *out_len = len;
    return MP_OK;
}

static int redact(const char *text, size_t len, char **out, size_t *out_len)
{
    size_t cap = 2 * len + 11; /* always enough (pii.h) */
    char *r = malloc(cap);
    if (r == NULL)
        return MP_ENOMEM;
    if (mp_pii_redact(text, len, r, cap, out_len) != MP_OK) {
        free(r);
        return MP_ENOMEM;
    }
    *out = r;
    return MP_OK;
}

int mp_piipolicy_apply(enum mp_pii_mode mode, enum mp_pii_item item, const char *text, size_t len,
                       bool flagged, char **out, size_t *out_len, bool *pii)
{
    bool found = mp_pii_detect(text, len);
    *pii = found || flagged;
    if (!*pii || mode == MP_PII_STORE)
        return copy(text, len, out, out_len);
    if (mode == MP_PII_DROP && item != MP_PII_ITEM_SUMMARY)
        return MP_NOTFOUND;
    if (!found)
        return MP_NOTFOUND; /* the extractor says personal data, but nothing to mask */
    *pii = false;
    return redact(text, len, out, out_len);
}

int mp_piipolicy_apply_in_place(enum mp_pii_mode mode, char *value, size_t *len, size_t cap,
                                bool *pii)
{
    char *out = NULL;
    size_t out_len = 0;
    bool flagged = false;
    int rc =
        mp_piipolicy_apply(mode, MP_PII_ITEM_FACT, value, *len, false, &out, &out_len, &flagged);
    if (rc != MP_OK)
        return rc;
    if (out_len >= cap) {
        free(out);
        return MP_ETOOBIG;
    }
    memcpy(value, out, out_len + 1);
    free(out);
    *len = out_len;
    *pii = flagged;
    return MP_OK;
}

int mp_piipolicy_correction(enum mp_pii_mode mode, struct mp_mem_entity *e, char *value, size_t len,
                            size_t cap, enum mp_trust trust, const char *request_id, int64_t now_ms)
{
    bool pii = false;
    int rc = mp_piipolicy_apply_in_place(mode, value, &len, cap, &pii);
    if (rc == MP_OK)
        mp_usermem_set_correction(e, value, len, trust, request_id, now_ms, pii);
    return rc;
}
