/* SPDX-License-Identifier: Apache-2.0 */
/* Self-service over SSH (custos@broker): a command, two vault calls, plain text or --json. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/buf.h"
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
    /* Build the vault op and args for `job` (identity known); NULL op: handled locally. */
    const char *op;
    json_t *(*args)(struct selfsvc_job *job, char *err, size_t errlen);
    void (*human)(struct selfsvc_job *job, json_t *result, struct buf *out);
};

static const char usage_text[] =
    "Custos self-service, as the identity of your key:\n"
    "  ssh -p PORT custos@BROKER targets                     what you can reach now or request\n"
    "  ssh -p PORT custos@BROKER request ACCOUNT DURATION REASON...   (DURATION: 30m, 4h, 1d)\n"
    "  ssh -p PORT custos@BROKER requests                    yours, and those waiting for you\n"
    "  ssh -p PORT custos@BROKER approve ID [COMMENT...]\n"
    "  ssh -p PORT custos@BROKER deny ID COMMENT...\n"
    "  ssh -p PORT custos@BROKER grants                      your live grants\n"
    "  ssh -p PORT custos@BROKER sessions                    your sessions\n"
    "Add --json for the vault's answer as JSON.\n";

/* Output is best effort: a full buffer only truncates what the admin sees. */
static void emit(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct buf *b, const char *fmt, ...)
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

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

static void when(json_t *v, char *out, size_t len)
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

/* "30m", "4h", "1d", "90s", "1h30m" -> seconds; 0 if malformed. */
static long long parse_duration(const char *s)
{
    long long total = 0, n = 0;
    bool digits = false;

    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            n = n * 10 + (*s - '0');
            digits = true;
            if (n > 100000000)
                return 0;
            continue;
        }
        if (!digits)
            return 0;
        switch (*s) {
        case 's':
            total += n;
            break;
        case 'm':
            total += n * 60;
            break;
        case 'h':
            total += n * 3600;
            break;
        case 'd':
            total += n * 86400;
            break;
        default:
            return 0;
        }
        n = 0;
        digits = false;
    }
    return digits ? 0 : total;
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

static void human_targets(struct selfsvc_job *job, json_t *res, struct buf *out)
{
    json_t *g, *e;
    size_t i;

    (void)job;
    emit(out, "Reachable now:\n");
    if (json_array_size(json_object_get(res, "grants")) == 0)
        emit(out, "  (no live grant)\n");
    json_array_foreach(json_object_get(res, "grants"), i, g)
    {
        char until[32];
        when(json_object_get(g, "expires_at"), until, sizeof(until));
        emit(out, "  %-28s grant %-8s until %s\n", str(g, "account"), str(g, "id"), until);
    }
    emit(out, "You may request:\n");
    if (json_array_size(json_object_get(res, "entitlements")) == 0)
        emit(out, "  (nothing)\n");
    json_array_foreach(json_object_get(res, "entitlements"), i, e)
    {
        emit(out, "  %-28s role %-16s up to %llds, approval %s%s\n", str(e, "account"),
             str(e, "role"), (long long)json_integer_value(json_object_get(e, "max_duration")),
             str(json_object_get(e, "approval"), "by"),
             json_is_true(json_object_get(e, "standing")) ? " (standing: no request needed)" : "");
    }
}

static json_t *args_request(struct selfsvc_job *job, char *err, size_t errlen)
{
    long long d = parse_duration(job->words[2]);
    char *reason;
    json_t *a;

    if (d <= 0) {
        snprintf(err, errlen, "'%s' is not a duration like 30m, 4h or 1d", job->words[2]);
        return NULL;
    }
    reason = join(job, 3);
    a = json_pack("{s:s,s:s,s:I,s:s}", "as", job->identity, "account", job->words[1], "duration",
                  (json_int_t)d, "reason", reason ? reason : "");
    free(reason);
    return a;
}

static void human_request_one(json_t *q, struct buf *out)
{
    json_t *a;
    size_t i;
    bool first = true;

    emit(out, "%-8s %-9s %-10s %-24s %6llds ", str(q, "id"), str(q, "state"), str(q, "requester"),
         str(q, "account"), (long long)json_integer_value(json_object_get(q, "duration")));
    json_array_foreach(json_object_get(q, "approvals"), i, a)
    {
        emit(out, "%s%s", first ? "approved by " : ", ", str(a, "by"));
        first = false;
    }
    if (first && json_array_size(json_object_get(q, "approvers")))
        emit(out, "waiting for %s",
             json_string_value(json_array_get(json_object_get(q, "approvers"), 0)));
    if (json_is_string(json_object_get(q, "grant")))
        emit(out, " -> grant %s", str(q, "grant"));
    emit(out, "\n");
}

