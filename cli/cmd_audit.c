/* SPDX-License-Identifier: Apache-2.0 */
/* custos audit: verify the hash-chained audit log and export it as JSON lines. */
#include <string.h>

#include "cli.h"

enum {
    OPT_AFTER = ARGS_ID_LOCAL,
    OPT_LIMIT,
};

static const struct args_opt export_opts[] = {
    {"after", 0, true, OPT_AFTER},
    {"limit", 0, true, OPT_LIMIT},
    {NULL, 0, false, 0},
};

#define AUDIT_PAGE 1000ul /* the daemon's default page */
#define AUDIT_SEQ_MAX 9007199254740991ul

static int clean_str(const char *key, const json_t *v, struct buf *b)
{
    buf_reset(b);
    return out_value_format(key, v, b);
}

static int verify_human(struct cli *cli, const json_t *res)
{
    int r = 0;
    const json_t *head = json_object_get(res, "head");
    const json_t *err = json_object_get(res, "error");
    struct buf s;

    buf_init(&s, 4096);
    if (json_is_true(json_object_get(res, "ok"))) {
        printf("OK: %" JSON_INTEGER_FORMAT " entries, %" JSON_INTEGER_FORMAT " checkpoints\n",
               json_integer_value(json_object_get(res, "entries")),
               json_integer_value(json_object_get(res, "checkpoints")));
        if (json_is_object(head)) {
            if ((r = clean_str("hash", json_object_get(head, "hash"), &s)) != 0)
                goto out;
            printf("head: seq %" JSON_INTEGER_FORMAT " hash %s\n",
                   json_integer_value(json_object_get(head, "seq")), s.data);
        }
    } else {
        if ((r = clean_str("reason", json_object_get(err, "reason"), &s)) != 0)
            goto out;
        printf("FAILED: first bad entry seq %" JSON_INTEGER_FORMAT ": %s\n",
               json_integer_value(json_object_get(err, "seq")), s.data);
    }
    if ((r = clean_str("pubkey", json_object_get(res, "pubkey"), &s)) != 0)
        goto out;
    printf("audit public key: %s\n", s.data);
out:
    buf_fini(&s);
    return r;
}

static int audit_verify(struct cli *cli, const struct args *a)
{
    int r = 0;
    json_t *res = NULL;

    if ((r = cli_call(cli, "audit.verify", NULL, &res)) != 0)
        goto out;
    if ((r = cli_print(cli, res, verify_human)) != 0)
        goto out;
    if (!json_is_true(json_object_get(res, "ok"))) {
        cli->reported = true; /* the report above says why; exit status 1 */
        r = -ERR_TAMPERED;
    }
out:
    json_decref(res);
    return r;
}

static int audit_export(struct cli *cli, const struct args *a)
{
    int r = 0;
    unsigned long after = 0, limit = 0, left = 0;
    bool bounded = a->val[OPT_LIMIT] != NULL;
    json_t *args = NULL, *res = NULL;

    if (a->val[OPT_AFTER] && args_parse_uint(a->val[OPT_AFTER], 0, AUDIT_SEQ_MAX, &after) != 0) {
        r = cli_usage(cli, "--after wants a sequence number");
        goto out;
    }
    if (bounded && args_parse_uint(a->val[OPT_LIMIT], 1, AUDIT_SEQ_MAX, &limit) != 0) {
        r = cli_usage(cli, "--limit wants a positive number of entries");
        goto out;
    }
    left = limit;
    /* Page through the log; --limit bounds the total, not the page. */
    for (;;) {
        const json_t *entries, *next, *last;
        size_t n;
        unsigned long page = bounded && left < AUDIT_PAGE ? left : AUDIT_PAGE;

        if (!(args = json_object()) ||
            (r = cli_set(args, "after", json_integer((json_int_t)after))) != 0 ||
            (r = cli_set(args, "limit", json_integer((json_int_t)page))) != 0) {
            r = -ERR_NOMEM;
            goto out;
        }
        if ((r = cli_call(cli, "audit.export", args, &res)) != 0)
            goto out;
        entries = json_object_get(res, "entries");
        next = json_object_get(res, "next");
        if (!json_is_array(entries)) {
            r = cli_fail(cli, -ERR_PARSE, "unexpected answer: no entries");
            goto out;
        }
        n = json_array_size(entries);
        for (size_t i = 0; i < n; i++)
            if ((r = out_json(json_array_get(entries, i))) != 0) {
                cli_fail(cli, r, "cannot write to stdout");
                goto out;
            }
        if (bounded)
            left -= n < left ? n : left;
        /* "next": null is the end.  Resume after the last seq printed, so a
         * page is never repeated or skipped whatever "next" counts from. */
        last = json_object_get(json_array_get(entries, n ? n - 1 : 0), "seq");
        if (!json_is_integer(last))
            last = next;
        if (n == 0 || !json_is_integer(next) || (bounded && left == 0) || !json_is_integer(last) ||
            json_integer_value(last) <= (json_int_t)after)
            goto out;
        after = (unsigned long)json_integer_value(last);
        json_decref(args);
        json_decref(res);
        args = res = NULL;
    }
out:
    json_decref(args);
    json_decref(res);
    return r;
}

static const struct cli_cmd cmds[] = {
    {"verify", "", "check the hash chain and signed checkpoints of the audit log",
     "Prints OK with the entry and checkpoint counts and the audit public key, or the\n"
     "sequence number of the first bad entry and the reason. Exit status 1 when the log\n"
     "does not verify. Compare the public key with the one you recorded at install.\n\n"
     "Example:\n"
     "  custos audit verify || page-oncall 'audit log tampered'\n",
     NULL, 0, 0, audit_verify},
    {"export", "[--after N] [--limit N]", "print audit entries as JSON lines",
     "One JSON object per line on stdout, oldest first. Entries never hold secret values.\n\n"
     "  --after N  start after sequence number N (default 0: from the start)\n"
     "  --limit N  print at most N entries (default: all, fetched page by page)\n\n"
     "The output is JSON lines with or without --json.\n\n"
     "Example:\n"
     "  custos audit export --after 1200 > audit-since-1200.jsonl\n",
     export_opts, 0, 0, audit_export},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const struct cli_family cmd_audit_family = {
    "audit",
    "verify and export the audit log",
    cmds,
};
