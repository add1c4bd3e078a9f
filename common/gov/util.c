/* SPDX-License-Identifier: Apache-2.0 */
/* Small JSON accessors and message helpers shared by the governance policy files. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *gov_json_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_int_t gov_json_int(const json_t *o, const char *key, json_int_t def)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? json_integer_value(v) : def;
}

bool gov_json_true(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

bool gov_json_array_has(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;

    if (!s)
        return false;
    json_array_foreach(arr, i, v)
    {
        const char *e = json_string_value(v);

        if (e && strcmp(e, s) == 0)
            return true;
    }
    return false;
}

bool gov_is_active(const json_t *identity)
{
    const char *st = gov_json_str(identity, "state");

    return st && strcmp(st, "active") == 0;
}

void gov_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (!why || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static const struct {
    char unit;
    long long secs;
} duration_units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

#define N_DURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int gov_duration_parse(const char *s, long long *secs)
{
    long long total = 0;
    size_t next = 0; /* units must come in decreasing order, each once */

    if (!s || !*s)
        return -ERR_INVAL;
    while (*s) {
        long long v = 0;
        size_t k;

        if (*s < '0' || *s > '9')
            return -ERR_INVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > GOV_DURATION_PARSE_MAX)
                return -ERR_INVAL;
            v = v * 10 + (*s - '0');
        }
        for (k = next; k < N_DURATION_UNITS && duration_units[k].unit != *s; k++)
            ;
        if (k == N_DURATION_UNITS)
            return -ERR_INVAL; /* no unit, an unknown one, or out of order */
        next = k + 1;
        s++;
        if (v > GOV_DURATION_PARSE_MAX / duration_units[k].secs)
            return -ERR_INVAL;
        total += v * duration_units[k].secs;
        if (total > GOV_DURATION_PARSE_MAX)
            return -ERR_INVAL;
    }
    if (total <= 0)
        return -ERR_INVAL;
    *secs = total;
    return 0;
}

void gov_duration_format(long long secs, char *out, size_t outlen)
{
    static const struct {
        char unit;
        long long secs;
    } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t used = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (secs <= 0) {
        snprintf(out, outlen, "0s");
        return;
    }
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]) && used < outlen; k++) {
        long long v = secs / units[k].secs;
        int w;

        if (v == 0)
            continue;
        secs -= v * units[k].secs;
        w = snprintf(out + used, outlen - used, "%lld%c", v, units[k].unit);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void gov_approval_get(const json_t *approval, const char **by, json_int_t *count)
{
    const char *b = gov_json_str(approval, "by");

    *by = b ? b : "manager";
    if (strcmp(*by, "none") == 0)
        *count = 0;
    else
        *count = gov_json_int(approval, "count", 1);
}

int gov_approval_rank(const json_t *approval)
{
    const char *by;
    json_int_t count;

    gov_approval_get(approval, &by, &count);
    if (count <= 0)
        return 0;
    return count >= 2 ? 2 : 1;
}
