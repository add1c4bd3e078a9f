/* SPDX-License-Identifier: Apache-2.0 */
/* custos secret: put, get, list, history and promote credential versions. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_PENDING = ARGS_ID_LOCAL,
    OPT_FROM_FILE,
    OPT_RAW,
    OPT_VERSION,
    OPT_TARGET,
};

static const struct args_opt put_opts[] = {
    {"pending", 0, false, OPT_PENDING},
    {"from-file", 0, true, OPT_FROM_FILE},
    {"raw", 0, false, OPT_RAW},
    {NULL, 0, false, 0},
};

static const struct args_opt get_opts[] = {
    {"version", 0, true, OPT_VERSION},
    {NULL, 0, false, 0},
};

static const struct args_opt list_opts[] = {
    {"target", 0, true, OPT_TARGET},
    {NULL, 0, false, 0},
};

static const struct out_col secret_cols[] = {
    {"ACCOUNT", "account"}, {"KIND", "kind"},         {"CURRENT", "current"},
    {"PENDING", "pending"}, {"PREVIOUS", "previous"}, {"UPDATED", "updated_at"},
};

static const struct out_col history_cols[] = {
    {"VERSION", "version"},
    {"STATE", "state"},
    {"CREATED", "created_at"},
    {"RETIRED", "retired_at"},
};

#define VERSION_MAX 9007199254740991ul /* 2^53 - 1: exact in every JSON reader */

/* {"account": ID} after checking the id's shape. */
static int account_args(struct cli *cli, const char *id, json_t **out)
{
    int r = 0;
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];
    json_t *args = NULL;

    *out = NULL;
    if (args_split_account(id, name, target) != 0) {
        r = cli_usage(cli, "'%.100s' is not an account id NAME@TARGET", id);
        goto out;
    }
    if (!(args = json_object()) || (r = cli_set(args, "account", json_string(id))) != 0) {
        r = cli_usage(cli, "the account id must be valid UTF-8 text");
        goto out;
    }
    *out = args;
    args = NULL;
out:
    json_decref(args);
    return r;
}

/*
 * The account's kind decides how input is taken: a password is one line
 * (its final "\n" is not part of it), an SSH key is kept byte for byte.
 * *kind is a static string.
 */
static int kind_get(struct cli *cli, const char *id, const char **kind)
{
    int r = 0;
    char *msg = NULL;
    const char *k;
    json_t *args = NULL, *res = NULL;

    if (!(args = json_object()) || (r = cli_set(args, "id", json_string(id))) != 0) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = cli_call_quiet(cli, "account.get", args, &res, &msg)) != 0) {
        if (r == -ERR_DENIED)
            cli_fail(cli, r,
                     "%s: looking up the account kind needs the read scope; "
                     "use --raw to store the input byte for byte",
                     msg && msg[0] ? msg : err_str(r));
        else
            cli_fail(cli, r, "%s", msg && msg[0] ? msg : err_str(r));
        goto out;
    }
    k = json_string_value(json_object_get(res, "kind"));
    *kind = k && strcmp(k, "ssh-key") == 0    ? "ssh-key"
            : k && strcmp(k, "password") == 0 ? "password"
                                              : "other";
out:
    free(msg);
    json_decref(args);
    json_decref(res);
    return r;
}

static int value_read(struct cli *cli, const struct args *a, const char *kind, struct secbuf **out)
{
    int r = 0;
    const char *why = NULL;
    const char *file = a->val[OPT_FROM_FILE];
    char prompt[160];

    *out = NULL;
    if (!file && prompt_is_tty()) {
        if (strcmp(kind, "ssh-key") == 0) {
            r = cli_usage(cli, "an SSH key cannot be typed at the terminal: use --from-file "
                               "PATH or pipe it on stdin");
            goto out;
        }
        snprintf(prompt, sizeof(prompt), "New secret for %.140s: ", a->pos[0]);
        if ((r = prompt_line_read(prompt, "Repeat it: ", NULL, out, &why)) != 0)
            r = cli_fail(cli, r, "cannot read the secret: %s", why);
        goto out;
    }
    if ((r = prompt_all_read(file, out, &why)) != 0) {
        r = cli_fail(cli, r, "cannot read the secret%s%.200s: %s", file ? " from " : "",
                     file ? file : "", why);
        goto out;
    }
    if (strcmp(kind, "password") == 0)
        prompt_newline_strip(*out);
out:
    return r;
}

static int put_human(struct cli *cli, const json_t *res)
{
    struct buf acc;
    int r = 0;
    const char *state = json_string_value(json_object_get(res, "state"));

    buf_init(&acc, 256);
    if ((r = out_value_format("account", json_object_get(res, "account"), &acc)) != 0)
        goto out;
    printf("%s: version %" JSON_INTEGER_FORMAT " stored as %s.\n", acc.data,
           json_integer_value(json_object_get(res, "version")),
           state && strcmp(state, "pending") == 0 ? "pending" : "current");
out:
    buf_fini(&acc);
    return r;
}

