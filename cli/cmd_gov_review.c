/* SPDX-License-Identifier: Apache-2.0 */
/* custos gov campaign, reviews, certify, revoke, sync, history, who-could; custos rotate. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "custos/ndjson.h"

#include "cmd_gov.h"

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

enum {
    OPT_AS = ARGS_ID_LOCAL,
    OPT_SCOPE,
    OPT_DEADLINE,
    OPT_DURATION,
    OPT_ON_DEADLINE,
    OPT_CSV,
    OPT_CAMPAIGN,
    OPT_FORMAT,
    OPT_DRY_RUN,
    OPT_AT,
    OPT_STATE,
    OPT_RESULT,
};

/* ---- campaign ------------------------------------------------------------ */

static const struct args_opt campaign_create_opts[] = {
    {"scope", 0, true, OPT_SCOPE},
    {"deadline", 0, true, OPT_DEADLINE},
    {"duration", 0, true, OPT_DURATION},
    {"on-deadline", 0, true, OPT_ON_DEADLINE},
    {"as", 0, true, OPT_AS},
    {NULL, 0, false, 0},
};

static const struct args_opt report_opts[] = {
    {"csv", 0, false, OPT_CSV},
    {NULL, 0, false, 0},
};

static const char *const campaign_order[] = {"id",         "name",        "scope",     "state",
                                             "deadline",   "on_deadline", "items",     "totals",
                                             "created_by", "created_at",  "closed_at", NULL};

/* scope {"kind","value"} -> "department=ops"; totals {"certified": 3, ...} -> "certified 3, ...".
 */
static int campaign_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const json_t *scope = json_object_get(raw, "scope");
    const json_t *totals = json_object_get(raw, "totals");
    const char *key;
    json_t *v;
    struct buf b;

    buf_init(&b, 65536);
    if (json_is_object(scope)) {
        if ((r = out_value_format("kind", json_object_get(scope, "kind"), &b)) != 0)
            goto out;
        if (json_is_string(json_object_get(scope, "value")) &&
            ((r = buf_append(&b, "=", 1)) != 0 ||
             (r = out_value_format("value", json_object_get(scope, "value"), &b)) != 0))
            goto out;
        if ((r = buf_append(&b, "", 1)) != 0 || (r = cli_set(human, "scope", json_string(b.data))))
            goto out;
    }
    if (json_is_object(totals)) {
        buf_reset(&b);
        json_object_foreach((json_t *)totals, key, v)
        {
            if ((r = buf_printf(&b, "%s%s ", b.len ? ", " : "", key)) != 0 ||
                (r = out_value_format(key, v, &b)) != 0)
                goto out;
        }
        if ((r = buf_append(&b, "", 1)) != 0 || (r = cli_set(human, "totals", json_string(b.data))))
            goto out;
    }
out:
    buf_fini(&b);
    return r;
}

static int campaign_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    json_t *h = govcli_humanize(res);

    if (!h)
        return -ERR_NOMEM;
    if ((r = campaign_derive(h, res)) == 0)
        r = out_object(stdout, h, campaign_order);
    json_decref(h);
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

