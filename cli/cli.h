/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces of the custos command-line tool: options, output, secrets, commands. */
#ifndef CUSTOS_CLI_H
#define CUSTOS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "custos/buf.h"
#include "custos/client.h"
#include "custos/err.h"
#include "custos/secbuf.h"

/*
 * Exit statuses, part of the tool's contract with scripts (docs/cli.md).
 */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,   /* the vault (or a local step) reported a failure */
    CLI_EXIT_USAGE = 2,  /* bad command line */
    CLI_EXIT_CONN = 3,   /* cannot connect, connection lost, timeout */
    CLI_EXIT_SEALED = 4, /* vault sealed or not initialized */
    CLI_EXIT_DENIED = 5, /* denied or auth_failed */
};

/* ---- args.c: command-line options (pure, no I/O) ---------------------- */

/* Option ids shared by every level; command tables use ids >= ARGS_ID_LOCAL. */
enum args_global_id {
    ARGS_ID_HELP = 0,
    ARGS_ID_SOCKET,
    ARGS_ID_JSON,
    ARGS_ID_TIMEOUT,
    ARGS_ID_VERSION,
    ARGS_ID_LOCAL = 8,
};

#define ARGS_MAX_IDS 32
#define ARGS_MAX_POS 64 /* free-text words: custos gov request ACCOUNT DURATION REASON... */

/* One option: "--name", optional "-c", with or without a value.  Tables end with name == NULL. */
struct args_opt {
    const char *name;
    char shortc; /* 0: none */
    bool has_arg;
    int id; /* index into args.val, < ARGS_MAX_IDS */
};

/* Result of args_parse.  Pointers borrow argv (valid for the process lifetime). */
struct args {
    const char *val[ARGS_MAX_IDS]; /* value, "" for a flag, NULL when absent */
    const char *pos[ARGS_MAX_POS]; /* positional arguments in order */
    int npos;
    int next;      /* stop mode: index in argv of the first argument not consumed */
    char err[160]; /* why parsing failed (for the usage message) */
};

/*
 * Parse argv[0..argc) against the NULL-terminated list of option tables
 * `tables` (each itself ending with name == NULL).  `--name=value`, `--name
 * value`, `-c value`, `-cvalue` and `--` are accepted.  With `stop` set,
 * parsing ends at the first positional argument (its index goes to a->next,
 * it is not stored); otherwise options and positionals may be mixed and at
 * most ARGS_MAX_POS positionals are kept.  A later occurrence of an option
 * replaces an earlier one.  `a` must be zeroed (or hold earlier results to
 * be updated).  Returns 0, or -ERR_INVAL with a->err set.
 */
/* The option named `name` (len bytes, no leading "--") or with short letter c; NULL if none. */
const struct args_opt *args_find_long(const struct args_opt *const *tables, const char *name,
                                      size_t len);
const struct args_opt *args_find_short(const struct args_opt *const *tables, char c);
MUST_CHECK int args_parse(struct args *a, const struct args_opt *const *tables, int argc,
                          char **argv, bool stop);

/* Decimal integer in [min, max] (no sign, no spaces): 0 or -ERR_INVAL. */
MUST_CHECK int args_parse_uint(const char *s, unsigned long min, unsigned long max,
                               unsigned long *out);

/* "N/K" for --shamir: 2 <= K <= N <= 255.  0 or -ERR_INVAL. */
MUST_CHECK int args_parse_shares(const char *s, unsigned *n, unsigned *k);

/*
 * Split an account id "NAME@TARGET" into its parts, copied into name/target
 * (each of size ARGS_NAME_MAX + 1).  Both parts must be non-empty and
 * contain no '@'.  0 or -ERR_INVAL.
 */
#define ARGS_NAME_MAX 64
MUST_CHECK int args_split_account(const char *id, char *name, char *target);

/*
 * Make `path` absolute against `cwd` (itself absolute), without touching the
 * file system: "a/b" -> "<cwd>/a/b"; an absolute path is copied.  Appends to
 * out.  0, -ERR_INVAL (empty path, cwd not absolute) or -ERR_TOO_LONG.
 */
MUST_CHECK int args_path_absolute(const char *cwd, const char *path, struct buf *out);

/* Map an error (0 or negative ERR_*) to the process exit status. */
enum cli_exit args_exit_status(int r);

/* ---- out.c: human and JSON output ------------------------------------ */

/* A table column: its header and the member of each row object it shows. */
struct out_col {
    const char *title;
    const char *key;
};

/* Free a string from json_dumps with jansson's (wiping) allocator; NULL is fine. */
void out_dump_free(char *s);

/* ISO 8601 UTC, "2024-05-01T12:00:00Z", into dst (at least OUT_TIME_LEN bytes). */
#define OUT_TIME_LEN 32
void out_time_format(long long t, char *dst, size_t n);

/*
 * Append the human form of member `key` with value `v` to `dst`: strings with
 * control characters replaced by '?', integers (as ISO 8601 times when the key
 * is a timestamp such as created_at), null or absent as "-", booleans as
 * yes/no, objects and arrays as compact JSON.
 */
