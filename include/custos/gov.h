/* SPDX-License-Identifier: Apache-2.0 */
/* Governance policy logic: pure functions over JSON objects, no I/O (docs/governance.md). */
#ifndef CUSTOS_GOV_H
#define CUSTOS_GOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/err.h"

/*
 * Every object is a jansson value shaped as docs/governance.md says.  Inputs
 * are borrowed; outputs are new references owned by the caller.  Functions
 * that explain a refusal write one human sentence to `why` (never a secret)
 * and return a negative ERR_*: -ERR_INVAL (malformed input), -ERR_DENIED
 * (policy says no).  Times are Unix seconds (json_int_t).
 */

/* ---- names and patterns ---- */

#define GOV_NAME_MAX 64u     /* identity, role, rule, group, target and account names */
#define GOV_PATTERN_MAX 129u /* NAME@TARGET */
#define GOV_TEXT_MAX 1024u   /* free text: display name, department, title, description */
#define GOV_EMAIL_MAX 254u
#define GOV_LIST_MAX 256u           /* groups, keys, role assignments, entitlements per object */
#define GOV_DURATION_MAX 2592000u   /* 30 days: the longest max_duration of an entitlement */
#define GOV_EXCEPTION_MAX 31536000u /* 365 days: the longest life of an SoD exception */

/* 1..64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool gov_name_is_valid(const char *s);
/*
 * Glob over account ids: '*' any run (also empty), '?' one char, others literal.
 * Bytes, case-sensitive; O(len(pattern) * len(s)) at worst, no recursion.
 * NULL never matches.
 */
bool gov_glob_match(const char *pattern, const char *s);
/* As gov_glob_match, but '*' and '?' never match a character of `never`
   (literal characters of the pattern still match themselves). */
bool gov_glob_match_except(const char *pattern, const char *s, const char *never);
/* A pattern: 1..129 chars of name chars plus '@', '*', '?', exactly one '@'. */
bool gov_pattern_is_valid(const char *pattern);
/*
 * A duration as people type it (CLI, self-service over SSH): one or more
 * NUMBER UNIT pairs, units d, h, m, s in that order, each at most once
 * ("90m", "1h30m", "7d", "45s").  A bare number is refused (minutes or
 * seconds?).  0 < *secs <= GOV_DURATION_PARSE_MAX.  0 or -ERR_INVAL.
 */
#define GOV_DURATION_PARSE_MAX (100ll * 366 * 86400)
MUST_CHECK int gov_duration_parse(const char *s, long long *secs);
/*
 * The one way a duration is shown to people (CLI tables, self-service over SSH, the menu,
 * refusal reasons): d, h, m, s from the largest, zero parts left out ("1d2h", "1h30m",
 * "90s" -> "1m30s", "8h"); 0 or less is "0s".  gov_duration_parse reads it back.  An out of
 * GOV_DURATION_LEN bytes always suffices.
 */
#define GOV_DURATION_LEN 32
void gov_duration_format(long long secs, char *out, size_t outlen);
/* An account id "NAME@TARGET" where both parts are valid names. */
bool gov_account_is_valid(const char *account);
/*
 * Is there a string both globs match?  (For an account id without wildcards
 * this is gov_glob_match.)  Used where a held "account" is itself a pattern,
 * e.g. a standing role's entitlement against an SoD side.  O(len(a) *
 * len(b)); false when either is NULL or longer than GOV_OVERLAP_MAX.
 */
#define GOV_OVERLAP_MAX 1024u
bool gov_patterns_overlap(const char *a, const char *b);
/* local@domain: one '@', both parts non-empty, no blanks or controls, <= 254 bytes. */
bool gov_email_is_valid(const char *s);

/* ---- validation (fill defaults, check types and values) ---- */

