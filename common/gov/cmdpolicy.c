/* SPDX-License-Identifier: Apache-2.0 */
/* Command and forwarding policy of an entitlement: what an exec, subsystem or forward may do. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *gov_cmd_action_name(enum gov_cmd_action a)
{
    return a == GOV_CMD_DENY ? "deny" : a == GOV_CMD_HOLD ? "hold" : "allow";
}

static enum gov_cmd_action action_of(const char *s)
{
    if (s && strcmp(s, "deny") == 0)
        return GOV_CMD_DENY;
    if (s && strcmp(s, "hold") == 0)
        return GOV_CMD_HOLD;
    return GOV_CMD_ALLOW;
}

json_t *gov_policy_of(const json_t *ent)
{
    static const char *const keys[] = {"commands", "commands_default", "forwarding",
                                       "remote_forwarding", NULL};
    json_t *p = json_object();

    for (const char *const *k = keys; p && *k; k++)
        if (json_object_get(ent, *k))
            json_object_set(p, *k, json_object_get(ent, *k));
    return p;
}

void gov_command_normalize(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    bool blank = false;

    if (!outlen)
        return;
    for (; in && *in && n + 1 < outlen; in++) {
        if (*in == ' ' || *in == '\t') {
            blank = n > 0;
            continue;
        }
        if (blank) {
            if (n + 2 >= outlen)
                break; /* no room for the blank and what follows it */
            out[n++] = ' ';
        }
        blank = false;
        out[n++] = *in;
    }
    out[n] = '\0';
}

/* What a shell gives meaning to: a wildcard of an allow rule on exec never matches these. */
static const char shell_meta[] = ";&|<>$`()\\'\"\n\r{}*?[]~#!";

enum gov_cmd_action gov_command_decide(const json_t *policy, const char *kind, const char *command,
                                       const json_t **rule)
{
    char norm[GOV_COMMAND_MAX * 4 + 1];
    const json_t *r;
    size_t i;

    if (rule)
        *rule = NULL;
    if (!policy)
        return GOV_CMD_ALLOW;
    gov_command_normalize(command, norm, sizeof(norm));
    json_array_foreach(json_object_get(policy, "commands"), i, r)
    {
        const char *pat = gov_json_str(r, kind);
        bool allow = action_of(gov_json_str(r, "action")) == GOV_CMD_ALLOW;

        /* Deny and hold rules match broadly; allow rules never let the shell in. */
        if (pat && gov_glob_match_except(pat, norm,
                                         allow && strcmp(kind, "exec") == 0 ? shell_meta : "")) {
            if (rule)
                *rule = r;
            return action_of(gov_json_str(r, "action"));
        }
    }
    return action_of(gov_json_str(policy, "commands_default"));
}

bool gov_policy_filters(const json_t *policy)
{
    const json_t *r;
    size_t i;

    if (!policy)
        return false;
    if (action_of(gov_json_str(policy, "commands_default")) != GOV_CMD_ALLOW)
        return true;
    json_array_foreach(json_object_get(policy, "commands"), i, r)
    {
        if (gov_json_str(r, "exec") && action_of(gov_json_str(r, "action")) != GOV_CMD_ALLOW)
            return true;
    }
    return false;
}

static bool forward_in(const json_t *policy, const char *key, const char *host, unsigned port)
{
    char dest[320];
    const json_t *p;
    size_t i;

    if (!policy || !host || strlen(host) > 255)
        return false;
    snprintf(dest, sizeof(dest), "%s:%u", host, port);
    json_array_foreach(json_object_get(policy, key), i, p)
    {
        if (gov_glob_match(json_string_value(p), dest))
            return true;
    }
    return false;
}

bool gov_forward_allowed(const json_t *policy, const char *host, unsigned port)
{
    return forward_in(policy, "forwarding", host, port);
}

bool gov_remote_forward_allowed(const json_t *policy, const char *addr, unsigned port)
{
    return forward_in(policy, "remote_forwarding", addr, port);
}
