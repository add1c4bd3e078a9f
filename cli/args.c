/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line option parsing and argument checks for custos, kept free of I/O for testing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int fail(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct args *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->err, sizeof(a->err), fmt, ap);
    va_end(ap);
    return -ERR_INVAL;
}

const struct args_opt *args_find_long(const struct args_opt *const *tables, const char *name,
                                      size_t len)
{
    for (size_t t = 0; tables[t]; t++)
        for (const struct args_opt *o = tables[t]; o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
    return NULL;
}

const struct args_opt *args_find_short(const struct args_opt *const *tables, char c)
{
    for (size_t t = 0; tables[t]; t++)
        for (const struct args_opt *o = tables[t]; o->name; o++)
            if (o->shortc && o->shortc == c)
                return o;
    return NULL;
}

static int add_pos(struct args *a, const char *s)
{
    if (a->npos >= ARGS_MAX_POS)
        return fail(a, "too many arguments");
    a->pos[a->npos++] = s;
    return 0;
}

int args_parse(struct args *a, const struct args_opt *const *tables, int argc, char **argv,
               bool stop)
{
    int r = 0;
    int i = 0;

    a->next = argc;
    while (i < argc) {
        const char *s = argv[i];
        const struct args_opt *o = NULL;
        const char *val = NULL;

        if (strcmp(s, "--") == 0) {
            i++;
            if (stop) {
                a->next = i;
                goto out;
            }
            for (; i < argc; i++)
                if ((r = add_pos(a, argv[i])) != 0)
                    goto out;
            goto out;
        }
        if (s[0] != '-' || s[1] == '\0') { /* "-" alone is an argument (stdin) */
            if (stop) {
                a->next = i;
                goto out;
            }
            if ((r = add_pos(a, s)) != 0)
                goto out;
            i++;
            continue;
        }
        if (s[1] == '-') {
            const char *name = s + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);

            o = args_find_long(tables, name, len);
            if (!o) {
                r = fail(a, "unknown option '--%.*s'", (int)(len > 64 ? 64 : len), name);
                goto out;
            }
            if (eq && !o->has_arg) {
                r = fail(a, "option '--%s' takes no value", o->name);
                goto out;
            }
            if (eq)
                val = eq + 1;
        } else {
            o = args_find_short(tables, s[1]);
            if (!o) {
                r = fail(a, "unknown option '-%c'", s[1]);
                goto out;
            }
            if (s[2] != '\0') {
                if (!o->has_arg) {
                    r = fail(a, "unknown option '%.64s'", s);
                    goto out;
                }
                val = s + 2;
            }
        }
        i++;
        if (o->has_arg && !val) {
            if (i >= argc) {
                r = fail(a, "option '--%s' needs a value", o->name);
                goto out;
            }
            val = argv[i++];
        }
        if (o->id < 0 || o->id >= ARGS_MAX_IDS) {
            r = fail(a, "internal: bad option id for '--%s'", o->name);
            goto out;
        }
        a->val[o->id] = o->has_arg ? val : "";
    }
out:
    return r;
}

int args_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    unsigned long v;
    char *end = NULL;

    if (!s || s[0] < '0' || s[0] > '9')
        return -ERR_INVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -ERR_INVAL;
    *out = v;
    return 0;
}

int args_parse_shares(const char *s, unsigned *n, unsigned *k)
{
    char tmp[16];
    const char *slash;
    unsigned long nv, kv;
    size_t len;

    if (!s || !(slash = strchr(s, '/')))
        return -ERR_INVAL;
    len = (size_t)(slash - s);
    if (len == 0 || len >= sizeof(tmp))
        return -ERR_INVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (args_parse_uint(tmp, 2, 255, &nv) != 0 || args_parse_uint(slash + 1, 2, 255, &kv) != 0)
        return -ERR_INVAL;
    if (kv > nv)
        return -ERR_INVAL;
    *n = (unsigned)nv;
    *k = (unsigned)kv;
    return 0;
}

int args_split_account(const char *id, char *name, char *target)
{
    const char *at;
    size_t nlen, tlen;

    if (!id || !(at = strchr(id, '@')) || strchr(at + 1, '@'))
        return -ERR_INVAL;
    nlen = (size_t)(at - id);
    tlen = strlen(at + 1);
    if (nlen == 0 || tlen == 0 || nlen > ARGS_NAME_MAX || tlen > ARGS_NAME_MAX)
        return -ERR_INVAL;
    memcpy(name, id, nlen);
    name[nlen] = '\0';
    memcpy(target, at + 1, tlen + 1);
    return 0;
}

int args_path_absolute(const char *cwd, const char *path, struct buf *out)
{
    size_t clen;

    if (!path || !path[0])
        return -ERR_INVAL;
    if (path[0] == '/')
        return buf_append(out, path, strlen(path));
    if (!cwd || cwd[0] != '/')
        return -ERR_INVAL;
    clen = strlen(cwd);
    while (clen > 1 && cwd[clen - 1] == '/')
        clen--;
    while (path[0] == '.' && path[1] == '/') /* "./x" is "x"; keep the rest as given */
        for (path += 2; path[0] == '/'; path++)
            ;
    if (strcmp(path, ".") == 0 || !path[0])
        return buf_append(out, cwd, clen);
    if (clen == 1) /* cwd is "/" */
        return buf_printf(out, "/%s", path);
    return buf_printf(out, "%.*s/%s", (int)clen, cwd, path);
}

enum cli_exit args_exit_status(int r)
{
    if (r == 0)
        return CLI_EXIT_OK;
    switch (-r) {
    case ERR_CONN:
    case ERR_TIMEOUT:
    case ERR_CLOSED:
        return CLI_EXIT_CONN;
    case ERR_SEALED:
    case ERR_NOT_INIT:
        return CLI_EXIT_SEALED;
    case ERR_DENIED:
    case ERR_AUTH:
        return CLI_EXIT_DENIED;
    default:
        return CLI_EXIT_FAIL;
    }
}
