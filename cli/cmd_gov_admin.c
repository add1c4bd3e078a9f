/* SPDX-License-Identifier: Apache-2.0 */
/* custos gov identity, role, rule, sod and auto: governance administration (scope gov). */
#include <string.h>

#include "cmd_gov.h"

#define KEY_FILE_MAX 16384u
#define ROLE_FILE_MAX (1u << 20)

/* ---- identity ---------------------------------------------------------- */

enum {
    ID_NAME = ARGS_ID_LOCAL,
    ID_EMAIL,
    ID_DEPARTMENT,
    ID_TITLE,
    ID_MANAGER,
    ID_GROUP,
    ID_PENDING,
    ID_STATE,
    ID_REASON,
    ID_KEY,
    ID_KEY_FILE,
};

static const struct args_opt identity_write_opts[] = {
    {"name", 0, true, ID_NAME},
    {"email", 0, true, ID_EMAIL},
    {"department", 0, true, ID_DEPARTMENT},
    {"title", 0, true, ID_TITLE},
    {"manager", 0, true, ID_MANAGER},
    {"group", 0, true, ID_GROUP},
    {"pending", 0, false, ID_PENDING},
    {NULL, 0, false, 0},
};

static const struct args_opt identity_update_opts[] = {
    {"name", 0, true, ID_NAME},
    {"email", 0, true, ID_EMAIL},
    {"department", 0, true, ID_DEPARTMENT},
    {"title", 0, true, ID_TITLE},
    {"manager", 0, true, ID_MANAGER},
    {"group", 0, true, ID_GROUP},
    {NULL, 0, false, 0},
};

static const struct args_opt identity_list_opts[] = {
    {"state", 0, true, ID_STATE},
    {"department", 0, true, ID_DEPARTMENT},
    {NULL, 0, false, 0},
};

static const struct args_opt reason_opts[] = {
    {"reason", 0, true, ID_REASON},
    {NULL, 0, false, 0},
};

static const struct args_opt key_opts[] = {
    {"key", 0, true, ID_KEY},
    {"key-file", 0, true, ID_KEY_FILE},
    {NULL, 0, false, 0},
};

static const char *const identity_order[] = {
    "id",    "name",     "email",  "department", "title",      "manager",    "groups",
    "state", "state_at", "source", "totp",       "created_at", "updated_at", NULL};
static const char *const identity_hide[] = {"roles", "keys", "lifecycle", NULL};

static const struct out_col role_held_cols[] = {
    {"ROLE", "role"},
    {"SOURCE", "source"},
    {"SINCE", "since"},
};
static const struct out_col key_cols[] = {
    {"FINGERPRINT", "fp"},
    {"KEY", "key"},
};
static const struct out_col lifecycle_cols[] = {
    {"STATE", "state"},
    {"AT", "at"},
};
static const struct out_col identity_cols[] = {
    {"ID", "id"},       {"NAME", "name"},       {"DEPARTMENT", "department"},
    {"TITLE", "title"}, {"MANAGER", "manager"}, {"STATE", "state"},
};

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

static int identity_human(struct cli *cli, const json_t *res)
{
    int r = 0;

    if ((r = gov_object_print(stdout, res, identity_order, identity_hide, NULL)) != 0 ||
        (r = gov_section_print(stdout, "Roles", json_object_get(res, "roles"), role_held_cols,
                               NCOLS(role_held_cols), NULL)) != 0 ||
        (r = gov_section_print(stdout, "Keys", json_object_get(res, "keys"), key_cols,
                               NCOLS(key_cols), NULL)) != 0)
        return r;
    if (json_array_size(json_object_get(res, "lifecycle")) > 0)
        r = gov_section_print(stdout, "Lifecycle", json_object_get(res, "lifecycle"),
                              lifecycle_cols, NCOLS(lifecycle_cols), NULL);
    return r;
}

static int call_print(struct cli *cli, const char *op, json_t *args,
                      int (*human)(struct cli *, const json_t *))
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, op, args, &res)) == 0)
        r = cli_print(cli, res, human);
    json_decref(res);
    return r;
}

static int identity_fields(struct cli *cli, const struct args *a, json_t *args)
{
    int r = 0;

    if ((r = gov_set_str(cli, args, "name", a->val[ID_NAME], "--name")) != 0 ||
        (r = gov_set_str(cli, args, "email", a->val[ID_EMAIL], "--email")) != 0 ||
        (r = gov_set_str(cli, args, "department", a->val[ID_DEPARTMENT], "--department")) != 0 ||
        (r = gov_set_str(cli, args, "title", a->val[ID_TITLE], "--title")) != 0 ||
        (r = gov_set_str(cli, args, "manager", a->val[ID_MANAGER], "--manager")) != 0 ||
        (r = gov_set_repeated(cli, args, "groups", ID_GROUP, "--group")) != 0)
        return r;
    return 0;
}

