/* SPDX-License-Identifier: Apache-2.0 */
/* custos gov: the governance command family (requests, grants, break-glass, authorize, me). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_gov.h"
#include "custos/gov.h"

enum {
    OPT_AS = ARGS_ID_LOCAL,
    OPT_MINE,
    OPT_TO_APPROVE,
    OPT_STATE,
    OPT_IDENTITY,
    OPT_ACCOUNT,
    OPT_REASON,
    OPT_FP,
    OPT_FILE_TRANSFER,
};

/* ---- shared helpers (cmd_gov.h) ---------------------------------------- */

int gov_args_new(struct cli *cli, json_t **args)
{
    if (!(*args = json_object()))
        return cli_fail(cli, -ERR_NOMEM, "out of memory");
    return 0;
}

int gov_set_str(struct cli *cli, json_t *args, const char *key, const char *val, const char *what)
{
    json_t *s;

    if (!val)
        return 0;
    if (!(s = json_string(val)))
        return cli_usage(cli, "%s must be valid UTF-8 text", what);
    if (json_object_set_new(args, key, s) != 0)
        return cli_fail(cli, -ERR_NOMEM, "out of memory");
    return 0;
}

int gov_set_duration(struct cli *cli, json_t *args, const char *key, const char *val,
                     const char *what)
{
    long long secs = 0;

    if (!val)
        return 0;
    if (gov_duration_parse(val, &secs) != 0)
        return cli_usage(cli, "%s wants a duration such as 90m, 4h, 1h30m or 7d, not '%.64s'", what,
                         val);
    if (cli_set(args, key, json_integer((json_int_t)secs)) != 0)
        return cli_fail(cli, -ERR_NOMEM, "out of memory");
    return 0;
}

int gov_set_flag(json_t *args, const char *key, const char *flag)
{
    if (!flag)
        return 0;
    return cli_set(args, key, json_true());
}