MUST_CHECK int out_value_format(const char *key, const json_t *v, struct buf *dst);

/* Aligned table of `rows` (array of objects), with a header line. */
MUST_CHECK int out_table(FILE *f, const struct out_col *cols, size_t ncols, const json_t *rows);

/*
 * "key: value" lines for object `obj`, keys aligned; members named in `order`
 * (NULL-terminated, may be NULL) first, then every other member.
 */
MUST_CHECK int out_object(FILE *f, const json_t *obj, const char *const *order);

/* `v` as one compact JSON line on stdout (written with write(2), no stdio copy). */
MUST_CHECK int out_json(const json_t *v);

/* Write exactly len bytes to fd (stdout flushed first when fd is 1). */
MUST_CHECK int out_write_all(int fd, const void *data, size_t len);

/* ---- cmd_gov_util.c: pure helpers of the governance commands --------- */

/*
 * Every value of option `id` in argv[0..argc), in order, walking the options
 * exactly as args_parse does (tables: as given to it).  At most `max` into
 * vals; *n is the count.  0, -ERR_TOO_LONG (more than max) or -ERR_INVAL.
 */
MUST_CHECK int govcli_opt_values(const struct args_opt *const *tables, int argc, char **argv,
                                 int id, const char **vals, size_t max, size_t *n);

/* Durations are shown with gov_duration_format (custos/gov.h), as over SSH. */

/*
 * A point in time: ISO 8601 "YYYY-MM-DD[(T| )HH:MM[:SS]][Z|+HH:MM|-HH:MM]"
 * (no offset: UTC; date alone: midnight UTC), or, when allow_unix, Unix
 * seconds as a decimal integer.  0 or -ERR_INVAL.
 */
MUST_CHECK int govcli_time_parse(const char *s, bool allow_unix, long long *t);

/*
 * An entitlement from its command-line spec
 *   PATTERN:DURATION[:APPROVAL][:break-glass][:file-transfer]
 * APPROVAL: none | manager | owner | group=NAME, optionally followed by "*2"
 * (two distinct approvers).  *out: new object {"account", "max_duration",
 * "approval": {"by", "count"[, "group"]} (only when given), "break_glass",
 * "file_transfer"}.  0, or -ERR_INVAL with `why` set (one sentence).
 */
MUST_CHECK int govcli_entitlement_parse(const char *spec, json_t **out, char *why, size_t whylen);

/* The APPROVAL part of a spec ("manager", "group=dba*2") for an approval object, appended. */
MUST_CHECK int govcli_approval_format(const json_t *approval, struct buf *dst);

/* The spec form of an entitlement object (inverse of govcli_entitlement_parse), appended. */
MUST_CHECK int govcli_entitlement_format(const json_t *ent, struct buf *dst);

/*
 * A campaign scope: "all", "privileged", "department=D" or "target=T".
 * *out: new {"kind"[, "value"]}.  0 or -ERR_INVAL.
 */
MUST_CHECK int govcli_scope_parse(const char *s, json_t **out);

/*
 * A copy of `v` for people: members that hold times (created_at, start,
 * since, until, at, deadline, decide_by, ...) become ISO 8601 strings,
 * durations (duration, max_duration) become "1h30m", arrays of strings
 * become "a, b", empty strings and arrays null ("-").  Deep; NULL on
 * allocation failure.
 */
json_t *govcli_humanize(const json_t *v);

/*
 * The per-line errors of a refused HR file ([{line, message}]) as
 * "FILE:LINE: message" lines (line 0: "FILE: message"), control characters
 * shown as '?'.  Appended to dst.
 */
MUST_CHECK int govcli_sync_errors_format(const char *file, const json_t *errors, struct buf *dst);

/* ---- prompt.c: reading secrets (never from argv) -------------------- */

#define PROMPT_LINE_MAX 1024u   /* passphrase or Shamir share */
#define PROMPT_VALUE_MAX 32768u /* secret value for secret.put */

/*
 * Read one secret line: from the first line of `file` when non-NULL;
 * otherwise, when stdin is a terminal, from /dev/tty with echo off, showing
 * `prompt` (and asking again with `confirm` when non-NULL, the two must
 * match); otherwise one line from stdin.  The line ending ("\n" or "\r\n")
 * is removed; an empty line is refused.  On failure *why names the reason
 * (static string).  *out owned by the caller (secbuf_free).  A terminating
 * signal during the terminal read restores the terminal and returns
 * -ERR_CLOSED; prompt_signal_caught() then names it.
 */
MUST_CHECK int prompt_line_read(const char *prompt, const char *confirm, const char *file,
                                struct secbuf **out, const char **why);

/*
 * Read a whole secret value, at most PROMPT_VALUE_MAX bytes, from `file`
 * when non-NULL, else from stdin (which must not be a terminal).  Nothing
 * is stripped.  *out owned by the caller.
 */
MUST_CHECK int prompt_all_read(const char *file, struct secbuf **out, const char **why);

/* Remove one final "\n" from b, if present. */
void prompt_newline_strip(struct secbuf *b);

