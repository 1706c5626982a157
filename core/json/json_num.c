/* JSON number literals to doubles without the locale (see the header). */
#include "json/json_num.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* Exact powers of ten: a double holds each exactly. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Exponent of a validated number literal, from just after the 'e'/'E';
 * saturates far beyond where any double over- or underflows. */
static long read_exponent(const char *s, size_t i, size_t n)
{
    bool neg = s[i] == '-';
    long e = 0;

    i += s[i] == '-' || s[i] == '+';
    for (; i < n; i++)
        e = e < 100000 ? e * 10 + (s[i] - '0') : e;
    return neg ? -e : e;
}

double mp_json_num_value(const char *s, size_t n)
{
    uint64_t mant = 0;
    int digits = 0;
    long exp10 = 0;
    bool frac = false;
    size_t i = s[0] == '-';

    for (; i < n && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.') {
            frac = true;
            continue;
        }
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits += mant != 0;
            exp10 -= frac;
        } else {
            exp10 += !frac;
        }
    }
    if (i < n)
        exp10 += read_exponent(s, i + 1, n);
    double v = (double)mant;
    if (mant == 0)
        v = 0.0;
    else if (exp10 >= 0 && exp10 <= 22)
        v *= pow10_exact[exp10];
    else if (exp10 < 0 && exp10 >= -22)
        v /= pow10_exact[-exp10];
    else
        v *= pow(10.0, (double)exp10);
    return s[0] == '-' ? -v : v;
}
