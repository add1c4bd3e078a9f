/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of governance objects as the API creates them: types, values and defaults. */
#include <string.h>

#include "internal.h"

#define META_KEYS "created_at", "updated_at"

static const char *const identity_keys[] = {
    "id",   "name",  "email",    "department", "title", "manager", "groups",  "keys",
    "totp", "state", "state_at", "lifecycle",  "roles", "source",  META_KEYS, NULL};
static const char *const role_keys[] = {"name",         "description", "kind", "owner",
                                        "entitlements", META_KEYS,     NULL};
static const char *const ent_keys[] = {
    "account",  "max_duration",     "approval",   "break_glass",       "file_transfer",
    "commands", "commands_default", "forwarding", "remote_forwarding", NULL};
static const char *const cmd_rule_keys[] = {"exec",    "subsystem", "action", "reason",
                                            "timeout", "approval",  NULL};
static const char *const cmd_actions[] = {"allow", "deny", "hold", NULL};
static const char *const approval_keys[] = {"by", "count", "group", NULL};
static const char *const rule_keys[] = {"name", "match", "roles", META_KEYS, NULL};
static const char *const match_keys[] = {"department", "title", "email", "manager", "group", NULL};
static const char *const sod_keys[] = {"name",  "a",           "b",       "severity",
                                       "owner", "description", META_KEYS, NULL};
static const char *const auto_keys[] = {"name",         "group",   "account",
                                        "max_duration", META_KEYS, NULL};
static const char *const exc_keys[] = {"id",          "rule",       "identity",   "reason",
                                       "approved_by", "created_at", "expires_at", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* Unknown keys are errors: a misspelt "manger" must not be dropped silently. */
static int known_keys(const json_t *o, const char *const *allowed, const char *what, char *why,
                      size_t whylen)
{
    const char *k;
    const json_t *v;

    if (!json_is_object(o)) {
        gov_why(why, whylen, "%s must be an object", what);
        return -ERR_INVAL;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        if (!in_list(allowed, k)) {
            gov_why(why, whylen, "%s: unknown field \"%.64s\"", what, k);
            return -ERR_INVAL;
        }
    }
    return 0;
}

static int req_name(const json_t *o, const char *key, const char *what, char *why, size_t whylen)
{
    const char *s = gov_json_str(o, key);

    if (!s) {
        gov_why(why, whylen, "%s.%s is required (a string)", what, key);
        return -ERR_INVAL;
    }
    if (!gov_name_is_valid(s)) {
        gov_why(why, whylen, "%s.%s must be 1-64 of [A-Za-z0-9._-], not starting with . or -", what,
                key);
        return -ERR_INVAL;
    }
    return 0;
}

/* Optional name: missing or null is fine. */
static int opt_name(const json_t *o, const char *key, const char *what, char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    return req_name(o, key, what, why, whylen);
}

/* Optional text (string or null) of at most GOV_TEXT_MAX bytes; def filled when missing. */
static int opt_text(json_t *o, const char *key, const char *def, const char *what, char *why,
                    size_t whylen)
{
    const json_t *v = json_object_get(o, key);

    if (!v) {
        if (def && json_object_set_new(o, key, json_string(def)) != 0)
            return -ERR_NOMEM;
        return 0;
    }
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > GOV_TEXT_MAX) {
        gov_why(why, whylen, "%s.%s must be a string of at most %u bytes", what, key, GOV_TEXT_MAX);
        return -ERR_INVAL;
    }
    return 0;
}

static int opt_bool(json_t *o, const char *key, const char *what, char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);

    if (!v)
        return json_object_set_new(o, key, json_false()) != 0 ? -ERR_NOMEM : 0;
    if (!json_is_boolean(v)) {
        gov_why(why, whylen, "%s.%s must be true or false", what, key);
        return -ERR_INVAL;
    }
    return 0;
}

static int opt_time(const json_t *o, const char *key, const char *what, char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        gov_why(why, whylen, "%s.%s must be a time (Unix seconds)", what, key);
        return -ERR_INVAL;
    }
    return 0;
}