/*
 * Each checks one object as created through the API and fills defaults in
 * place (role: kind "requestable", description "", entitlements' approval
 * {"by":"manager","count":1}, break_glass false, file_transfer false,
 * max_duration 3600; identity: groups [], keys [], state "active", totp
 * false).  0, or -ERR_INVAL with `why` naming the field.
 *
 * Decisions (documented here, as the contract):
 * - Unknown fields are errors (a misspelt "manger" is not dropped).  Besides
 *   the fields of docs/governance.md every object may carry created_at and
 *   updated_at, so a stored object passes the check again.
 * - Free text (name, email, department, title, description) is a string or
 *   null of at most GOV_TEXT_MAX bytes; lists at most GOV_LIST_MAX entries,
 *   names in a list appear once.
 * - identity: id required; email, when a non-empty string, must pass
 *   gov_email_is_valid; manager is a name and not the id itself; source is a
 *   name ("hr" marks HR-sourced identities); keys are {"key", "fp"} with fp
 *   computed when missing and checked when given, each key once; roles are
 *   {"role", "source": "manual"|"rule:NAME", "since"}.
 * - role: name and entitlements (an array, may be empty) required; owner an
 *   optional name; entitlement account must pass gov_pattern_is_valid;
 *   max_duration 1..GOV_DURATION_MAX; approval.by none has count 0 (filled),
 *   manager and owner count 1 (2 is refused: one person can never be two
 *   distinct approvers), group count 1 or 2 and a "group" name.
 * - rule (birthright): name, match (1..5 of department/title/email/manager/
 *   group, non-empty glob strings) and roles (1.. names) required.
 * - sod: name, a, b (gov_sod_side_is_valid, a != b) and owner required;
 *   severity low|medium|high|critical (default "medium"); description "".
 * - auto: name, group, account (pattern) required; max_duration default 3600.
 * On error the object may already hold some of the defaults.
 */
MUST_CHECK int gov_identity_check(json_t *identity, char *why, size_t whylen);
MUST_CHECK int gov_role_check(json_t *role, char *why, size_t whylen);
MUST_CHECK int gov_rule_check(json_t *rule, char *why, size_t whylen);
MUST_CHECK int gov_sod_check(json_t *sod, char *why, size_t whylen);
MUST_CHECK int gov_auto_check(json_t *rule, char *why, size_t whylen);

/* An SoD side: "role:NAME" or "account:PATTERN". */
bool gov_sod_side_is_valid(const char *side);

/*
 * Check an SoD exception {"id"?, "rule", "identity", "reason", "approved_by"?,
 * "created_at"?, "expires_at"} that `actor` (identity id) creates at `now`
 * for `rule` (the SoD rule object).  reason non-empty; now < expires_at <=
 * now + GOV_EXCEPTION_MAX; approved_by, when given, is the actor.  Fills
 * approved_by = actor and created_at = now.  -ERR_INVAL (malformed) or
 * -ERR_DENIED when actor is not the rule's owner.
 */
MUST_CHECK int gov_sod_exception_check(json_t *exc, const json_t *rule, const char *actor,
                                       json_int_t now, char *why, size_t whylen);
/* Is the exception live at `now` (now < expires_at)? */
bool gov_exception_is_live(const json_t *exc, json_int_t now);

/*
 * Lifecycle: may an identity go from `from` to `to`?  (left is terminal.)
 * Allowed: pending->active, active<->suspended, and pending, active or
 * suspended -> left (a leaver may be in any live state).  Staying in the same
 * state is not a transition (false); unknown states give false.
 */
bool gov_lifecycle_allowed(const char *from, const char *to);

/* ---- keys ---- */

/*
 * SHA256 fingerprint of an OpenSSH public key line ("ssh-ed25519 AAAA... c"),
 * as ssh-keygen -lf prints it: "SHA256:" + unpadded base64 of SHA-256 of the
 * decoded blob.  -ERR_INVAL for a line that is not a public key.  fp must
 * hold at least GOV_FP_MAX bytes.
 * Accepted: "TYPE BASE64 [comment]" separated by blanks, leading blanks and
 * one trailing line ending allowed, at most 16 KiB; the base64 is the
 * padded standard alphabet and the blob's first string (RFC 4253 6.6) must
 * equal TYPE.  authorized_keys options before TYPE are refused.  fplen <
 * GOV_FP_MAX is -ERR_INVAL; fp is written only on success.
 */