static int identity_create(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if (!a->val[ID_NAME] || !a->val[ID_EMAIL])
        return cli_usage(cli, "--name and --email are required");
    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = identity_fields(cli, a, args)) != 0 ||
        (r = gov_set_str(cli, args, "state", a->val[ID_PENDING] ? "pending" : NULL, "")) != 0)
        goto out;
    r = call_print(cli, "gov.identity.create", args, identity_human);
out:
    json_decref(args);
    return r;
}

static int identity_update(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = identity_fields(cli, a, args)) != 0)
        goto out;
    if (json_object_size(args) < 2) {
        r = cli_usage(cli, "nothing to change: give --name, --email, --department, --title, "
                           "--manager or --group");
        goto out;
    }
    r = call_print(cli, "gov.identity.update", args, identity_human);
out:
    json_decref(args);
    return r;
}

/* op {id} (+ reason), printing the identity. */
static int identity_id_op(struct cli *cli, const struct args *a, const char *op, bool need_reason)
{
    int r = 0;
    json_t *args = NULL;
    const char *reason = a->val[ID_REASON];

    if (need_reason && (!reason || !reason[0]))
        return cli_usage(cli, "--reason is required");
    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "reason", reason, "--reason")) != 0)
        goto out;
    r = call_print(cli, op, args, identity_human);
out:
    json_decref(args);
    return r;
}

static int identity_get(struct cli *cli, const struct args *a)
{
    return identity_id_op(cli, a, "gov.identity.get", false);
}

static int identity_activate(struct cli *cli, const struct args *a)
{
    return identity_id_op(cli, a, "gov.identity.activate", false);
}

static int identity_suspend(struct cli *cli, const struct args *a)
{
    return identity_id_op(cli, a, "gov.identity.suspend", true);
}

static int identity_leave(struct cli *cli, const struct args *a)
{
    return identity_id_op(cli, a, "gov.identity.leave", true);
}

static int identity_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_new(cli, &args)) != 0 ||
        (r = gov_set_str(cli, args, "state", a->val[ID_STATE], "--state")) != 0 ||
        (r = gov_set_str(cli, args, "department", a->val[ID_DEPARTMENT], "--department")) != 0)
        goto out;
    r = gov_call_list(cli, "gov.identity.list", args, "identities", identity_cols,
                      NCOLS(identity_cols), NULL);
out:
    json_decref(args);
    return r;
}

static const struct cli_cmd identity_cmds[] = {
    {"create",
     "ID --name N --email E [--department D] [--title T] [--manager M] [--group G]... "
     "[--pending]",
     "create an identity (a person)",
     "  --name N        display name\n"
     "  --email E       e-mail address\n"
     "  --department D  department (birthright rules match it)\n"
     "  --title T       job title\n"
     "  --manager M     id of the manager (approves and reviews by default)\n"
     "  --group G       a group; repeat for several\n"
     "  --pending       create it pending (activate later) instead of active\n\n"
     "Birthright roles of matching rules are assigned at once.\n\n"
     "Example:\n"
     "  custos gov identity create alice --name 'Alice Liddell' --email alice@example.com \\\n"
     "      --department ops --title SRE --manager bob --group oncall\n",
     identity_write_opts, 1, 1, identity_create},
    {"update",
     "ID [--name N] [--email E] [--department D] [--title T] [--manager M] [--group G]...",
     "change attributes (birthright roles are recomputed)",
     "Only the fields given change. --group replaces the whole list (--group '' empties it).\n",
     identity_update_opts, 1, 1, identity_update},
    {"get", "ID", "show an identity: attributes, roles, keys, lifecycle", NULL, NULL, 1, 1,
     identity_get},
    {"list", "[--state S] [--department D]", "list identities",
     "  --state S  pending, active, suspended or left\n", identity_list_opts, 0, 0, identity_list},
    {"activate", "ID [--reason R]", "make a pending or suspended identity active", NULL,
     reason_opts, 1, 1, identity_activate},
    {"suspend", "ID --reason R", "suspend an identity: its live grants are revoked", NULL,
     reason_opts, 1, 1, identity_suspend},
    {"leave", "ID --reason R", "an identity leaves: roles removed, grants revoked, rotation queued",
     "Final: a left identity never comes back and its id is never reused.\n", reason_opts, 1, 1,
     identity_leave},
    {"key", "SUBCOMMAND ...", "add or remove SSH public keys", NULL, NULL, 0, 0, NULL},
    {"totp", "SUBCOMMAND ...", "enroll a TOTP secret", NULL, NULL, 0, 0, NULL},
    {"role", "SUBCOMMAND ...", "assign or unassign roles by hand", NULL, NULL, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_identity_family = {
    "gov identity",
    "manage identities: the people who request, approve and review access",
    identity_cmds,
};

/* -- identity key -- */

static int key_added_human(struct cli *cli, const json_t *res)
{
    struct buf fp, id;
    int r = 0;

    buf_init(&fp, 4096);
    buf_init(&id, 4096);
    if ((r = gov_text(res, "fp", &fp)) == 0 && (r = gov_text(res, "id", &id)) == 0)
        printf("Key %s added to %s.\n", fp.data, id.data);
    buf_fini(&fp);
    buf_fini(&id);
    return r;
}

static int key_add(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;
    const char *key = a->val[ID_KEY];
    struct buf file;

    buf_init(&file, KEY_FILE_MAX + 1);
    if (!!a->val[ID_KEY] + !!a->val[ID_KEY_FILE] != 1)
        return cli_usage(cli, "give one of --key 'ssh-ed25519 AAAA...' or --key-file PATH");
    if (a->val[ID_KEY_FILE]) {
        char *nl;

        if ((r = gov_file_read(cli, a->val[ID_KEY_FILE], KEY_FILE_MAX, &file)) != 0)
            goto out;
        if ((r = buf_append(&file, "", 1)) != 0) {
            r = cli_fail(cli, r, "out of memory");
            goto out;
        }
        if ((nl = strpbrk(file.data, "\r\n")))
            *nl = '\0';
        key = file.data;
    }
    if (!key[0]) {
        r = cli_usage(cli, "the key is empty");
        goto out;
    }
    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "key", key, "the key")) != 0)
        goto out;
    r = call_print(cli, "gov.identity.key.add", args, key_added_human);