int gov_set_repeated(struct cli *cli, json_t *args, const char *key, int id, const char *what)
{
    int r = 0;
    const char *vals[GOV_REPEAT_MAX];
    size_t n = 0;
    json_t *arr = NULL, *s;

    if ((r = cli_opt_values(cli, id, vals, GOV_REPEAT_MAX, &n)) != 0) {
        r = cli_usage(cli, "too many %s options (at most %d)", what, GOV_REPEAT_MAX);
        goto out;
    }
    if (n == 0)
        goto out;
    if (!(arr = json_array())) {
        r = cli_fail(cli, -ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!vals[i][0]) /* --group '' : an empty list */
            continue;
        if (!(s = json_string(vals[i]))) {
            r = cli_usage(cli, "%s must be valid UTF-8 text", what);
            goto out;
        }
        if (json_array_append_new(arr, s) != 0) {
            r = cli_fail(cli, -ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    r = cli_set(args, key, arr);
    arr = NULL;
out:
    json_decref(arr);
    return r;
}

int gov_set_words(struct cli *cli, json_t *args, const char *key, const struct args *a, int from,
                  bool required, const char *what)
{
    int r = 0;
    struct buf b;

    buf_init(&b, 65536);
    for (int i = from; i < a->npos; i++) {
        if ((r = buf_printf(&b, "%s%s", i > from ? " " : "", a->pos[i])) != 0) {
            r = cli_usage(cli, "%s is too long", what);
            goto out;
        }
    }
    if (b.len == 0) {
        if (required)
            r = cli_usage(cli, "%s is required", what);
        goto out;
    }
    if ((r = buf_append(&b, "", 1)) != 0) {
        r = cli_usage(cli, "%s is too long", what);
        goto out;
    }
    r = gov_set_str(cli, args, key, b.data, what);
out:
    buf_fini(&b);
    return r;
}

int gov_args_one(struct cli *cli, const char *key, const char *val, json_t **args)
{
    int r = 0;

    if ((r = gov_args_new(cli, args)) != 0)
        return r;
    if ((r = gov_set_str(cli, *args, key, val, key)) != 0) {
        json_decref(*args);
        *args = NULL;
    }
    return r;
}

int gov_object_print(FILE *f, const json_t *obj, const char *const *order, const char *const *hide,
                     gov_derive_fn derive)
{
    int r = 0;
    json_t *h = govcli_humanize(obj);

    if (!h)
        return -ERR_NOMEM;
    if (derive && (r = derive(h, obj)) != 0) {
        json_decref(h);
        return r;
    }
    for (size_t i = 0; hide && hide[i]; i++)
        (void)json_object_del(h, hide[i]);
    r = out_object(f, h, order);
    json_decref(h);
    return r;
}

static json_t *rows_humanize(const json_t *rows, gov_derive_fn derive)
{
    json_t *h = govcli_humanize(rows);
    size_t n = json_array_size(h);

    if (!h || !derive)
        return h;
    for (size_t i = 0; i < n; i++)
        if (derive(json_array_get(h, i), json_array_get(rows, i)) != 0) {
            json_decref(h);
            return NULL;
        }
    return h;
}

int gov_table_print(FILE *f, const json_t *rows, const struct out_col *cols, size_t ncols,
                    gov_derive_fn derive)
{
    int r = 0;
    json_t *h = rows_humanize(rows, derive);

    if (!h)
        return -ERR_NOMEM;
    r = out_table(f, cols, ncols, h);
    json_decref(h);
    return r;
}

int gov_section_print(FILE *f, const char *title, const json_t *rows, const struct out_col *cols,
                      size_t ncols, gov_derive_fn derive)
{
    int r = 0;
    bool objects = json_array_size(rows) > 0;
    struct buf b;

    buf_init(&b, 1u << 20);
    if (fprintf(f, "\n%s:\n", title) < 0) {
        r = -ERR_IO;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (!json_is_object(json_array_get(rows, i)))
            objects = false;
    if (objects && cols) {
        r = gov_table_print(f, rows, cols, ncols, derive);
        goto out;
    }
    if (!rows || json_is_null(rows) || (json_is_array(rows) && json_array_size(rows) == 0)) {
        if (fprintf(f, "(none)\n") < 0)
            r = -ERR_IO;
        goto out;
    }
    {
        /* Wrapped in an object so that a list of names is joined like a member's. */
        json_t *w = json_pack("{s:O}", "v", rows);
        json_t *h = w ? govcli_humanize(w) : NULL;

        r = h ? out_value_format("v", json_object_get(h, "v"), &b) : -ERR_NOMEM;
        json_decref(h);
        json_decref(w);
    }
    if (r == 0 && fprintf(f, "%s\n", b.data ? b.data : "") < 0)
        r = -ERR_IO;
out:
    buf_fini(&b);
    return r;
}

int gov_call_show(struct cli *cli, const char *op, json_t *args, const char *const *order)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    if (cli->json)
        r = out_json(res);
    else
        r = gov_object_print(stdout, res, order, NULL, NULL);
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    json_decref(res);
    return r;
}

int gov_call_list(struct cli *cli, const char *op, json_t *args, const char *member,
                  const struct out_col *cols, size_t ncols, gov_derive_fn derive)
{
    int r = 0;
    json_t *res = NULL;
    const json_t *rows;

    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    rows = json_object_get(res, member);
    if (cli->json) {
        r = out_json(res);
    } else if (!json_is_array(rows)) {
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer: no '%s' list", member);
        goto out;
    } else {
        r = gov_table_print(stdout, rows, cols, ncols, derive);
    }
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    json_decref(res);
    return r;
}

int gov_call_delete(struct cli *cli, const char *op, const char *key, const char *name,
                    const char *what)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;
    struct buf b;

    buf_init(&b, 4096);
    if ((r = gov_args_one(cli, key, name, &args)) != 0)
        goto out;
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    if (cli->json) {
        r = out_json(res);
    } else {
        json_t *n = json_string(name);

        r = n ? out_value_format(key, n, &b) : -ERR_NOMEM;
        json_decref(n);
        if (r == 0 && printf("%s %s deleted.\n", what, b.data) < 0)
            r = -ERR_IO;
    }
    if (r != 0)
        cli_fail(cli, r, "cannot print the result");
out:
    buf_fini(&b);
    json_decref(args);
    json_decref(res);
    return r;
}

int gov_file_read(struct cli *cli, const char *path, size_t max, struct buf *out)
{
    int r = 0;
    int fd = 0;
    char chunk[8192];
    struct stat st;

    if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return cli_fail(cli, -ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        r = cli_fail(cli, -ERR_IO, "cannot read %s: it is a directory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = cli_fail(cli, -ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max || buf_append(out, chunk, (size_t)n) != 0) {
            r = cli_fail(cli, -ERR_TOO_LONG, "%s is larger than %zu bytes", path, max);
            goto out;
        }
    }
out:
    if (fd > 0)
        close(fd);
    return r;
}

int gov_text(const json_t *o, const char *key, struct buf *dst)
{
    int r = 0;
    json_t *w = NULL, *h = NULL;

    buf_reset(dst);
    /* Through govcli_humanize, so that lists of names are joined and times are ISO 8601. */
    if (!(w = json_object()) ||
        (json_object_get(o, key) && json_object_set(w, key, json_object_get(o, key)) != 0) ||
        !(h = govcli_humanize(w)))
        r = -ERR_NOMEM;
    if (r == 0 &&
        (out_value_format(key, json_object_get(h, key), dst) != 0 || buf_append(dst, "", 1) != 0))
        r = -ERR_NOMEM;
    json_decref(w);
    json_decref(h);
    return r;
}

/* ---- shared columns ---------------------------------------------------- */

const struct out_col gov_request_cols[7] = {
    {"ID", "id"},           {"STATE", "state"}, {"REQUESTER", "requester"},
    {"ACCOUNT", "account"}, {"FOR", "_for"},    {"APPROVERS", "approvers"},
    {"AGE", "_age"},
};

const struct out_col gov_grant_cols[6] = {
    {"ID", "id"},     {"IDENTITY", "identity"},  {"ACCOUNT", "account"},
    {"KIND", "kind"}, {"EXPIRES", "expires_at"}, {"STATE", "state"},
};

const struct out_col gov_item_cols[6] = {
    {"ITEM", "id"}, {"IDENTITY", "identity"}, {"KIND", "kind"},
    {"REF", "ref"}, {"REVIEWER", "reviewer"}, {"DECISION", "decision"},
};

int gov_request_derive(json_t *human, const json_t *raw)
{
    const json_t *created = json_object_get(raw, "created_at");
    const char *cmd = json_string_value(json_object_get(raw, "command"));
    char age[GOV_DURATION_LEN], what[80];
    int r;

    /* FOR: how long access is asked for, or which command waits (kind "command"). */
    if (cmd)
        snprintf(what, sizeof(what), "run: %.60s%s", cmd, strlen(cmd) > 60 ? "..." : "");
    else
        gov_duration_format(json_integer_value(json_object_get(raw, "duration")), what,
                            sizeof(what));
    if ((r = cli_set(human, "_for", json_string(what))) != 0)
        return r;
    if (!json_is_integer(created))
        return 0;
    gov_duration_format((long long)time(NULL) - (long long)json_integer_value(created), age,
                        sizeof(age));
    return cli_set(human, "_age", json_string(age));
}

/* REF of a grant item: "g-7 (root@web01)". */
int gov_item_derive(json_t *human, const json_t *raw)
{
    const char *ref = json_string_value(json_object_get(raw, "ref"));
    const char *acc = json_string_value(json_object_get(raw, "account"));
    struct buf b;
    int r = 0;

    if (!ref || !acc)
        return 0;
    buf_init(&b, 1024);
    if ((r = buf_printf(&b, "%s (%s)", ref, acc)) == 0)
        r = cli_set(human, "ref", json_string(b.data));
    buf_fini(&b);
    return r;
}

/* ---- requests ---------------------------------------------------------- */

static const struct args_opt as_opts[] = {
    {"as", 0, true, OPT_AS},
    {NULL, 0, false, 0},
};

static const struct args_opt request_opts[] = {
    {"as", 0, true, OPT_AS},
    {"file-transfer", 0, false, OPT_FILE_TRANSFER},
    {NULL, 0, false, 0},
};

static const struct args_opt requests_opts[] = {
    {"as", 0, true, OPT_AS},
    {"mine", 0, false, OPT_MINE},
    {"to-approve", 0, false, OPT_TO_APPROVE},
    {"state", 0, true, OPT_STATE},
    {NULL, 0, false, 0},
};

static const char *const request_order[] = {"id",         "state",     "requester",  "account",
                                            "duration",   "reason",    "role",       "approval",
                                            "approvers",  "approvals", "denial",     "grant",
                                            "created_at", "decide_by", "decided_at", NULL};

static const char *const request_hide[] = {"approvals", NULL};

static const struct out_col approval_cols[] = {
    {"APPROVED BY", "by"},
    {"AT", "at"},
    {"COMMENT", "comment"},
};

/* approval as its spec ("manager", "group=dba*2"), denial as "bob at TIME: comment". */
static int request_obj_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const json_t *ap = json_object_get(raw, "approval");
    const json_t *den = json_object_get(raw, "denial");
    struct buf b, t;

    buf_init(&b, 65536);
    buf_init(&t, 65536);
    if (json_is_object(ap)) {
        if ((r = govcli_approval_format(ap, &b)) != 0 || (r = buf_append(&b, "", 1)) != 0 ||
            (r = cli_set(human, "approval", json_string(b.data))) != 0)
            goto out;
    }
    if (json_is_object(den)) {
        buf_reset(&b);
        if ((r = gov_text(den, "by", &t)) != 0 || (r = buf_printf(&b, "by %s", t.data)) != 0 ||
            (r = gov_text(den, "at", &t)) != 0 || (r = buf_printf(&b, " at %s", t.data)) != 0 ||
            (r = gov_text(den, "comment", &t)) != 0 || (r = buf_printf(&b, ": %s", t.data)) != 0 ||
            (r = cli_set(human, "denial", json_string(b.data))) != 0)
            goto out;
    }
out:
    buf_fini(&b);
    buf_fini(&t);
    return r;
}

static int request_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *approvals = json_object_get(res, "approvals");

    if ((r = gov_object_print(stdout, res, request_order, request_hide, request_obj_derive)) != 0)
        return r;
    if (json_array_size(approvals) > 0)
        r = gov_section_print(stdout, "Approvals", approvals, approval_cols,
                              sizeof(approval_cols) / sizeof(approval_cols[0]), NULL);
    return r;
}

