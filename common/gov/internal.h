/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the governance policy files (common/gov/), not part of the public API. */
#ifndef CUSTOS_GOV_INTERNAL_H
#define CUSTOS_GOV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "custos/gov.h"

/* Defaults docs/governance.md gives for fields a caller may leave out. */
#define GOV_DEFAULT_MAX_DURATION 3600

/* The string value of o[key], or NULL when o is not an object or the value not a string. */
const char *gov_json_str(const json_t *o, const char *key);
/* The integer value of o[key], or def when missing or not an integer. */
json_int_t gov_json_int(const json_t *o, const char *key, json_int_t def);
/* o[key] is JSON true (missing or anything else: false). */
bool gov_json_true(const json_t *o, const char *key);
/* Does array `arr` hold the string `s`? (false for a non-array) */
bool gov_json_array_has(const json_t *arr, const char *s);
/* The identity's state is "active" (a missing state is not active). */
bool gov_is_active(const json_t *identity);

/* Write one sentence to why (when why and whylen are non-zero). */
void gov_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Approval of an entitlement with defaults applied: by "manager", count 1;
 * by "none" has count 0.  *by is borrowed from ent.  Rank orders approvals
 * for eligibility: none 0, one approver 1, two approvers 2.
 */
void gov_approval_get(const json_t *approval, const char **by, json_int_t *count);
int gov_approval_rank(const json_t *approval);

#endif