out:
    buf_fini(&file);
    json_decref(args);
    return r;
}

static int key_remove(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "fp", a->pos[1], "FP")) != 0)
        goto out;
    r = call_print(cli, "gov.identity.key.remove", args, identity_human);
out:
    json_decref(args);
    return r;
}

static const struct cli_cmd key_cmds[] = {
    {"add", "ID (--key 'ssh-ed25519 AAAA... comment' | --key-file PATH)",
     "add an SSH public key (the broker maps its fingerprint to the identity)",
     "  --key LINE       the public key line, as in id_ed25519.pub\n"
     "  --key-file PATH  a .pub file (its first line); '-' reads stdin\n\n"
     "Prints the key's SHA256 fingerprint. A key belongs to one identity at most.\n\n"
     "Example:\n"
     "  custos gov identity key add alice --key-file ~alice/.ssh/id_ed25519.pub\n",
     key_opts, 1, 1, key_add},
    {"remove", "ID FP", "remove a key by its fingerprint (SHA256:...)", NULL, NULL, 2, 2,
     key_remove},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_identity_key_family = {
    "gov identity key",
    "manage the SSH public keys of an identity",
    key_cmds,
};

/* -- identity totp -- */

static int totp_human(struct cli *cli, const json_t *res)
{
    struct buf secret, uri;
    int r = 0;

    buf_init(&secret, 4096);
    buf_init(&uri, 8192);
    if ((r = gov_text(res, "secret", &secret)) == 0 && (r = gov_text(res, "uri", &uri)) == 0)
        printf("secret: %s\nuri:    %s\n", secret.data, uri.data);
    buf_fini(&secret);
    buf_fini(&uri);
    return r;
}

static int totp_enroll(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.identity.totp.enroll", args, &res)) != 0)
        goto out;
    fprintf(stderr,
            "\n"
            "WARNING: the TOTP secret below is shown this once; the vault keeps it sealed and\n"
            "never answers it again. Load it into the user's authenticator now (type the\n"
            "secret, or show the URI as a QR code, e.g. qrencode -t ansiutf8 'URI'), hand it\n"
            "over in person or over a safe channel, then clear this terminal's scrollback.\n"
            "Enrolling again replaces the secret.\n\n");
    r = cli_print(cli, res, totp_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd totp_cmds[] = {
    {"enroll", "ID", "create a TOTP secret for an identity (shown once)",
     "Prints the base32 secret and the otpauth:// URI once, after a warning on stderr.\n", NULL, 1,
     1, totp_enroll},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_identity_totp_family = {
    "gov identity totp",
    "enroll the TOTP second factor of an identity",
    totp_cmds,
};

/* -- identity role -- */

static int role_change(struct cli *cli, const struct args *a, const char *op, const char *done)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "role", a->pos[1], "ROLE")) != 0)
        goto out;
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    if (cli->json) {
        r = out_json(res);
    } else {
        printf("%s %s %s.\n\n", a->pos[1], done, a->pos[0]);
        r = identity_human(cli, res);
    }
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int role_assign(struct cli *cli, const struct args *a)
{
    return role_change(cli, a, "gov.identity.role.assign", "assigned to");
}

static int role_unassign(struct cli *cli, const struct args *a)
{
    return role_change(cli, a, "gov.identity.role.unassign", "unassigned from");
}

static const struct cli_cmd identity_role_cmds[] = {
    {"assign", "ID ROLE", "give a role by hand (source: manual)",
     "Refused (denied, status 5) when it would break a segregation-of-duties rule without\n"
     "a live exception; the message names the rule and its owner.\n",
     NULL, 2, 2, role_assign},
    {"unassign", "ID ROLE", "take a role away", NULL, NULL, 2, 2, role_unassign},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_identity_role_family = {
    "gov identity role",
    "assign and unassign roles of an identity",
    identity_role_cmds,
};

/* ---- role -------------------------------------------------------------- */

enum {
    RO_KIND = ARGS_ID_LOCAL,
    RO_DESCRIPTION,
    RO_OWNER,
    RO_ENTITLEMENT,
    RO_FROM_FILE,
};

static const struct args_opt role_write_opts[] = {
    {"kind", 0, true, RO_KIND},           {"description", 0, true, RO_DESCRIPTION},
    {"owner", 0, true, RO_OWNER},         {"entitlement", 'e', true, RO_ENTITLEMENT},
    {"from-file", 0, true, RO_FROM_FILE}, {NULL, 0, false, 0},
};

static const char *const role_order[] = {"name",       "kind",       "owner", "description",
                                         "created_at", "updated_at", NULL};
static const char *const role_hide[] = {"entitlements", NULL};

static int ent_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const json_t *ap = json_object_get(raw, "approval");
    struct buf b;

    if (!json_is_object(ap))
        return 0;
    buf_init(&b, 4096);
    if ((r = govcli_approval_format(ap, &b)) == 0 && (r = buf_append(&b, "", 1)) == 0)
        r = cli_set(human, "_approval", json_string(b.data));
    buf_fini(&b);
    return r;
}

static const struct out_col ent_cols[] = {
    {"ACCOUNT", "account"},
    {"MAX", "max_duration"},
    {"APPROVAL", "_approval"},
    {"BREAK-GLASS", "break_glass"},
    {"FILE-TRANSFER", "file_transfer"},
};

static int role_human(struct cli *cli, const json_t *res)
{
    int r = 0;

    if ((r = gov_object_print(stdout, res, role_order, role_hide, NULL)) != 0)
        return r;
    return gov_section_print(stdout, "Entitlements", json_object_get(res, "entitlements"), ent_cols,
                             NCOLS(ent_cols), ent_derive);
}

static int role_list_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const json_t *ents = json_object_get(raw, "entitlements");
    struct buf b;

    buf_init(&b, 1u << 20);
    for (size_t i = 0; i < json_array_size(ents) && r == 0; i++) {
        if (i)
            r = buf_append(&b, ", ", 2);
        if (r == 0)
            r = govcli_entitlement_format(json_array_get(ents, i), &b);
    }
    if (r == 0)
        r = buf_append(&b, "", 1);
    if (r == 0)
        r = cli_set(human, "_ents", json_string(b.data));
    buf_fini(&b);
    return r;
}