static int opt_duration(json_t *o, const char *key, const char *what, char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);

    if (!v)
        return json_object_set_new(o, key, json_integer(GOV_DEFAULT_MAX_DURATION)) != 0 ? -ERR_NOMEM
                                                                                        : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > GOV_DURATION_MAX) {
        gov_why(why, whylen, "%s.%s must be 1..%u seconds", what, key, GOV_DURATION_MAX);
        return -ERR_INVAL;
    }
    return 0;
}

static int enum_value(json_t *o, const char *key, const char *def, const char *const *values,
                      const char *what, char *why, size_t whylen)
{
    const json_t *v = json_object_get(o, key);
    const char *s;

    if (!v && def)
        return json_object_set_new(o, key, json_string(def)) != 0 ? -ERR_NOMEM : 0;
    s = json_string_value(v);
    if (!s || !in_list(values, s)) {
        char list[128] = "";

        for (const char *const *p = values; *p; p++) {
            if (p != values)
                strncat(list, p[1] ? ", " : " or ", sizeof(list) - strlen(list) - 1);
            strncat(list, *p, sizeof(list) - strlen(list) - 1);
        }
        gov_why(why, whylen, "%s.%s must be %s", what, key, list);
        return -ERR_INVAL;
    }
    return 0;
}

/* A set of names: array of valid names, no repeats, at most GOV_LIST_MAX. */
static int name_set(json_t *o, const char *key, bool fill, bool nonempty, const char *what,
                    char *why, size_t whylen)
{
    const json_t *arr = json_object_get(o, key), *v;
    size_t i;

    if (!arr && fill)
        return json_object_set_new(o, key, json_array()) != 0 ? -ERR_NOMEM : 0;
    if (!json_is_array(arr) || json_array_size(arr) > GOV_LIST_MAX ||
        (nonempty && json_array_size(arr) == 0)) {
        gov_why(why, whylen, "%s.%s must be an array of %s%u names", what, key,
                nonempty ? "1.." : "at most ", GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);

        if (!gov_name_is_valid(s)) {
            gov_why(why, whylen, "%s.%s[%zu] is not a valid name", what, key, i);
            return -ERR_INVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s, json_string_value(json_array_get(arr, j))) == 0) {
                gov_why(why, whylen, "%s.%s lists %s twice", what, key, s);
                return -ERR_INVAL;
            }
    }
    return 0;
}

