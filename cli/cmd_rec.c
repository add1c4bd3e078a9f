/* SPDX-License-Identifier: Apache-2.0 */
/* custos rec: verify, inspect, list, search, export and replay session recordings. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <regex.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "custos/gov.h"
#include "rec_export.h"
#include "custos/recf.h"
#include "custos/recplay.h"

enum {
    OPT_DIR = ARGS_ID_LOCAL,
    OPT_VAULT_KEY,
    OPT_OFFLINE,
    OPT_IDENTITY,
    OPT_TARGET,
    OPT_ACCOUNT,
    OPT_GRANT,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_TEXT,
    OPT_REGEX,
    OPT_ASCIICAST,
    OPT_PLAIN,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_SPEED,
    OPT_IDLE,
    OPT_AT,
    OPT_NO_WAIT,
};

#define DIR_OPT                                                                                    \
    {                                                                                              \
        "dir", 0, true, OPT_DIR                                                                    \
    }
#define KEY_OPTS                                                                                   \
    {"vault-key", 0, true, OPT_VAULT_KEY},                                                         \
    {                                                                                              \
        "offline", 0, false, OPT_OFFLINE                                                           \
    }
#define FILTER_OPTS                                                                                \
    {"identity", 0, true, OPT_IDENTITY}, {"target", 0, true, OPT_TARGET},                          \
        {"account", 0, true, OPT_ACCOUNT}, {"grant", 0, true, OPT_GRANT},                          \
        {"since", 0, true, OPT_SINCE},                                                             \
    {                                                                                              \
        "until", 0, true, OPT_UNTIL                                                                \
    }
#define END_OPTS                                                                                   \
    {                                                                                              \
        NULL, 0, false, 0                                                                          \
    }

static const struct args_opt verify_opts[] = {DIR_OPT, KEY_OPTS, END_OPTS};
static const struct args_opt info_opts[] = {DIR_OPT, END_OPTS};
static const struct args_opt list_opts[] = {
    DIR_OPT, FILTER_OPTS, {"text", 0, true, OPT_TEXT}, {"regex", 0, false, OPT_REGEX}, END_OPTS};
static const struct args_opt search_opts[] = {
    DIR_OPT, FILTER_OPTS, {"regex", 0, false, OPT_REGEX}, END_OPTS};
static const struct args_opt export_opts[] = {DIR_OPT,
                                              KEY_OPTS,
                                              {"asciicast", 0, false, OPT_ASCIICAST},
                                              {"text", 0, false, OPT_PLAIN},
                                              {"input", 0, false, OPT_INPUT},
                                              {"output", 'o', true, OPT_OUTPUT},
                                              END_OPTS};
static const struct args_opt replay_opts[] = {DIR_OPT,
                                              KEY_OPTS,
                                              {"speed", 0, true, OPT_SPEED},
                                              {"idle-limit", 0, true, OPT_IDLE},
                                              {"at", 0, true, OPT_AT},
                                              {"no-wait", 0, false, OPT_NO_WAIT},
                                              END_OPTS};

/* ---- shared ------------------------------------------------------------------------------- */

static const char *rec_dir(const struct args *a)
{
    const char *env = secure_getenv("CUSTOS_REC_DIR");

    if (a->val[OPT_DIR])
        return a->val[OPT_DIR];
    return env && *env ? env : CUSTOS_REC_DIR_DEFAULT;
}

/* "H:MM:SS.s" for an offset in µs. */
static void offset_format(uint64_t us, char *dst, size_t n)
{
    uint64_t s = us / 1000000;

    snprintf(dst, n, "%llu:%02llu:%02llu.%llu", (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60),
             (unsigned long long)(us % 1000000 / 100000));
}

