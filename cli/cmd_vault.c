/* SPDX-License-Identifier: Apache-2.0 */
/* custos vault: init, unseal, seal, status, rekey, backup and restore. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum {
    OPT_PASSPHRASE = ARGS_ID_LOCAL,
    OPT_KEYFILE,
    OPT_SHAMIR,
    OPT_PASSPHRASE_FILE,
    OPT_SHARE,
};

static const struct args_opt init_opts[] = {
    {"passphrase", 0, false, OPT_PASSPHRASE},
    {"keyfile", 0, false, OPT_KEYFILE},
    {"shamir", 0, true, OPT_SHAMIR},
    {"passphrase-file", 0, true, OPT_PASSPHRASE_FILE},
    {NULL, 0, false, 0},
};

static const struct args_opt unseal_opts[] = {
    {"passphrase", 0, false, OPT_PASSPHRASE},
    {"keyfile", 0, false, OPT_KEYFILE},
    {"share", 0, false, OPT_SHARE},
    {"passphrase-file", 0, true, OPT_PASSPHRASE_FILE},
    {NULL, 0, false, 0},
};

static const char *const status_order[] = {"state",  "method",  "threshold", "shares_given",
                                           "schema", "version", NULL};

/* vault.status, for commands that need the state before asking for a secret. */
static int status_get(struct cli *cli, const char **state, const char **method, json_t **res)
{
    int r = 0;

    if ((r = cli_call(cli, "vault.status", NULL, res)) != 0)
        goto out;
    *state = json_string_value(json_object_get(*res, "state"));
    *method = json_string_value(json_object_get(*res, "method"));
    if (!*state)
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer to vault.status");
out:
    return r;
}

static int shares_print(struct cli *cli, const json_t *res)
{
    const json_t *shares = json_object_get(res, "shares");
    size_t n = json_array_size(shares);

    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(shares, i)))
            return -ERR_PARSE;
    for (size_t i = 0; i < n; i++)
        printf("Share %zu of %zu: %s\n", i + 1, n, json_string_value(json_array_get(shares, i)));
    return 0;
}

static int init_human(struct cli *cli, const json_t *res)
{
    const char *method = json_string_value(json_object_get(res, "method"));

    if (json_object_get(res, "shares"))
        return shares_print(cli, res);
    printf("Vault initialized (method %s). It is sealed: run 'custos vault unseal'.\n",
           method ? method : "?");
    return 0;
}