static int campaign_create(struct cli *cli, const struct args *a)
{
    int r = 0;
    long long deadline = 0;
    const char *on = a->val[OPT_ON_DEADLINE] ? a->val[OPT_ON_DEADLINE] : "revoke";
    json_t *args = NULL, *scope = NULL;

    if (!a->val[OPT_SCOPE])
        return cli_usage(cli, "--scope all|department=D|target=T|privileged is required");
    if (!!a->val[OPT_DEADLINE] + !!a->val[OPT_DURATION] != 1)
        return cli_usage(cli, "give one of --deadline TIME or --duration D");
    if (strcmp(on, "revoke") != 0 && strcmp(on, "escalate") != 0)
        return cli_usage(cli, "--on-deadline is revoke or escalate");
    if (govcli_scope_parse(a->val[OPT_SCOPE], &scope) != 0)
        return cli_usage(cli, "--scope is all, privileged, department=D or target=T");
    if (a->val[OPT_DEADLINE] && govcli_time_parse(a->val[OPT_DEADLINE], true, &deadline) != 0) {
        r = cli_usage(cli, "--deadline wants an ISO 8601 time (2024-06-30T17:00:00Z) or Unix "
                           "seconds");
        goto out;
    }
    if ((r = gov_args_one(cli, "name", a->pos[0], &args)) != 0)
        goto out;
    r = cli_set(args, "scope", scope);
    scope = NULL;
    if (r != 0 ||
        (a->val[OPT_DEADLINE] &&
         (r = cli_set(args, "deadline", json_integer((json_int_t)deadline))) != 0) ||
        (r = gov_set_duration(cli, args, "duration", a->val[OPT_DURATION], "--duration")) != 0 ||
        (r = gov_set_str(cli, args, "on_deadline", on, "--on-deadline")) != 0 ||
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) != 0)
        goto out;
    r = call_print(cli, "gov.campaign.create", args, campaign_human);
out:
    json_decref(scope);
    json_decref(args);
    return r;
}

static const struct out_col campaign_cols[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"SCOPE", "scope"},
    {"DEADLINE", "deadline"},
    {"ON-DEADLINE", "on_deadline"},
    {"STATE", "state"},
};

static int campaign_list(struct cli *cli, const struct args *a)
{
    return gov_call_list(cli, "gov.campaign.list", NULL, "campaigns", campaign_cols,
                         NCOLS(campaign_cols), campaign_derive);
}

static int campaign_id_op(struct cli *cli, const struct args *a, const char *op)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) == 0)
        r = call_print(cli, op, args, campaign_human);
    json_decref(args);
    return r;
}

static int campaign_show(struct cli *cli, const struct args *a)
{
    return campaign_id_op(cli, a, "gov.campaign.get");
}

static int campaign_close(struct cli *cli, const struct args *a)
{
    return campaign_id_op(cli, a, "gov.campaign.close");
}

static const struct out_col report_cols[] = {
    {"ITEM", "id"},       {"IDENTITY", "identity"}, {"KIND", "kind"},
    {"REF", "ref"},       {"REVIEWER", "reviewer"}, {"DECISION", "decision"},
    {"BY", "decided_by"}, {"COMMENT", "comment"},
};

static int report_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *c = json_object_get(res, "campaign");
    json_t *tot = NULL, *h = NULL;

    if (json_is_object(c) && (r = campaign_human(cli, c)) != 0)
        return r;
    if ((r = gov_section_print(stdout, "Items", json_object_get(res, "items"), report_cols,
                               NCOLS(report_cols), gov_item_derive)) != 0)
        return r;
    if (json_is_object(json_object_get(res, "totals")) && !json_object_get(c, "totals")) {
        if (!(tot = json_pack("{s:O}", "totals", json_object_get(res, "totals"))) ||
            !(h = json_object())) {
            r = -ERR_NOMEM;
        } else if ((r = campaign_derive(h, tot)) == 0) {
            struct buf b;

            buf_init(&b, 65536);
            if ((r = out_value_format("totals", json_object_get(h, "totals"), &b)) == 0)
                printf("\nTotals: %s\n", b.data ? b.data : "-");
            buf_fini(&b);
        }
    }
    json_decref(tot);
    json_decref(h);
    return r;
}