/* True when stdin is a terminal (secrets are then read from /dev/tty). */
bool prompt_is_tty(void);

/* Signal that interrupted a terminal read (0: none); main re-raises it after cleanup. */
int prompt_signal_caught(void);

/* ---- cli.c: run-time context, calls, errors ------------------------- */

struct cli {
    const char *socket;    /* borrowed from argv or the environment */
    int timeout_ms;        /* 0: client default */
    bool json;             /* --json: raw result JSON */
    bool reported;         /* an error message was printed already */
    bool usage_failed;     /* the failure was a usage error (exit 2) */
    const char *cmd_path;  /* "vault init", for usage hints */
    struct client *client; /* connected on first call */
    /* The running command's arguments and options, for repeatable options (cli_opt_values). */
    int cmd_argc;
    char **cmd_argv;
    const struct args_opt *cmd_opts;
};

/*
 * One subcommand: `custos FAMILY NAME ...`.  A subcommand whose run is NULL
 * is a group: its subcommands are the nested family named "FAMILY NAME"
 * (listed in cmd_gov_nested), e.g. `custos gov identity create`.
 */
struct cli_cmd {
    const char *name;
    const char *synopsis;        /* arguments after the name, for usage lines */
    const char *summary;         /* one line */
    const char *help;            /* details printed by --help (may be NULL) */
    const struct args_opt *opts; /* may be NULL */
    int min_pos, max_pos;
    /* Returns 0 or a negative ERR_*; failures are reported with cli_fail/cli_usage. */
    int (*run)(struct cli *cli, const struct args *a);
};

/* A command family: `custos FAMILY ...`; cmds ends with name == NULL. */
struct cli_family {
    const char *name;
    const char *summary;
    const struct cli_cmd *cmds;
};

void cli_init(struct cli *cli);
/* Close the connection. */
void cli_fini(struct cli *cli);

/*
 * Send op with args (borrowed; NULL: none) and return the result (new
 * reference) in *result.  On failure the error is printed
 * ("custos: <message> (<code>)") and returned.
 */
MUST_CHECK int cli_call(struct cli *cli, const char *op, json_t *args, json_t **result);

/* As cli_call, but an error answer is returned without being printed. */
MUST_CHECK int cli_call_quiet(struct cli *cli, const char *op, json_t *args, json_t **result,
                              char **errmsg);

/* As cli_call_quiet, but an error answer comes back as the whole error object (new ref). */
MUST_CHECK int cli_call_error(struct cli *cli, const char *op, json_t *args, json_t **result,
                              json_t **error);

/* Print "custos: <message> (<code of r>)" and return r (negative). */
int cli_fail(struct cli *cli, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print a usage error and a hint to --help; returns -ERR_INVAL; the exit status becomes 2. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print result: raw JSON with --json, else `human(cli, result)`. */
MUST_CHECK int cli_print(struct cli *cli, const json_t *result,
                         int (*human)(struct cli *cli, const json_t *result));

/* Print an object as key: value lines (or raw JSON with --json). */
MUST_CHECK int cli_print_object(struct cli *cli, const json_t *obj, const char *const *order);

/* Print member `member` of result as a table (or the raw result with --json). */
MUST_CHECK int cli_print_table(struct cli *cli, const json_t *result, const char *member,
                               const struct out_col *cols, size_t ncols);

/* `op` with an optional {"target"} filter, its `key` array printed as a table (list commands). */
MUST_CHECK int cli_list_by_target(struct cli *cli, const char *target, const char *op,
                                  const char *key, const struct out_col *cols, size_t ncols);

/* json_object_set_new that reports -ERR_NOMEM (and accepts value == NULL as failure). */
MUST_CHECK int cli_set(json_t *obj, const char *key, json_t *value);

/* Parse `text` (--meta, may be NULL: nothing to do) as a JSON object into args.meta. */
MUST_CHECK int cli_meta_set(struct cli *cli, json_t *args, const char *text);

/*
 * Every value of option `id` of the running command, in command-line order,
 * for options that may be repeated (--group a --group b); args_parse keeps
 * only the last.  At most `max` into vals; *n is the count.  0 or
 * -ERR_TOO_LONG (more than max).
 */
MUST_CHECK int cli_opt_values(const struct cli *cli, int id, const char **vals, size_t max,
                              size_t *n);

/* Run `custos ...` with argv after the program name; returns the exit status. */
enum cli_exit cli_main(struct cli *cli, int argc, char **argv);

/* ---- command families ------------------------------------------------ */

extern const struct cli_family cmd_vault_family;
extern const struct cli_family cmd_target_family;
extern const struct cli_family cmd_account_family;
extern const struct cli_family cmd_secret_family;
extern const struct cli_family cmd_audit_family;
extern const struct cli_family cmd_gov_family;
extern const struct cli_family cmd_rotate_family;
extern const struct cli_family cmd_session_family;
extern const struct cli_family cmd_rec_family;
/* Families reached through a group subcommand ("gov identity", ...); ends with NULL. */
extern const struct cli_family *const cmd_gov_nested[];

#endif