bool gov_email_is_valid(const char *s)
{
    const char *at;
    size_t n;

    if (!s)
        return false;
    n = strnlen(s, GOV_EMAIL_MAX + 1);
    if (n > GOV_EMAIL_MAX || !(at = strchr(s, '@')) || at == s || at[1] == '\0' ||
        strchr(at + 1, '@'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

static int check_keys_array(json_t *identity, char *why, size_t whylen)
{
    json_t *keys = json_object_get(identity, "keys"), *k;
    size_t i;
    int r;

    if (!keys)
        return json_object_set_new(identity, "keys", json_array()) != 0 ? -ERR_NOMEM : 0;
    if (!json_is_array(keys) || json_array_size(keys) > GOV_LIST_MAX) {
        gov_why(why, whylen, "identity.keys must be an array of at most %u keys", GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(keys, i, k)
    {
        static const char *const allowed[] = {"key", "fp", NULL};
        char fp[GOV_FP_MAX];
        const char *given;

        if ((r = known_keys(k, allowed, "identity.keys[]", why, whylen)) != 0)
            return r;
        if (gov_key_fingerprint(gov_json_str(k, "key"), fp, sizeof(fp)) != 0) {
            gov_why(why, whylen, "identity.keys[%zu].key is not an OpenSSH public key", i);
            return -ERR_INVAL;
        }
        given = gov_json_str(k, "fp");
        if (json_object_get(k, "fp") && (!given || strcmp(given, fp) != 0)) {
            gov_why(why, whylen, "identity.keys[%zu].fp does not match the key (%s)", i, fp);
            return -ERR_INVAL;
        }
        if (!given && json_object_set_new(k, "fp", json_string(fp)) != 0)
            return -ERR_NOMEM;
        for (size_t j = 0; j < i; j++)
            if (strcmp(fp, gov_json_str(json_array_get(keys, j), "fp")) == 0) {
                gov_why(why, whylen, "identity.keys lists key %s twice", fp);
                return -ERR_INVAL;
            }
    }
    return 0;
}

static int check_assignments(const json_t *identity, char *why, size_t whylen)
{
    static const char *const allowed[] = {"role", "source", "since", NULL};
    const json_t *roles = json_object_get(identity, "roles"), *a;
    size_t i;
    int r;

    if (!roles)
        return 0;
    if (!json_is_array(roles) || json_array_size(roles) > GOV_LIST_MAX) {
        gov_why(why, whylen, "identity.roles must be an array of at most %u", GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(roles, i, a)
    {
        const char *src;

        if ((r = known_keys(a, allowed, "identity.roles[]", why, whylen)) != 0 ||
            (r = req_name(a, "role", "identity.roles[]", why, whylen)) != 0 ||
            (r = opt_time(a, "since", "identity.roles[]", why, whylen)) != 0)
            return r;
        src = gov_json_str(a, "source");
        if (!src || (strcmp(src, "manual") != 0 &&
                     !(strncmp(src, "rule:", 5) == 0 && gov_name_is_valid(src + 5)))) {
            gov_why(why, whylen, "identity.roles[%zu].source must be manual or rule:NAME", i);
            return -ERR_INVAL;
        }
    }
    return 0;
}

static int check_lifecycle(const json_t *identity, char *why, size_t whylen)
{
    static const char *const allowed[] = {"state", "at", NULL};
    static const char *const states[] = {"pending", "active", "suspended", "left", NULL};
    const json_t *lc = json_object_get(identity, "lifecycle"), *e;
    size_t i;
    int r;

    if (!lc)
        return 0;
    if (!json_is_array(lc)) {
        gov_why(why, whylen, "identity.lifecycle must be an array");
        return -ERR_INVAL;
    }
    json_array_foreach(lc, i, e)
    {
        if ((r = known_keys(e, allowed, "identity.lifecycle[]", why, whylen)) != 0 ||
            (r = enum_value((json_t *)e, "state", NULL, states, "identity.lifecycle[]", why,
                            whylen)) != 0 ||
            (r = opt_time(e, "at", "identity.lifecycle[]", why, whylen)) != 0)
            return r;
    }
    return 0;
}

int gov_identity_check(json_t *identity, char *why, size_t whylen)
{
    static const char *const states[] = {"pending", "active", "suspended", "left", NULL};
    const char *w = "identity", *email, *mgr;
    int r;

    if ((r = known_keys(identity, identity_keys, w, why, whylen)) != 0 ||
        (r = req_name(identity, "id", w, why, whylen)) != 0 ||
        (r = opt_text(identity, "name", NULL, w, why, whylen)) != 0 ||
        (r = opt_text(identity, "email", NULL, w, why, whylen)) != 0 ||
        (r = opt_text(identity, "department", NULL, w, why, whylen)) != 0 ||
        (r = opt_text(identity, "title", NULL, w, why, whylen)) != 0 ||
        (r = opt_name(identity, "manager", w, why, whylen)) != 0 ||
        (r = opt_name(identity, "source", w, why, whylen)) != 0 ||
        (r = name_set(identity, "groups", true, false, w, why, whylen)) != 0 ||
        (r = check_keys_array(identity, why, whylen)) != 0 ||
        (r = opt_bool(identity, "totp", w, why, whylen)) != 0 ||
        (r = enum_value(identity, "state", "active", states, w, why, whylen)) != 0 ||
        (r = opt_time(identity, "state_at", w, why, whylen)) != 0 ||
        (r = opt_time(identity, "created_at", w, why, whylen)) != 0 ||
        (r = opt_time(identity, "updated_at", w, why, whylen)) != 0 ||
        (r = check_lifecycle(identity, why, whylen)) != 0 ||
        (r = check_assignments(identity, why, whylen)) != 0)
        return r;
    email = gov_json_str(identity, "email");
    if (email && *email && !gov_email_is_valid(email)) {
        gov_why(why, whylen, "identity.email is not an e-mail address");
        return -ERR_INVAL;
    }
    mgr = gov_json_str(identity, "manager");
    if (mgr && strcmp(mgr, gov_json_str(identity, "id")) == 0) {
        gov_why(why, whylen, "identity.manager cannot be the identity itself");
        return -ERR_INVAL;
    }
    return 0;
}

static int check_approval(json_t *ent, const char *w, char *why, size_t whylen)
{
    static const char *const bys[] = {"none", "manager", "owner", "group", NULL};
    json_t *ap = json_object_get(ent, "approval");
    const json_t *count;
    const char *by;
    json_int_t n;
    int r;

    if (!ap) {
        ap = json_pack("{s:s, s:i}", "by", "manager", "count", 1);
        if (!ap || json_object_set_new(ent, "approval", ap) != 0)
            return -ERR_NOMEM;
        return 0;
    }
    if ((r = known_keys(ap, approval_keys, w, why, whylen)) != 0 ||
        (r = enum_value(ap, "by", "manager", bys, w, why, whylen)) != 0)
        return r;
    by = gov_json_str(ap, "by");
    count = json_object_get(ap, "count");
    if (strcmp(by, "none") == 0) {
        /* Count 0 makes "approvals >= count" true at once and ranks lowest. */
        if (count && !(json_is_integer(count) && json_integer_value(count) == 0)) {
            gov_why(why, whylen, "%s.count must be 0 (or left out) with by none", w);
            return -ERR_INVAL;
        }
        if (!count && json_object_set_new(ap, "count", json_integer(0)) != 0)
            return -ERR_NOMEM;
    } else {
        if (!count && json_object_set_new(ap, "count", json_integer(1)) != 0)
            return -ERR_NOMEM;
        n = gov_json_int(ap, "count", 0);
        if (n != 1 && n != 2) {
            gov_why(why, whylen, "%s.count must be 1 or 2", w);
            return -ERR_INVAL;
        }
        /* A manager or an owner is one person: two distinct approvers could never exist. */
        if (n == 2 && strcmp(by, "group") != 0) {
            gov_why(why, whylen, "%s.count 2 needs approval by a group", w);
            return -ERR_INVAL;
        }
    }
    if (strcmp(by, "group") == 0)
        return req_name(ap, "group", w, why, whylen);
    if (json_object_get(ap, "group")) {
        gov_why(why, whylen, "%s.group is only for by group", w);
        return -ERR_INVAL;
    }
    return 0;
}

/* A pattern of printable ASCII (no control characters), 1..max bytes. */
static bool printable_pattern(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static int check_command_rule(json_t *rule, const char *ew, size_t j, char *why, size_t whylen)
{
    const char *exec = gov_json_str(rule, "exec"), *sub = gov_json_str(rule, "subsystem");
    const json_t *t;
    char w[96];
    int r;

    snprintf(w, sizeof(w), "%s.commands[%zu]", ew, j);
    if ((r = known_keys(rule, cmd_rule_keys, w, why, whylen)) != 0)
        return r;
    if (!!json_object_get(rule, "exec") + !!json_object_get(rule, "subsystem") != 1 ||
        !printable_pattern(exec ? exec : sub, GOV_COMMAND_MAX)) {
        gov_why(why, whylen,
                "%s needs exactly one of \"exec\" or \"subsystem\": a pattern of 1..%u "
                "printable characters",
                w, GOV_COMMAND_MAX);
        return -ERR_INVAL;
    }
    if ((r = enum_value(rule, "action", NULL, cmd_actions, w, why, whylen)) != 0 ||
        (r = opt_text(rule, "reason", NULL, w, why, whylen)) != 0)
        return r;
    t = json_object_get(rule, "timeout");
    if (strcmp(gov_json_str(rule, "action"), "hold") != 0) {
        if (t || json_object_get(rule, "approval")) {
            gov_why(why, whylen, "%s: timeout and approval are only for action hold", w);
            return -ERR_INVAL;
        }
        return 0;
    }
    if (!t && json_object_set_new(rule, "timeout", json_integer(GOV_HOLD_TIMEOUT)) != 0)
        return -ERR_NOMEM;
    t = json_object_get(rule, "timeout");
    if (!json_is_integer(t) || json_integer_value(t) < GOV_HOLD_TIMEOUT_MIN ||
        json_integer_value(t) > GOV_HOLD_TIMEOUT_MAX) {
        gov_why(why, whylen, "%s.timeout must be %u..%u seconds", w, GOV_HOLD_TIMEOUT_MIN,
                GOV_HOLD_TIMEOUT_MAX);
        return -ERR_INVAL;
    }
    if (!json_object_get(rule, "approval"))
        return 0; /* the entitlement's approval (manager when it needs none) */
    strncat(w, ".approval", sizeof(w) - strlen(w) - 1);
    if ((r = check_approval(rule, w, why, whylen)) != 0)
        return r;
    if (strcmp(gov_json_str(json_object_get(rule, "approval"), "by"), "none") == 0) {
        gov_why(why, whylen, "%s.by none makes no sense for a hold; use action allow", w);
        return -ERR_INVAL;
    }
    return 0;
}

/* An array (filled empty when missing) of HOST:PORT patterns. */
static int check_forwards(json_t *ent, const char *key, const char *w, char *why, size_t whylen)
{
    json_t *fw = json_object_get(ent, key), *v;
    size_t j;

    if (!fw && json_object_set_new(ent, key, fw = json_array()) != 0)
        return -ERR_NOMEM;
    if (!json_is_array(fw) || json_array_size(fw) > GOV_LIST_MAX) {
        gov_why(why, whylen, "%s.%s must be an array of at most %u HOST:PORT patterns", w, key,
                GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(fw, j, v)
    {
        const char *p = json_string_value(v);
        if (!printable_pattern(p, 300) || !strchr(p, ':') || strchr(p, ' ')) {
            gov_why(why, whylen, "%s.%s[%zu] must be a pattern HOST:PORT", w, key, j);
            return -ERR_INVAL;
        }
    }
    return 0;
}

/* commands, commands_default and forwarding (docs/governance.md, "Command policy"). */
static int check_policy(json_t *ent, const char *w, char *why, size_t whylen)
{
    json_t *cmds = json_object_get(ent, "commands"), *v;
    size_t j;
    int r;

    if (!cmds && json_object_set_new(ent, "commands", cmds = json_array()) != 0)
        return -ERR_NOMEM;
    if (!json_is_array(cmds) || json_array_size(cmds) > GOV_LIST_MAX) {
        gov_why(why, whylen, "%s.commands must be an array of at most %u rules", w, GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(cmds, j,
                       v) if ((r = check_command_rule(v, w, j, why, whylen)) != 0) return r;
    if ((r = enum_value(ent, "commands_default", "allow", cmd_actions, w, why, whylen)) != 0)
        return r;
    if ((r = check_forwards(ent, "forwarding", w, why, whylen)) != 0)
        return r;
    return check_forwards(ent, "remote_forwarding", w, why, whylen);
}

static int check_entitlement(json_t *ent, size_t i, char *why, size_t whylen)
{
    char w[64];
    int r;

    snprintf(w, sizeof(w), "role.entitlements[%zu]", i);
    if ((r = known_keys(ent, ent_keys, w, why, whylen)) != 0)
        return r;
    if (!gov_pattern_is_valid(gov_json_str(ent, "account"))) {
        gov_why(why, whylen, "%s.account must be a pattern NAME@TARGET (with * and ?)", w);
        return -ERR_INVAL;
    }
    if ((r = opt_duration(ent, "max_duration", w, why, whylen)) != 0 ||
        (r = opt_bool(ent, "break_glass", w, why, whylen)) != 0 ||
        (r = opt_bool(ent, "file_transfer", w, why, whylen)) != 0 ||
        (r = check_policy(ent, w, why, whylen)) != 0)
        return r;
    strncat(w, ".approval", sizeof(w) - strlen(w) - 1);
    return check_approval(ent, w, why, whylen);
}

int gov_role_check(json_t *role, char *why, size_t whylen)
{
    static const char *const kinds[] = {"standing", "requestable", NULL};
    const char *w = "role";
    json_t *ents, *e;
    size_t i;
    int r;

    if ((r = known_keys(role, role_keys, w, why, whylen)) != 0 ||
        (r = req_name(role, "name", w, why, whylen)) != 0 ||
        (r = opt_text(role, "description", "", w, why, whylen)) != 0 ||
        (r = enum_value(role, "kind", "requestable", kinds, w, why, whylen)) != 0 ||
        (r = opt_name(role, "owner", w, why, whylen)) != 0 ||
        (r = opt_time(role, "created_at", w, why, whylen)) != 0 ||
        (r = opt_time(role, "updated_at", w, why, whylen)) != 0)
        return r;
    ents = json_object_get(role, "entitlements");
    if (!json_is_array(ents) || json_array_size(ents) > GOV_LIST_MAX) {
        gov_why(why, whylen, "role.entitlements must be an array of at most %u", GOV_LIST_MAX);
        return -ERR_INVAL;
    }
    json_array_foreach(ents, i, e)
    {
        if ((r = check_entitlement(e, i, why, whylen)) != 0)
            return r;
    }
    return 0;
}

int gov_rule_check(json_t *rule, char *why, size_t whylen)
{
    const char *w = "rule", *k;
    const json_t *match, *v;
    int r;

    if ((r = known_keys(rule, rule_keys, w, why, whylen)) != 0 ||
        (r = req_name(rule, "name", w, why, whylen)) != 0 ||
        (r = name_set(rule, "roles", false, true, w, why, whylen)) != 0 ||
        (r = opt_time(rule, "created_at", w, why, whylen)) != 0 ||
        (r = opt_time(rule, "updated_at", w, why, whylen)) != 0)
        return r;
    match = json_object_get(rule, "match");
    if ((r = known_keys(match, match_keys, "rule.match", why, whylen)) != 0)
        return r;
    if (json_object_size(match) == 0) {
        gov_why(why, whylen, "rule.match must name at least one attribute");
        return -ERR_INVAL;
    }
    json_object_foreach((json_t *)match, k, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > GOV_TEXT_MAX) {
            gov_why(why, whylen, "rule.match.%s must be a non-empty glob string", k);
            return -ERR_INVAL;
        }
    }
    return 0;
}

bool gov_sod_side_is_valid(const char *side)
{
    if (!side)
        return false;
    if (strncmp(side, "role:", 5) == 0)
        return gov_name_is_valid(side + 5);
    if (strncmp(side, "account:", 8) == 0)
        return gov_pattern_is_valid(side + 8);
    return false;
}

int gov_sod_check(json_t *sod, char *why, size_t whylen)
{
    static const char *const sevs[] = {"low", "medium", "high", "critical", NULL};
    const char *w = "sod", *a, *b;
    int r;

    if ((r = known_keys(sod, sod_keys, w, why, whylen)) != 0 ||
        (r = req_name(sod, "name", w, why, whylen)) != 0 ||
        (r = req_name(sod, "owner", w, why, whylen)) != 0 ||
        (r = enum_value(sod, "severity", "medium", sevs, w, why, whylen)) != 0 ||
        (r = opt_text(sod, "description", "", w, why, whylen)) != 0 ||
        (r = opt_time(sod, "created_at", w, why, whylen)) != 0 ||
        (r = opt_time(sod, "updated_at", w, why, whylen)) != 0)
        return r;
    a = gov_json_str(sod, "a");
    b = gov_json_str(sod, "b");
    if (!gov_sod_side_is_valid(a) || !gov_sod_side_is_valid(b)) {
        gov_why(why, whylen, "sod.%s must be role:NAME or account:PATTERN",
                gov_sod_side_is_valid(a) ? "b" : "a");
        return -ERR_INVAL;
    }
    if (strcmp(a, b) == 0) {
        gov_why(why, whylen, "sod.a and sod.b must differ");
        return -ERR_INVAL;
    }
    return 0;
}

int gov_auto_check(json_t *rule, char *why, size_t whylen)
{
    const char *w = "auto";
    int r;

    if ((r = known_keys(rule, auto_keys, w, why, whylen)) != 0 ||
        (r = req_name(rule, "name", w, why, whylen)) != 0 ||
        (r = req_name(rule, "group", w, why, whylen)) != 0 ||
        (r = opt_duration(rule, "max_duration", w, why, whylen)) != 0 ||
        (r = opt_time(rule, "created_at", w, why, whylen)) != 0 ||
        (r = opt_time(rule, "updated_at", w, why, whylen)) != 0)
        return r;
    if (!gov_pattern_is_valid(gov_json_str(rule, "account"))) {
        gov_why(why, whylen, "auto.account must be a pattern NAME@TARGET (with * and ?)");
        return -ERR_INVAL;
    }
    return 0;
}

int gov_sod_exception_check(json_t *exc, const json_t *rule, const char *actor, json_int_t now,
                            char *why, size_t whylen)
{
    const char *w = "exception", *owner = gov_json_str(rule, "owner"), *reason;
    json_int_t exp;
    int r;

    if ((r = known_keys(exc, exc_keys, w, why, whylen)) != 0 ||
        (r = opt_name(exc, "id", w, why, whylen)) != 0 ||
        (r = req_name(exc, "rule", w, why, whylen)) != 0 ||
        (r = req_name(exc, "identity", w, why, whylen)) != 0 ||
        (r = opt_name(exc, "approved_by", w, why, whylen)) != 0 ||
        (r = opt_time(exc, "created_at", w, why, whylen)) != 0)
        return r;
    if (!gov_json_str(rule, "name") ||
        strcmp(gov_json_str(exc, "rule"), gov_json_str(rule, "name")) != 0) {
        gov_why(why, whylen, "exception.rule does not name this rule");
        return -ERR_INVAL;
    }
    reason = gov_json_str(exc, "reason");
    if (!reason || !*reason || strlen(reason) > GOV_TEXT_MAX) {
        gov_why(why, whylen, "exception.reason is required (1..%u bytes)", GOV_TEXT_MAX);
        return -ERR_INVAL;
    }
    exp = gov_json_int(exc, "expires_at", -1);
    if (exp <= now || exp - now > GOV_EXCEPTION_MAX) {
        gov_why(why, whylen, "exception.expires_at must be in the next %u days",
                GOV_EXCEPTION_MAX / 86400);
        return -ERR_INVAL;
    }
    if (!actor || !owner || strcmp(actor, owner) != 0) {
        gov_why(why, whylen, "only %s, the owner of rule %s, may create an exception",
                owner ? owner : "the owner", gov_json_str(rule, "name"));
        return -ERR_DENIED;
    }
    if (gov_json_str(exc, "approved_by") && strcmp(gov_json_str(exc, "approved_by"), actor) != 0) {
        gov_why(why, whylen, "exception.approved_by must be the rule owner");
        return -ERR_INVAL;
    }
    if (!json_object_get(exc, "approved_by") &&
        json_object_set_new(exc, "approved_by", json_string(actor)) != 0)
        return -ERR_NOMEM;
    if (!json_object_get(exc, "created_at") &&
        json_object_set_new(exc, "created_at", json_integer(now)) != 0)
        return -ERR_NOMEM;
    return 0;
}

bool gov_exception_is_live(const json_t *exc, json_int_t now)
{
    return json_is_integer(json_object_get(exc, "expires_at")) &&
           now < gov_json_int(exc, "expires_at", 0);
}

bool gov_lifecycle_allowed(const char *from, const char *to)
{
    static const struct {
        const char *from, *to;
    } moves[] = {
        {"pending", "active"}, {"pending", "left"},     {"active", "suspended"},
        {"active", "left"},    {"suspended", "active"}, {"suspended", "left"},
    };

    if (!from || !to)
        return false;
    for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
        if (strcmp(moves[i].from, from) == 0 && strcmp(moves[i].to, to) == 0)
            return true;
    return false;
}