static int vault_init(struct cli *cli, const struct args *a)
{
    int r = 0;
    unsigned n = 0, k = 0;
    const char *why = NULL, *state = NULL, *method = NULL;
    struct secbuf *pass = NULL;
    json_t *args = NULL, *res = NULL, *status = NULL;

    if (!!a->val[OPT_PASSPHRASE] + !!a->val[OPT_KEYFILE] + !!a->val[OPT_SHAMIR] != 1) {
        r = cli_usage(cli, "choose one of --passphrase, --keyfile or --shamir N/K");
        goto out;
    }
    if (a->val[OPT_PASSPHRASE_FILE] && !a->val[OPT_PASSPHRASE]) {
        r = cli_usage(cli, "--passphrase-file goes with --passphrase");
        goto out;
    }
    if (a->val[OPT_SHAMIR] && args_parse_shares(a->val[OPT_SHAMIR], &n, &k) != 0) {
        r = cli_usage(cli, "--shamir wants N/K: N shares, K of them unseal (2 <= K <= N <= 255)");
        goto out;
    }
    /* Ask before prompting twice for a passphrase that cannot be used. */
    if ((r = status_get(cli, &state, &method, &status)) != 0)
        goto out;
    if (strcmp(state, "uninitialized") != 0) {
        r = cli_fail(cli, -ERR_ALREADY_INIT, "%s", err_str(-ERR_ALREADY_INIT));
        goto out;
    }
    if (!(args = json_object())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (a->val[OPT_PASSPHRASE]) {
        r = prompt_line_read("New vault passphrase: ", "Repeat the passphrase: ",
                             a->val[OPT_PASSPHRASE_FILE], &pass, &why);
        if (r != 0) {
            r = cli_fail(cli, r, "cannot read the passphrase: %s", why);
            goto out;
        }
        if ((r = cli_set(args, "method", json_string("passphrase"))) != 0 ||
            (r = cli_set(args, "passphrase", json_stringn(secbuf_cdata(pass), secbuf_len(pass)))) !=
                0) {
            r = cli_fail(cli, -ERR_INVAL, "the passphrase must be valid UTF-8 text");
            goto out;
        }
    } else if (a->val[OPT_KEYFILE]) {
        if ((r = cli_set(args, "method", json_string("keyfile"))) != 0)
            goto out;
    } else {
        if ((r = cli_set(args, "method", json_string("shamir"))) != 0 ||
            (r = cli_set(args, "shares", json_integer(n))) != 0 ||
            (r = cli_set(args, "threshold", json_integer(k))) != 0)
            goto out;
    }
    if ((r = cli_call(cli, "vault.init", args, &res)) != 0)
        goto out;
    if (json_object_get(res, "shares")) {
        fprintf(stderr,
                "\n"
                "WARNING: the %zu shares below are shown this once and are stored nowhere.\n"
                "Give each share to a different custodian now, over a safe channel. Any %u of\n"
                "them unseal the vault; with fewer than %u the vault cannot be opened again.\n"
                "Do not keep them together, and clear this terminal's scrollback afterwards.\n\n",
                json_array_size(json_object_get(res, "shares")), k, k);
    }
    r = cli_print(cli, res, init_human);
out:
    secbuf_free(pass);
    json_decref(args); /* wiping allocator: the passphrase copy is cleared */
    json_decref(res);
    json_decref(status);
    return r;
}

static int unseal_human(struct cli *cli, const json_t *res)
{
    const char *state = json_string_value(json_object_get(res, "state"));

    if (state && strcmp(state, "unsealed") == 0) {
        printf("Vault unsealed.\n");
    } else if (json_object_get(res, "threshold")) {
        json_int_t given = json_integer_value(json_object_get(res, "shares_given"));
        json_int_t k = json_integer_value(json_object_get(res, "threshold"));

        printf("Share accepted: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
               " given; the vault stays sealed until %" JSON_INTEGER_FORMAT " are given.\n",
               given, k, k);
    } else {
        printf("Vault is %s.\n", state ? state : "in an unknown state");
    }
    return 0;
}

static int vault_unseal(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *why = NULL, *state = NULL, *method = NULL;
    struct secbuf *input = NULL;
    json_t *args = NULL, *res = NULL, *status = NULL;
    bool share = a->val[OPT_SHARE] != NULL, keyfile = a->val[OPT_KEYFILE] != NULL;

    if (!!a->val[OPT_PASSPHRASE] + keyfile + share > 1) {
        r = cli_usage(cli, "choose one of --passphrase, --keyfile or --share");
        goto out;
    }
    if (a->val[OPT_PASSPHRASE_FILE] && (keyfile || share)) {
        r = cli_usage(cli, "--passphrase-file goes with the passphrase method");
        goto out;
    }
    if ((r = status_get(cli, &state, &method, &status)) != 0)
        goto out;
    if (strcmp(state, "unsealed") == 0) {
        r = cli_print(cli, status, unseal_human);
        goto out;
    }
    if (strcmp(state, "uninitialized") == 0) {
        r = cli_fail(cli, -ERR_NOT_INIT, "%s: run 'custos vault init' first",
                     err_str(-ERR_NOT_INIT));
        goto out;
    }
    /* Without a flag, use the method the vault was initialised with (passphrase by default). */
    if (!a->val[OPT_PASSPHRASE] && !keyfile && !share && !a->val[OPT_PASSPHRASE_FILE] && method) {
        share = strcmp(method, "shamir") == 0;
        keyfile = strcmp(method, "keyfile") == 0;
    }
    if (!(args = json_object())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (keyfile) {
        if ((r = cli_set(args, "keyfile", json_true())) != 0)
            goto out;
    } else {
        r = prompt_line_read(share ? "Unseal share: " : "Vault passphrase: ", NULL,
                             a->val[OPT_PASSPHRASE_FILE], &input, &why);
        if (r != 0) {
            r = cli_fail(cli, r, "cannot read the %s: %s", share ? "share" : "passphrase", why);
            goto out;
        }
        if ((r = cli_set(args, share ? "share" : "passphrase",
                         json_stringn(secbuf_cdata(input), secbuf_len(input)))) != 0) {
            r = cli_fail(cli, -ERR_INVAL, "the input must be valid UTF-8 text");
            goto out;
        }
    }
    if ((r = cli_call(cli, "vault.unseal", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, unseal_human);
out:
    secbuf_free(input);
    json_decref(args);
    json_decref(res);
    json_decref(status);
    return r;
}

static int seal_human(struct cli *cli, const json_t *res)
{
    printf("Vault sealed.\n");
    return 0;
}

static int vault_seal(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, "vault.seal", NULL, &res)) != 0)
        goto out;
    r = cli_print(cli, res, seal_human);
out:
    json_decref(res);
    return r;
}

static int vault_status(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, "vault.status", NULL, &res)) != 0)
        goto out;
    r = cli_print_object(cli, res, status_order);
out:
    json_decref(res);
    return r;
}

static int rekey_human(struct cli *cli, const json_t *res)
{
    printf("New data key in use; %" JSON_INTEGER_FORMAT " secret versions re-encrypted.\n",
           json_integer_value(json_object_get(res, "reencrypted")));
    return 0;
}