/* One line on what happened to a request, then the request. */
static int request_outcome_human(struct cli *cli, const json_t *res)
{
    struct buf id, b;
    const char *state = json_string_value(json_object_get(res, "state"));
    const json_t *grant = json_object_get(res, "grant");
    int r = 0;

    buf_init(&id, 4096);
    buf_init(&b, 4096);
    if ((r = gov_text(res, "id", &id)) != 0)
        goto out;
    if (!state) {
        r = request_human(cli, res);
        goto out;
    }
    if (strcmp(state, "pending") == 0) {
        const json_t *ap = json_object_get(res, "approval");
        json_int_t need = json_integer_value(json_object_get(ap, "count"));
        size_t got = json_array_size(json_object_get(res, "approvals"));
        if ((r = gov_text(res, "approvers", &b)) == 0)
            printf("Request %s is pending: %zu of %" JSON_INTEGER_FORMAT
                   " approvals; approvers: %s.\n\n",
                   id.data, got, need, b.data);
    } else if (strcmp(state, "approved") == 0) {
        if (json_is_object(grant))
            r = gov_text(grant, "id", &b);
        else if (json_is_string(grant))
            r = gov_text(res, "grant", &b);
        if (r == 0)
            printf("Request %s approved%s%s.\n\n", id.data, b.len > 1 ? ": grant " : "",
                   b.len > 1 ? b.data : "");
    } else {
        printf("Request %s: %s.\n\n", id.data, state);
    }
    if (r == 0)
        r = request_human(cli, res);
out:
    buf_fini(&id);
    buf_fini(&b);
    return r;
}