static const struct out_col role_cols[] = {
    {"NAME", "name"},
    {"KIND", "kind"},
    {"OWNER", "owner"},
    {"ENTITLEMENTS", "_ents"},
};

/* A role object from --from-file, then the options over it. */
static int role_build(struct cli *cli, const struct args *a, bool create, json_t **out)
{
    int r = 0;
    const char *kind = a->val[RO_KIND];
    const char *name = a->npos > 0 ? a->pos[0] : NULL;
    const char *ents[GOV_REPEAT_MAX];
    size_t nents = 0;
    json_t *role = NULL, *arr = NULL, *ent = NULL;
    json_error_t jerr;
    struct buf file;
    char why[256];

    *out = NULL;
    buf_init(&file, ROLE_FILE_MAX + 1);
    if (kind && strcmp(kind, "standing") != 0 && strcmp(kind, "requestable") != 0) {
        r = cli_usage(cli, "--kind is standing or requestable");
        goto out;
    }
    if (cli_opt_values(cli, RO_ENTITLEMENT, ents, GOV_REPEAT_MAX, &nents) != 0) {
        r = cli_usage(cli, "too many --entitlement options (at most %d)", GOV_REPEAT_MAX);
        goto out;
    }
    if (a->val[RO_FROM_FILE]) {
        if (nents) {
            r = cli_usage(cli, "--entitlement and --from-file do not go together");
            goto out;
        }
        if ((r = gov_file_read(cli, a->val[RO_FROM_FILE], ROLE_FILE_MAX, &file)) != 0)
            goto out;
        role = json_loadb(file.data ? file.data : "", file.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(role)) {
            r = cli_fail(cli, -ERR_PARSE, "%s: %s", a->val[RO_FROM_FILE],
                         role ? "a role is a JSON object" : jerr.text);
            goto out;
        }
        if (name && json_is_string(json_object_get(role, "name")) &&
            strcmp(json_string_value(json_object_get(role, "name")), name) != 0) {
            r = cli_usage(cli, "NAME '%.64s' differs from the name in %s", name,
                          a->val[RO_FROM_FILE]);
            goto out;
        }
        if (!name && !json_is_string(json_object_get(role, "name"))) {
            r = cli_usage(cli, "give NAME or a \"name\" in %s", a->val[RO_FROM_FILE]);
            goto out;
        }
    } else {
        if (!name) {
            r = cli_usage(cli, "NAME is required (or --from-file role.json)");
            goto out;
        }
        if (create && nents == 0) {
            r = cli_usage(cli, "give at least one --entitlement PATTERN:DURATION[:...]");
            goto out;
        }
        if ((r = gov_args_new(cli, &role)) != 0)
            goto out;
    }
    if ((r = gov_set_str(cli, role, "name", name, "NAME")) != 0 ||
        (r = gov_set_str(cli, role, "kind", kind, "--kind")) != 0 ||
        (r = gov_set_str(cli, role, "description", a->val[RO_DESCRIPTION], "--description")) != 0 ||
        (r = gov_set_str(cli, role, "owner", a->val[RO_OWNER], "--owner")) != 0)
        goto out;
    if (nents) {
        if (!(arr = json_array())) {
            r = cli_fail(cli, -ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nents; i++) {
            if (govcli_entitlement_parse(ents[i], &ent, why, sizeof(why)) != 0) {
                r = cli_usage(cli, "--entitlement '%.100s': %s", ents[i], why);
                goto out;
            }
            if (json_array_append_new(arr, ent) != 0) {
                r = cli_fail(cli, -ERR_NOMEM, "out of memory");
                goto out;
            }
        }
        r = cli_set(role, "entitlements", arr);
        arr = NULL;
        if (r != 0)
            goto out;
    }
    if (!create && json_object_size(role) < 2) {
        r = cli_usage(cli, "nothing to change: give --kind, --description, --owner, "
                           "--entitlement or --from-file");
        goto out;
    }
    *out = role;
    role = NULL;
out:
    buf_fini(&file);
    json_decref(role);
    json_decref(arr);
    return r;
}

static int role_write(struct cli *cli, const struct args *a, const char *op, bool create)
{
    int r = 0;
    json_t *role = NULL;

    if ((r = role_build(cli, a, create, &role)) == 0)
        r = call_print(cli, op, role, role_human);
    json_decref(role);
    return r;
}

static int role_create(struct cli *cli, const struct args *a)
{
    return role_write(cli, a, "gov.role.create", true);
}

static int role_update(struct cli *cli, const struct args *a)
{
    return role_write(cli, a, "gov.role.update", false);
}

static int role_get(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "name", a->pos[0], &args)) == 0)
        r = call_print(cli, "gov.role.get", args, role_human);
    json_decref(args);
    return r;
}

