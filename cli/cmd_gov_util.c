/* SPDX-License-Identifier: Apache-2.0 */
/* Pure helpers of custos gov: durations, times, entitlement specs, repeated options, display. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/gov.h"

/* ---- repeated options -------------------------------------------------- */

int govcli_opt_values(const struct args_opt *const *tables, int argc, char **argv, int id,
                      const char **vals, size_t max, size_t *n)
{
    int i = 0;

    *n = 0;
    while (i < argc) {
        const char *s = argv[i];
        const struct args_opt *o = NULL;
        const char *val = NULL;

        if (strcmp(s, "--") == 0)
            break; /* the rest are positional */
        if (s[0] != '-' || s[1] == '\0') {
            i++;
            continue;
        }
        if (s[1] == '-') {
            const char *eq = strchr(s + 2, '=');
            size_t len = eq ? (size_t)(eq - (s + 2)) : strlen(s + 2);

            if (!(o = args_find_long(tables, s + 2, len)))
                return -ERR_INVAL;
            if (eq)
                val = eq + 1;
        } else {
            if (!(o = args_find_short(tables, s[1])))
                return -ERR_INVAL;
            if (s[2] != '\0')
                val = s + 2;
        }
        i++;
        if (o->has_arg && !val) {
            if (i >= argc)
                return -ERR_INVAL;
            val = argv[i++];
        }
        if (o->id != id)
            continue;
        if (*n >= max)
            return -ERR_TOO_LONG;
        vals[(*n)++] = o->has_arg ? val : "";
    }
    return 0;
}

/* ---- times ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    long long era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static bool leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

#define TIME_UNIX_MAX 253402300799ll /* 9999-12-31T23:59:59Z */

int govcli_time_parse(const char *s, bool allow_unix, long long *t)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh = 0, mm = 0, ss = 0, oh = 0, om = 0;
    long long off = 0;
    const char *p = s;

    if (!s || !*s)
        return -ERR_INVAL;
    if (allow_unix && strspn(s, "0123456789") == strlen(s)) {
        char *end = NULL;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > TIME_UNIX_MAX)
            return -ERR_INVAL;
        *t = v;
        return 0;
    }
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return -ERR_INVAL;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1u : 0u))
        return -ERR_INVAL;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &hh) || *p++ != ':' || !digits(&p, 2, &mm))
            return -ERR_INVAL;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &ss))
                return -ERR_INVAL;
            if (*p == '.' || *p == ',') { /* fractions of a second: dropped */
                p++;
                if (*p < '0' || *p > '9')
                    return -ERR_INVAL;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (hh > 23 || mm > 59 || ss > 59)
            return -ERR_INVAL;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;

            if (!digits(&p, 2, &oh))
                return -ERR_INVAL;
            if (*p == ':')
                p++;
            if (!digits(&p, 2, &om) || oh > 23 || om > 59)
                return -ERR_INVAL;
            off = sign * (oh * 3600ll + om * 60ll);
        }
    }
    if (*p != '\0')
        return -ERR_INVAL;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + hh * 3600ll + mm * 60ll + ss - off;
    if (*t < 0 || *t > TIME_UNIX_MAX)
        return -ERR_INVAL;
    return 0;
}

/* ---- entitlement specs ---------------------------------------------- */

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* An account pattern: name characters, '*', '?' and exactly one '@' with text on both sides. */
static bool pattern_ok(const char *s, size_t len)
{
    size_t ats = 0, at = 0;

    if (len == 0 || len > 129)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '@') {
            ats++;
            at = i;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-' || c == '*' || c == '?')) {
            return false;
        }
    }
    return ats == 1 && at > 0 && at + 1 < len;
}