static int campaign_report(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL, *res = NULL;
    const json_t *csv;

    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) != 0 ||
        (r = gov_set_str(cli, args, "format", a->val[OPT_CSV] ? "csv" : "json", "")) != 0)
        goto out;
    if ((r = cli_call(cli, "gov.campaign.report", args, &res)) != 0)
        goto out;
    if (cli->json || !a->val[OPT_CSV]) {
        r = cli_print(cli, res, report_human);
        goto out;
    }
    csv = json_object_get(res, "csv");
    if (!json_is_string(csv)) {
        r = cli_fail(cli, -ERR_PARSE, "unexpected answer: no 'csv' text");
        goto out;
    }
    /* As is: the text is for spreadsheets and scripts, byte for byte. */
    if ((r = out_write_all(1, json_string_value(csv), json_string_length(csv))) != 0)
        cli_fail(cli, r, "cannot write to stdout");
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd campaign_cmds[] = {
    {"create",
     "NAME --scope all|department=D|target=T|privileged (--deadline TIME | --duration D) "
     "[--on-deadline revoke|escalate] [--as ID]",
     "open an access review: snapshot what is held, assign reviewers",
     "  --scope S        all; department=D (identities of D); target=T (access to accounts\n"
     "                   on T); privileged (root, admin*, postgres, privileged targets)\n"
     "  --deadline TIME  ISO 8601 (2024-06-30T17:00:00Z; no offset means UTC) or Unix seconds\n"
     "  --duration D     or a deadline this far from now: 14d, 72h\n"
     "  --on-deadline A  what happens to items still pending at the deadline: revoke\n"
     "                   (default: the access is removed) or escalate (to the reviewer's\n"
     "                   manager)\n"
     "  --as ID          act as identity ID, recorded as the creator (act_as scope)\n\n"
     "Example:\n"
     "  custos gov campaign create 'Q3 privileged' --scope privileged --duration 14d\n",
     campaign_create_opts, 1, 1, campaign_create},
    {"list", "", "list campaigns", NULL, NULL, 0, 0, campaign_list},
    {"show", "ID", "show a campaign with its totals", NULL, NULL, 1, 1, campaign_show},
    {"close", "ID", "close a campaign now (pending items follow its on-deadline action)", NULL,
     NULL, 1, 1, campaign_close},
    {"report", "ID [--csv]", "every item with its decision, reviewer, comment and evidence",
     "  --csv  print the report as CSV text, as the vault wrote it\n\n"
     "Example:\n"
     "  custos gov campaign report c-3 --csv > q3-review.csv\n",
     report_opts, 1, 1, campaign_report},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family gov_campaign_family = {
    "gov campaign",
    "manage access review campaigns",
    campaign_cmds,
};

/* ---- review items -------------------------------------------------------- */

const struct args_opt gov_reviews_opts[] = {
    {"campaign", 0, true, OPT_CAMPAIGN},
    {"as", 0, true, OPT_AS},
    {NULL, 0, false, 0},
};

const struct args_opt gov_decide_opts[] = {
    {"as", 0, true, OPT_AS},
    {NULL, 0, false, 0},
};

int gov_reviews_run(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_new(cli, &args)) == 0 &&
        (r = gov_set_str(cli, args, "campaign", a->val[OPT_CAMPAIGN], "--campaign")) == 0 &&
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) == 0)
        r = gov_call_list(cli, "gov.review.list", args, "items", gov_item_cols, 6, gov_item_derive);
    json_decref(args);
    return r;
}

static const char *const item_order[] = {
    "id",       "campaign", "identity",   "kind",       "ref",      "account", "reviewer",
    "decision", "comment",  "decided_by", "decided_at", "evidence", NULL};

/* evidence {"last_session": t, "last_use": t} -> "last session TIME, last use -". */
static int item_obj_derive(json_t *human, const json_t *raw)
{
    int r = 0;
    const json_t *ev = json_object_get(raw, "evidence");
    struct buf b, t;

    if (!json_is_object(ev))
        return 0;
    buf_init(&b, 4096);
    buf_init(&t, 4096);
    if ((r = gov_text(ev, "last_session", &t)) == 0 &&
        (r = buf_printf(&b, "last session %s", t.data)) == 0 &&
        (r = gov_text(ev, "last_use", &t)) == 0 &&
        (r = buf_printf(&b, ", last use %s", t.data)) == 0)
        r = cli_set(human, "evidence", json_string(b.data));
    buf_fini(&b);
    buf_fini(&t);
    return r;
}