/* ACCOUNT must look like NAME@TARGET (patterns are not requests). */
static int account_check(struct cli *cli, const char *acc)
{
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];

    if (args_split_account(acc, name, target) != 0 || strpbrk(acc, "*?"))
        return cli_usage(cli, "'%.100s' is not an account id NAME@TARGET", acc);
    return 0;
}

/* {account, duration, reason, as?} from ACCOUNT DURATION REASON... */
static int access_args(struct cli *cli, const struct args *a, json_t **args)
{
    int r = 0;

    if ((r = account_check(cli, a->pos[0])) != 0 || (r = gov_args_new(cli, args)) != 0)
        return r;
    if ((r = gov_set_str(cli, *args, "account", a->pos[0], "ACCOUNT")) != 0 ||
        (r = gov_set_duration(cli, *args, "duration", a->pos[1], "DURATION")) != 0 ||
        (r = gov_set_words(cli, *args, "reason", a, 2, true, "REASON")) != 0 ||
        (r = gov_set_str(cli, *args, "as", a->val[OPT_AS], "--as")) != 0) {
        json_decref(*args);
        *args = NULL;
    }
    return r;
}

static int request_create(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = access_args(cli, a, &args)) != 0 ||
        (r = gov_set_flag(args, "file_transfer", a->val[OPT_FILE_TRANSFER])) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.request.create", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, request_outcome_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

/* --state S of a list: one of `known` (NULL-terminated), else a usage error, as session list. */
static int state_check(struct cli *cli, const char *state, const char *const *known,
                       const char *says)
{
    if (!state)
        return 0;
    for (size_t i = 0; known[i]; i++)
        if (strcmp(state, known[i]) == 0)
            return 0;
    return cli_usage(cli, "--state is %s", says);
}

static const char *const request_states[] = {"pending", "approved",  "denied",
                                             "expired", "cancelled", NULL};