#define GOV_FP_MAX 64u
MUST_CHECK int gov_key_fingerprint(const char *pubkey_line, char *fp, size_t fplen);
/* "SHA256:" followed by exactly 43 unpadded base64 characters. */
bool gov_fp_is_valid(const char *fp);

/* ---- eligibility ---- */

/*
 * Among `roles` (array of role objects the identity holds), find the
 * entitlement that lets it reach `account`:
 *   mode "request":    requestable or standing roles, max_duration >= duration;
 *                      the least approval wins (none < 1 < 2), then the
 *                      longest max_duration;
 *   mode "standing":   standing roles only (duration ignored);
 *   mode "breakglass": entitlements with break_glass true, duration <= max.
 * On success *role and *entitlement are new references (copies).  -ERR_DENIED
 * with `why` ("no role of yours covers root@db02", "longest allowed is 4h").
 * Decisions: a role without "kind" counts as requestable, an entitlement
 * without approval as by manager (count 1), without max_duration as 3600
 * (the gov_role_check defaults); roles of another kind are ignored.  Equal
 * candidates keep the first in array order.  "standing" prefers an
 * entitlement with file_transfer true (holding any such role allows it);
 * "breakglass" takes any kind of role and prefers the longest max_duration.
 * -ERR_INVAL for an unknown mode or, outside "standing", duration <= 0.
 */
MUST_CHECK int gov_entitlement_find(const json_t *roles, const char *account, json_int_t duration,
                                    const char *mode, json_t **role, json_t **entitlement,
                                    char *why, size_t whylen);

/* ---- approvals ---- */

/*
 * Who may approve a request with `approval` ({"by","group","count"}):
 * requester (identity), target (target object or NULL), members (array of
 * identity objects of approval.group, or NULL), identities (object id ->
 * identity, for the manager lookup).  Only active identities, never the
 * requester.  *approvers: new array of ids.  -ERR_DENIED when fewer than
 * `count` approvers exist ("your manager is not active", "target web01 has
 * no owner").  by "none": an empty array and 0.
 * Decisions: for by "group", only members whose "groups" list approval.group
 * count (whatever else `members` holds); each approver is listed once.  The
 * requester never approves, so owning the target yourself is -ERR_DENIED.
 */
MUST_CHECK int gov_approvers_resolve(const json_t *approval, const json_t *requester,
                                     const json_t *target, const json_t *members,
                                     const json_t *identities, json_t **approvers, char *why,
                                     size_t whylen);

/*
 * May `approver` (identity object) approve `request` now?  Checks: request
 * pending; approver active and listed in request.approvers; not the
 * requester; not already approved by them; for count 2, no reciprocal
 * approval: `approver_requests` (array of the approver's own requests that
 * are pending or approved with a live grant) must not contain one approved
 * by the requester.  0 or -ERR_DENIED with why (-ERR_INVAL when the request
 * or approver has no id).  Requests in approver_requests whose state is
 * neither "pending" nor "approved" are ignored.
 */
MUST_CHECK int gov_can_approve(const json_t *request, const json_t *approver,
                               const json_t *approver_requests, char *why, size_t whylen);

/*
 * Is the request fully approved (distinct approvals[].by >= approval.count)?
 * approval.by "none" has count 0: true at once.
 */
bool gov_request_is_approved(const json_t *request);

/*
 * The auto-approval rule (from array `rules`) that approves a request by
 * `identity` for `account` and `duration`, or NULL (borrowed from rules).
 * The identity must be active and list rule.group in its groups; the first
 * matching rule in array order wins; duration <= 0 never matches.
 */