static int item_human(struct cli *cli, const json_t *res)
{
    return gov_object_print(stdout, res, item_order, NULL, item_obj_derive);
}

static int decide(struct cli *cli, const struct args *a, const char *decision, bool need_comment)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "item", a->pos[0], &args)) == 0 &&
        (r = gov_set_str(cli, args, "decision", decision, "")) == 0 &&
        (r = gov_set_words(cli, args, "comment", a, 1, need_comment, "COMMENT")) == 0 &&
        (r = gov_set_str(cli, args, "as", a->val[OPT_AS], "--as")) == 0)
        r = call_print(cli, "gov.review.decide", args, item_human);
    json_decref(args);
    return r;
}

int gov_certify_run(struct cli *cli, const struct args *a)
{
    return decide(cli, a, "certify", false);
}

int gov_revoke_run(struct cli *cli, const struct args *a)
{
    return decide(cli, a, "revoke", true);
}

/* ---- HR sync -------------------------------------------------------------- */

const struct args_opt gov_sync_opts[] = {
    {"format", 0, true, OPT_FORMAT},
    {"dry-run", 0, false, OPT_DRY_RUN},
    {NULL, 0, false, 0},
};

/* "csv" or "json" from the file name's extension, or NULL. */
static const char *format_of(const char *path)
{
    const char *dot = strrchr(path, '.');

    if (!dot || strchr(dot, '/'))
        return NULL;
    if (strcasecmp(dot, ".csv") == 0)
        return "csv";
    if (strcasecmp(dot, ".json") == 0)
        return "json";
    return NULL;
}

static int plan_row(json_t *rows, const char *change, const json_t *id, const char *details)
{
    json_t *row = json_pack("{s:s, s:O, s:s?}", "change", change, "id", id ? id : json_null(),
                            "details", details);

    if (!row)
        return -ERR_NOMEM;
    return json_array_append_new(rows, row) == 0 ? 0 : -ERR_NOMEM;
}

/* A changed field's value for people: lists of names joined, "-" when absent. */
static int change_value(const char *key, const json_t *v, struct buf *b)
{
    int r = 0;
    json_t *w = json_object();
    struct buf t;

    buf_init(&t, 65536);
    if (!w || json_object_set(w, key, (json_t *)v) != 0) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = gov_text(w, key, &t)) == 0)
        r = buf_append(b, t.data, strlen(t.data));
out:
    buf_fini(&t);
    json_decref(w);
    return r;
}

/* "field: old -> new; ..." of a mover. */
static int mover_details(const json_t *changes, struct buf *b)
{
    int r = 0;
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)changes, key, v)
    {
        if ((r = buf_printf(b, "%s%s: ", b->len ? "; " : "", key)) != 0)
            break;
        if (json_is_array(v) && json_array_size(v) == 2) {
            if ((r = change_value(key, json_array_get(v, 0), b)) != 0 ||
                (r = buf_append(b, " -> ", 4)) != 0 ||
                (r = change_value(key, json_array_get(v, 1), b)) != 0)
                break;
        } else if ((r = change_value(key, v, b)) != 0) {
            break;
        }
    }
    if (r == 0)
        r = buf_append(b, "", 1);
    return r;
}

static const struct out_col plan_cols[] = {
    {"CHANGE", "change"},
    {"ID", "id"},
    {"DETAILS", "details"},
};