/* An offset: "90", "90.5", "1:30", "1:02:03.5" or a duration "1m30s". 0 or -ERR_INVAL. */
static int offset_parse(const char *s, uint64_t *us)
{
    double parts[3] = {0, 0, 0}, v;
    unsigned n = 0;
    const char *p = s;
    char *end;
    long long d;

    if (!*s)
        return -ERR_INVAL;
    if (strpbrk(s, "dhms") && !strchr(s, ':')) {
        if (gov_duration_parse(s, &d) != 0 || d < 0)
            return -ERR_INVAL;
        *us = (uint64_t)d * 1000000;
        return 0;
    }
    for (;;) {
        if (n == 3 || !(*p >= '0' && *p <= '9'))
            return -ERR_INVAL;
        v = strtod(p, &end);
        if (end == p || v < 0 || v > 1e9)
            return -ERR_INVAL;
        parts[n++] = v;
        if (*end == '\0')
            break;
        if (*end != ':' || strchr(p, '.') < end)
            return -ERR_INVAL; /* a fraction only in the last part */
        p = end + 1;
    }
    v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v * 60 + parts[i];
    *us = (uint64_t)(v * 1e6);
    return 0;
}

/*
 * The vault key to check recordings against: --vault-key (base64), or the
 * vault's (op rec.key); with --offline none (then keys are not checked).
 */
static int vault_key(struct cli *cli, const struct args *a, unsigned char key[32], bool *have)
{
    const char *b64 = a->val[OPT_VAULT_KEY];
    json_t *res = NULL;
    size_t n = 0;
    int r;

    *have = false;
    if (a->val[OPT_OFFLINE] && !b64)
        return 0;
    if (!b64) {
        if ((r = cli_call(cli, "rec.key", NULL, &res)) != 0)
            return r;
        b64 = json_string_value(json_object_get(res, "key"));
        if (!b64) {
            json_decref(res);
            return cli_fail(cli, -ERR_PARSE, "the vault's answer to rec.key has no key");
        }
    }
    r = sodium_base642bin(key, 32, b64, strlen(b64), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL);
    json_decref(res);
    if (r != 0 || n != 32)
        return a->val[OPT_VAULT_KEY] ? cli_usage(cli, "--vault-key must be 32 bytes of base64")
                                     : cli_fail(cli, -ERR_PARSE, "the vault's key is not valid");
    *have = true;
    return 0;
}

/* Tell the vault an auditor read this recording (audited); skipped with --offline. */
static int access_note(struct cli *cli, const struct args *a, const struct recf *f,
                       const char *action)
{
    json_t *args, *res = NULL;
    int r;

    if (a->val[OPT_OFFLINE])
        return 0;
    if (!(args = json_pack("{s:s,s:s}", "session", f->info->meta.session, "action", action)))
        return -ERR_NOMEM;
    r = cli_call(cli, "rec.access", args, &res);
    json_decref(args);
    json_decref(res);
    return r;
}

static int open_rec(struct cli *cli, const struct args *a, const char *id, bool seek,
                    struct recf *f)
{
    char path[4096], why[512];
    int r;

    if (recf_path(rec_dir(a), id, path, sizeof(path)) != 0) {
        f->fd = -1;
        return cli_usage(cli, "'%.64s' is neither a session id nor a recording file", id);
    }
    if ((r = recf_open(f, path, seek, why, sizeof(why))) != 0)
        return cli_fail(cli, r, "%s", why);
    return 0;
}

/* ---- verify --------------------------------------------------------------------------------- */