static int whyf(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int whyf(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (why && whylen)
        vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -ERR_INVAL;
}

/* "manager", "group=dba*2", ...: 1 when `tok` is an approval (set in *approval), 0 if not one. */
static int approval_parse(const char *tok, json_t **approval, char *why, size_t whylen)
{
    size_t len = strlen(tok);
    json_int_t count = 1;
    const char *group = NULL;
    size_t glen = 0;
    const char *by = NULL;

    if (len > 2 && tok[len - 2] == '*') {
        if (tok[len - 1] != '1' && tok[len - 1] != '2')
            return whyf(why, whylen, "'%.64s': an approval needs 1 or 2 approvers (*2)", tok);
        count = tok[len - 1] - '0';
        len -= 2;
    }
    if (len == 4 && strncmp(tok, "none", 4) == 0)
        by = "none";
    else if (len == 7 && strncmp(tok, "manager", 7) == 0)
        by = "manager";
    else if (len == 5 && strncmp(tok, "owner", 5) == 0)
        by = "owner";
    else if (len >= 6 && strncmp(tok, "group=", 6) == 0) {
        by = "group";
        group = tok + 6;
        glen = len - 6;
        if (!name_ok(group, glen))
            return whyf(why, whylen, "'%.64s': group=NAME wants a group name", tok);
    }
    if (!by)
        return 0;
    if (strcmp(by, "none") == 0 && tok[len] == '*')
        return whyf(why, whylen, "'%.64s': approval none has no approvers to count", tok);
    /* Count 0 with none: nobody approves (the daemon would fill it in the same way). */
    *approval = json_pack("{s:s, s:I}", "by", by, "count", strcmp(by, "none") == 0 ? 0 : count);
    if (*approval && group &&
        json_object_set_new(*approval, "group", json_stringn(group, glen)) != 0) {
        json_decref(*approval);
        *approval = NULL;
    }
    return *approval ? 1 : -ERR_NOMEM;
}

int govcli_entitlement_parse(const char *spec, json_t **out, char *why, size_t whylen)
{
    int r = 0;
    char *copy = NULL, *tok, *save = NULL;
    long long dur = 0;
    bool bg = false, ft = false;
    json_t *approval = NULL, *ent = NULL;
    size_t field = 0;

    *out = NULL;
    if (!spec || !(copy = strdup(spec)))
        return spec ? -ERR_NOMEM : whyf(why, whylen, "empty entitlement");
    for (char *p = copy;; p = NULL) {
        tok = strtok_r(p, ":", &save);
        if (!tok)
            break;
        if (field == 0) {
            if (spec[0] == ':' || !pattern_ok(tok, strlen(tok))) {
                r = whyf(why, whylen,
                         "'%.64s' is not an account pattern NAME@TARGET (with * and ?)", tok);
                goto out;
            }
        } else if (field == 1) {
            if (gov_duration_parse(tok, &dur) != 0) {
                r = whyf(why, whylen, "'%.64s' is not a duration (4h, 90m, 1h30m, 7d)", tok);
                goto out;
            }
        } else if (strcmp(tok, "break-glass") == 0 || strcmp(tok, "breakglass") == 0) {
            if (bg) {
                r = whyf(why, whylen, "break-glass given twice");
                goto out;
            }
            bg = true;
        } else if (strcmp(tok, "file-transfer") == 0) {
            if (ft) {
                r = whyf(why, whylen, "file-transfer given twice");
                goto out;
            }
            ft = true;
        } else {
            json_t *ap = NULL;

            if ((r = approval_parse(tok, &ap, why, whylen)) < 0)
                goto out;
            if (r == 0) {
                r = whyf(why, whylen,
                         "unknown part '%.64s': expected an approval (none, manager, owner, "
                         "group=NAME, with *2 for two approvers), break-glass or file-transfer",
                         tok);
                goto out;
            }
            r = 0;
            if (approval) {
                json_decref(ap);
                r = whyf(why, whylen, "more than one approval given");
                goto out;
            }
            approval = ap;
        }
        field++;
    }
    if (field < 2 || strstr(spec, "::") || spec[strlen(spec) - 1] == ':') {
        r = whyf(why, whylen,
                 "an entitlement is PATTERN:DURATION[:APPROVAL][:break-glass]"
                 "[:file-transfer], e.g. 'root@web*:4h:manager'");
        goto out;
    }
    ent = json_pack("{s:s, s:I, s:b, s:b}", "account", copy, "max_duration", (json_int_t)dur,
                    "break_glass", bg, "file_transfer", ft);
    if (!ent || (approval && json_object_set(ent, "approval", approval) != 0)) {
        r = -ERR_NOMEM;
        goto out;
    }
    *out = ent;
    ent = NULL;
out:
    json_decref(approval);
    json_decref(ent);
    free(copy);
    return r;
}

int govcli_approval_format(const json_t *ap, struct buf *dst)
{
    int r = 0;
    const char *by = json_string_value(json_object_get(ap, "by"));
    const char *group = json_string_value(json_object_get(ap, "group"));
    json_int_t count = json_integer_value(json_object_get(ap, "count"));

    if (!by)
        by = "?";
    if (strcmp(by, "group") == 0)
        r = buf_printf(dst, "group=%s", group && name_ok(group, strlen(group)) ? group : "?");
    else
        r = buf_printf(dst, "%s", name_ok(by, strlen(by)) ? by : "?");
    if (r == 0 && count >= 2)
        r = buf_printf(dst, "*%d", (int)(count > 9 ? 9 : count));
    return r;
}

/*
 * The command policy, which the spec form cannot carry, summed up after it:
 * " [3 command rules, default deny, forwarding 127.0.0.1:5432]" (nothing
 * when the policy is the default one).
 */
static int policy_format(const json_t *ent, struct buf *dst)
{
    size_t rules = json_array_size(json_object_get(ent, "commands")), i;
    const json_t *fw = json_object_get(ent, "forwarding"), *v;
    const char *def = json_string_value(json_object_get(ent, "commands_default"));
    int r;

    if (rules == 0 && json_array_size(fw) == 0 && (!def || strcmp(def, "allow") == 0))
        return 0;
    if ((r = buf_printf(dst, " [%zu command rule%s, default %s", rules, rules == 1 ? "" : "s",
                        def ? def : "allow")) != 0)
        return r;
    json_array_foreach(fw, i, v)
    {
        if ((r = buf_printf(dst, "%s%s", i ? " " : ", forwarding ",
                            json_string_value(v) ? json_string_value(v) : "?")) != 0)
            return r;
    }
    return buf_printf(dst, "]");
}

int govcli_entitlement_format(const json_t *ent, struct buf *dst)
{
    int r = 0;
    const char *account = json_string_value(json_object_get(ent, "account"));
    const json_t *md = json_object_get(ent, "max_duration");
    const json_t *ap = json_object_get(ent, "approval");
    char dur[GOV_DURATION_LEN];
    struct buf acc;

    buf_init(&acc, 1024);
    if ((r = out_value_format("account", json_object_get(ent, "account"), &acc)) != 0 ||
        (r = buf_append(&acc, "", 1)) != 0)
        goto out;
    if (json_is_integer(md))
        gov_duration_format((long long)json_integer_value(md), dur, sizeof(dur));
    else
        snprintf(dur, sizeof(dur), "?");
    if ((r = buf_printf(dst, "%s:%s", account ? acc.data : "?", dur)) != 0)
        goto out;
    if (json_is_object(ap) &&
        ((r = buf_append(dst, ":", 1)) != 0 || (r = govcli_approval_format(ap, dst)) != 0))
        goto out;
    if (json_is_true(json_object_get(ent, "break_glass")) &&
        (r = buf_printf(dst, ":break-glass")) != 0)
        goto out;
    if (json_is_true(json_object_get(ent, "file_transfer")) &&
        (r = buf_printf(dst, ":file-transfer")) != 0)
        goto out;
    r = policy_format(ent, dst);
out:
    buf_fini(&acc);
    return r;
}

/* ---- campaign scope -------------------------------------------------- */

int govcli_scope_parse(const char *s, json_t **out)
{
    const char *eq;

    *out = NULL;
    if (!s)
        return -ERR_INVAL;
    if (strcmp(s, "all") == 0 || strcmp(s, "privileged") == 0) {
        *out = json_pack("{s:s}", "kind", s);
        return *out ? 0 : -ERR_NOMEM;
    }
    if (!(eq = strchr(s, '=')) || !eq[1])
        return -ERR_INVAL;
    if (!((size_t)(eq - s) == 10 && strncmp(s, "department", 10) == 0) &&
        !((size_t)(eq - s) == 6 && strncmp(s, "target", 6) == 0))
        return -ERR_INVAL;
    *out = json_object();
    if (!*out || json_object_set_new(*out, "kind", json_stringn(s, (size_t)(eq - s))) != 0 ||
        json_object_set_new(*out, "value", json_string(eq + 1)) != 0) {
        json_decref(*out);
        *out = NULL;
        return -ERR_INVAL; /* also: value not UTF-8 */
    }
    return 0;
}

/* ---- display --------------------------------------------------------- */

static bool time_key(const char *k)
{
    static const char *const names[] = {"at",      "time",     "start",        "since",
                                        "from",    "until",    "deadline",     "decide_by",
                                        "expires", "last_use", "last_session", NULL};
    size_t len = strlen(k);

    if (len > 3 && strcmp(k + len - 3, "_at") == 0)
        return true;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return false;
}

static bool duration_key(const char *k)
{
    return strcmp(k, "duration") == 0 || strcmp(k, "max_duration") == 0;
}

static json_t *strings_join(const json_t *arr)
{
    struct buf b;
    json_t *s = NULL;
    size_t n = json_array_size(arr);

    buf_init(&b, 1u << 20);
    for (size_t i = 0; i < n; i++)
        if ((i && buf_append(&b, ", ", 2) != 0) ||
            buf_append(&b, json_string_value(json_array_get(arr, i)),
                       json_string_length(json_array_get(arr, i))) != 0)
            goto out;
    s = json_stringn(b.data ? b.data : "", b.len);
out:
    buf_fini(&b);
    return s;
}

static json_t *humanize_member(const char *key, const json_t *v)
{
    char tmp[OUT_TIME_LEN > GOV_DURATION_LEN ? OUT_TIME_LEN : GOV_DURATION_LEN];

    if (key && (json_is_integer(v) || json_is_real(v)) && time_key(key)) {
        out_time_format(json_is_integer(v) ? (long long)json_integer_value(v)
                                           : (long long)json_real_value(v),
                        tmp, sizeof(tmp));
        return json_string(tmp);
    }
    if (key && json_is_integer(v) && duration_key(key)) {
        gov_duration_format((long long)json_integer_value(v), tmp, sizeof(tmp));
        return json_string(tmp);
    }
    if (json_is_string(v) && json_string_length(v) == 0)
        return json_null(); /* shown as "-" */
    if (json_is_array(v)) {
        bool strings = true;
        size_t n = json_array_size(v);

        for (size_t i = 0; i < n; i++)
            if (!json_is_string(json_array_get(v, i)))
                strings = false;
        if (n == 0)
            return json_null();
        if (strings)
            return strings_join(v);
    }
    return govcli_humanize(v);
}

json_t *govcli_humanize(const json_t *v)
{
    json_t *out = NULL, *m = NULL;
    const char *key;
    json_t *val;

    if (json_is_object(v)) {
        if (!(out = json_object()))
            return NULL;
        json_object_foreach((json_t *)v, key, val)
        {
            if (!(m = humanize_member(key, val)) || json_object_set_new(out, key, m) != 0)
                goto fail;
        }
        return out;
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);

        if (!(out = json_array()))
            return NULL;
        for (size_t i = 0; i < n; i++)
            if (!(m = govcli_humanize(json_array_get(v, i))) || json_array_append_new(out, m) != 0)
                goto fail;
        return out;
    }
    return json_deep_copy(v);
fail:
    json_decref(out);
    return NULL;
}

int govcli_sync_errors_format(const char *file, const json_t *errors, struct buf *dst)
{
    int r = 0;
    size_t n = json_array_size(errors);

    for (size_t i = 0; i < n && r == 0; i++) {
        const json_t *e = json_array_get(errors, i);
        const json_t *line = json_object_get(e, "line");
        json_int_t ln = json_is_integer(line) ? json_integer_value(line) : 0;

        if (ln > 0)
            r = buf_printf(dst, "%s:%" JSON_INTEGER_FORMAT ": ", file, ln);
        else
            r = buf_printf(dst, "%s: ", file);
        if (r == 0)
            r = out_value_format("message", json_object_get(e, "message"), dst);
        if (r == 0)
            r = buf_append(dst, "\n", 1);
    }
    return r;
}