static int plan_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *plan = json_object_get(res, "plan");
    const json_t *joiners = json_object_get(plan, "joiners");
    const json_t *movers = json_object_get(plan, "movers");
    const json_t *leavers = json_object_get(plan, "leavers");
    const json_t *unchanged = json_object_get(plan, "unchanged");
    size_t nj = json_array_size(joiners), nm = json_array_size(movers),
           nl = json_array_size(leavers);
    json_int_t nu = json_is_integer(unchanged) ? json_integer_value(unchanged)
                                               : (json_int_t)json_array_size(unchanged);
    json_t *rows = json_array();
    struct buf b;

    buf_init(&b, 1u << 20);
    if (!rows) {
        r = -ERR_NOMEM;
        goto out;
    }
    printf("%s\n", json_is_true(json_object_get(res, "applied")) ? "Applied."
                                                                 : "Dry run: nothing applied.");
    printf("%zu joiner%s, %zu mover%s, %zu leaver%s, %" JSON_INTEGER_FORMAT " unchanged.\n", nj,
           nj == 1 ? "" : "s", nm, nm == 1 ? "" : "s", nl, nl == 1 ? "" : "s", nu);
    for (size_t i = 0; i < nj && r == 0; i++) {
        const json_t *j = json_array_get(joiners, i);

        buf_reset(&b);
        if ((r = out_value_format("name", json_object_get(j, "name"), &b)) != 0 ||
            (r = buf_append(&b, " <", 2)) != 0 ||
            (r = out_value_format("email", json_object_get(j, "email"), &b)) != 0 ||
            (r = buf_append(&b, ">", 1)) != 0)
            goto out;
        if (json_is_string(json_object_get(j, "department")) &&
            ((r = buf_append(&b, ", ", 2)) != 0 ||
             (r = out_value_format("department", json_object_get(j, "department"), &b)) != 0))
            goto out;
        if ((r = buf_append(&b, "", 1)) != 0)
            goto out;
        r = plan_row(rows, "joiner", json_object_get(j, "id"), b.data);
    }
    for (size_t i = 0; i < nm && r == 0; i++) {
        const json_t *m = json_array_get(movers, i);

        buf_reset(&b);
        if ((r = mover_details(json_object_get(m, "changes"), &b)) != 0)
            goto out;
        r = plan_row(rows, "mover", json_object_get(m, "id"), b.data);
    }
    for (size_t i = 0; i < nl && r == 0; i++) {
        const json_t *l = json_array_get(leavers, i);

        r = plan_row(rows, "leaver", json_is_object(l) ? json_object_get(l, "id") : l, NULL);
    }
    if (r == 0 && json_array_size(rows) > 0) {
        printf("\n");
        r = out_table(stdout, plan_cols, NCOLS(plan_cols), rows);
    }
out:
    json_decref(rows);
    buf_fini(&b);
    return r;
}

int gov_sync_run(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *file = a->pos[0];
    const char *format = a->val[OPT_FORMAT];
    char *msg = NULL;
    json_t *args = NULL, *res = NULL, *data = NULL, *error = NULL;
    struct buf text;

    buf_init(&text, NDJSON_LINE_HARD_MAX);
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return cli_usage(cli, "--format is csv or json");
    if (!format && !(format = format_of(file)))
        return cli_usage(cli,
                         "cannot tell the format of '%.100s' by its extension: give "
                         "--format csv|json",
                         file);
    if ((r = gov_file_read(cli, file, NDJSON_LINE_HARD_MAX / 2, &text)) != 0)
        goto out;
    if (!(data = json_stringn(text.data ? text.data : "", text.len))) {
        r = cli_fail(cli, -ERR_INVAL, "%s is not valid UTF-8 text", file);
        goto out;
    }
    if ((r = gov_args_new(cli, &args)) != 0 ||
        (r = gov_set_str(cli, args, "format", format, "--format")) != 0)
        goto out;
    r = cli_set(args, "data", data);
    data = NULL;
    if (r != 0 || (r = gov_set_flag(args, "dry_run", a->val[OPT_DRY_RUN])) != 0)
        goto out;
    r = cli_call_error(cli, "gov.sync", args, &res, &error);
    msg = error && json_is_string(json_object_get(error, "message"))
              ? strdup(json_string_value(json_object_get(error, "message")))
              : NULL;
    if (r == -ERR_INVAL && json_is_array(json_object_get(error, "errors"))) {
        /* One line per refused row: FILE:LINE: message, then the summary. */
        struct buf lines;
        buf_init(&lines, 1u << 20);
        if (govcli_sync_errors_format(file, json_object_get(error, "errors"), &lines) == 0 &&
            lines.len)
            fputs(lines.data, stderr);
        buf_fini(&lines);
        r = cli_fail(cli, r, "%s: %s", file, msg && msg[0] ? msg : "the file was refused");
        goto out;
    }
    if (r != 0) {
        if (msg && msg[0])
            cli_fail(cli, r, "%s", msg);
        else
            cli_fail(cli, r, "gov.sync: %s", err_str(r));
        goto out;
    }
    r = cli_print(cli, res, plan_human);
out:
    free(msg);
    json_decref(error);
    buf_fini(&text);
    json_decref(data);
    json_decref(args);
    json_decref(res);
    return r;
}