static int verify_one(struct cli *cli, const struct args *a, const char *id,
                      const unsigned char *key, bool *intact)
{
    char path[4096], at[40];
    struct rec_verdict v;
    json_t *j;
    int r;

    *intact = false;
    if (recf_path(rec_dir(a), id, path, sizeof(path)) != 0)
        return cli_usage(cli, "'%.64s' is neither a session id nor a recording file", id);
    if ((r = recf_verify(path, key, &v)) != 0) {
        if (r == -ERR_NOT_FOUND) {
            printf("%s: MISSING: no recording at %s\n", id, path);
            return 0;
        }
        return cli_fail(cli, r, "cannot read %s", path);
    }
    offset_format(v.kind == REC_V_MODIFIED ? v.bad_t_us : v.last.t_us, at, sizeof(at));
    if (cli->json) {
        j = json_pack("{s:s,s:s,s:s,s:b,s:s,s:I,s:s,s:I,s:I,s:I,s:I}", "recording", id, "path",
                      path, "verdict", rec_verdict_name(v.kind), "key_checked", v.key_checked,
                      "why", v.why, "bad_offset", (json_int_t)v.bad_offset, "at", at, "events",
                      (json_int_t)v.last.events, "chunks", (json_int_t)v.last.chunks, "tail_bytes",
                      (json_int_t)v.tail_bytes, "bytes", (json_int_t)v.file_bytes);
        if (!j)
            return -ERR_NOMEM;
        r = out_json(j);
        json_decref(j);
        if (r != 0)
            return r;
    } else if (v.kind == REC_V_OK) {
        printf("%s: OK: %llu events, %llu chunks, sealed to the end at %s%s\n", id,
               (unsigned long long)v.last.events, (unsigned long long)v.last.chunks, at,
               v.key_checked ? "" : " (the recording key was NOT checked against the vault)");
    } else if (v.kind == REC_V_INCOMPLETE) {
        printf("%s: INCOMPLETE: sealed up to %s; %llu bytes after that are not sealed "
               "(what a crash leaves)%s\n",
               id, v.have_last ? at : "its header", (unsigned long long)v.tail_bytes,
               v.key_checked ? "" : " (key NOT checked)");
    } else {
        printf("%s: %s at byte %llu (near %s): %s\n", id, rec_verdict_name(v.kind),
               (unsigned long long)v.bad_offset, at, v.why);
    }
    *intact = v.kind == REC_V_OK && (v.key_checked || a->val[OPT_OFFLINE]);
    return 0;
}

static int rec_verify(struct cli *cli, const struct args *a)
{
    unsigned char key[32];
    bool have = false, all = true;
    int r;

    if ((r = vault_key(cli, a, key, &have)) != 0)
        return r;
    for (int i = 0; i < a->npos; i++) {
        bool ok;
        if ((r = verify_one(cli, a, a->pos[i], have ? key : NULL, &ok)) != 0)
            return r;
        all = all && ok;
    }
    if (!all) {
        cli->reported = true;
        return -ERR_TAMPERED;
    }
    return 0;
}

/* ---- info and list ------------------------------------------------------------------------- */

static json_t *info_json(const struct recf *f)
{
    const struct rec_meta *m = &f->info->meta;
    char b64[64];

    sodium_bin2base64(b64, sizeof(b64), m->rec_key, 32, sodium_base64_VARIANT_ORIGINAL);
    return json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:s,s:I,s:I,s:s?,s:i,s:i,s:s,s:I,s:I,s:I,s:b,s:s,"
                     "s:s?}",
                     "session", m->session, "identity", m->identity, "account", m->account,
                     "target", m->target, "grant", m->grant, "kind", m->kind, "started_at",
                     (json_int_t)(m->started_us / 1000000), "duration",
                     (json_int_t)(f->end_us / 1000000), "term", m->term, "cols", (int)m->cols,
                     "rows", (int)m->rows, "state", f->closed ? "closed" : "unfinished", "bytes",
                     (json_int_t)f->size, "seek_points", (json_int_t)f->n_syncs, "commands",
                     (json_int_t)(f->index ? f->index->n_commands : 0), "input_masked",
                     m->mask_unechoed, "rec_key", b64, "broker", m->broker);
}

static int rec_info(struct cli *cli, const struct args *a)
{
    struct recf f;
    json_t *j;
    int r;

    if ((r = open_rec(cli, a, a->pos[0], true, &f)) != 0)
        goto out;
    if (!(j = info_json(&f))) {
        r = -ERR_NOMEM;
        goto out;
    }
    {
        json_t *h = govcli_humanize(j);
        r = cli->json ? out_json(j) : h ? out_object(stdout, h, NULL) : -ERR_NOMEM;
        json_decref(h);
    }
    json_decref(j);
out:
    recf_close(&f);
    return r;
}

