/* SPDX-License-Identifier: Apache-2.0 */
/* custos account: create, update, get, list and delete accounts (NAME@TARGET). */
#include <string.h>

#include "cli.h"

enum {
    OPT_KIND = ARGS_ID_LOCAL,
    OPT_META,
    OPT_TARGET,
};

static const struct args_opt write_opts[] = {
    {"kind", 0, true, OPT_KIND},
    {"meta", 0, true, OPT_META},
    {NULL, 0, false, 0},
};

static const struct args_opt list_opts[] = {
    {"target", 0, true, OPT_TARGET},
    {NULL, 0, false, 0},
};

static const char *const account_order[] = {"id",         "target",     "name",     "kind",
                                            "current",    "pending",    "previous", "meta",
                                            "created_at", "updated_at", NULL};

static const struct out_col account_cols[] = {
    {"ID", "id"},           {"KIND", "kind"},         {"CURRENT", "current"},
    {"PENDING", "pending"}, {"PREVIOUS", "previous"}, {"UPDATED", "updated_at"},
};

/* {"target", "name"} from NAME@TARGET; a malformed id is a usage error. */
static int id_args(struct cli *cli, const char *id, json_t **out)
{
    int r = 0;
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];
    json_t *args = NULL;

    *out = NULL;
    if (args_split_account(id, name, target) != 0) {
        r = cli_usage(cli, "'%.100s' is not an account id NAME@TARGET", id);
        goto out;
    }
    if (!(args = json_object()) || (r = cli_set(args, "target", json_string(target))) != 0 ||
        (r = cli_set(args, "name", json_string(name))) != 0) {
        r = cli_usage(cli, "the account id must be valid UTF-8 text");
        goto out;
    }
    *out = args;
    args = NULL;
out:
    json_decref(args);
    return r;
}

static int kind_meta_set(struct cli *cli, const struct args *a, json_t *args)
{
    const char *kind = a->val[OPT_KIND];

    if (kind && strcmp(kind, "password") != 0 && strcmp(kind, "ssh-key") != 0)
        return cli_usage(cli, "--kind is password or ssh-key");
    if (kind && cli_set(args, "kind", json_string(kind)) != 0)
        return -ERR_NOMEM;
    return cli_meta_set(cli, args, a->val[OPT_META]);
}

static int account_write(struct cli *cli, const struct args *a, const char *op)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = id_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if ((r = kind_meta_set(cli, a, args)) != 0)
        goto out;
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    r = cli_print_object(cli, res, account_order);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int account_create(struct cli *cli, const struct args *a)
{
    if (!a->val[OPT_KIND])
        return cli_usage(cli, "--kind password|ssh-key is required");
    return account_write(cli, a, "account.create");
}

static int account_update(struct cli *cli, const struct args *a)
{
    if (!a->val[OPT_KIND] && !a->val[OPT_META])
        return cli_usage(cli, "nothing to change: give --kind and/or --meta");
    return account_write(cli, a, "account.update");
}

/* {"id": ID} after checking its shape. */
static int id_call(struct cli *cli, const char *op, const char *id, json_t **res)
{
    int r = 0;
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];
    json_t *args = NULL;

    if (args_split_account(id, name, target) != 0) {
        r = cli_usage(cli, "'%.100s' is not an account id NAME@TARGET", id);
        goto out;
    }
    if (!(args = json_object()) || (r = cli_set(args, "id", json_string(id))) != 0) {
        r = cli_usage(cli, "the account id must be valid UTF-8 text");
        goto out;
    }
    r = cli_call(cli, op, args, res);
out:
    json_decref(args);
    return r;
}

static int account_get(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = id_call(cli, "account.get", a->pos[0], &res)) != 0)
        goto out;
    r = cli_print_object(cli, res, account_order);
out:
    json_decref(res);
    return r;
}

static int deleted_human(struct cli *cli, const json_t *res)
{
    printf("Account and all its secret versions deleted.\n");
    return 0;
}

static int account_delete(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = id_call(cli, "account.delete", a->pos[0], &res)) != 0)
        goto out;
    r = cli_print(cli, res, deleted_human);
out:
    json_decref(res);
    return r;
}

static int account_list(struct cli *cli, const struct args *a)
{
    return cli_list_by_target(cli, a->val[OPT_TARGET], "account.list", "accounts", account_cols,
                              sizeof(account_cols) / sizeof(account_cols[0]));
}

static const struct cli_cmd cmds[] = {
    {"create", "NAME@TARGET --kind password|ssh-key [--meta JSON]", "create an account on a target",
     "  --kind K     password or ssh-key (what secret put stores for it)\n"
     "  --meta JSON  free-form JSON object\n\n"
     "Example:\n"
     "  custos account create root@web01 --kind password\n",
     write_opts, 1, 1, account_create},
    {"get", "NAME@TARGET", "show one account and its secret versions", NULL, NULL, 1, 1,
     account_get},
    {"list", "[--target T]", "list accounts, optionally of one target", NULL, list_opts, 0, 0,
     account_list},
    {"update", "NAME@TARGET [--kind K] [--meta JSON]", "change the kind or metadata",
     "Example:\n"
     "  custos account update root@web01 --meta '{\"ticket\": \"OPS-12\"}'\n",
     write_opts, 1, 1, account_update},
    {"delete", "NAME@TARGET", "delete an account and destroy all its secret versions", NULL, NULL,
     1, 1, account_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_account_family = {
    "account",
    "manage the accounts (NAME@TARGET) whose credentials the vault holds",
    cmds,
};