static const char *const grant_states[] = {"active", "expired", "revoked", NULL};

static int request_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = state_check(cli, a->val[OPT_STATE], request_states,
                         "pending, approved, denied, expired or cancelled")) != 0)
        return r;
    if ((r = gov_args_new(cli, &args)) != 0)
        goto out;
    if ((r = gov_set_flag(args, "mine", a->val[OPT_MINE])) != 0 ||
        (r = gov_set_flag(args, "to_approve", a->val[OPT_TO_APPROVE])) != 0 ||
        (r = gov_set_str(cli, args, "state", a->val[OPT_STATE], "--state")) != 0 ||
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) != 0)
        goto out;
    r = gov_call_list(cli, "gov.request.list", args, "requests", gov_request_cols, 7,
                      gov_request_derive);
out:
    json_decref(args);
    return r;
}

/* gov.request.{approve,deny,cancel,get} {id, comment?, as?}. */
static int request_act(struct cli *cli, const struct args *a, const char *op, bool comment,
                       bool comment_required, int (*human)(struct cli *, const json_t *))
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0)
        goto out;
    if ((comment &&
         (r = gov_set_words(cli, args, "comment", a, 1, comment_required, "COMMENT")) != 0) ||
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) != 0)
        goto out;
    if ((r = cli_call(cli, op, args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static int request_approve(struct cli *cli, const struct args *a)
{
    return request_act(cli, a, "gov.request.approve", true, false, request_outcome_human);
}

static int request_deny(struct cli *cli, const struct args *a)
{
    return request_act(cli, a, "gov.request.deny", true, true, request_outcome_human);
}

static int request_cancel(struct cli *cli, const struct args *a)
{
    return request_act(cli, a, "gov.request.cancel", false, false, request_outcome_human);
}

static int request_show(struct cli *cli, const struct args *a)
{
    return request_act(cli, a, "gov.request.get", false, false, request_human);
}

/* ---- grants and break-glass -------------------------------------------- */

static const char *const grant_order[] = {
    "id",         "identity", "account",  "kind",       "state",         "request", "start",
    "expires_at", "ended_at", "ended_by", "end_reason", "file_transfer", NULL};

static int grant_human(struct cli *cli, const json_t *res)
{
    return gov_object_print(stdout, res, grant_order, NULL, NULL);
}

static int breakglass(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;
    const json_t *exp;
    char until[OUT_TIME_LEN] = "?";
    struct buf id, acc;

    buf_init(&id, 4096);
    buf_init(&acc, 4096);
    if ((r = access_args(cli, a, &args)) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.breakglass", args, &res)) != 0)
        goto out;
    exp = json_object_get(res, "expires_at");
    if (json_is_integer(exp))
        out_time_format((long long)json_integer_value(exp), until, sizeof(until));
    if ((r = gov_text(res, "id", &id)) != 0 || (r = gov_text(res, "account", &acc)) != 0)
        goto out;
    /* On stderr, so that it is seen even when stdout goes to a script (--json). */
    fprintf(stderr,
            "\n"
            "************************************************************************\n"
            "*  BREAK-GLASS ACCESS GRANTED: %s until %s\n"
            "*  Grant %s. No approval was asked; this use has been ALERTED to\n"
            "*  security now and WILL BE REVIEWED after the fact by your manager.\n"
            "*  The account's credential is rotated when the grant ends.\n"
            "************************************************************************\n\n",
            acc.data, until, id.data);
    r = cli_print(cli, res, grant_human);
out:
    buf_fini(&id);
    buf_fini(&acc);
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct args_opt grants_opts[] = {
    {"as", 0, true, OPT_AS},
    {"identity", 0, true, OPT_IDENTITY},
    {"account", 0, true, OPT_ACCOUNT},
    {"state", 0, true, OPT_STATE},
    {NULL, 0, false, 0},
};

static int grant_list(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = state_check(cli, a->val[OPT_STATE], grant_states, "active, expired or revoked")) != 0)
        return r;
    if ((r = gov_args_new(cli, &args)) != 0)
        goto out;
    if ((r = gov_set_str(cli, args, "identity", a->val[OPT_IDENTITY], "--identity")) != 0 ||
        (r = gov_set_str(cli, args, "account", a->val[OPT_ACCOUNT], "--account")) != 0 ||
        (r = gov_set_str(cli, args, "state", a->val[OPT_STATE], "--state")) != 0 ||
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) != 0)
        goto out;
    r = gov_call_list(cli, "gov.grant.list", args, "grants", gov_grant_cols, 6, NULL);
out:
    json_decref(args);
    return r;
}

static int grant_show(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) == 0)
        r = gov_call_show(cli, "gov.grant.get", args, grant_order);
    json_decref(args);
    return r;
}

