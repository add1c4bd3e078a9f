/* SPDX-License-Identifier: Apache-2.0 */
/* Self-service over SSH (custos@broker): a command, two vault calls, plain text or --json. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/buf.h"
#include "custos/gov.h"
#include "custos/log.h"
#include "selfsvc.h"

#define SELFSVC_WORDS 64u
#define SELFSVC_OUT_MAX (1u << 20)

struct selfsvc_job {
    struct vlink *vault;
    struct selfsvc_io io;
    bool abandoned;
    bool json;
    char *copy; /* the command, split in place */
    char *words[SELFSVC_WORDS];
    unsigned n;
    char identity[80];
    const struct command *cmd;
};

struct command {
    const char *name;
    unsigned min_args;
    const char *usage;
    bool needs_comment; /* the last of min_args is COMMENT... */
    /* Build the vault op and args for `job` (identity known); NULL op: handled locally. */
    const char *op;
    json_t *(*args)(struct selfsvc_job *job, char *err, size_t errlen);
    /* What of the answer to show, plain or --json (new reference); NULL: all of it. */
    json_t *(*view)(json_t *result);
    /*
     * Plain text: human() for the whole answer; or line() for each element of
     * the answer's array `list` (`none` when it is empty), or for the answer
     * itself when there is no list.
     */
    void (*human)(json_t *result, struct buf *out);
    void (*line)(const json_t *o, struct buf *out);
    const char *list, *none;
};

static const char usage_text[] =
    "Custos self-service, as the identity of your key:\n"
    "  ssh -p PORT custos@BROKER targets                     what you can reach now or request\n"
    "  ssh -p PORT custos@BROKER request ACCOUNT DURATION REASON... [--file-transfer]\n"
    "                                 (DURATION: 30m, 4h, 1d; --file-transfer: for sftp/scp)\n"
    "  ssh -p PORT custos@BROKER requests                    yours, and those waiting for you\n"
    "  ssh -p PORT custos@BROKER approve ID [COMMENT...]\n"
    "  ssh -p PORT custos@BROKER deny ID COMMENT...\n"
    "  ssh -p PORT custos@BROKER grants                      your live grants\n"
    "  ssh -p PORT custos@BROKER sessions                    your sessions\n"
    "  ssh -p PORT custos@BROKER reviews                     access reviews waiting for you\n"
    "  ssh -p PORT custos@BROKER certify ITEM [COMMENT...]   keep the access under review\n"
    "  ssh -p PORT custos@BROKER revoke ITEM COMMENT...      remove it now\n"
    "Add --json for the vault's answer as JSON.\n"
    "ssh -t -p PORT custos@BROKER (a terminal, no command) opens a menu to connect or request.\n";

/* Output is best effort: a full buffer only truncates what the admin sees. */
void selfsvc_emit(struct buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) != 0)
        return;
}

static void finish_job(struct selfsvc_job *job, int status, const char *errmsg)
{
    if (!job->abandoned && job->io.done)
        job->io.done(job->io.ctx, status, errmsg);
    free(job->copy);
    free(job);
}

const char *selfsvc_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