static int secret_put(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *kind = "other";
    struct secbuf *value = NULL;
    json_t *args = NULL, *res = NULL;

    if ((r = account_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if (!a->val[OPT_RAW] && (r = kind_get(cli, a->pos[0], &kind)) != 0)
        goto out;
    if ((r = value_read(cli, a, kind, &value)) != 0)
        goto out;
    if ((r = cli_set(args, "value", json_stringn(secbuf_cdata(value), secbuf_len(value)))) != 0) {
        r = cli_fail(cli, -ERR_INVAL, "the secret must be valid UTF-8 text");
        goto out;
    }
    secbuf_free(value); /* the JSON copy lives in wiped jansson memory until decref */
    value = NULL;
    if ((r = cli_set(args, "state", json_string(a->val[OPT_PENDING] ? "pending" : "current"))) != 0)
        goto out;
    if ((r = cli_call(cli, "secret.put", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, put_human);
out:
    secbuf_free(value);
    json_decref(args);
    json_decref(res);
    return r;
}

static int secret_get(struct cli *cli, const struct args *a)
{
    int r = 0;
    unsigned long version = 0;
    const json_t *value;
    json_t *args = NULL, *res = NULL;

    if (a->val[OPT_VERSION] &&
        args_parse_uint(a->val[OPT_VERSION], 0, VERSION_MAX, &version) != 0) {
        r = cli_usage(cli, "--version wants a version number");
        goto out;
    }
    if ((r = account_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if (a->val[OPT_VERSION] &&
        (r = cli_set(args, "version", json_integer((json_int_t)version))) != 0)
        goto out;
    if ((r = cli_call(cli, "secret.get", args, &res)) != 0)
        goto out;
    if (cli->json) {
        r = out_json(res);
        goto out;
    }
    value = json_object_get(res, "value");
    if (!json_is_string(value)) {
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer: no value");
        goto out;
    }
    /* The value alone, byte for byte, so that $(custos secret get ...) is exact. */
    r = out_write_all(1, json_string_value(value), json_string_length(value));
    if (r == 0 && isatty(1) == 1)
        r = out_write_all(1, "\n", 1);
    if (r != 0)
        cli_fail(cli, r, "cannot write the secret to stdout");
out:
    json_decref(args);
    json_decref(res); /* wiping allocator: the value is cleared */
    return r;
}

static int secret_list(struct cli *cli, const struct args *a)
{
    return cli_list_by_target(cli, a->val[OPT_TARGET], "secret.list", "secrets", secret_cols,
                              sizeof(secret_cols) / sizeof(secret_cols[0]));
}

static int secret_history(struct cli *cli, const struct args *a)
{
    int r = 0;
    struct buf acc;
    json_t *args = NULL, *res = NULL;

    buf_init(&acc, 256);
    if ((r = account_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "secret.history", args, &res)) != 0)
        goto out;
    if (!cli->json) {
        if ((r = out_value_format("account", json_object_get(res, "account"), &acc)) != 0)
            goto out;
        printf("account: %s\n\n", acc.data);
    }
    r = cli_print_table(cli, res, "versions", history_cols,
                        sizeof(history_cols) / sizeof(history_cols[0]));
out:
    buf_fini(&acc);
    json_decref(args);
    json_decref(res);
    return r;
}

static int promote_human(struct cli *cli, const json_t *res)
{
    struct buf acc;
    int r = 0;

    buf_init(&acc, 256);
    if ((r = out_value_format("account", json_object_get(res, "account"), &acc)) != 0)
        goto out;
    printf("%s: version %" JSON_INTEGER_FORMAT " is now current.\n", acc.data,
           json_integer_value(json_object_get(res, "version")));
out:
    buf_fini(&acc);
    return r;
}

static int secret_promote(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = account_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "secret.promote", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, promote_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd cmds[] = {
    {"put", "NAME@TARGET [--pending] [--from-file PATH] [--raw]",
     "store a new version of an account's secret",
     "The value is never taken from the command line. It is read:\n"
     "  - from PATH with --from-file PATH;\n"
     "  - else, when stdin is not a terminal, from all of stdin;\n"
     "  - else typed twice at the terminal with echo off (passwords only).\n"
     "For a password account one final newline is removed from file or stdin input;\n"
     "an SSH key is stored byte for byte. The account kind is looked up first\n"
     "(read scope); --raw skips the lookup and stores the input byte for byte.\n\n"
     "  --pending         store as pending (the current version stays in use);\n"
     "                    make it current later with 'custos secret promote'\n"
     "  --from-file PATH  read the value from PATH\n"
     "  --raw             keep the input exactly, without the kind lookup\n\n"
     "Examples:\n"
     "  custos secret put root@web01\n"
     "  pwgen -s 32 1 | custos secret put root@web01\n"
     "  custos secret put deploy@web01 --from-file ~/.ssh/id_ed25519\n",
     put_opts, 1, 1, secret_put},
    {"get", "NAME@TARGET [--version V]", "print a secret (the release is audited)",
     "Prints the value alone; a newline follows only when stdout is a terminal, so\n"
     "scripts capture it exactly. With --json the result object is printed instead.\n\n"
     "  --version V  a given version instead of the current one\n\n"
     "Example:\n"
     "  PGPASSWORD=$(custos secret get postgres@db01) psql -h db01 -U postgres\n",
     get_opts, 1, 1, secret_get},
    {"list", "[--target T]", "list secrets and their versions (never values)", NULL, list_opts, 0,
     0, secret_list},
    {"history", "NAME@TARGET", "show every version of an account's secret", NULL, NULL, 1, 1,
     secret_history},
    {"promote", "NAME@TARGET", "make the pending version current", NULL, NULL, 1, 1,
     secret_promote},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_secret_family = {
    "secret",
    "store and release the credentials of accounts",
    cmds,
};