static const struct args_opt reason_opts[] = {
    {"reason", 0, true, OPT_REASON},
    {NULL, 0, false, 0},
};

static int grant_revoke(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if (!a->val[OPT_REASON] || !a->val[OPT_REASON][0])
        return cli_usage(cli, "--reason is required");
    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) == 0 &&
        (r = gov_set_str(cli, args, "reason", a->val[OPT_REASON], "--reason")) == 0)
        r = gov_call_show(cli, "gov.grant.revoke", args, grant_order);
    json_decref(args);
    return r;
}

static const struct cli_cmd grant_cmds[] = {
    {"show", "ID", "show one grant", NULL, NULL, 1, 1, grant_show},
    {"revoke", "ID --reason R", "end a live grant now (scope gov)",
     "The identity loses access at once; the reason is kept with the grant and audited.\n\n"
     "Example:\n"
     "  custos gov grant revoke g-7 --reason 'INC-1234 closed'\n",
     reason_opts, 1, 1, grant_revoke},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_grant_family = {
    "gov grant",
    "show or revoke one grant",
    grant_cmds,
};

/* ---- authorize --------------------------------------------------------- */

static const struct args_opt authorize_opts[] = {
    {"fp", 0, true, OPT_FP},
    {"identity", 0, true, OPT_IDENTITY},
    {NULL, 0, false, 0},
};

static int authorize_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    struct buf who, acc, via, grant, reason, msg;
    const json_t *exp = json_object_get(res, "expires_at");
    char until[OUT_TIME_LEN] = "-";

    buf_init(&who, 4096);
    buf_init(&acc, 4096);
    buf_init(&via, 4096);
    buf_init(&grant, 4096);
    buf_init(&reason, 4096);
    buf_init(&msg, 4096);
    if ((r = gov_text(res, "identity", &who)) != 0 || (r = gov_text(res, "account", &acc)) != 0 ||
        (r = gov_text(res, "via", &via)) != 0 || (r = gov_text(res, "grant", &grant)) != 0 ||
        (r = gov_text(res, "reason", &reason)) != 0 || (r = gov_text(res, "message", &msg)) != 0)
        goto out;
    if (json_is_integer(exp))
        out_time_format((long long)json_integer_value(exp), until, sizeof(until));
    if (json_is_true(json_object_get(res, "allow"))) {
        printf("allow: %s may use %s via %s", who.data, acc.data, via.data);
        if (json_object_get(res, "grant") && !json_is_null(json_object_get(res, "grant")))
            printf(" %s", grant.data);
        if (json_is_integer(exp))
            printf(" until %s", until);
        printf("; file transfer %s\n",
               json_is_true(json_object_get(res, "file_transfer")) ? "allowed" : "not allowed");
    } else {
        printf("deny: %s", reason.data);
        if (json_is_string(json_object_get(res, "identity")))
            printf(" (%s)", who.data);
        if (json_is_string(json_object_get(res, "message")))
            printf(": %s", msg.data);
        printf("\n");
    }
out:
    buf_fini(&who);
    buf_fini(&acc);
    buf_fini(&via);
    buf_fini(&grant);
    buf_fini(&reason);
    buf_fini(&msg);
    return r;
}