const json_t *gov_auto_rule_find(const json_t *rules, const json_t *identity, const char *account,
                                 json_int_t duration);

/* ---- segregation of duties ---- */

/*
 * holdings: {"roles": [names], "accounts": [account ids]}; candidate: NULL or
 * {"role": name} or {"account": id} (what is about to be added).  *violated:
 * new array of the rule objects (copies) violated once candidate is added
 * and, when candidate is non-NULL, only those the candidate takes part in.
 * A side "account:PATTERN" is held when any held account matches it.
 * `exceptions`: array of live exception objects for this identity; a rule
 * with an exception is not reported.  Returns 0 (the array may be empty).
 * Extensions: candidate may also be {"role": name, "accounts": [ids]} (a
 * standing role with the accounts it gives; they count as the candidate's);
 * a held or candidate account containing '*' or '?' (an entitlement
 * pattern) holds a side when the patterns overlap (gov_patterns_overlap).
 * -ERR_INVAL when an argument has the wrong JSON type, -ERR_NOMEM.
 */
MUST_CHECK int gov_sod_violations(const json_t *rules, const json_t *holdings,
                                  const json_t *candidate, const json_t *exceptions,
                                  json_t **violated);

/* ---- birthright ---- */

/*
 * Roles that birthright `rules` give `identity`: new array of
 * {"role": name, "source": "rule:NAME"}, each role once (first rule wins),
 * in rule order.  Matching per docs/governance.md.
 * Decisions: globs are case-sensitive; a missing or null attribute never
 * matches (not even "*"); an empty match or an unknown match key matches
 * nobody; an identity whose state is "left" gets nothing.  NULL only when
 * out of memory.
 */
json_t *gov_birthright(const json_t *rules, const json_t *identity);

/*
 * Recompute birthright roles for a mover: `held` is identity.roles
 * ([{"role","source","since"}]), `due` what gov_birthright gives now.
 * *add: new array of the due entries whose role is not held at all; *remove:
 * new array of the held entries with source "rule:*" whose role is no longer
 * due.  Manual assignments are never removed.  0 or -ERR_NOMEM.
 */
MUST_CHECK int gov_birthright_diff(const json_t *held, const json_t *due, json_t **add,
                                   json_t **remove);

/* ---- HR feed ---- */

/*
 * Parse an HR file: format "csv" (RFC 4180: header row, quoted fields with
 * "" escapes, CRLF or LF) or "json" (array of objects).  *records: new array
 * of identity-shaped objects {"id","name","email","department","title",
 * "manager","groups","state","line"}; *errors: new array of {"line": n,
 * "message": "..."} for every bad row (missing required field, bad id, bad
 * e-mail, unknown status, duplicate id, unknown manager, manager cycle).
 * Returns 0 when there are no errors, -ERR_PARSE otherwise (both outputs set
 * either way; a file that cannot be read at all gives one error with line 0
 * or the line where it broke).
 * Decisions:
 * - Limits: at most GOV_HR_ROWS_MAX rows and GOV_HR_FIELD_MAX bytes per
 *   field (longer is an error).  A UTF-8 BOM is skipped; values must be
 *   valid UTF-8.  An unknown format or an empty file is one error, line 0.
 * - CSV: header names are case-insensitive; an unknown, repeated or missing
 *   required (id, name, email) column is an error on the header line and
 *   stops parsing.  Strict RFC 4180 otherwise: a quote inside an unquoted
 *   field, text after a closing quote and a CR outside quotes not followed
 *   by LF are errors; an unterminated quote is an error on the line where its
 *   row starts, and parsing stops.  Blank lines are skipped.  Lines are
 *   physical lines (a quoted newline counts), the row's first line is given.
 * - JSON: keys as the CSV columns, case-insensitive; unknown or repeated keys
 *   are errors; values are strings or null (null = left out); "groups" may
 *   also be an array of names.  A syntax error gives jansson's line.
 * - groups: ';'-separated, blanks around names and empty entries ignored,
 *   each a valid name; records hold them sorted, each once.
 * - status: case-insensitive; "" -> "active", "inactive" and "left" ->
 *   state "left".  department, title and manager are null when empty.
 * - A duplicate id is reported on the later line; the first row stands.  A
 *   manager must be the id of some row of the file (even one with errors).
 *   Each identity on a manager cycle gets one error whose message shows the
 *   cycle from it ("manager cycle: a -> b -> a", long cycles shortened).
 * - records hold only rows without errors; errors are sorted by line.
 * - -ERR_NOMEM leaves both outputs unset.
 */
