/* SPDX-License-Identifier: Apache-2.0 */
/* Run-time of custos: command dispatch, help, the vault connection and error reporting. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "custos_config.h"

#include "cli.h"

#define CLI_TIMEOUT_MAX_SEC 86400ul

static const struct args_opt global_opts[] = {
    {"help", 'h', false, ARGS_ID_HELP},
    {"socket", 0, true, ARGS_ID_SOCKET},
    {"json", 0, false, ARGS_ID_JSON},
    {"timeout", 0, true, ARGS_ID_TIMEOUT},
    {NULL, 0, false, 0},
};

static const struct args_opt top_opts[] = {
    {"version", 0, false, ARGS_ID_VERSION},
    {NULL, 0, false, 0},
};

static const struct args_opt no_opts[] = {
    {NULL, 0, false, 0},
};

static const struct cli_family *const families[] = {
    &cmd_vault_family,   &cmd_target_family,
    &cmd_account_family, &cmd_secret_family,
    &cmd_audit_family,   &cmd_gov_family,
    &cmd_rotate_family,  &cmd_session_family,
    &cmd_rec_family,     NULL,
};

/* Lists of nested families ("gov identity"), reached through group subcommands. */
static const struct cli_family *const *const nested_lists[] = {
    cmd_gov_nested,
    NULL,
};

static const char exit_help[] = "Exit status:\n"
                                "  0  success\n"
                                "  1  failure reported by the vault, or a local failure\n"
                                "     (unreadable file, audit log not verified), or\n"
                                "     'gov authorize' answering deny\n"
                                "  2  usage error\n"
                                "  3  cannot connect to the vault, connection lost, or timeout\n"
                                "  4  vault sealed or not initialized\n"
                                "  5  permission denied or authentication failed\n";

static const char exit_short[] =
    "Exit status: 0 ok, 1 failure reported by the vault, 2 usage error, 3 cannot connect or\n"
    "timeout, 4 vault sealed or not initialized, 5 denied or authentication failed.\n";

void cli_init(struct cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->cmd_path = "";
}

void cli_fini(struct cli *cli)
{
    if (cli->client)
        client_close(cli->client);
    cli->client = NULL;
}

/* Messages can quote names chosen by other users: keep them on one line, without escapes. */
static void clean(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int cli_fail(struct cli *cli, int r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (r >= 0)
        r = -ERR_INTERNAL;
    if (prompt_signal_caught()) /* interrupted at a prompt: die quietly by the signal */
        goto out;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clean(msg);
    fprintf(stderr, "custos: %s (%s)\n", msg, err_name(r));
out:
    cli->reported = true;
    return r;
}

int cli_usage(struct cli *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clean(msg);
    fprintf(stderr, "custos: %s\nTry 'custos%s%s --help'.\n", msg, cli->cmd_path[0] ? " " : "",
            cli->cmd_path);
    cli->reported = true;
    cli->usage_failed = true;
    return -ERR_INVAL;
}

static const char *socket_path(const struct cli *cli)
{
    const char *env = secure_getenv("CUSTOS_SOCKET");

    if (cli->socket)
        return cli->socket;
    if (env && env[0])
        return env;
    return CLIENT_DEFAULT_SOCKET;
}

/* "cannot connect to PATH: why", and what to try: the socket is a setting of three programs. */
static char *connect_msg(const struct cli *cli, const char *path, int r)
{
    const char *env = secure_getenv("CUSTOS_SOCKET");
    const char *from = cli->socket ? "--socket" : env && env[0] ? "$CUSTOS_SOCKET" : "the default";
    const char *hint = r == -ERR_DENIED
                           ? "is your user in the socket's group (custos-clients)?"
                           : "is custos-vaultd running, and is this its [vault] socket? "
                             "Another socket: --socket PATH or CUSTOS_SOCKET=PATH";
    size_t n = strlen(path) + strlen(err_str(r)) + strlen(from) + strlen(hint) + 64;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "cannot connect to %s (%s): %s; %s", path, from, err_str(r), hint);
    return s;
}

int cli_call_quiet(struct cli *cli, const char *op, json_t *args, json_t **result, char **errmsg)
{
    int r = 0;
    json_t *res = NULL;

    *result = NULL;
    *errmsg = NULL;
    if (!cli->client) {
        const char *path = socket_path(cli);

        if ((r = client_connect(path, cli->timeout_ms, &cli->client)) != 0) {
            cli->client = NULL;
            *errmsg = connect_msg(cli, path, r);
            goto out;
        }
    }
    if ((r = client_call(cli->client, op, args, &res, errmsg)) != 0)
        goto out;
    *result = res;
    res = NULL;
out:
    json_decref(res);
    return r;
}