static int role_delete(struct cli *cli, const struct args *a)
{
    return gov_call_delete(cli, "gov.role.delete", "name", a->pos[0], "Role");
}

static int role_list(struct cli *cli, const struct args *a)
{
    return gov_call_list(cli, "gov.role.list", NULL, "roles", role_cols, NCOLS(role_cols),
                         role_list_derive);
}

#define ENT_HELP                                                                                   \
    "  --kind K           requestable (default: each use needs a grant) or standing\n"             \
    "                     (holding the role is access)\n"                                          \
    "  --description D    free text\n"                                                             \
    "  --owner O          identity that owns the role\n"                                           \
    "  -e, --entitlement SPEC   repeat for each account pattern:\n"                                \
    "      PATTERN:DURATION[:APPROVAL][:break-glass][:file-transfer]\n"                            \
    "      PATTERN   accounts NAME@TARGET, * any run, ? one character (root@web*)\n"               \
    "      DURATION  longest grant: 30m, 4h, 1d, 1h30m\n"                                          \
    "      APPROVAL  none | manager | owner (the target's) | group=NAME, with *2 for\n"            \
    "                two different approvers (group=dba*2); default manager\n"                     \
    "      break-glass    holders may take an immediate, alerted grant\n"                          \
    "      file-transfer  sessions may transfer files\n"                                           \
    "  --from-file PATH   the role as a JSON object (docs/governance.md); '-' reads stdin\n"

