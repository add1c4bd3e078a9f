/* SPDX-License-Identifier: Apache-2.0 */
/* custos target: create, update, get, list and delete the hosts accounts live on. */
#include <string.h>

#include "cli.h"

enum {
    OPT_HOST = ARGS_ID_LOCAL,
    OPT_PORT,
    OPT_HOSTKEY,
    OPT_CONNECTOR,
    OPT_OWNER,
    OPT_META,
};

static const struct args_opt target_opts[] = {
    {"host", 0, true, OPT_HOST},
    {"port", 0, true, OPT_PORT},
    {"hostkey", 0, true, OPT_HOSTKEY},
    {"connector", 0, true, OPT_CONNECTOR},
    {"owner", 0, true, OPT_OWNER},
    {"meta", 0, true, OPT_META},
    {NULL, 0, false, 0},
};

static const char *const target_order[] = {"name",  "host", "port",       "connector",  "hostkey",
                                           "owner", "meta", "created_at", "updated_at", NULL};

static const struct out_col target_cols[] = {
    {"NAME", "name"},           {"HOST", "host"},   {"PORT", "port"},
    {"CONNECTOR", "connector"}, {"OWNER", "owner"}, {"UPDATED", "updated_at"},
};

static int string_set(struct cli *cli, json_t *args, const char *key, const char *val)
{
    if (!val)
        return 0;
    if (cli_set(args, key, json_string(val)) != 0)
        return cli_usage(cli, "--%s must be valid UTF-8 text", key);
    return 0;
}

/* {"name", and each field given on the command line}. */
static int target_args(struct cli *cli, const struct args *a, json_t **out)
{
    int r = 0;
    unsigned long port = 0;
    const char *conn = a->val[OPT_CONNECTOR];
    json_t *args = NULL;

    *out = NULL;
    if (!(args = json_object())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (conn && strcmp(conn, "ssh") != 0 && strcmp(conn, "postgres") != 0) {
        r = cli_usage(cli, "--connector is ssh or postgres");
        goto out;
    }
    if (a->val[OPT_PORT] && args_parse_uint(a->val[OPT_PORT], 1, 65535, &port) != 0) {
        r = cli_usage(cli, "--port wants a number from 1 to 65535");
        goto out;
    }
    if ((r = string_set(cli, args, "name", a->pos[0])) != 0 ||
        (r = string_set(cli, args, "host", a->val[OPT_HOST])) != 0 ||
        (r = string_set(cli, args, "hostkey", a->val[OPT_HOSTKEY])) != 0 ||
        (r = string_set(cli, args, "connector", conn)) != 0 ||
        (r = string_set(cli, args, "owner", a->val[OPT_OWNER])) != 0)
        goto out;
    if (a->val[OPT_PORT] && (r = cli_set(args, "port", json_integer((json_int_t)port))) != 0)
        goto out;
    if ((r = cli_meta_set(cli, args, a->val[OPT_META])) != 0)
        goto out;
    *out = args;
    args = NULL;
out:
    json_decref(args);
    return r;
}

static int target_write(struct cli *cli, const struct args *a, const char *op)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = target_args(cli, a, &args)) != 0)
        goto out;
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    r = cli_print_object(cli, res, target_order);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int target_create(struct cli *cli, const struct args *a)
{
    if (!a->val[OPT_HOST])
        return cli_usage(cli, "--host is required");
    return target_write(cli, a, "target.create");
}

static int target_update(struct cli *cli, const struct args *a)
{
    bool any = false;

    for (int id = OPT_HOST; id <= OPT_META; id++)
        any = any || a->val[id] != NULL;
    if (!any)
        return cli_usage(cli, "nothing to change: give at least one of --host, --port, "
                              "--hostkey, --connector, --owner, --meta");
    return target_write(cli, a, "target.update");
}

static int name_call(struct cli *cli, const char *op, const char *name, json_t **res)
{
    int r = 0;
    json_t *args = json_object();

    if (!args) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = string_set(cli, args, "name", name)) != 0)
        goto out;
    r = cli_call(cli, op, args, res);
out:
    json_decref(args);
    return r;
}

static int target_get(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = name_call(cli, "target.get", a->pos[0], &res)) != 0)
        goto out;
    r = cli_print_object(cli, res, target_order);
out:
    json_decref(res);
    return r;
}

static int deleted_human(struct cli *cli, const json_t *res)
{
    printf("Target deleted.\n");
    return 0;
}

static int target_delete(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = name_call(cli, "target.delete", a->pos[0], &res)) != 0)
        goto out;
    r = cli_print(cli, res, deleted_human);
out:
    json_decref(res);
    return r;
}

static int target_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, "target.list", NULL, &res)) != 0)
        goto out;
    r = cli_print_table(cli, res, "targets", target_cols,
                        sizeof(target_cols) / sizeof(target_cols[0]));
out:
    json_decref(res);
    return r;
}

#define TARGET_FIELDS_HELP                                                                         \
    "  --host H          host name or address\n"                                                   \
    "  --port P          port (default 22)\n"                                                      \
    "  --hostkey FP      pinned host key fingerprint, e.g. SHA256:...\n"                           \
    "  --connector C     ssh (default) or postgres\n"                                              \
    "  --owner O         owning team or person\n"                                                  \
    "  --meta JSON       free-form JSON object, e.g. '{\"env\": \"prod\"}'\n"

static const struct cli_cmd cmds[] = {
    {"create", "NAME --host H [--port P] [--hostkey FP] [--connector ssh|postgres] [--owner O]",
     "register a target host",
     TARGET_FIELDS_HELP "\nNAME: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.\n\n"
                        "Example:\n"
                        "  custos target create web01 --host 10.0.0.5 --hostkey SHA256:abc...\n",
     target_opts, 1, 1, target_create},
    {"update", "NAME [--host H] [--port P] [--hostkey FP] [--connector C] [--owner O]",
     "change the fields given, keep the others",
     TARGET_FIELDS_HELP "\nExample:\n"
                        "  custos target update web01 --port 2222\n",
     target_opts, 1, 1, target_update},
    {"get", "NAME", "show one target", NULL, NULL, 1, 1, target_get},
    {"list", "", "list all targets", NULL, NULL, 0, 0, target_list},
    {"delete", "NAME", "delete a target (refused while it has accounts)", NULL, NULL, 1, 1,
     target_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_target_family = {
    "target",
    "manage the target hosts that accounts live on",
    cmds,
};