int cli_call_error(struct cli *cli, const char *op, json_t *args, json_t **result, json_t **error)
{
    int r;

    *result = NULL;
    *error = NULL;
    if (!cli->client) {
        char *msg = NULL;
        r = cli_call_quiet(cli, "vault.status", NULL, result, &msg); /* connects */
        json_decref(*result);
        *result = NULL;
        if (r != 0) {
            *error = json_pack("{s:s,s:s}", "code", err_name(r), "message", msg ? msg : err_str(r));
            free(msg);
            return r;
        }
        free(msg);
    }
    return client_call_ex(cli->client, op, args, result, error);
}

int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result)
{
    int r = 0;
    char *msg = NULL;

    if ((r = cli_call_quiet(cli, op, args, result, &msg)) != 0) {
        if (msg && msg[0])
            cli_fail(cli, r, "%s", msg);
        else if (r == -ERR_TIMEOUT)
            cli_fail(cli, r, "%s: no answer from the vault in time (see --timeout)", op);
        else if (r == -ERR_CLOSED)
            cli_fail(cli, r, "%s: the vault closed the connection", op);
        else
            cli_fail(cli, r, "%s: %s", op, err_str(r));
    }
    free(msg);
    return r;
}

int cli_set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return -ERR_NOMEM;
    return json_object_set_new(obj, key, value) == 0 ? 0 : -ERR_NOMEM;
}

int cli_meta_set(struct cli *cli, json_t *args, const char *text)
{
    int r = 0;
    json_t *meta = NULL;
    json_error_t jerr;

    if (!text)
        goto out;
    meta = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(meta)) {
        r = cli_usage(cli, "--meta wants a JSON object, e.g. '{\"env\": \"prod\"}'");
        goto out;
    }
    r = cli_set(args, "meta", meta);
    meta = NULL; /* json_object_set_new took it, even on failure */
out:
    json_decref(meta);
    return r;
}

int cli_print(struct cli *cli, const json_t *result,
              int (*human)(struct cli *cli, const json_t *result))
{
    int r = 0;

    if (cli->json)
        r = out_json(result);
    else
        r = human(cli, result);
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
    return r;
}

int cli_print_object(struct cli *cli, const json_t *obj, const char *const *order)
{
    int r = cli->json ? out_json(obj) : out_object(stdout, obj, order);

    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
    return r;
}

int cli_print_table(struct cli *cli, const json_t *result, const char *member,
                    const struct out_col *cols, size_t ncols)
{
    int r = 0;
    const json_t *rows = json_object_get(result, member);

    if (cli->json) {
        r = out_json(result);
    } else if (!json_is_array(rows)) {
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer: no '%s' list", member);
        goto out;
    } else {
        r = out_table(stdout, cols, ncols, rows);
    }
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    return r;
}

/* ---- help ------------------------------------------------------------ */

static void help_top(FILE *f)
{
    fprintf(f, "Usage: custos [--socket PATH] [--json] [--timeout SEC] COMMAND ...\n"
               "       custos --version\n\n"
               "Command-line front end of the Custos privileged-access vault.\n\n"
               "Commands:\n");
    for (size_t i = 0; families[i]; i++)
        fprintf(f, "  %-8s %s\n", families[i]->name, families[i]->summary);
    fprintf(f,
            "\nGlobal options (accepted before or after any command):\n"
            "  --socket PATH  vaultd socket (default: $CUSTOS_SOCKET, else %s)\n"
            "  --json         print the raw result JSON (one object) instead of text\n"
            "  --timeout SEC  bound on connecting and on each answer (default 30)\n"
            "  -h, --help     help for the command given so far\n"
            "  --version      print the version and exit\n\n"
            "Secrets (passphrases, shares, secret values) are never taken from the command\n"
            "line: they are read from the terminal with echo off, from stdin when it is not a\n"
            "terminal, or from a file (--passphrase-file, --from-file).\n\n"
            "%s\n"
            "Run 'custos COMMAND --help' for the subcommands of a command.\n",
            CLIENT_DEFAULT_SOCKET, exit_help);
}