static void human_request(struct selfsvc_job *job, json_t *res, struct buf *out)
{
    (void)job;
    human_request_one(res, out);
}

static json_t *args_requests(struct selfsvc_job *job, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return json_pack("{s:s}", "as", job->identity);
}

static void human_requests(struct selfsvc_job *job, json_t *res, struct buf *out)
{
    json_t *q;
    size_t i;

    (void)job;
    if (json_array_size(json_object_get(res, "requests")) == 0)
        emit(out, "No requests.\n");
    json_array_foreach(json_object_get(res, "requests"), i, q) human_request_one(q, out);
}

static json_t *args_decide(struct selfsvc_job *job, char *err, size_t errlen)
{
    char *comment = join(job, 2);
    json_t *a;

    if (strcmp(job->words[0], "deny") == 0 && (!comment || !*comment)) {
        snprintf(err, errlen, "deny needs a comment: deny ID COMMENT...");
        free(comment);
        return NULL;
    }
    a = json_pack("{s:s,s:s,s:s}", "as", job->identity, "id", job->words[1], "comment",
                  comment ? comment : "");
    free(comment);
    return a;
}

static void human_grants(struct selfsvc_job *job, json_t *res, struct buf *out)
{
    json_t *g;
    size_t i;

    (void)job;
    if (json_array_size(json_object_get(res, "grants")) == 0)
        emit(out, "No grants.\n");
    json_array_foreach(json_object_get(res, "grants"), i, g)
    {
        char until[32];
        when(json_object_get(g, "expires_at"), until, sizeof(until));
        emit(out, "%-8s %-24s %-11s %-8s until %s\n", str(g, "id"), str(g, "account"),
             str(g, "kind"), str(g, "state"), until);
    }
}

static json_t *args_sessions(struct selfsvc_job *job, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return json_pack("{s:s}", "identity", job->identity);
}

static void human_sessions(struct selfsvc_job *job, json_t *res, struct buf *out)
{
    json_t *s;
    size_t i;

    (void)job;
    if (json_array_size(json_object_get(res, "sessions")) == 0)
        emit(out, "No sessions.\n");
    json_array_foreach(json_object_get(res, "sessions"), i, s)
    {
        char start[32];
        when(json_object_get(s, "started_at"), start, sizeof(start));
        emit(out, "%-8s %-24s %-7s %s %s\n", str(s, "id"), str(s, "account"), str(s, "state"),
             start, str(s, "end_reason"));
    }
}

static const struct command commands[] = {
    {"targets", 0, "targets", "gov.me", args_as, human_targets},
    {"request", 3, "request ACCOUNT DURATION REASON...", "gov.request.create", args_request,
     human_request},
    {"requests", 0, "requests", "gov.request.list", args_requests, human_requests},
    {"approve", 1, "approve ID [COMMENT...]", "gov.request.approve", args_decide, human_request},
    {"deny", 2, "deny ID COMMENT...", "gov.request.deny", args_decide, human_request},
    {"grants", 0, "grants", "gov.grant.list", args_as, human_grants},
    {"sessions", 0, "sessions", "session.list", args_sessions, human_sessions},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* ---- flow --------------------------------------------------------------------- */

static void on_answer(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfsvc_job *job = ctx;
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
    buf_init(&out, SELFSVC_OUT_MAX);
    if (job->json) {
        char *s = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
            emit(&out, "%s\n", s);
        free(s);
    } else {
        job->cmd->human(job, res, &out);
    }
    if (out.len)
        job->io.out(job->io.ctx, out.data, out.len);
    buf_fini(&out);
    finish_job(job, 0, NULL);
}

static void on_identity(void *ctx, int err, json_t *res, const char *errmsg)
{
    struct selfsvc_job *job = ctx;
    char why[256] = "";
    json_t *args;

    if (job->abandoned) {
        finish_job(job, 1, NULL);
        return;
    }
    if (err) {
        finish_job(job, 1, errmsg ? errmsg : "the vault is unreachable");
        return;
    }
    if (!json_is_string(json_object_get(res, "identity"))) {
        finish_job(job, 1, "your key is not registered to any identity");
        return;
    }
    snprintf(job->identity, sizeof(job->identity), "%s", str(res, "identity"));
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