void selfsvc_when(const json_t *v, char *out, size_t len)
{
    time_t t = (time_t)json_integer_value(v);
    struct tm tm;

    if (!json_is_integer(v)) {
        snprintf(out, len, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%MZ", &tm);
}

const char *selfsvc_identity(int err, const json_t *res, const char *errmsg, char *out, size_t len)
{
    if (err)
        return errmsg ? errmsg : "the vault is unreachable";
    if (!json_is_string(json_object_get(res, "identity")))
        return "your key is not registered to any identity";
    snprintf(out, len, "%s", selfsvc_str(res, "identity"));
    return NULL;
}

static char *join(struct selfsvc_job *job, unsigned from)
{
    struct buf b;
    char *s;

    buf_init(&b, 4096);
    for (unsigned i = from; i < job->n; i++)
        if (buf_printf(&b, "%s%s", i > from ? " " : "", job->words[i]) != 0)
            break;
    s = strdup(b.data ? b.data : "");
    buf_fini(&b);
    return s;
}

/* ---- commands ---------------------------------------------------------------- */

static json_t *args_as(struct selfsvc_job *job, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return json_pack("{s:s}", "as", job->identity);
}

static void human_targets(json_t *res, struct buf *out)
{
    json_t *g, *e;
    size_t i;

    selfsvc_emit(out, "Reachable now:\n");
    if (json_array_size(json_object_get(res, "grants")) == 0)
        selfsvc_emit(out, "  (no live grant)\n");
    json_array_foreach(json_object_get(res, "grants"), i, g)
    {
        char until[32];
        selfsvc_when(json_object_get(g, "expires_at"), until, sizeof(until));
        selfsvc_emit(out, "  %-28s grant %-8s until %s\n", selfsvc_str(g, "account"),
                     selfsvc_str(g, "id"), until);
    }
    selfsvc_emit(out, "You may request:\n");
    if (json_array_size(json_object_get(res, "entitlements")) == 0)
        selfsvc_emit(out, "  (nothing)\n");
    json_array_foreach(json_object_get(res, "entitlements"), i, e)
    {
        char max[GOV_DURATION_LEN];

        gov_duration_format(json_integer_value(json_object_get(e, "max_duration")), max,
                            sizeof(max));
        selfsvc_emit(out, "  %-28s role %-16s up to %s, approval %s%s\n", selfsvc_str(e, "account"),
                     selfsvc_str(e, "role"), max, selfsvc_str(json_object_get(e, "approval"), "by"),
                     json_is_true(json_object_get(e, "standing")) ? " (standing: no request needed)"
                                                                  : "");
    }
}

/* request ACCOUNT DURATION REASON... [--file-transfer]: the flag, anywhere after DURATION, is
 * not part of the reason. */
static json_t *args_request(struct selfsvc_job *job, char *err, size_t errlen)
{
    bool file_transfer = false;
    long long d = 0;
    struct buf b;
    json_t *a;

    if (gov_duration_parse(job->words[2], &d) != 0) {
        snprintf(err, errlen, "'%s' is not a duration like 30m, 4h or 1d", job->words[2]);
        return NULL;
    }
    buf_init(&b, 4096);
    for (unsigned i = 3; i < job->n; i++) {
        if (strcmp(job->words[i], "--file-transfer") == 0) {
            file_transfer = true;
            continue;
        }
        if (buf_printf(&b, "%s%s", b.len ? " " : "", job->words[i]) != 0)
            break;
    }
    if (b.len == 0) {
        buf_fini(&b);
        snprintf(err, errlen, "a request needs a reason: request ACCOUNT DURATION REASON...");
        return NULL;
    }
    a = json_pack("{s:s,s:s,s:I,s:s,s:b}", "as", job->identity, "account", job->words[1],
                  "duration", (json_int_t)d, "reason", b.data, "file_transfer", file_transfer);
    buf_fini(&b);
    return a;
}

/* grants: the live ones only (ended grants stay in the vault's history). */
static json_t *args_grants(struct selfsvc_job *job, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return json_pack("{s:s,s:s}", "as", job->identity, "state", "active");
}

void selfsvc_request_line(const json_t *q, struct buf *out)
{
    const char *cmd = json_string_value(json_object_get(q, "command"));
    char what[80];
    json_t *a;
    size_t i;
    bool first = true;

    /* How long access is asked for, or which command waits (a request of kind "command"). */
    if (cmd)
        snprintf(what, sizeof(what), "run: %.50s%s", cmd, strlen(cmd) > 50 ? "..." : "");
    else
        gov_duration_format(json_integer_value(json_object_get(q, "duration")), what, sizeof(what));
    selfsvc_emit(out, "%-8s %-9s %-10s %-24s %-6s ", selfsvc_str(q, "id"), selfsvc_str(q, "state"),
                 selfsvc_str(q, "requester"), selfsvc_str(q, "account"), what);
    json_array_foreach(json_object_get(q, "approvals"), i, a)
    {
        selfsvc_emit(out, "%s%s", first ? "approved by " : ", ", selfsvc_str(a, "by"));
        first = false;
    }
    if (first && strcmp(selfsvc_str(q, "state"), "pending") == 0)
        json_array_foreach(json_object_get(q, "approvers"), i, a)
        {
            selfsvc_emit(out, "%s%s", first ? "waiting for " : ", ", json_string_value(a) ?: "-");
            first = false;
        }
    if (json_is_object(json_object_get(q, "denial")))
        selfsvc_emit(out, "denied by %s: %s", selfsvc_str(json_object_get(q, "denial"), "by"),
                     selfsvc_str(json_object_get(q, "denial"), "comment"));
    if (json_is_string(json_object_get(q, "grant")))
        selfsvc_emit(out, " -> grant %s", selfsvc_str(q, "grant"));
    selfsvc_emit(out, "\n");
}

/* approve/deny ID [COMMENT...] and certify/revoke ITEM [COMMENT...] (the command is the verb). */
static json_t *args_decide(struct selfsvc_job *job, char *err, size_t errlen)
{
    bool review = strcmp(job->cmd->op, "gov.review.decide") == 0;
    char *comment = join(job, 2);
    json_t *a;

    (void)err;
    (void)errlen;
    a = json_pack("{s:s,s:s,s:s}", "as", job->identity, review ? "item" : "id", job->words[1],
                  "comment", comment ? comment : "");
    if (a && review)
        json_object_set_new(a, "decision", json_string(job->words[0]));
    free(comment);
    return a;
}

static void grant_line(const json_t *g, struct buf *out)
{
    char until[32];

    selfsvc_when(json_object_get(g, "expires_at"), until, sizeof(until));
    selfsvc_emit(out, "%-8s %-24s %-11s %-8s until %s\n", selfsvc_str(g, "id"),
                 selfsvc_str(g, "account"), selfsvc_str(g, "kind"), selfsvc_str(g, "state"), until);
}

static json_t *args_sessions(struct selfsvc_job *job, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return json_pack("{s:s}", "identity", job->identity);
}

static void session_line(const json_t *s, struct buf *out)
{
    char start[32];

    selfsvc_when(json_object_get(s, "started_at"), start, sizeof(start));
    selfsvc_emit(out, "%-8s %-24s %-7s %s %s\n", selfsvc_str(s, "id"), selfsvc_str(s, "account"),
                 selfsvc_str(s, "state"), start, selfsvc_str(s, "end_reason"));
}

/* Open items only: decided ones stay in the vault's report, not on the reviewer's desk. */
static json_t *view_reviews(json_t *res)
{
    json_t *open = json_array(), *it;
    size_t i;

    json_array_foreach(json_object_get(res, "items"), i, it)
    {
        const char *d = selfsvc_str(it, "decision");
        if (strcmp(d, "pending") == 0 || strcmp(d, "escalated") == 0)
            json_array_append(open, it);
    }
    return json_pack("{s:o}", "items", open);
}

/* One review item: what is held by whom, when it was last used, and its decision. */
static void review_line(const json_t *it, struct buf *out)
{
    const json_t *ev = json_object_get(it, "evidence");
    json_int_t ls = json_integer_value(json_object_get(ev, "last_session"));
    json_int_t lu = json_integer_value(json_object_get(ev, "last_use"));
    char what[300], used[32];

    if (json_is_string(json_object_get(it, "account")) &&
        strcmp(selfsvc_str(it, "kind"), "role") != 0)
        snprintf(what, sizeof(what), "%s %s (%s)", selfsvc_str(it, "kind"), selfsvc_str(it, "ref"),
                 selfsvc_str(it, "account"));
    else
        snprintf(what, sizeof(what), "%s %s", selfsvc_str(it, "kind"), selfsvc_str(it, "ref"));
    selfsvc_when(ls || lu ? json_object_get(ev, ls > lu ? "last_session" : "last_use") : NULL, used,
                 sizeof(used));
    selfsvc_emit(out, "%-14s %-10s %-34s last used %-17s %s", selfsvc_str(it, "id"),
                 selfsvc_str(it, "identity"), what, used, selfsvc_str(it, "decision"));
    if (json_is_string(json_object_get(it, "decided_by")))
        selfsvc_emit(out, " by %s", selfsvc_str(it, "decided_by"));
    if (json_is_string(json_object_get(it, "comment")))
        selfsvc_emit(out, ": %s", selfsvc_str(it, "comment"));
    selfsvc_emit(out, "\n");
}

static const struct command commands[] = {
    {.name = "targets",
     .usage = "targets",
     .op = "gov.me",
     .args = args_as,
     .human = human_targets},
    {.name = "request",
     .min_args = 3,
     .usage = "request ACCOUNT DURATION REASON... [--file-transfer]",
     .op = "gov.request.create",
     .args = args_request,
     .line = selfsvc_request_line},
    {.name = "requests",
     .usage = "requests",
     .op = "gov.request.list",
     .args = args_as,
     .line = selfsvc_request_line,
     .list = "requests",
     .none = "No requests."},
    {.name = "approve",
     .min_args = 1,
     .usage = "approve ID [COMMENT...]",
     .op = "gov.request.approve",
     .args = args_decide,
     .line = selfsvc_request_line},
    {.name = "deny",
     .min_args = 2,
     .usage = "deny ID COMMENT...",
     .needs_comment = true,
     .op = "gov.request.deny",
     .args = args_decide,
     .line = selfsvc_request_line},
    {.name = "grants",
     .usage = "grants",
     .op = "gov.grant.list",
     .args = args_grants,
     .line = grant_line,
     .list = "grants",
     .none = "No live grants."},
    {.name = "sessions",
     .usage = "sessions",
     .op = "session.list",
     .args = args_sessions,
     .line = session_line,
     .list = "sessions",
     .none = "No sessions."},
    {.name = "reviews",
     .usage = "reviews",
     .op = "gov.review.list",
     .args = args_as,
     .view = view_reviews,
     .line = review_line,
     .list = "items",
     .none = "No open reviews."},
    {.name = "certify",
     .min_args = 1,
     .usage = "certify ITEM [COMMENT...]",
     .op = "gov.review.decide",
     .args = args_decide,
     .line = review_line},
    {.name = "revoke",
     .min_args = 2,
     .usage = "revoke ITEM COMMENT...",
     .needs_comment = true,
     .op = "gov.review.decide",
     .args = args_decide,
     .line = review_line},
    {.name = NULL},
};

/* The answer as plain text, as the command's table entry says. */
static void human(const struct command *c, json_t *res, struct buf *out)
{
    json_t *o;
    size_t i;

    if (c->human) {
        c->human(res, out);
    } else if (!c->list) {
        c->line(res, out);
    } else {
        if (json_array_size(json_object_get(res, c->list)) == 0)
            selfsvc_emit(out, "%s\n", c->none);
        json_array_foreach(json_object_get(res, c->list), i, o) c->line(o, out);
    }
}

/* ---- flow --------------------------------------------------------------------- */

static void on_answer(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfsvc_job *job = ctx;
    json_t *shown;
    struct buf out;

    if (job->abandoned) {
        finish_job(job, 1, NULL);
        return;
    }
    if (err) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s: %s", job->cmd->name, errmsg ? errmsg : "refused");
        finish_job(job, 1, msg);
        return;
    }
    shown = job->cmd->view ? job->cmd->view(res) : json_incref(res);
    buf_init(&out, SELFSVC_OUT_MAX);
    if (job->json) {
        char *s = json_dumps(shown, JSON_INDENT(2) | JSON_SORT_KEYS);
        /* Not through selfsvc_emit: its line buffer would cut a long answer. */
        if (s && (buf_append(&out, s, strlen(s)) != 0 || buf_append(&out, "\n", 1) != 0))
            log_warn("self-service answer of %zu bytes cut", strlen(s));
        free(s);
    } else if (shown) {
        human(job->cmd, shown, &out);
        /* Free text from the vault (reasons, comments) must not drive the admin's terminal. */
        for (size_t i = 0; i < out.len; i++)
            if (((unsigned char)out.data[i] < 0x20 && out.data[i] != '\n') || out.data[i] == 0x7f)
                out.data[i] = '?';
    }
    json_decref(shown);
    if (out.len)
        job->io.out(job->io.ctx, out.data, out.len);
    buf_fini(&out);
    finish_job(job, 0, NULL);
}

static void on_identity(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfsvc_job *job = ctx;
    char why[256] = "";
    const char *refusal;
    json_t *args;

    if (job->abandoned) {
        finish_job(job, 1, NULL);
        return;
    }
    if ((refusal = selfsvc_identity(err, res, errmsg, job->identity, sizeof(job->identity)))) {
        finish_job(job, 1, refusal);
        return;
    }
    if (!(args = job->cmd->args(job, why, sizeof(why)))) {
        finish_job(job, 2, why[0] ? why : "bad arguments");
        return;
    }
    log_info("self-service identity=%s command=%s", job->identity, job->cmd->name);
    vlink_call(job->vault, job->cmd->op, args, on_answer, job);
}

struct selfsvc_job *selfsvc_run(struct vlink *vault, const char *fp, const char *command,
                                const struct selfsvc_io *io)
{
    struct selfsvc_job *job = calloc(1, sizeof(*job));
    char *save = NULL, *tok;

    if (!job) {
        io->done(io->ctx, 1, "out of memory");
        return NULL;
    }
    job->vault = vault;
    job->io = *io;
    job->copy = strdup(command ? command : "");
    for (tok = job->copy ? strtok_r(job->copy, " \t", &save) : NULL; tok && job->n < SELFSVC_WORDS;
         tok = strtok_r(NULL, " \t", &save)) {
        if (strcmp(tok, "--json") == 0)
            job->json = true;
        else
            job->words[job->n++] = tok;
    }
    if (job->n == 0 || strcmp(job->words[0], "help") == 0 || strcmp(job->words[0], "--help") == 0) {
        io->out(io->ctx, usage_text, sizeof(usage_text) - 1);
        finish_job(job, job->n == 0 ? 2 : 0, NULL);
        return NULL;
    }
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(c->name, job->words[0]) == 0)
            job->cmd = c;
    if (!job->cmd) {
        char msg[256];
        snprintf(msg, sizeof(msg), "unknown command '%.40s'; try: help", job->words[0]);
        finish_job(job, 2, msg);
        return NULL;
    }
    if (job->n - 1 < job->cmd->min_args) {
        char msg[256];
        if (job->cmd->needs_comment && job->n == job->cmd->min_args)
            snprintf(msg, sizeof(msg), "%s needs a comment (why): %s", job->cmd->name,
                     job->cmd->usage);
        else
            snprintf(msg, sizeof(msg), "usage: %s", job->cmd->usage);
        finish_job(job, 2, msg);
        return NULL;
    }
    /* Who is asking: the identity of the key that authenticated. */
    vlink_call(vault, "gov.mfa.check", json_pack("{s:s}", "fp", fp), on_identity, job);
    return job;
}

void selfsvc_abandon(struct selfsvc_job *job)
{
    if (job)
        job->abandoned = true;
}