struct filter {
    const char *identity, *target, *account, *grant;
    long long since, until;
};

static int filter_make(struct cli *cli, const struct args *a, struct filter *fl)
{
    memset(fl, 0, sizeof(*fl));
    fl->identity = a->val[OPT_IDENTITY];
    fl->target = a->val[OPT_TARGET];
    fl->account = a->val[OPT_ACCOUNT];
    fl->grant = a->val[OPT_GRANT];
    fl->until = -1;
    if (a->val[OPT_SINCE] && govcli_time_parse(a->val[OPT_SINCE], true, &fl->since) != 0)
        return cli_usage(cli, "--since must be an ISO 8601 time or Unix seconds");
    if (a->val[OPT_UNTIL] && govcli_time_parse(a->val[OPT_UNTIL], true, &fl->until) != 0)
        return cli_usage(cli, "--until must be an ISO 8601 time or Unix seconds");
    return 0;
}

static bool str_is(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

static bool filter_keep(const struct filter *fl, const struct recf *f)
{
    const struct rec_meta *m = &f->info->meta;
    long long start = (long long)(m->started_us / 1000000);

    return str_is(fl->identity, m->identity) && str_is(fl->target, m->target) &&
           str_is(fl->account, m->account) && str_is(fl->grant, m->grant) &&
           (!fl->since || start + (long long)(f->end_us / 1000000) >= fl->since) &&
           (fl->until < 0 || start <= fl->until);
}

/* A pattern over command lines: a glob (fnmatch) or, with --regex, a POSIX extended regex. */
struct matcher {
    const char *glob;
    regex_t re;
    bool is_re;
};

static int matcher_make(struct cli *cli, const char *pattern, bool regex, struct matcher *m)
{
    memset(m, 0, sizeof(*m));
    if (!regex) {
        m->glob = pattern;
        return 0;
    }
    if (regcomp(&m->re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return cli_usage(cli, "'%.64s' is not a valid regular expression", pattern);
    m->is_re = true;
    return 0;
}

static void matcher_free(struct matcher *m)
{
    if (m->is_re)
        regfree(&m->re);
}

static bool matches(const struct matcher *m, const char *line)
{
    if (m->is_re)
        return regexec(&m->re, line, 0, NULL, 0) == 0;
    return fnmatch(m->glob, line, 0) == 0;
}

/* Every recording of dir (*.crec), opened with its seek points, sorted by start. */
struct recs {
    struct recf *v;
    size_t n;
};

static int by_start(const void *x, const void *y)
{
    const struct recf *a = x, *b = y;

    if (a->info->meta.started_us != b->info->meta.started_us)
        return a->info->meta.started_us < b->info->meta.started_us ? -1 : 1;
    return strcmp(a->info->meta.session, b->info->meta.session);
}

static int recs_load(struct cli *cli, const char *dir, const struct filter *fl, struct recs *rs)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int r = 0;

    memset(rs, 0, sizeof(*rs));
    if (!d)
        return cli_fail(cli, -ERR_IO, "cannot read the recordings directory %s", dir);
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        char path[4096], why[512];
        struct recf f, *v;
        if (n < 6 || strcmp(e->d_name + n - 5, ".crec") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (recf_open(&f, path, true, why, sizeof(why)) != 0) {
            fprintf(stderr, "custos: skipping %s\n", why); /* one bad file hides nothing else */
            recf_close(&f);
            continue;
        }
        if (!filter_keep(fl, &f)) {
            recf_close(&f);
            continue;
        }
        /* keep what list and search need, give back the buffers */
        buf_fini(&f.frame);
        buf_fini(&f.scratch);
        close(f.fd);
        f.fd = -1;
        if (!(v = realloc(rs->v, (rs->n + 1) * sizeof(*v)))) {
            recf_close(&f);
            r = -ERR_NOMEM;
            break;
        }
        rs->v = v;
        rs->v[rs->n++] = f;
    }
    closedir(d);
    if (rs->n)
        qsort(rs->v, rs->n, sizeof(*rs->v), by_start);
    return r;
}

static void recs_free(struct recs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        recf_close(&rs->v[i]);
    free(rs->v);
}

/* The commands of a recording: from its index, or (unfinished) from its chunks. */
struct cmd_ctx {
    const struct matcher *m;
    const struct recf *f;
    json_t *hits;
    int err;
};

static int hit(struct cmd_ctx *c, uint64_t t, const char *how, const char *line)
{
    const struct rec_meta *m = &c->f->info->meta;
    char at[40], replay[200];

    if (!matches(c->m, line))
        return 0;
    offset_format(t, at, sizeof(at));
    snprintf(replay, sizeof(replay), "custos replay %s --at %s", m->session, at);
    if (json_array_append_new(c->hits,
                              json_pack("{s:s,s:s,s:s?,s:s,s:s,s:s,s:s,s:I}", "session", m->session,
                                        "at", at, "identity", m->identity, "target", m->target,
                                        "how", how, "line", line, "replay", replay, "time",
                                        (json_int_t)((m->started_us + t) / 1000000))) != 0)
        return -ERR_NOMEM;
    return 0;
}

static int cmd_event(void *ctx, const struct rec_event *ev)
{
    struct cmd_ctx *c = ctx;
    json_t *o;
    int r = 0;

    if (ev->type != REC_COMMAND)
        return 0;
    if (!(o = json_loadb((const char *)ev->data, ev->len, 0, NULL)))
        return 0;
    if (json_is_string(json_object_get(o, "line")))
        r = hit(c, ev->t_us, json_string_value(json_object_get(o, "how")) ?: "?",
                json_string_value(json_object_get(o, "line")));
    json_decref(o);
    return r;
}

static const char *how_name(uint8_t how)
{
    static const char *const n[] = {"?", "typed", "exec", "subsystem", "script"};

    return how <= REC_HOW_SCRIPT ? n[how] : "?";
}

static int search_one(struct recf *f, const struct matcher *m, json_t *hits)
{
    struct cmd_ctx c = {m, f, hits, 0};
    char why[512];
    int r;

    if (f->index) {
        for (size_t i = 0; i < f->index->n_commands; i++)
            if ((r = hit(&c, f->index->commands[i].t_us, how_name(f->index->commands[i].how),
                         f->index->commands[i].line)) != 0)
                return r;
        return 0;
    }
    /* unfinished: read its chunks again */
    {
        struct recf g;
        if (recf_open(&g, f->path, false, why, sizeof(why)) != 0) {
            recf_close(&g);
            return 0;
        }
        c.f = &g;
        r = recf_events(&g, g.data_off, cmd_event, &c);
        recf_close(&g);
        return r < 0 && r != -ERR_CORRUPT && r != -ERR_PARSE ? r : 0;
    }
}

static const struct out_col list_cols[] = {
    {"SESSION", "session"},   {"STARTED", "started_at"}, {"DURATION", "duration"},
    {"IDENTITY", "identity"}, {"ACCOUNT", "account"},    {"KIND", "kind"},
    {"STATE", "state"},       {"BYTES", "bytes"},
};

static int rec_list(struct cli *cli, const struct args *a)
{
    struct filter fl;
    struct recs rs = {0};
    struct matcher m;
    json_t *rows = NULL, *res = NULL;
    int r;

    if ((r = filter_make(cli, a, &fl)) != 0 ||
        (a->val[OPT_TEXT] && (r = matcher_make(cli, a->val[OPT_TEXT], a->val[OPT_REGEX], &m))))
        return r;
    if ((r = recs_load(cli, rec_dir(a), &fl, &rs)) != 0)
        goto out;
    if (!(rows = json_array())) {
        r = -ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < rs.n; i++) {
        if (a->val[OPT_TEXT]) {
            json_t *hits = json_array();
            if (!hits || (r = search_one(&rs.v[i], &m, hits)) != 0) {
                json_decref(hits);
                goto out;
            }
            size_t nh = json_array_size(hits);
            json_decref(hits);
            if (nh == 0)
                continue;
        }
        if (json_array_append_new(rows, info_json(&rs.v[i])) != 0) {
            r = -ERR_NOMEM;
            goto out;
        }
    }
    if (!(res = json_pack("{s:O}", "recordings", rows))) {
        r = -ERR_NOMEM;
        goto out;
    }
    {
        json_t *h = cli->json ? NULL : govcli_humanize(res);
        r = cli_print_table(cli, h ? h : res, "recordings", list_cols,
                            sizeof(list_cols) / sizeof(list_cols[0]));
        json_decref(h);
    }
out:
    if (a->val[OPT_TEXT])
        matcher_free(&m);
    json_decref(rows);
    json_decref(res);
    recs_free(&rs);
    return r;
}

static const struct out_col search_cols[] = {
    {"SESSION", "session"}, {"AT", "at"},     {"IDENTITY", "identity"},
    {"TARGET", "target"},   {"LINE", "line"}, {"REPLAY", "replay"},
};

static int rec_search(struct cli *cli, const struct args *a)
{
    struct filter fl;
    struct recs rs = {0};
    struct matcher m;
    json_t *hits = NULL, *res = NULL;
    int r;

    if ((r = filter_make(cli, a, &fl)) != 0 ||
        (r = matcher_make(cli, a->pos[0], a->val[OPT_REGEX], &m)) != 0)
        return r;
    if ((r = recs_load(cli, rec_dir(a), &fl, &rs)) != 0)
        goto out;
    if (!(hits = json_array())) {
        r = -ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < rs.n; i++)
        if ((r = search_one(&rs.v[i], &m, hits)) != 0)
            goto out;
    if (!(res = json_pack("{s:O}", "matches", hits))) {
        r = -ERR_NOMEM;
        goto out;
    }
    r = cli_print_table(cli, res, "matches", search_cols,
                        sizeof(search_cols) / sizeof(search_cols[0]));
out:
    matcher_free(&m);
    json_decref(hits);
    json_decref(res);
    recs_free(&rs);
    return r;
}

/* ---- export and replay ---------------------------------------------------------------------- */

/* Refuse to show a recording whose file does not verify (unfinished ones play to their end). */
static int check_before_use(struct cli *cli, const struct args *a, const struct recf *f)
{
    unsigned char key[32];
    struct rec_verdict v;
    bool have;
    int r;

    if ((r = vault_key(cli, a, key, &have)) != 0)
        return r;
    if ((r = recf_verify(f->path, have ? key : NULL, &v)) != 0)
        return cli_fail(cli, r, "cannot read %s", f->path);
    if (v.kind == REC_V_MODIFIED || v.kind == REC_V_WRONG_KEY)
        return cli_fail(cli, -ERR_TAMPERED, "%s: %s: %s (run 'custos rec verify')",
                        f->info->meta.session, rec_verdict_name(v.kind), v.why);
    if (v.kind == REC_V_INCOMPLETE)
        fprintf(stderr, "custos: %s is unfinished: shown up to where it ends\n",
                f->info->meta.session);
    return 0;
}

struct export_ctx {
    bool cast;
    struct rec_cast c;
    struct rec_text t;
    struct buf out;
    int fd;
};

static int export_flush(struct export_ctx *x, bool force)
{
    int r;

    if (!force && x->out.len < (256u << 10))
        return 0;
    r = out_write_all(x->fd, x->out.data, x->out.len);
    buf_reset(&x->out);
    return r;
}

static int export_event(void *ctx, const struct rec_event *ev)
{
    struct export_ctx *x = ctx;
    int r = x->cast ? rec_cast_event(&x->c, ev, &x->out) : rec_text_event(&x->t, ev, &x->out);

    return r ? r : export_flush(x, false);
}

static int rec_export(struct cli *cli, const struct args *a)
{
    struct recf f;
    struct export_ctx x;
    int r;

    memset(&x, 0, sizeof(x));
    x.fd = STDOUT_FILENO;
    if (!a->val[OPT_ASCIICAST] == !a->val[OPT_PLAIN])
        return cli_usage(cli, "give one of --asciicast or --text");
    x.cast = a->val[OPT_ASCIICAST] != NULL;
    x.c.input = a->val[OPT_INPUT] != NULL;
    rec_text_init(&x.t);
    buf_init(&x.out, 64u << 20);
    if ((r = open_rec(cli, a, a->pos[0], false, &f)) != 0 ||
        (r = check_before_use(cli, a, &f)) != 0 ||
        (r = access_note(cli, a, &f, x.cast ? "export-asciicast" : "export-text")) != 0)
        goto out;
    if (a->val[OPT_OUTPUT] &&
        (x.fd = open(a->val[OPT_OUTPUT], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        r = cli_fail(cli, -ERR_IO, "cannot create %s (it must not exist)", a->val[OPT_OUTPUT]);
        x.fd = STDOUT_FILENO;
        goto out;
    }
    if (x.cast && (r = rec_cast_header(f.info, &x.out)) != 0)
        goto out;
    if ((r = recf_events(&f, f.data_off, export_event, &x)) != 0) {
        r = cli_fail(cli, r, "%s cannot be read to its end", f.path);
        goto out;
    }
    if (!x.cast && (r = rec_text_finish(&x.t, &x.out)) != 0)
        goto out;
    r = export_flush(&x, true);
out:
    if (x.fd != STDOUT_FILENO && close(x.fd) != 0 && r == 0)
        r = cli_fail(cli, -ERR_IO, "cannot write %s", a->val[OPT_OUTPUT]);
    buf_fini(&x.out);
    rec_text_fini(&x.t);
    recf_close(&f);
    return r;
}

static volatile sig_atomic_t replay_stop;

static void on_stop_signal(int sig)
{
    replay_stop = sig;
}

/*
 * Play to this terminal (keys when both ends are one; SIGINT/TERM/HUP end it
 * cleanly) while the whole file is verified beside it: a MODIFIED file or a
 * WRONG KEY stops the play with the verdict.
 */
static int play_here(struct cli *cli, struct recf *f, const struct play_opts *o,
                     const unsigned char *key)
{
    struct sigaction sa, old_int, old_term, old_hup;
    struct rec_verdict v;
    int r;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    r = rec_play_checked(f, o, STDIN_FILENO, STDOUT_FILENO,
                         isatty(STDIN_FILENO) && isatty(STDOUT_FILENO), &replay_stop, key, &v);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    replay_stop = 0;
    if (r == -ERR_TAMPERED)
        return cli_fail(cli, r, "%s: %s: %s; the play was stopped (run 'custos rec verify')",
                        f->info->meta.session, rec_verdict_name(v.kind), v.why);
    return r;
}

static int rec_replay(struct cli *cli, const struct args *a)
{
    struct recf f;
    struct play_opts o = {1.0, 0, 0, true};
    unsigned char key[32];
    bool have = false;
    int r;

    if (a->val[OPT_SPEED]) {
        char *end;
        o.speed = strtod(a->val[OPT_SPEED], &end);
        if (*end || !(o.speed >= 1.0 / 64 && o.speed <= 64))
            return cli_usage(cli, "--speed must be a number from 0.015625 to 64");
    }
    if (a->val[OPT_IDLE]) {
        uint64_t us;
        if (offset_parse(a->val[OPT_IDLE], &us) != 0 || us == 0)
            return cli_usage(cli, "--idle-limit must be a time such as 2 or 1.5 or 2s");
        o.idle_max_us = us;
    }
    if (a->val[OPT_AT] && offset_parse(a->val[OPT_AT], &o.at_us) != 0)
        return cli_usage(cli, "--at must be an offset such as 90, 1:30 or 0:01:30.5");
    o.wait = !a->val[OPT_NO_WAIT];
    if ((r = open_rec(cli, a, a->pos[0], true, &f)) != 0 ||
        (r = vault_key(cli, a, key, &have)) != 0 || (r = access_note(cli, a, &f, "replay")) != 0)
        goto out;
    if (!f.closed)
        fprintf(stderr, "custos: %s is unfinished: shown up to where it ends\n",
                f.info->meta.session);
    if (o.at_us > f.end_us) {
        char end[40];
        offset_format(f.end_us, end, sizeof(end));
        r = cli_usage(cli, "--at is past the end of the recording (%s)", end);
        goto out;
    }
    if ((r = play_here(cli, &f, &o, have ? key : NULL)) != 0 && r != -ERR_CLOSED &&
        r != -ERR_TAMPERED)
        r = cli_fail(cli, r, "%s cannot be played to its end", f.path);
out:
    recf_close(&f);
    return r == -ERR_CLOSED ? 0 : r;
}

/* ---- the family ------------------------------------------------------------------------------ */

#define DIR_HELP                                                                                   \
    "  --dir DIR        the recordings directory (default $CUSTOS_REC_DIR, else\n"                 \
    "                   " CUSTOS_REC_DIR_DEFAULT ")\n"
#define KEY_HELP                                                                                   \
    "  --vault-key K    check the recording key against this vault key (base64)\n"                 \
    "                   instead of asking the vault (op rec.key)\n"                                \
    "  --offline        do not ask the vault: keys are not checked and the access\n"               \
    "                   is not audited\n"
#define FILTER_HELP                                                                                \
    "  --identity I, --target T, --account A, --grant G\n"                                         \
    "  --since TIME, --until TIME   overlapping this time range (ISO 8601 or Unix)\n"

static const struct cli_cmd cmds[] = {
    {"verify", "ID|FILE...", "prove recordings untouched (exit 0 only if all are intact)",
     DIR_HELP KEY_HELP "\nVerdicts: OK, INCOMPLETE (sealed up to its last checkpoint: a crash),\n"
                       "MODIFIED (the first bad byte and its time), WRONG KEY (the vault did not\n"
                       "sign the recording key), MISSING (no file). docs/recording-format.md.\n",
     verify_opts, 1, ARGS_MAX_POS, rec_verify},
    {"info", "ID|FILE", "show a recording's header and size", DIR_HELP, info_opts, 1, 1, rec_info},
    {"list", "[filters] [--text PATTERN [--regex]]", "list recordings, oldest first",
     DIR_HELP FILTER_HELP "  --text PATTERN   only recordings with a command matching it\n",
     list_opts, 0, 0, rec_list},
    {"search", "PATTERN [--regex] [filters]",
     "find typed lines and exec commands across recordings",
     "PATTERN is a glob over whole command lines ('*rm -rf*'), or with --regex a\n"
     "POSIX extended regular expression matched anywhere. Each match gives the line\n"
     "to replay it: custos replay ID --at OFFSET.\n" DIR_HELP FILTER_HELP,
     search_opts, 1, 1, rec_search},
    {"export", "ID|FILE --asciicast|--text [--input] [-o FILE]",
     "write asciicast v2 (for asciinema) or a plain transcript",
     "  --asciicast      asciicast v2; --input adds the keystrokes that were not masked\n"
     "  --text           the output as plain lines, escape sequences removed\n"
     "  -o FILE          write to FILE (created 0600; it must not exist)\n" DIR_HELP KEY_HELP,
     export_opts, 1, 1, rec_export},
    {"replay", "ID|FILE [--speed X] [--idle-limit T] [--at OFFSET] [--no-wait]",
     "play a recording in the terminal with its timing",
     "  --speed X        1 is the original timing (1/64 to 64)\n"
     "  --idle-limit T   cut longer pauses to T (seconds, or 1m30s)\n"
     "  --at OFFSET      start there: 90, 1:30, 0:01:30.5 or 1m30s\n"
     "  --no-wait        write it all at once\n"
     "Keys: space pause, + faster, - slower, left/right 5 s, up/down 1 min,\n"
     "n next keystroke, q quit.\n" DIR_HELP KEY_HELP,
     replay_opts, 1, 1, rec_replay},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_rec_family = {
    "rec",
    "session recordings: verify, info, list, search, export, replay",
    cmds,
};