static int authorize(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if (!!a->val[OPT_FP] + !!a->val[OPT_IDENTITY] != 1)
        return cli_usage(cli, "give one of --fp FP or --identity ID");
    if ((r = account_check(cli, a->pos[0])) != 0 || (r = gov_args_new(cli, &args)) != 0)
        goto out;
    if ((r = gov_set_str(cli, args, "fp", a->val[OPT_FP], "--fp")) != 0 ||
        (r = gov_set_str(cli, args, "identity", a->val[OPT_IDENTITY], "--identity")) != 0 ||
        (r = gov_set_str(cli, args, "account", a->pos[0], "ACCOUNT")) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.authorize", args, &res)) != 0)
        goto out;
    if (!json_is_boolean(json_object_get(res, "allow"))) {
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer to gov.authorize: no 'allow'");
        goto out;
    }
    if ((r = cli_print(cli, res, authorize_human)) != 0)
        goto out;
    if (!json_is_true(json_object_get(res, "allow"))) {
        /* Denied is an answer, not an error of the tool: status 1, nothing more printed. */
        cli->reported = true;
        r = -ERR_INVAL;
    }
out:
    json_decref(args);
    json_decref(res);
    return r;
}

/* ---- me ---------------------------------------------------------------- */

static const struct out_col me_role_cols[] = {
    {"ROLE", "role"},
    {"SOURCE", "source"},
    {"SINCE", "since"},
};

static int me_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *id = json_object_get(res, "identity");
    const json_t *roles = json_object_get(res, "roles");
    struct buf b, name, state;

    buf_init(&b, 4096);
    buf_init(&name, 4096);
    buf_init(&state, 4096);
    if (json_is_object(id)) {
        if ((r = gov_text(id, "id", &b)) != 0 || (r = gov_text(id, "name", &name)) != 0 ||
            (r = gov_text(id, "state", &state)) != 0)
            goto out;
        printf("Identity: %s (%s), %s\n", b.data, name.data, state.data);
        if (!roles)
            roles = json_object_get(id, "roles");
    } else {
        if ((r = gov_text(res, "identity", &b)) != 0)
            goto out;
        printf("Identity: %s\n", b.data);
    }
    if ((r = gov_section_print(stdout, "Roles", roles, me_role_cols, 3, NULL)) != 0 ||
        (r = gov_section_print(stdout, "Grants", json_object_get(res, "grants"), gov_grant_cols, 6,
                               NULL)) != 0 ||
        (r = gov_section_print(stdout, "Requests to approve",
                               json_object_get(res, "requests_to_approve"), gov_request_cols, 7,
                               gov_request_derive)) != 0 ||
        (r = gov_section_print(stdout, "Reviews", json_object_get(res, "reviews"), gov_item_cols, 6,
                               gov_item_derive)) != 0)
        goto out;
out:
    buf_fini(&b);
    buf_fini(&name);
    buf_fini(&state);
    return r;
}

