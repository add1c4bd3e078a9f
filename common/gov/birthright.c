/* SPDX-License-Identifier: Apache-2.0 */
/* Birthright rules: the roles an identity holds because of its HR attributes. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static bool attr_matches(const json_t *identity, const char *key, const char *pattern)
{
    const json_t *g;
    size_t i;

    if (!pattern)
        return false;
    if (strcmp(key, "group") == 0) {
        json_array_foreach(json_object_get(identity, "groups"), i, g)
        {
            if (gov_glob_match(pattern, json_string_value(g)))
                return true;
        }
        return false;
    }
    if (strcmp(key, "department") == 0 || strcmp(key, "title") == 0 || strcmp(key, "email") == 0 ||
        strcmp(key, "manager") == 0)
        return gov_glob_match(pattern, gov_json_str(identity, key)); /* missing never matches */
    return false; /* an attribute we do not know cannot be satisfied */
}

static bool rule_matches(const json_t *rule, const json_t *identity)
{
    const json_t *match = json_object_get(rule, "match"), *v;
    const char *k;

    if (json_object_size(match) == 0)
        return false;
    json_object_foreach((json_t *)match, k, v)
    {
        if (!attr_matches(identity, k, json_string_value(v)))
            return false;
    }
    return true;
}

static bool has_role(const json_t *list, const char *role)
{
    const json_t *e;
    size_t i;

    json_array_foreach(list, i, e)
    {
        const char *r = gov_json_str(e, "role");

        if (r && strcmp(r, role) == 0)
            return true;
    }
    return false;
}

json_t *gov_birthright(const json_t *rules, const json_t *identity)
{
    json_t *out = json_array(), *res = NULL;
    const json_t *rule, *role;
    const char *st = gov_json_str(identity, "state");
    size_t i, j;
    char src[5 + GOV_NAME_MAX + 1];

    if (!out)
        goto out;
    if (st && strcmp(st, "left") == 0)
        rules = NULL; /* a leaver holds nothing */
    json_array_foreach(rules, i, rule)
    {
        const char *name = gov_json_str(rule, "name");

        if (!gov_name_is_valid(name) || !rule_matches(rule, identity))
            continue;
        snprintf(src, sizeof(src), "rule:%s", name);
        json_array_foreach(json_object_get(rule, "roles"), j, role)
        {
            const char *rn = json_string_value(role);

            if (!rn || has_role(out, rn))
                continue;
            if (json_array_append_new(out, json_pack("{s:s, s:s}", "role", rn, "source", src)) != 0)
                goto out;
        }
    }
    res = out;
    out = NULL;
out:
    json_decref(out);
    return res;
}

int gov_birthright_diff(const json_t *held, const json_t *due, json_t **add, json_t **remove)
{
    int r = -ERR_NOMEM;
    json_t *a = json_array(), *rm = json_array();
    const json_t *e;
    size_t i;

    if (!a || !rm)
        goto out;
    json_array_foreach(due, i, e)
    {
        const char *role = gov_json_str(e, "role");

        if (role && !has_role(held, role) && json_array_append_new(a, json_deep_copy(e)) != 0)
            goto out;
    }
    json_array_foreach(held, i, e)
    {
        const char *role = gov_json_str(e, "role"), *src = gov_json_str(e, "source");

        /* Manual assignments stay; a rule-given role stays while some rule still gives it. */
        if (!role || !src || strncmp(src, "rule:", 5) != 0 || has_role(due, role))
            continue;
        if (json_array_append_new(rm, json_deep_copy(e)) != 0)
            goto out;
    }
    *add = a;
    *remove = rm;
    a = rm = NULL;
    r = 0;
out:
    json_decref(a);
    json_decref(rm);
    return r;
}