static const struct cli_cmd role_cmds[] = {
    {"create",
     "NAME [--kind standing|requestable] [--description D] [--owner O] --entitlement SPEC... | "
     "--from-file role.json",
     "create a role",
     ENT_HELP
     "\nExamples:\n"
     "  custos gov role create web-root --owner carol --description 'root on web servers' \\\n"
     "      --entitlement 'root@web*:4h:manager:break-glass' --entitlement 'deploy@web*:8h:none'\n"
     "  custos gov role create dba --entitlement 'postgres@db*:2h:group=dba*2:file-transfer'\n"
     "  custos gov role create --from-file web-root.json\n",
     role_write_opts, 0, 1, role_create},
    {"update",
     "NAME [--kind K] [--description D] [--owner O] [--entitlement SPEC...] | --from-file PATH",
     "change a role", "Given --entitlement options replace the whole list.\n\n" ENT_HELP,
     role_write_opts, 0, 1, role_update},
    {"get", "NAME", "show a role and its entitlements", NULL, NULL, 1, 1, role_get},
    {"list", "", "list roles", NULL, NULL, 0, 0, role_list},
    {"delete", "NAME", "delete a role (refused while someone holds it)", NULL, NULL, 1, 1,
     role_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_role_family = {
    "gov role",
    "manage roles: which accounts they reach, for how long, approved by whom",
    role_cmds,
};

/* ---- rule (birthright) ------------------------------------------------- */

enum {
    RU_MATCH = ARGS_ID_LOCAL,
    RU_ROLE,
};

static const struct args_opt rule_opts[] = {
    {"match", 0, true, RU_MATCH},
    {"role", 0, true, RU_ROLE},
    {NULL, 0, false, 0},
};

static int rule_derive(json_t *human, const json_t *raw);

static int rule_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    json_t *h = govcli_humanize(res);

    if (!h)
        return -ERR_NOMEM;
    if ((r = rule_derive(h, res)) == 0 &&
        (r = cli_set(h, "match", json_incref(json_object_get(h, "_match")))) == 0) {
        (void)json_object_del(h, "_match");
        r = out_object(stdout, h, (const char *const[]){"name", "match", "roles", NULL});
    }
    json_decref(h);
    return r;
}

static int rule_create(struct cli *cli, const struct args *a)
{
    static const char *const keys[] = {"department", "title", "email", "manager", "group", NULL};
    int r = 0;
    const char *m[GOV_REPEAT_MAX];
    size_t nm = 0;
    json_t *args = NULL, *match = NULL;

    if (cli_opt_values(cli, RU_MATCH, m, GOV_REPEAT_MAX, &nm) != 0)
        return cli_usage(cli, "too many --match options");
    if (nm == 0 || !a->val[RU_ROLE])
        return cli_usage(cli, "give at least one --match KEY=GLOB and one --role R");
    if ((r = gov_args_one(cli, "name", a->pos[0], &args)) != 0)
        goto out;
    if (!(match = json_object())) {
        r = cli_fail(cli, -ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nm; i++) {
        const char *eq = strchr(m[i], '=');
        size_t klen = eq ? (size_t)(eq - m[i]) : 0;
        bool known = false;
        char key[16];

        for (size_t k = 0; keys[k]; k++)
            if (eq && strlen(keys[k]) == klen && strncmp(keys[k], m[i], klen) == 0)
                known = true;
        if (!known || !eq[1]) {
            r = cli_usage(cli,
                          "--match '%.64s': want KEY=GLOB, KEY one of department, title, email, "
                          "manager, group",
                          m[i]);
            goto out;
        }
        memcpy(key, m[i], klen);
        key[klen] = '\0';
        if (json_object_get(match, key)) {
            r = cli_usage(cli, "--match %s given twice", key);
            goto out;
        }
        if ((r = gov_set_str(cli, match, key, eq + 1, "--match")) != 0)
            goto out;
    }
    r = cli_set(args, "match", match);
    match = NULL;
    if (r != 0 || (r = gov_set_repeated(cli, args, "roles", RU_ROLE, "--role")) != 0)
        goto out;
    r = call_print(cli, "gov.rule.create", args, rule_human);
out:
    json_decref(match);
    json_decref(args);
    return r;
}

static int rule_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const char *key;
    json_t *v;
    struct buf b;

    buf_init(&b, 65536);
    json_object_foreach(json_object_get(raw, "match"), key, v)
    {
        if ((r = buf_printf(&b, "%s%s=", b.len ? " " : "", key)) != 0 ||
            (r = out_value_format(key, v, &b)) != 0)
            goto out;
    }
    if ((r = buf_append(&b, "", 1)) == 0)
        r = cli_set(human, "_match", json_string(b.data));
out:
    buf_fini(&b);
    return r;
}

static const struct out_col rule_cols[] = {
    {"NAME", "name"},
    {"MATCH", "_match"},
    {"ROLES", "roles"},
};

static int rule_list(struct cli *cli, const struct args *a)
{
    return gov_call_list(cli, "gov.rule.list", NULL, "rules", rule_cols, NCOLS(rule_cols),
                         rule_derive);
}

static int rule_delete(struct cli *cli, const struct args *a)
{
    return gov_call_delete(cli, "gov.rule.delete", "name", a->pos[0], "Rule");
}

static const struct cli_cmd rule_cmds[] = {
    {"create", "NAME --match KEY=GLOB... --role R...",
     "create a birthright rule (applied to every identity at once)",
     "  --match KEY=GLOB  KEY: department, title, email, manager or group; * and ? globs;\n"
     "                    repeat: an identity must match all\n"
     "  --role R          role given to matching identities; repeat for several\n\n"
     "Example:\n"
     "  custos gov rule create ops-sre --match department=ops --match 'title=SRE*' --role sre\n",
     rule_opts, 1, 1, rule_create},
    {"list", "", "list birthright rules", NULL, NULL, 0, 0, rule_list},
    {"delete", "NAME", "delete a rule (the roles it gave are removed)", NULL, NULL, 1, 1,
     rule_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_rule_family = {
    "gov rule",
    "manage birthright rules: roles held because of who one is",
    rule_cmds,
};

/* ---- sod --------------------------------------------------------------- */

enum {
    SO_A = ARGS_ID_LOCAL,
    SO_B,
    SO_SEVERITY,
    SO_OWNER,
    SO_DESCRIPTION,
    SO_REASON,
    SO_DURATION,
    SO_AS,
    SO_IDENTITY,
};

static const struct args_opt sod_opts[] = {
    {"a", 0, true, SO_A},
    {"b", 0, true, SO_B},
    {"severity", 0, true, SO_SEVERITY},
    {"owner", 0, true, SO_OWNER},
    {"description", 0, true, SO_DESCRIPTION},
    {NULL, 0, false, 0},
};

static bool side_ok(const char *s)
{
    return (strncmp(s, "role:", 5) == 0 && s[5]) || (strncmp(s, "account:", 8) == 0 && s[8]);
}

static int sod_create(struct cli *cli, const struct args *a)
{
    static const char *const sev[] = {"low", "medium", "high", "critical", NULL};
    int r = 0;
    bool sev_ok = false;
    json_t *args = NULL;

    if (!a->val[SO_A] || !a->val[SO_B] || !a->val[SO_SEVERITY] || !a->val[SO_OWNER])
        return cli_usage(cli, "--a, --b, --severity and --owner are required");
    if (!side_ok(a->val[SO_A]) || !side_ok(a->val[SO_B]))
        return cli_usage(cli, "--a and --b are role:NAME or account:PATTERN");
    for (size_t i = 0; sev[i]; i++)
        if (strcmp(a->val[SO_SEVERITY], sev[i]) == 0)
            sev_ok = true;
    if (!sev_ok)
        return cli_usage(cli, "--severity is low, medium, high or critical");
    if ((r = gov_args_one(cli, "name", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "a", a->val[SO_A], "--a")) != 0 ||
        (r = gov_set_str(cli, args, "b", a->val[SO_B], "--b")) != 0 ||
        (r = gov_set_str(cli, args, "severity", a->val[SO_SEVERITY], "--severity")) != 0 ||
        (r = gov_set_str(cli, args, "owner", a->val[SO_OWNER], "--owner")) != 0 ||
        (r = gov_set_str(cli, args, "description", a->val[SO_DESCRIPTION], "--description")) != 0)
        goto out;
    r = gov_call_show(cli, "gov.sod.create", args,
                      (const char *const[]){"name", "a", "b", "severity", "owner", NULL});
out:
    json_decref(args);
    return r;
}

static const struct out_col sod_cols[] = {
    {"NAME", "name"}, {"A", "a"}, {"B", "b"}, {"SEVERITY", "severity"}, {"OWNER", "owner"},
};

static int sod_list(struct cli *cli, const struct args *a)
{
    return gov_call_list(cli, "gov.sod.list", NULL, "rules", sod_cols, NCOLS(sod_cols), NULL);
}

static int sod_delete(struct cli *cli, const struct args *a)
{
    return gov_call_delete(cli, "gov.sod.delete", "name", a->pos[0], "SoD rule");
}

static const struct out_col violation_cols[] = {
    {"IDENTITY", "identity"},
    {"RULE", "rule"},
    {"SEVERITY", "severity"},
    {"EXCEPTION", "exception"},
};

static int report_human(struct cli *cli, const json_t *res)
{
    const json_t *v = json_object_get(res, "violations");

    if (!json_is_array(v))
        return -ERR_PARSE;
    if (json_array_size(v) == 0) {
        printf("No violations.\n");
        return 0;
    }
    return gov_table_print(stdout, v, violation_cols, NCOLS(violation_cols), NULL);
}

static int sod_report(struct cli *cli, const struct args *a)
{
    return call_print(cli, "gov.sod.report", NULL, report_human);
}

static const struct cli_cmd sod_cmds[] = {
    {"create",
     "NAME --a role:X|account:PAT --b role:Y|account:PAT --severity low|medium|high|critical "
     "--owner ID [--description D]",
     "create a segregation-of-duties rule",
     "Nobody may hold both sides: a role assignment or an approval that would is refused,\n"
     "unless the rule's owner grants a time-limited exception.\n\n"
     "  --a, --b SIDE  role:NAME (holds the role) or account:PATTERN (can reach a matching\n"
     "                 account)\n"
     "  --owner ID     the identity who may grant exceptions\n\n"
     "Example:\n"
     "  custos gov sod create deploy-vs-audit --a role:deployer --b 'account:root@audit*' \\\n"
     "      --severity high --owner dave\n",
     sod_opts, 1, 1, sod_create},
    {"list", "", "list SoD rules", NULL, NULL, 0, 0, sod_list},
    {"delete", "NAME", "delete an SoD rule", NULL, NULL, 1, 1, sod_delete},
    {"report", "", "identities that violate a rule now (with their exception, if any)", NULL, NULL,
     0, 0, sod_report},
    {"exception", "SUBCOMMAND ...", "time-limited exceptions to a rule", NULL, NULL, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_sod_family = {
    "gov sod",
    "manage segregation-of-duties rules and see who violates them",
    sod_cmds,
};

/* -- sod exception -- */

static const struct args_opt exc_create_opts[] = {
    {"reason", 0, true, SO_REASON},
    {"duration", 0, true, SO_DURATION},
    {"as", 0, true, SO_AS},
    {NULL, 0, false, 0},
};

static const struct args_opt exc_list_opts[] = {
    {"identity", 0, true, SO_IDENTITY},
    {NULL, 0, false, 0},
};

static int exception_create(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if (!a->val[SO_REASON] || !a->val[SO_REASON][0] || !a->val[SO_DURATION])
        return cli_usage(cli, "--reason and --duration are required");
    if ((r = gov_args_one(cli, "rule", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "identity", a->pos[1], "IDENTITY")) != 0 ||
        (r = gov_set_str(cli, args, "reason", a->val[SO_REASON], "--reason")) != 0 ||
        (r = gov_set_duration(cli, args, "duration", a->val[SO_DURATION], "--duration")) != 0 ||
        (r = gov_set_str(cli, args, "as", a->val[SO_AS], "--as")) != 0)
        goto out;
    r = gov_call_show(cli, "gov.sod.exception.create", args,
                      (const char *const[]){"id", "rule", "identity", "reason", "approved_by",
                                            "created_at", "expires_at", NULL});
out:
    json_decref(args);
    return r;
}

static const struct out_col exc_cols[] = {
    {"ID", "id"},          {"RULE", "rule"},          {"IDENTITY", "identity"},
    {"BY", "approved_by"}, {"EXPIRES", "expires_at"}, {"LIVE", "live"},
    {"REASON", "reason"},
};

static int exception_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_new(cli, &args)) == 0 &&
        (r = gov_set_str(cli, args, "identity", a->val[SO_IDENTITY], "--identity")) == 0)
        r = gov_call_list(cli, "gov.sod.exception.list", args, "exceptions", exc_cols,
                          NCOLS(exc_cols), NULL);
    json_decref(args);
    return r;
}

static const struct cli_cmd exception_cmds[] = {
    {"create", "RULE IDENTITY --reason R --duration D [--as ID]",
     "let an identity break a rule for a while (the rule's owner only)",
     "  --duration D  how long: 7d, 12h, ...\n"
     "  --as ID       act as identity ID (callers with the act_as scope)\n\n"
     "Example:\n"
     "  custos gov sod exception create deploy-vs-audit alice --reason 'audit migration' \\\n"
     "      --duration 7d\n",
     exc_create_opts, 2, 2, exception_create},
    {"list", "[--identity ID]", "list exceptions", NULL, exc_list_opts, 0, 0, exception_list},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_sod_exception_family = {
    "gov sod exception",
    "manage exceptions to segregation-of-duties rules",
    exception_cmds,
};

/* ---- auto-approval ----------------------------------------------------- */

enum {
    AU_GROUP = ARGS_ID_LOCAL,
    AU_ACCOUNT,
    AU_MAX,
};

static const struct args_opt auto_opts[] = {
    {"group", 0, true, AU_GROUP},
    {"account", 0, true, AU_ACCOUNT},
    {"max", 0, true, AU_MAX},
    {NULL, 0, false, 0},
};

static int auto_create(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if (!a->val[AU_GROUP] || !a->val[AU_ACCOUNT] || !a->val[AU_MAX])
        return cli_usage(cli, "--group, --account and --max are required");
    if ((r = gov_args_one(cli, "name", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "group", a->val[AU_GROUP], "--group")) != 0 ||
        (r = gov_set_str(cli, args, "account", a->val[AU_ACCOUNT], "--account")) != 0 ||
        (r = gov_set_duration(cli, args, "max_duration", a->val[AU_MAX], "--max")) != 0)
        goto out;
    r = gov_call_show(cli, "gov.auto.create", args,
                      (const char *const[]){"name", "group", "account", "max_duration", NULL});
out:
    json_decref(args);
    return r;
}

static const struct out_col auto_cols[] = {
    {"NAME", "name"},
    {"GROUP", "group"},
    {"ACCOUNT", "account"},
    {"MAX", "max_duration"},
};

static int auto_list(struct cli *cli, const struct args *a)
{
    return gov_call_list(cli, "gov.auto.list", NULL, "rules", auto_cols, NCOLS(auto_cols), NULL);
}

static int auto_delete(struct cli *cli, const struct args *a)
{
    return gov_call_delete(cli, "gov.auto.delete", "name", a->pos[0], "Auto-approval rule");
}

static const struct cli_cmd auto_cmds[] = {
    {"create", "NAME --group G --account PATTERN --max DURATION",
     "approve at once requests by a group's members for matching accounts",
     "Requests still go through segregation-of-duties checks.\n\n"
     "Example:\n"
     "  custos gov auto create oncall-web --group oncall --account 'root@web*' --max 2h\n",
     auto_opts, 1, 1, auto_create},
    {"list", "", "list auto-approval rules", NULL, NULL, 0, 0, auto_list},
    {"delete", "NAME", "delete an auto-approval rule", NULL, NULL, 1, 1, auto_delete},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_auto_family = {
    "gov auto",
    "manage auto-approval rules",
    auto_cmds,
};
