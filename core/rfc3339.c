/* RFC 3339 parsing by hand: fixed positions, then the days from the civil
 * date (Howard Hinnant's days_from_civil). */
#include "rfc3339.h"

#include <stdbool.h>

#include "status.h"

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int mp_rfc3339_parse(const char *s, size_t len, int64_t *ms)
{
    int y, mo, d, h, mi, se, frac = 0, oh = 0, om = 0;
    size_t i = 19;
    if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return MP_EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 60)
        return MP_EINVAL;
    if (s[i] == '.') {
        size_t start = ++i;
        int scale = 100;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += scale * (s[i] - '0');
        if (i == start)
            return MP_EINVAL;
    }
    if (i == len)
        return MP_EINVAL;
    int sign = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6 && digits(s + i + 1, 2, &oh) &&
               s[i + 3] == ':' && digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
        sign = s[i] == '+' ? 1 : -1;
        i += 6;
    } else {
        return MP_EINVAL;
    }
    if (i != len)
        return MP_EINVAL;
    if (se == 60) {
        se = 59;
        frac = 999;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    secs -= (int64_t)sign * (oh * 3600 + om * 60);
    if (secs < 0)
        return MP_EINVAL;
    *ms = secs * 1000 + frac;
    return MP_OK;
}
