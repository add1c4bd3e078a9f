/* SPDX-License-Identifier: Apache-2.0 */
/* custos session: list, show and kill the broker's sessions (as recorded by vaultd). */
#include <string.h>

#include "cmd_gov.h"

enum {
    OPT_STATE = ARGS_ID_LOCAL,
    OPT_IDENTITY,
    OPT_ACCOUNT,
    OPT_REASON,
};

static const struct args_opt list_opts[] = {
    {"state", 0, true, OPT_STATE},
    {"identity", 0, true, OPT_IDENTITY},
    {"account", 0, true, OPT_ACCOUNT},
    {NULL, 0, false, 0},
};

static const struct args_opt kill_opts[] = {
    {"reason", 0, true, OPT_REASON},
    {NULL, 0, false, 0},
};

static const struct out_col session_cols[] = {
    {"ID", "id"},         {"IDENTITY", "identity"},  {"ACCOUNT", "account"},
    {"VIA", "via"},       {"STARTED", "started_at"}, {"STATE", "state"},
    {"CLIENT", "client"},
};

/* Members of "session show", in this order. */
static const char *const session_order[] = {
    "id",
    "state",
    "identity",
    "account",
    "target",
    "via",
    "grant",
    "role",
    "expires_at",
    "file_transfer",
    "started_at",
    "ended_at",
    "end_reason",
    "client",
    "broker",
    "fp",
    "kind",
    "command",
    "exit_status",
    "signal",
    "bytes_in",
    "bytes_out",
    "kill_requested_at",
    "kill_requested_by",
    "kill_reason",
    "hold",
    "policy",
    NULL,
};

/* "client" for people: "addr:port" ("[addr]:port" for IPv6), "addr" alone, or "-". */
static int client_derive(json_t *human, const json_t *raw)
{
    const json_t *c = json_object_get(raw, "client");
    const char *addr = json_string_value(json_object_get(c, "addr"));
    const json_t *port = json_object_get(c, "port");
    char text[300];

    if (!addr)
        return cli_set(human, "client", json_null());
    if (json_is_integer(port))
        snprintf(text, sizeof(text), strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld", addr,
                 (long long)json_integer_value(port));
    else
        snprintf(text, sizeof(text), "%s", addr);
    return cli_set(human, "client", json_string(text));
}

static int session_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *state = a->val[OPT_STATE];
    json_t *args = NULL;

    if (state && strcmp(state, "live") != 0 && strcmp(state, "held") != 0 &&
        strcmp(state, "closed") != 0)
        return cli_usage(cli, "--state is live, held or closed");
    if ((r = gov_args_new(cli, &args)) != 0 ||
        (r = gov_set_str(cli, args, "state", state, "--state")) != 0 ||
        (r = gov_set_str(cli, args, "identity", a->val[OPT_IDENTITY], "--identity")) != 0 ||
        (r = gov_set_str(cli, args, "account", a->val[OPT_ACCOUNT], "--account")) != 0)
        goto out;
    r = gov_call_list(cli, "session.list", args, "sessions", session_cols,
                      sizeof(session_cols) / sizeof(session_cols[0]), client_derive);
out:
    json_decref(args);
    return r;
}

static int session_show(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = gov_args_one(cli, "session", a->pos[0], &args)) != 0 ||
        (r = cli_call(cli, "session.get", args, &res)) != 0)
        goto out;
    if (cli->json)
        r = out_json(res);
    else
        r = gov_object_print(stdout, res, session_order, NULL, client_derive);
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int kill_human(struct cli *cli, const json_t *res)
{
    struct buf id;
    int r;

    (void)cli;
    buf_init(&id, 256);
    if ((r = gov_text(res, "id", &id)) != 0)
        goto out;
    if (printf("Kill of session %s requested; the broker ends it and closes the session.\n",
               id.data) < 0)
        r = -ERR_IO;
out:
    buf_fini(&id);
    return r;
}

static int session_kill(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if (!a->val[OPT_REASON] || !a->val[OPT_REASON][0])
        return cli_usage(cli, "--reason is required");
    if ((r = gov_args_one(cli, "session", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "reason", a->val[OPT_REASON], "--reason")) != 0 ||
        (r = cli_call(cli, "session.kill", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, kill_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd cmds[] = {
    {"list", "[--state live|held|closed] [--identity I] [--account A]",
     "list broker sessions, oldest first (scope audit or gov)",
     "  --state S      live, held (an exec waiting for an approver) or closed\n"
     "  --identity I   sessions of one identity\n"
     "  --account A    sessions on one account (NAME@TARGET)\n\n"
     "Example:\n"
     "  custos session list --state live\n",
     list_opts, 0, 0, session_list},
    {"show", "ID", "show one session (scope audit or gov)", NULL, NULL, 1, 1, session_show},
    {"kill", "ID --reason R", "ask the broker to end a live session (scope gov)",
     "  --reason R     why (3 to 500 characters; audited and shown to the broker)\n\n"
     "The broker ends the session and closes it; until then it is listed as live with\n"
     "kill_requested_at set.\n\n"
     "Example:\n"
     "  custos session kill s-42 --reason \"INC-7 suspicious commands\"\n",
     kill_opts, 1, 1, session_kill},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_session_family = {
    "session",
    "list, show and kill the SSH broker's sessions",
    cmds,
};