#define GOV_HR_ROWS_MAX 100000u
#define GOV_HR_FIELD_MAX 1024u
MUST_CHECK int gov_hr_parse(const char *format, const char *data, size_t len, json_t **records,
                            json_t **errors);

/*
 * Plan a sync: records (from gov_hr_parse) against `current` (object id ->
 * identity, every identity known).  *plan: new object
 *   {"joiners": [record...], "movers": [{"id", "changes": {field: [old, new]},
 *    "record"}...], "leavers": [id...], "unchanged": n}
 * Only identities with "source": "hr" can be leavers; a record whose state is
 * "left" is a leaver if the identity exists (and ignored otherwise).  A
 * record for an existing identity that has left is an error ("alice has left;
 * an id is never reused") reported through the -ERR_PARSE path with
 * *errors (new array, may be empty on success).
 * Decisions:
 * - changes compare name, email, department, title, manager (missing, null
 *   and "" are equal: null), groups as sorted sets, and state when the record
 *   says active or suspended and the identity is pending, active or
 *   suspended (HR also activates a pending identity).  Values are [old, new].
 * - An identity that is not HR-sourced but listed in the file is compared
 *   like any other (mover or unchanged); its source is not changed, so only
 *   an explicit "left" status makes it a leaver.
 * - A "left" record for an identity that has already left counts as
 *   unchanged.  leavers are sorted by id; joiners and movers keep file order;
 *   "record" entries are copies.
 * - On -ERR_PARSE *plan is NULL; -ERR_NOMEM leaves both outputs unset.
 */
MUST_CHECK int gov_hr_plan(const json_t *records, const json_t *current, json_t **plan,
                           json_t **errors);

/* ---- reviews ---- */

/*
 * Reviewer of an access item: kind "role" -> the identity's manager; kind
 * "grant" -> the target owner, else the manager.  Never the identity itself:
 * then the manager's manager, then `fallback` (the campaign creator).
 * identities: object id -> identity.  Returns a borrowed string from the
 * inputs, or NULL when nobody fits (then the caller uses fallback itself).
 * Decisions: candidates are tried in order -- (grant: target owner), the
 * manager, the manager's manager -- and one fits when it is not the identity
 * and is an active identity in `identities` (only active identities review).
 * Then `fallback`, unless it is the identity itself; so NULL means neither.
 * For a break-glass item (reviewer: the manager) pass kind "role" or target
 * NULL.  An unknown kind gives NULL.
 */
const char *gov_reviewer_for(const char *kind, const json_t *identity, const json_t *target,
                             const json_t *identities, const char *fallback);

/*
 * Escalation at the deadline: the reviewer's manager when active and not the
 * identity, else `fallback` (the campaign creator) unless it is the identity,
 * else NULL.  Borrowed from the inputs.
 */
const char *gov_reviewer_escalate(const char *reviewer, const json_t *identity,
                                  const json_t *identities, const char *fallback);

/*
 * Does an item (role name or account) fall in a campaign scope ({"kind","value"})?
 * all: always.  department: identity.department equals value.  target: the
 * account's target part matches value (the account may be an entitlement
 * pattern, so pass each pattern of a role item); with account NULL,
 * target.name equals value.  privileged: target.meta.privileged is true (or
 * "true"), or the account's name part can be root, admin* or postgres.
 * Unknown kinds, or a missing value where one is needed: false.
 */
