/* SPDX-License-Identifier: Apache-2.0 */
/* Governance names, account ids and glob patterns: validation and bounded matching. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "custos/gov.h"

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool name_is_valid_n(const char *s, size_t n)
{
    if (n == 0 || n > GOV_NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

bool gov_name_is_valid(const char *s)
{
    if (!s)
        return false;
    return name_is_valid_n(s, strnlen(s, GOV_NAME_MAX + 1));
}

bool gov_account_is_valid(const char *account)
{
    const char *at;
    size_t n;

    if (!account)
        return false;
    n = strnlen(account, GOV_PATTERN_MAX + 1);
    if (n > GOV_PATTERN_MAX || !(at = memchr(account, '@', n)))
        return false;
    return name_is_valid_n(account, (size_t)(at - account)) &&
           name_is_valid_n(at + 1, n - (size_t)(at - account) - 1);
}

bool gov_pattern_is_valid(const char *pattern)
{
    size_t n, ats = 0;

    if (!pattern)
        return false;
    n = strnlen(pattern, GOV_PATTERN_MAX + 1);
    if (n == 0 || n > GOV_PATTERN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = pattern[i];

        if (c == '@')
            ats++;
        else if (c != '*' && c != '?' && !is_name_char(c))
            return false;
    }
    return ats == 1;
}

/*
 * Iterative matcher: on a mismatch only the most recent '*' needs to take one
 * more character, because an earlier '*' can never do better than a later
 * one.  Each restart advances the subject, so the cost is O(len(p) * len(s))
 * at worst and there is no recursion to blow up on "*a*a*a...b".
 */
bool gov_glob_match(const char *pattern, const char *s)
{
    return gov_glob_match_except(pattern, s, "");
}

bool gov_glob_match_except(const char *pattern, const char *s, const char *never)
{
    const char *p = pattern, *star = NULL, *resume = NULL;

    if (!pattern || !s || !never)
        return false;
    while (*s) {
        bool wild_ok = !strchr(never, *s); /* may '*' or '?' take this character? */

        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p && ((*p == '?' && wild_ok) || (*p != '?' && *p == *s))) {
            p++;
            s++;
        } else if (star && !strchr(never, *resume)) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/*
 * Do two globs share a matching string?  Reachability in the product of the
 * two pattern automata: state (i, j) means a common prefix brings pattern a
 * to position i and pattern b to j.  Every move increases i or j, so rows can
 * be filled in order, keeping two rows: O(len(a) * len(b)) time.
 */
bool gov_patterns_overlap(const char *a, const char *b)
{
    bool rows[2][GOV_OVERLAP_MAX + 1];
    size_t na, nb;
    bool *cur = rows[0], *next = rows[1];

    if (!a || !b)
        return false;
    na = strnlen(a, GOV_OVERLAP_MAX + 1);
    nb = strnlen(b, GOV_OVERLAP_MAX + 1);
    if (na > GOV_OVERLAP_MAX || nb > GOV_OVERLAP_MAX)
        return false;
    memset(cur, 0, nb + 1);
    cur[0] = true;
    for (size_t i = 0; i <= na; i++) {
        memset(next, 0, nb + 1);
        for (size_t j = 0; j <= nb; j++) {
            bool astar = i < na && a[i] == '*', bstar = j < nb && b[j] == '*';

            if (!cur[j])
                continue;
            if (astar) {
                next[j] = true; /* a's '*' matches nothing more */
                if (j < nb)
                    cur[j + 1] = true; /* a's '*' takes what b[j] stands for */
            }
            if (bstar) {
                cur[j + 1] = true;
                if (i < na)
                    next[j] = true;
            }
            if (i < na && j < nb && !astar && !bstar &&
                (a[i] == b[j] || a[i] == '?' || b[j] == '?'))
                next[j + 1] = true;
        }
        if (i == na)
            return cur[nb];
        bool *t = cur;
        cur = next;
        next = t;
    }
    return false; /* not reached */
}