static void help_family(FILE *f, const struct cli_family *fam)
{
    fprintf(f, "Usage: custos %s SUBCOMMAND [ARGS...]\n\n%c%s.\n\nSubcommands:\n", fam->name,
            toupper((unsigned char)fam->summary[0]), fam->summary + 1);
    for (const struct cli_cmd *c = fam->cmds; c->name; c++)
        fprintf(f, "  custos %s %s%s%s\n      %s\n", fam->name, c->name, c->synopsis[0] ? " " : "",
                c->synopsis, c->summary);
    fprintf(f, "\nRun 'custos %s SUBCOMMAND --help' for details.\n%s", fam->name, exit_short);
}

static void help_cmd(FILE *f, const struct cli_family *fam, const struct cli_cmd *c)
{
    fprintf(f, "Usage: custos %s %s%s%s\n\n%c%s.\n", fam->name, c->name, c->synopsis[0] ? " " : "",
            c->synopsis, toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (c->help)
        fprintf(f, "\n%s", c->help);
    fprintf(f, "\nGlobal options: --socket PATH, --json, --timeout SEC, -h/--help.\n%s",
            exit_short);
}

/* ---- dispatch ---------------------------------------------------------- */

static int globals_apply(struct cli *cli, const struct args *a)
{
    unsigned long sec = 0;

    if (a->val[ARGS_ID_SOCKET]) {
        if (!a->val[ARGS_ID_SOCKET][0])
            return cli_usage(cli, "--socket needs a path");
        cli->socket = a->val[ARGS_ID_SOCKET];
    }
    if (a->val[ARGS_ID_JSON])
        cli->json = true;
    if (a->val[ARGS_ID_TIMEOUT]) {
        if (args_parse_uint(a->val[ARGS_ID_TIMEOUT], 1, CLI_TIMEOUT_MAX_SEC, &sec) != 0)
            return cli_usage(cli, "--timeout wants whole seconds from 1 to %lu",
                             CLI_TIMEOUT_MAX_SEC);
        cli->timeout_ms = (int)(sec * 1000);
    }
    return 0;
}

static const struct cli_family *family_find(const char *name)
{
    for (size_t i = 0; families[i]; i++)
        if (strcmp(families[i]->name, name) == 0)
            return families[i];
    return NULL;
}

/* The family of group subcommand `c` of `fam`: the nested family named "FAM C". */
static const struct cli_family *group_find(const struct cli_family *fam, const struct cli_cmd *c)
{
    size_t flen = strlen(fam->name);

    for (size_t l = 0; nested_lists[l]; l++)
        for (size_t i = 0; nested_lists[l][i]; i++) {
            const char *n = nested_lists[l][i]->name;

            if (strncmp(n, fam->name, flen) == 0 && n[flen] == ' ' &&
                strcmp(n + flen + 1, c->name) == 0)
                return nested_lists[l][i];
        }
    return NULL;
}

static const struct cli_cmd *cmd_find(const struct cli_family *fam, const char *name)
{
    for (const struct cli_cmd *c = fam->cmds; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int run_cmd(struct cli *cli, const struct cli_family *fam, const struct cli_cmd *c, int argc,
                   char **argv, char *path, size_t pathlen)
{
    int r = 0;
    struct args a;
    const struct args_opt *const tables[] = {global_opts, c->opts ? c->opts : no_opts, NULL};

    snprintf(path, pathlen, "%s %s", fam->name, c->name);
    cli->cmd_path = path;
    cli->cmd_argc = argc;
    cli->cmd_argv = argv;
    cli->cmd_opts = c->opts;
    memset(&a, 0, sizeof(a));
    if (args_parse(&a, tables, argc, argv, false) != 0) {
        r = cli_usage(cli, "%s", a.err);
        goto out;
    }
    if (a.val[ARGS_ID_HELP]) {
        help_cmd(stdout, fam, c);
        goto out;
    }
    if ((r = globals_apply(cli, &a)) != 0)
        goto out;
    if (a.npos < c->min_pos) {
        r = cli_usage(cli, "missing argument; usage: custos %s %s %s", fam->name, c->name,
                      c->synopsis);
        goto out;
    }
    if (a.npos > c->max_pos) {
        r = cli_usage(cli, "unexpected argument '%.64s'", a.pos[c->max_pos]);
        goto out;
    }
    r = c->run(cli, &a);
out:
    return r;
}

/* `custos FAMILY ...` with argv after the family's name; recurses into group subcommands. */
static int run_family(struct cli *cli, const struct cli_family *fam, int argc, char **argv,
                      char *path, size_t pathlen)
{
    int r = 0;
    struct args a;
    const struct cli_cmd *c = NULL;
    const struct cli_family *sub = NULL;
    const struct args_opt *const fam_tables[] = {global_opts, NULL};

    cli->cmd_path = fam->name;
    memset(&a, 0, sizeof(a));
    if (args_parse(&a, fam_tables, argc, argv, true) != 0) {
        r = cli_usage(cli, "%s", a.err);
        goto out;
    }
    if (a.val[ARGS_ID_HELP]) {
        help_family(stdout, fam);
        goto out;
    }
    if ((r = globals_apply(cli, &a)) != 0)
        goto out;
    if (a.next >= argc) {
        help_family(stderr, fam);
        cli->reported = cli->usage_failed = true;
        r = -ERR_INVAL;
        goto out;
    }
    if (!(c = cmd_find(fam, argv[a.next]))) {
        r = cli_usage(cli, "unknown subcommand '%s %.64s'", fam->name, argv[a.next]);
        goto out;
    }
    if (!c->run) {
        if (!(sub = group_find(fam, c))) {
            r = cli_fail(cli, -ERR_INTERNAL, "no subcommands for '%s %s'", fam->name, c->name);
            goto out;
        }
        r = run_family(cli, sub, argc - a.next - 1, argv + a.next + 1, path, pathlen);
        goto out;
    }
    r = run_cmd(cli, fam, c, argc - a.next - 1, argv + a.next + 1, path, pathlen);
out:
    return r;
}

static int run(struct cli *cli, int argc, char **argv)
{
    int r = 0;
    struct args a;
    const struct cli_family *fam = NULL;
    char path[128];
    const struct args_opt *const top_tables[] = {global_opts, top_opts, NULL};

    memset(&a, 0, sizeof(a));
    if (args_parse(&a, top_tables, argc, argv, true) != 0) {
        r = cli_usage(cli, "%s", a.err);
        goto out;
    }
    if (a.val[ARGS_ID_VERSION]) {
        printf("custos %s\n", CUSTOS_VERSION);
        goto out;
    }
    if (a.val[ARGS_ID_HELP]) {
        help_top(stdout);
        goto out;
    }
    if ((r = globals_apply(cli, &a)) != 0)
        goto out;
    if (a.next >= argc) {
        help_top(stderr);
        cli->reported = cli->usage_failed = true;
        r = -ERR_INVAL;
        goto out;
    }
    /* "custos replay ID" is short for "custos rec replay ID" */
    if (strcmp(argv[a.next], "replay") == 0) {
        r = run_cmd(cli, &cmd_rec_family, cmd_find(&cmd_rec_family, "replay"), argc - a.next - 1,
                    argv + a.next + 1, path, sizeof(path));
        goto out;
    }
    if (!(fam = family_find(argv[a.next]))) {
        r = cli_usage(cli, "unknown command '%.64s'", argv[a.next]);
        goto out;
    }
    r = run_family(cli, fam, argc - a.next - 1, argv + a.next + 1, path, sizeof(path));
out:
    return r;
}

int cli_opt_values(const struct cli *cli, int id, const char **vals, size_t max, size_t *n)
{
    const struct args_opt *const tables[] = {global_opts, cli->cmd_opts ? cli->cmd_opts : no_opts,
                                             NULL};

    return govcli_opt_values(tables, cli->cmd_argc, cli->cmd_argv, id, vals, max, n);
}

enum cli_exit cli_main(struct cli *cli, int argc, char **argv)
{
    int r = run(cli, argc, argv);

    if (r == 0)
        return CLI_EXIT_OK;
    if (cli->usage_failed)
        return CLI_EXIT_USAGE;
    if (!cli->reported)
        cli_fail(cli, r, "%s", err_str(r));
    return args_exit_status(r);
}

int cli_list_by_target(struct cli *cli, const char *target, const char *op, const char *key,
                       const struct out_col *cols, size_t ncols)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if (!(args = json_object())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (target && (r = cli_set(args, "target", json_string(target))) != 0) {
        r = cli_usage(cli, "--target must be valid UTF-8 text");
        goto out;
    }
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    r = cli_print_table(cli, res, key, cols, ncols);
out:
    json_decref(args);
    json_decref(res);
    return r;
}