/* ---- history, who-could ---------------------------------------------------- */

static const struct out_col lifecycle_cols[] = {
    {"STATE", "state"},
    {"AT", "at"},
};
static const struct out_col assignment_cols[] = {
    {"ROLE", "role"},
    {"SOURCE", "source"},
    {"FROM", "from"},
    {"UNTIL", "until"},
};
static const struct out_col hist_request_cols[] = {
    {"ID", "id"},
    {"STATE", "state"},
    {"ACCOUNT", "account"},
    {"DURATION", "duration"},
    {"CREATED", "created_at"},
    {"REASON", "reason"},
};
static const struct out_col usage_cols[] = {
    {"KIND", "kind"},
    {"ACCOUNT", "account"},
    {"AT", "at"},
};

static int history_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *id = json_object_get(res, "identity");
    struct buf b;

    buf_init(&b, 4096);
    if ((r = gov_text(json_is_object(id) ? id : res, json_is_object(id) ? "id" : "identity", &b)) !=
        0)
        goto out;
    printf("Identity: %s", b.data);
    if (json_is_string(json_object_get(res, "state"))) {
        if ((r = gov_text(res, "state", &b)) != 0)
            goto out;
        printf(" (%s)", b.data);
    }
    printf("\n");
    if ((r = gov_section_print(stdout, "Lifecycle", json_object_get(res, "lifecycle"),
                               lifecycle_cols, NCOLS(lifecycle_cols), NULL)) != 0 ||
        (r = gov_section_print(stdout, "Roles held", json_object_get(res, "assignments"),
                               assignment_cols, NCOLS(assignment_cols), NULL)) != 0 ||
        (r = gov_section_print(stdout, "Requests", json_object_get(res, "requests"),
                               hist_request_cols, NCOLS(hist_request_cols), NULL)) != 0 ||
        (r = gov_section_print(stdout, "Grants", json_object_get(res, "grants"), gov_grant_cols, 6,
                               NULL)) != 0 ||
        (r = gov_section_print(stdout, "Usage", json_object_get(res, "usage"), usage_cols,
                               NCOLS(usage_cols), NULL)) != 0)
        goto out;
out:
    buf_fini(&b);
    return r;
}

int gov_history_run(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *args = NULL;

    if ((r = gov_args_one(cli, "identity", a->pos[0], &args)) == 0)
        r = call_print(cli, "gov.history", args, history_human);
    json_decref(args);
    return r;
}

const struct args_opt gov_who_could_opts[] = {
    {"at", 0, true, OPT_AT},
    {NULL, 0, false, 0},
};

static const struct out_col who_cols[] = {
    {"IDENTITY", "identity"},
    {"VIA", "via"},
    {"GRANT", "grant"},
    {"ROLE", "role"},
};