static int vault_rekey(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, "vault.rekey", NULL, &res)) != 0)
        goto out;
    r = cli_print(cli, res, rekey_human);
out:
    json_decref(res);
    return r;
}

/* {"path": absolute form of `path`}: the daemon has its own working directory. */
static int path_args(struct cli *cli, const char *path, json_t **out)
{
    int r = 0;
    char cwd[PATH_MAX];
    struct buf abs;
    json_t *args = NULL;

    *out = NULL;
    buf_init(&abs, PATH_MAX);
    if (path[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
        r = cli_fail(cli, -ERR_IO, "cannot determine the current directory");
        goto out;
    }
    if ((r = args_path_absolute(path[0] == '/' ? "/" : cwd, path, &abs)) != 0) {
        r = cli_fail(cli, r, "bad path '%.200s'", path);
        goto out;
    }
    if (!(args = json_object()) || (r = cli_set(args, "path", json_string(abs.data))) != 0) {
        r = cli_fail(cli, -ERR_INVAL, "the path must be valid UTF-8");
        goto out;
    }
    *out = args;
    args = NULL;
out:
    buf_fini(&abs);
    json_decref(args);
    return r;
}

static int backup_human(struct cli *cli, const json_t *res)
{
    struct buf path;
    int r = 0;

    buf_init(&path, PATH_MAX * 2);
    if ((r = out_value_format("path", json_object_get(res, "path"), &path)) != 0)
        goto out;
    printf("Backup written to %s (%" JSON_INTEGER_FORMAT " bytes). It needs the same "
           "passphrase, key file or shares to unseal.\n",
           path.data, json_integer_value(json_object_get(res, "bytes")));
out:
    buf_fini(&path);
    return r;
}

static int vault_backup(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = path_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "vault.backup", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, backup_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int restore_human(struct cli *cli, const json_t *res)
{
    printf("Vault restored; it is sealed: run 'custos vault unseal'.\n");
    return 0;
}

static int vault_restore(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = path_args(cli, a->pos[0], &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "vault.restore", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, restore_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd cmds[] = {
    {"init", "(--passphrase [--passphrase-file PATH] | --keyfile | --shamir N/K)",
     "initialize an empty vault; it is left sealed",
     "  --passphrase            protect the vault with a passphrase, typed twice at the\n"
     "                          terminal (echo off), or one line from stdin when stdin\n"
     "                          is not a terminal\n"
     "  --passphrase-file PATH  read the passphrase from the first line of PATH\n"
     "  --keyfile               use the key file named by [vault] key_file in vaultd.conf\n"
     "  --shamir N/K            split the key into N shares, any K of which unseal\n"
     "                          (2 <= K <= N <= 255); the shares are printed ONCE\n\n"
     "Examples:\n"
     "  custos vault init --passphrase\n"
     "  custos vault init --shamir 5/3\n",
     init_opts, 0, 0, vault_init},
    {"unseal", "[--passphrase [--passphrase-file PATH] | --keyfile | --share]",
     "load the vault keys into memory",
     "  --passphrase            type the passphrase (default for passphrase vaults)\n"
     "  --passphrase-file PATH  read the passphrase from the first line of PATH\n"
     "  --keyfile               have the daemon read its key file\n"
     "  --share                 give one Shamir share; each custodian runs this once\n\n"
     "Without a flag the method the vault was initialized with is used. Passphrase and\n"
     "share are read from the terminal with echo off, or one line from stdin.\n\n"
     "Examples:\n"
     "  custos vault unseal\n"
     "  custos vault unseal --share\n"
     "  custos vault unseal --passphrase-file /etc/custos/pass\n",
     unseal_opts, 0, 0, vault_unseal},
    {"seal", "", "wipe the vault keys from memory", NULL, NULL, 0, 0, vault_seal},
    {"status", "", "show the vault state and unseal method", NULL, NULL, 0, 0, vault_status},
    {"rekey", "", "generate a new data key and re-encrypt every secret", NULL, NULL, 0, 0,
     vault_rekey},
    {"backup", "PATH", "write a consistent encrypted copy of the vault to PATH",
     "PATH must not exist; it is written by the daemon (mode 0600), so it must be a\n"
     "place the daemon can write. A relative PATH is made absolute first.\n\n"
     "Example:\n"
     "  custos vault backup /var/backups/custos-$(date +%F).mdb\n",
     NULL, 1, 1, vault_backup},
    {"restore", "PATH", "replace the vault with a backup; the vault is sealed afterwards",
     "The daemon checks the backup, then replaces the live vault atomically. Unseal it\n"
     "with the passphrase, key file or shares of the backup.\n\n"
     "Example:\n"
     "  custos vault restore /var/backups/custos-2024-05-01.mdb\n",
     NULL, 1, 1, vault_restore},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_vault_family = {
    "vault",
    "initialize, unseal, seal, rekey, back up and restore the vault",
    cmds,
};