bool gov_scope_covers(const json_t *scope, const json_t *identity, const char *account,
                      const json_t *target);

/* ---- TOTP (RFC 6238, HMAC-SHA1, 30 s steps) ---- */

#define GOV_TOTP_DIGITS 6u      /* typed codes are exactly this many digits */
#define GOV_TOTP_WINDOW_MAX 10u /* the largest window verify accepts */
#define GOV_TOTP_KEY_MAX 128u   /* the longest secret, in bytes */

/*
 * Code for time t: 0 and *code, or -ERR_INVAL (digits not 6..8, key NULL,
 * empty or longer than GOV_TOTP_KEY_MAX), -ERR_CRYPTO if HMAC fails.
 */
MUST_CHECK int gov_totp_code(const unsigned char *key, size_t keylen, uint64_t t, unsigned digits,
                             unsigned *code);
/*
 * Constant-time check of a typed code against steps t-window .. t+window.
 * Decision: the function takes no digit count, so a typed code must be
 * exactly GOV_TOTP_DIGITS (6) ASCII digits (the authenticator-app default);
 * anything else is false, as is window > GOV_TOTP_WINDOW_MAX.  Every step in
 * the window is computed and compared with sodium_memcmp.
 */
bool gov_totp_verify(const unsigned char *key, size_t keylen, const char *typed, uint64_t t,
                     unsigned window);
/*
 * As gov_totp_verify, also giving the matched time step (t / 30) so the
 * caller can refuse a second use of the same code (RFC 6238 section 5.2):
 * store the last accepted step and require a later one.  0 and *step,
 * -ERR_AUTH (wrong or malformed code) or -ERR_INVAL (bad key or window).
 */
MUST_CHECK int gov_totp_match(const unsigned char *key, size_t keylen, const char *typed,
                              uint64_t t, unsigned window, uint64_t *step);
/*
 * RFC 4648 base32 without padding (for otpauth:// URIs); out must hold 2*len bytes.
 * Precisely: ceil(8*len/5) characters plus a NUL, which 2*len covers for
 * len >= 3 (TOTP secrets are 20 bytes).  Returns the length written (without
 * the NUL), or 0 when out is too small (out[0] is then NUL if outlen > 0).
 */
size_t gov_base32_encode(const unsigned char *in, size_t len, char *out, size_t outlen);

/* ---- TOTP brute-force throttle, per identity (counting only; vaultd stores the state) ---- */

/*
 * The numbers ([mfa] in vaultd.conf).  Times are milliseconds of wall time,
 * so a state stored by one vaultd run means the same to the next.
 */
struct gov_throttle_policy {
    unsigned max_failures;  /* wrong codes within window_ms that lock (>= 1) */
    uint64_t window_ms;     /* counted from the first wrong code of the window */
    unsigned free_failures; /* wrong codes that cost no delay */
    uint64_t delay_ms;      /* wait after free_failures + 1 wrong codes, doubling; 0: none */
    uint64_t lock_ms;       /* first lock; each further lock lasts twice as long ... */
    uint64_t max_lock_ms;   /* ... up to this (>= lock_ms) */
};

/* One identity's record; all zero: nothing against it. */
struct gov_throttle {
    unsigned failures;        /* wrong codes in the current window */
    unsigned locks;           /* locks since a code was last accepted */
    uint64_t first_ms;        /* first wrong code of the window */
    uint64_t last_ms;         /* latest wrong code */
    uint64_t locked_until_ms; /* 0, or the end of the latest lock (maybe past) */
};

enum gov_throttle_verdict {
    GOV_THROTTLE_TRY,    /* check the code */
    GOV_THROTTLE_WAIT,   /* too soon after the last wrong code: refuse unchecked */
    GOV_THROTTLE_LOCKED, /* locked: refuse unchecked, even the right code */
};