static int me(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;

    if ((r = gov_args_new(cli, &args)) != 0 ||
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.me", args, &res)) != 0)
        goto out;
    r = cli_print(cli, res, me_human);
out:
    json_decref(args);
    json_decref(res);
    return r;
}

/* ---- the family -------------------------------------------------------- */

#define AS_HELP "  --as ID      act as identity ID (callers with the act_as scope)\n"

static const struct cli_cmd cmds[] = {
    {"identity", "SUBCOMMAND ...", "people: create, update, list, lifecycle, keys, TOTP, roles",
     NULL, NULL, 0, 0, NULL},
    {"role", "SUBCOMMAND ...", "roles and their entitlements", NULL, NULL, 0, 0, NULL},
    {"rule", "SUBCOMMAND ...", "birthright rules: roles given by attributes", NULL, NULL, 0, 0,
     NULL},
    {"sod", "SUBCOMMAND ...", "segregation-of-duties rules, report and exceptions", NULL, NULL, 0,
     0, NULL},
    {"auto", "SUBCOMMAND ...", "auto-approval rules", NULL, NULL, 0, 0, NULL},
    {"request", "ACCOUNT DURATION REASON... [--file-transfer] [--as ID]",
     "request just-in-time access to an account",
     "DURATION is like 30m, 4h, 1h30m or 1d. REASON is the rest of the words. The request is\n"
     "approved at once when an auto-approval rule or an entitlement with approval 'none'\n"
     "covers it; otherwise it waits for its approvers (shown).\n"
     "  --file-transfer  only entitlements that allow sftp/scp through the broker\n\n" AS_HELP "\n"
     "Example:\n"
     "  custos gov request root@web01 1h INC-1234 disk full on /var\n",
     request_opts, 3, ARGS_MAX_POS, request_create},
    {"requests", "[--mine] [--to-approve] [--state S] [--as ID]", "list access requests",
     "  --mine        only my requests\n"
     "  --to-approve  only requests I may approve now\n"
     "  --state S     pending, approved, denied, expired or cancelled\n" AS_HELP,
     requests_opts, 0, 0, request_list},
    {"request-show", "ID [--as ID]", "show one request with its approvals", NULL, as_opts, 1, 1,
     request_show},
    {"approve", "ID [COMMENT...] [--as ID]", "approve a request (as one of its approvers)",
     "A two-person request needs two different approvers. Nobody approves their own\n"
     "request.\n\n" AS_HELP "\n"
     "Example:\n"
     "  custos gov approve r-42 ok, on call\n",
     as_opts, 1, ARGS_MAX_POS, request_approve},
    {"deny", "ID COMMENT... [--as ID]", "deny a request, saying why", NULL, as_opts, 2,
     ARGS_MAX_POS, request_deny},
    {"cancel", "ID [--as ID]", "cancel my own pending request", NULL, as_opts, 1, 1,
     request_cancel},
    {"breakglass", "ACCOUNT DURATION REASON... [--as ID]",
     "take emergency access at once, without approval",
     "Only for holders of an entitlement marked break-glass. The grant is immediate; an\n"
     "alert goes to security at once, a review item is created for your manager, and the\n"
     "account's credential is rotated when the grant ends. A notice is printed on "
     "stderr.\n\n" AS_HELP "\n"
     "Example:\n"
     "  custos gov breakglass root@db01 30m SEV1 primary down, DBA unreachable\n",
     as_opts, 3, ARGS_MAX_POS, breakglass},
    {"grants", "[--identity I] [--account A] [--state S] [--as ID]", "list grants",
     "Without the gov scope only your own grants are listed.\n\n"
     "  --state S  active, expired or revoked\n" AS_HELP,
     grants_opts, 0, 0, grant_list},
    {"grant", "SUBCOMMAND ...", "show or revoke one grant", NULL, NULL, 0, 0, NULL},
    {"authorize", "(--fp FP | --identity ID) ACCOUNT", "ask whether someone may use an account now",
     "What the broker asks before opening a session: prints 'allow: ...' with how (grant\n"
     "or standing role) and until when, or 'deny: REASON ...'. Exit status 0 when allowed,\n"
     "1 when denied. Needs the authorize scope.\n\n"
     "  --fp FP        an SSH key fingerprint (SHA256:...)\n"
     "  --identity ID  an identity id\n\n"
     "Example:\n"
     "  custos gov authorize --identity alice root@web01 && echo ok\n",
     authorize_opts, 1, 1, authorize},
    {"campaign", "SUBCOMMAND ...", "access review campaigns", NULL, NULL, 0, 0, NULL},
    {"reviews", "[--campaign ID] [--as ID]", "list review items (mine, or all with scope gov)",
     "  --campaign ID  only the items of one campaign\n" AS_HELP, gov_reviews_opts, 0, 0,
     gov_reviews_run},
    {"certify", "ITEM [COMMENT...] [--as ID]", "keep the access of a review item", NULL,
     gov_decide_opts, 1, ARGS_MAX_POS, gov_certify_run},
    {"revoke", "ITEM COMMENT... [--as ID]", "remove the access of a review item, saying why",
     "Applied at once: the role is unassigned or the grant revoked.\n\n" AS_HELP, gov_decide_opts,
     2, ARGS_MAX_POS, gov_revoke_run},
    {"sync", "FILE [--format csv|json] [--dry-run]", "apply an HR file: joiners, movers, leavers",
     "FILE is CSV (with a header row) or a JSON array (docs/governance.md); '-' reads\n"
     "stdin. The format comes from the extension (.csv, .json) unless --format is given.\n"
     "Prints the plan: joiners, movers with the fields that change, leavers. A malformed\n"
     "file is refused whole: nothing is applied and every error is printed with its line.\n\n"
     "  --format F  csv or json\n"
     "  --dry-run   print the plan, apply nothing\n\n"
     "Example:\n"
     "  custos gov sync hr-export.csv --dry-run && custos gov sync hr-export.csv\n",
     gov_sync_opts, 1, 1, gov_sync_run},
    {"history", "ID", "lifecycle, roles held, requests, grants and usage of an identity", NULL,
     NULL, 1, 1, gov_history_run},
    {"who-could", "ACCOUNT --at TIME", "who could reach an account at a given time",
     "  --at TIME  ISO 8601 (2024-05-01T12:00:00Z; no offset means UTC) or Unix seconds\n\n"
     "Example:\n"
     "  custos gov who-could root@web01 --at 2024-05-01T03:00:00Z\n",
     gov_who_could_opts, 1, 1, gov_who_could_run},
    {"me", "[--as ID]", "my roles, grants, requests to approve and reviews", AS_HELP, as_opts, 0, 0,
     me},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_gov_family = {
    "gov",
    "identity governance: identities, roles, requests, grants, reviews, HR sync",
    cmds,
};

const struct cli_family *const cmd_gov_nested[] = {
    &gov_identity_family,      &gov_identity_key_family,  &gov_identity_totp_family,
    &gov_identity_role_family, &gov_role_family,          &gov_rule_family,
    &gov_sod_family,           &gov_sod_exception_family, &gov_auto_family,
    &gov_campaign_family,      &gov_grant_family,         NULL,
};