static int who_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *ids = json_object_get(res, "identities");
    const json_t *at = json_object_get(res, "at");
    char when[OUT_TIME_LEN] = "?";
    struct buf acc;

    buf_init(&acc, 4096);
    if (!json_is_array(ids)) {
        r = -ERR_PARSE;
        goto out;
    }
    if ((r = gov_text(res, "account", &acc)) != 0)
        goto out;
    if (json_is_integer(at))
        out_time_format((long long)json_integer_value(at), when, sizeof(when));
    if (json_array_size(ids) == 0) {
        printf("Nobody could reach %s at %s.\n", acc.data, when);
        goto out;
    }
    printf("Could reach %s at %s:\n\n", acc.data, when);
    r = gov_table_print(stdout, ids, who_cols, NCOLS(who_cols), NULL);
out:
    buf_fini(&acc);
    return r;
}

int gov_who_could_run(struct cli *cli, const struct args *a)
{
    int r = 0;
    long long at = 0;
    char name[ARGS_NAME_MAX + 1], target[ARGS_NAME_MAX + 1];
    json_t *args = NULL;

    if (args_split_account(a->pos[0], name, target) != 0)
        return cli_usage(cli, "'%.100s' is not an account id NAME@TARGET", a->pos[0]);
    if (!a->val[OPT_AT])
        return cli_usage(cli, "--at TIME is required (ISO 8601 or Unix seconds)");
    if (govcli_time_parse(a->val[OPT_AT], true, &at) != 0)
        return cli_usage(cli, "--at wants an ISO 8601 time (2024-05-01T12:00:00Z) or Unix "
                              "seconds");
    if ((r = gov_args_one(cli, "account", a->pos[0], &args)) == 0 &&
        (r = cli_set(args, "at", json_integer((json_int_t)at))) == 0)
        r = call_print(cli, "gov.who_could", args, who_human);
    json_decref(args);
    return r;
}

/* ---- rotate ------------------------------------------------------------------ */

static const struct args_opt queue_opts[] = {
    {"state", 0, true, OPT_STATE},
    {NULL, 0, false, 0},
};

static const struct args_opt done_opts[] = {
    {"result", 0, true, OPT_RESULT},
    {NULL, 0, false, 0},
};

static const struct out_col queue_cols[] = {
    {"ID", "id"},       {"ACCOUNT", "account"},        {"REASON", "reason"},
    {"STATE", "state"}, {"REQUESTED", "requested_at"}, {"DONE", "done_at"},
};

static int rotate_queue(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *st = a->val[OPT_STATE];
    json_t *args = NULL;

    if (st && strcmp(st, "queued") != 0 && strcmp(st, "done") != 0)
        return cli_usage(cli, "--state is queued or done");
    if ((r = gov_args_new(cli, &args)) == 0 &&
        (r = gov_set_str(cli, args, "state", st, "--state")) == 0)
        r = gov_call_list(cli, "rotate.queue.list", args, "queue", queue_cols, NCOLS(queue_cols),
                          NULL);
    json_decref(args);
    return r;
}

static int rotate_done(struct cli *cli, const struct args *a)
{
    int r = 0;
    const char *res = a->val[OPT_RESULT];
    json_t *args = NULL;

    if (res && strcmp(res, "rotated") != 0 && strcmp(res, "skipped") != 0)
        return cli_usage(cli, "--result is rotated or skipped");
    if ((r = gov_args_one(cli, "id", a->pos[0], &args)) == 0 &&
        (r = gov_set_str(cli, args, "result", res, "--result")) == 0)
        r = gov_call_show(cli, "rotate.queue.done", args,
                          (const char *const[]){"id", "account", "reason", "state", "result",
                                                "requested_at", "done_at", NULL});
    json_decref(args);
    return r;
}

static const struct cli_cmd rotate_cmds[] = {
    {"queue", "[--state queued|done]", "list the accounts waiting for a credential rotation",
     "Leavers and the end of break-glass grants queue the accounts they could reach.\n", queue_opts,
     0, 0, rotate_queue},
    {"done", "ID [--result rotated|skipped]", "mark a queue entry done",
     "  --result R  rotated (default) or skipped\n", done_opts, 1, 1, rotate_done},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_rotate_family = {
    "rotate",
    "the credential rotation queue (scope gov)",
    rotate_cmds,
};
