/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the custos gov command files: argument building, display and the nested families. */
#ifndef CUSTOS_CLI_CMD_GOV_H
#define CUSTOS_CLI_CMD_GOV_H

#include "cli.h"

/* Bounds of repeated options (--group, --entitlement, --match, --role). */
#define GOV_REPEAT_MAX 64

/* A row of a table: columns read from the humanized row; derive may add computed members. */
typedef int (*gov_derive_fn)(json_t *human, const json_t *raw);

/* *args = {} (the error is reported). */
MUST_CHECK int gov_args_new(struct cli *cli, json_t **args);

/* args[key] = val when val is non-NULL; text that is not UTF-8 is a usage error naming `what`. */
MUST_CHECK int gov_set_str(struct cli *cli, json_t *args, const char *key, const char *val,
                           const char *what);

/* args[key] = the duration `val` in seconds, when non-NULL; a malformed one is a usage error. */
MUST_CHECK int gov_set_duration(struct cli *cli, json_t *args, const char *key, const char *val,
                                const char *what);

/* args[key] = true when the flag is given. */
MUST_CHECK int gov_set_flag(json_t *args, const char *key, const char *flag);

/* args[key] = [every value of repeatable option id] (skipping empty ones); nothing if absent. */
MUST_CHECK int gov_set_repeated(struct cli *cli, json_t *args, const char *key, int id,
                                const char *what);

/* Words pos[from..npos) joined by single spaces into args[key]; usage error if `required` and none.
 */
MUST_CHECK int gov_set_words(struct cli *cli, json_t *args, const char *key, const struct args *a,
                             int from, bool required, const char *what);

/* {key: val} as a new args object (val checked as gov_set_str). */
MUST_CHECK int gov_args_one(struct cli *cli, const char *key, const char *val, json_t **args);

/* Call op and print the result object as "key: value" lines (times and durations for people). */
MUST_CHECK int gov_call_show(struct cli *cli, const char *op, json_t *args,
                             const char *const *order);

/* Call op and print member `member` of the result as a table. */
MUST_CHECK int gov_call_list(struct cli *cli, const char *op, json_t *args, const char *member,
                             const struct out_col *cols, size_t ncols, gov_derive_fn derive);

/* Print an object for people (humanized, then derive; members in `hide` left out). */
MUST_CHECK int gov_object_print(FILE *f, const json_t *obj, const char *const *order,
                                const char *const *hide, gov_derive_fn derive);

/* Print rows (array of objects) as a table for people; "(none)" when empty. */
MUST_CHECK int gov_table_print(FILE *f, const json_t *rows, const struct out_col *cols,
                               size_t ncols, gov_derive_fn derive);

/* "\nTitle:\n" then the table of rows (objects), or the values joined, or "(none)". */
MUST_CHECK int gov_section_print(FILE *f, const char *title, const json_t *rows,
                                 const struct out_col *cols, size_t ncols, gov_derive_fn derive);

/* A "deleted" answer, for people: "<what> deleted." */
MUST_CHECK int gov_call_delete(struct cli *cli, const char *op, const char *key, const char *name,
                               const char *what);

/* Read a whole non-secret file (PATH, or "-": stdin), at most max bytes.  Errors reported. */
MUST_CHECK int gov_file_read(struct cli *cli, const char *path, size_t max, struct buf *out);

/* Member key of o for people (as in tables: names joined, times ISO 8601, '?' for control
 * characters, "-" when absent), NUL-terminated in dst (reset first). */
MUST_CHECK int gov_text(const json_t *o, const char *key, struct buf *dst);

/* Shared columns. */
extern const struct out_col gov_grant_cols[6];
extern const struct out_col gov_request_cols[7];
extern const struct out_col gov_item_cols[6];
int gov_request_derive(json_t *human, const json_t *raw);
int gov_item_derive(json_t *human, const json_t *raw);

/* Nested families (cmd_gov_admin.c, cmd_gov_review.c, cmd_gov.c). */
extern const struct cli_family gov_identity_family;
extern const struct cli_family gov_identity_key_family;
extern const struct cli_family gov_identity_totp_family;
extern const struct cli_family gov_identity_role_family;
extern const struct cli_family gov_role_family;
extern const struct cli_family gov_rule_family;
extern const struct cli_family gov_sod_family;
extern const struct cli_family gov_sod_exception_family;
extern const struct cli_family gov_auto_family;
extern const struct cli_family gov_campaign_family;
extern const struct cli_family gov_grant_family;

/* Leaves of `custos gov` implemented in cmd_gov_review.c. */
extern const struct args_opt gov_reviews_opts[];
extern const struct args_opt gov_decide_opts[];
extern const struct args_opt gov_sync_opts[];
extern const struct args_opt gov_who_could_opts[];
int gov_reviews_run(struct cli *cli, const struct args *a);
int gov_certify_run(struct cli *cli, const struct args *a);
int gov_revoke_run(struct cli *cli, const struct args *a);
int gov_sync_run(struct cli *cli, const struct args *a);
int gov_history_run(struct cli *cli, const struct args *a);
int gov_who_could_run(struct cli *cli, const struct args *a);

#endif