/*
 * May a code be checked at now_ms?  *wait_ms (optional): how long until one
 * may (0 for TRY).  A wait after f > free_failures wrong codes is delay_ms *
 * 2^(f - free_failures - 1), at most lock_ms, counted from the latest wrong
 * code.  A wall clock set back never shortens a wait: now is taken as at
 * least the latest wrong code.
 */
enum gov_throttle_verdict gov_throttle_check(const struct gov_throttle_policy *p,
                                             const struct gov_throttle *t, uint64_t now_ms,
                                             uint64_t *wait_ms);
/*
 * Count a wrong code at now_ms (only after gov_throttle_check said TRY).  A
 * window older than window_ms starts again at this code.  The max_failures-th
 * wrong code of a window locks for lock_ms * 2^locks (at most max_lock_ms):
 * returns true, sets locked_until_ms and starts a fresh window (locked_until_ms
 * stays set after the lock ended).  Earlier locks are forgotten after
 * max_lock_ms without a wrong code, counted from the end of the last lock.
 */
bool gov_throttle_fail(const struct gov_throttle_policy *p, struct gov_throttle *t,
                       uint64_t now_ms);
/* A code was accepted: everything is forgotten. */
void gov_throttle_reset(struct gov_throttle *t);
/* Nothing against this identity (the stored record may go). */
bool gov_throttle_is_clear(const struct gov_throttle *t);
/*
 * Stored form {"failures", "locks", "first_ms", "last_ms", "locked_until_ms"}
 * (new object).  from_json: NULL gives the clear state; a member missing or
 * not a non-negative integer is -ERR_CORRUPT (*t then clear).
 */
json_t *gov_throttle_to_json(const struct gov_throttle *t);
MUST_CHECK int gov_throttle_from_json(const json_t *j, struct gov_throttle *t);

/* ---- command and forwarding policy of an entitlement ---- */

#define GOV_COMMAND_MAX 1024u    /* longest exec/subsystem pattern */
#define GOV_HOLD_TIMEOUT 300u    /* default wait for a held command's approval */
#define GOV_HOLD_TIMEOUT_MIN 10u /* bounds of a rule's "timeout" */
#define GOV_HOLD_TIMEOUT_MAX 3600u

enum gov_cmd_action { GOV_CMD_ALLOW, GOV_CMD_DENY, GOV_CMD_HOLD };

/* "allow", "deny" or "hold". */
const char *gov_cmd_action_name(enum gov_cmd_action a);
/*
 * The policy part of an entitlement, as grants and sessions carry it:
 * {"commands", "commands_default", "forwarding", "remote_forwarding"} (new
 * reference; members
 * missing from ent are left out).
 */
json_t *gov_policy_of(const json_t *ent);
/*
 * A command line as rules see it: leading and trailing blanks dropped, each
 * run of blanks (space, tab) one space.  Truncated to outlen - 1 bytes.
 */
void gov_command_normalize(const char *in, char *out, size_t outlen);
/*
 * What `policy` says of running `command` (kind "exec" or "subsystem"): the
 * first rule of that kind whose glob matches the normalized command decides;
 * none: commands_default (allow when missing).  A NULL policy allows
 * everything (grants made before policies existed).  *rule (may be NULL) is
 * the deciding rule, borrowed, or NULL for the default.
 */
enum gov_cmd_action gov_command_decide(const json_t *policy, const char *kind, const char *command,
                                       const json_t **rule);
/* Can any exec command be refused or held under `policy`?  (Shell lines need checking.) */
bool gov_policy_filters(const json_t *policy);
/* Does `policy` allow a direct-tcpip forward (-L) to host:port ("forwarding" globs)? */
bool gov_forward_allowed(const json_t *policy, const char *host, unsigned port);
/* May the target listen on addr:port for a -R forward ("remote_forwarding" globs)? */
bool gov_remote_forward_allowed(const json_t *policy, const char *addr, unsigned port);

#endif
