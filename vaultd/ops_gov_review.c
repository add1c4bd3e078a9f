/* SPDX-License-Identifier: Apache-2.0 */
/* Access reviews: campaigns, their items, reviewers' decisions, deadlines and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/buf.h"
#include "custos/log.h"
#include "dispatch.h"
#include "gov_state.h"
#include "scopes.h"

/* A campaign given neither deadline nor duration runs for two weeks. */
#define REVIEW_DURATION_DEFAULT ((json_int_t)14 * 86400)
#define REVIEW_DURATION_MAX ((json_int_t)5 * 366 * 86400)
#define REVIEW_NAME_MAX 200u
#define REVIEW_COMMENT_MAX 2000u
#define REVIEW_VALUE_MAX 128u
/* An item id is "<campaign>/i-<n>". */
#define REVIEW_ITEM_ID_MAX 96u
/* The CSV report is one answer line; past this, ask for JSON and page it yourself. */
#define REVIEW_CSV_MAX ((size_t)32 << 20)

static const char *const scope_kinds[] = {"all", "department", "target", "privileged", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool str_is(const json_t *o, const char *key, const char *want)
{
    const char *s = str_of(o, key);

    return s && strcmp(s, want) == 0;
}

/* Free text shown to people (campaign names, comments): no control characters but newlines. */
static bool text_is_valid(const char *s, size_t max, bool newlines)
{
    size_t n = 0;

    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (ch == 0x7f || (ch < 0x20 && !(newlines && (ch == '\n' || ch == '\r' || ch == '\t'))))
            return false;
    }
    return n > 0 && n <= max;
}

/* An undecided item: never reviewed, or handed to a new reviewer at the deadline. */
static bool item_is_open(const json_t *item)
{
    return str_is(item, "decision", "pending") || str_is(item, "decision", "escalated");
}

static int campaign_id_arg(struct req *rq, const char *key, bool required, const char **out)
{
    int r = arg_str(rq, key, required, out);

    if (r == 0 && *out && !name_is_valid(*out)) {
        req_fail(rq, -ERR_INVAL, "\"%s\" is not a campaign id", key);
        r = -ERR_INVAL;
    }
    return r;
}

/* "<campaign>/i-<n>": both halves are names. */
static int item_id_arg(struct req *rq, const char **out)
{
    char camp[REVIEW_ITEM_ID_MAX];
    const char *slash;
    int r;

    if ((r = arg_str(rq, "item", true, out)) != 0)
        return r;
    slash = strchr(*out, '/');
    if (!slash || (size_t)(slash - *out) >= sizeof(camp) || strlen(*out) >= REVIEW_ITEM_ID_MAX)
        goto bad;
    snprintf(camp, sizeof(camp), "%.*s", (int)(slash - *out), *out);
    if (!name_is_valid(camp) || !name_is_valid(slash + 1))
        goto bad;
    return 0;
bad:
    req_fail(rq, -ERR_INVAL, "\"item\" must be an item id CAMPAIGN/i-N");
    return -ERR_INVAL;
}

/* ---- listing order ---- */

/* Ids compared with digit runs as numbers, so c-2 < c-10 and c-1/i-9 < c-1/i-10. */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
        if (la && lb) {
            int c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
            if (c)
                return c;
            a += la;
            b += lb;
        } else if (*a != *b) {
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        } else {
            a++;
            b++;
        }
    }
    return (*a != '\0') - (*b != '\0');
}

static int id_cmp(const void *a, const void *b)
{
    return natural_cmp(str_of(*(json_t *const *)a, "id") ?: "",
                       str_of(*(json_t *const *)b, "id") ?: "");
}

/* Sort an array of objects by "id" in place (natural order). */
static int sort_by_id(json_t *arr)
{
    size_t i, n = json_array_size(arr);
    json_t **v;

    if (n < 2)
        return 0;
    if (!(v = calloc(n, sizeof(*v))))
        return -ERR_NOMEM;
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), id_cmp);
    for (i = 0; i < n; i++)
        json_array_set_new(arr, i, v[i]);
    free(v);
    return 0;
}

/* Every object of a table whose key starts with prefix, in natural id order (new array). */
static int list_sorted(struct vaultd *vd, MDB_txn *txn, enum store_table t, const char *prefix,
                       json_t **out)
{
    json_t *arr = NULL;
    int r;

    *out = NULL;
    if ((r = store_json_list(vd->store, txn, t, prefix, &arr)) != 0)
        return r;
    if ((r = sort_by_id(arr)) != 0) {
        json_decref(arr);
        return r;
    }
    *out = arr;
    return 0;
}

/* Items of campaign `id`, or of every campaign when id is NULL (new array). */
static int items_of(struct vaultd *vd, MDB_txn *txn, const char *id, json_t **out)
{
    char prefix[REVIEW_ITEM_ID_MAX];

    snprintf(prefix, sizeof(prefix), "%s/", id ? id : "");
    return list_sorted(vd, txn, STORE_ITEMS, id ? prefix : "", out);
}

static json_t *totals_of(const json_t *items)
{
    json_int_t pending = 0, certified = 0, revoked = 0, escalated = 0;
    const json_t *it;
    size_t i;

    json_array_foreach(items, i, it)
    {
        const char *d = str_of(it, "decision") ?: "";
        if (strcmp(d, "pending") == 0)
            pending++;
        else if (strcmp(d, "certified") == 0)
            certified++;
        else if (strcmp(d, "revoked") == 0)
            revoked++;
        else if (strcmp(d, "escalated") == 0)
            escalated++;
    }
    return json_pack("{s:I,s:I,s:I,s:I}", "pending", pending, "certified", certified, "revoked",
                     revoked, "escalated", escalated);
}

/* ---- revoking what an item stands for ---- */

/* Remove a held role from an identity (nothing to do when it is gone or no longer held). */
static int revoke_role(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *identity,
                       const char *role)
{
    json_t *ident = NULL, *a;
    bool held = false;
    size_t i;
    int r;

    if ((r = store_json_get(vd->store, txn, STORE_IDENTITIES, identity, &ident)) != 0)
        return r == -ERR_NOT_FOUND ? 0 : r;
    json_array_foreach(json_object_get(ident, "roles"), i, a)
    {
        if (str_is(a, "role", role))
            held = true;
    }
    if (held && (r = gov_role_unassign(vd, rq, txn, ident, role)) == 0)
        r = gov_identity_save(vd, txn, ident);
    json_decref(ident);
    return r;
}

/* End a live grant (nothing to do when it ended already or is gone). */
static int revoke_grant(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *grant,
                        const char *campaign, const char *by, const char *comment)
{
    char reason[REVIEW_COMMENT_MAX + 160];
    json_t *g = NULL;
    int r;

    if ((r = store_json_get(vd->store, txn, STORE_GRANTS, grant, &g)) != 0)
        return r == -ERR_NOT_FOUND ? 0 : r;
    json_decref(g);
    snprintf(reason, sizeof(reason), "review %s: %s", campaign, comment ? comment : "");
    return gov_grant_end(vd, rq, txn, grant, "revoked", by, reason);
}

/*
 * Record a decision on an open item (object modified in place and stored):
 * "certified" or "revoked".  A revocation takes the access away in the same
 * transaction — the role unassigned, the grant revoked — and pushes
 * review.revoked.  Audited.
 */
static int item_decide(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *item,
                       const char *decision, const char *by, const char *comment)
{
    const char *id = str_of(item, "id"), *campaign = str_of(item, "campaign") ?: "";
    const char *identity = str_of(item, "identity") ?: "", *kind = str_of(item, "kind") ?: "";
    const char *ref = str_of(item, "ref") ?: "";
    int r = 0;

    if (strcmp(decision, "revoked") == 0) {
        if (strcmp(kind, "role") == 0) {
            r = revoke_role(vd, rq, txn, identity, ref);
        } else if (strcmp(kind, "grant") == 0) {
            r = revoke_grant(vd, rq, txn, ref, campaign, by, comment);
        } else {
            log_err("item=%s has unknown kind; refusing to guess what to revoke", id);
            req_fail(rq, -ERR_INTERNAL, "item %s has an unknown kind", id);
            r = -ERR_INTERNAL;
        }
        if (r != 0)
            return r;
    }
    json_object_set_new(item, "decision", json_string(decision));
    json_object_set_new(item, "comment", comment ? json_string(comment) : json_null());
    json_object_set_new(item, "decided_by", json_string(by));
    json_object_set_new(item, "decided_at", json_integer(gov_now()));
    if ((r = store_json_put(vd->store, txn, STORE_ITEMS, id, item, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?}", "change", "review.decide",
                                 "decision", decision, "identity", identity, "kind", kind, "ref",
                                 ref, "by", by, "comment", comment))) != 0)
        return r;
    if (strcmp(decision, "revoked") == 0)
        gov_emit(rq, "review.revoked",
                 json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "item", id, "campaign", campaign,
                           "identity", identity, "kind", kind, "ref", ref, "by", by));
    return 0;
}

/*
 * Who takes an item over at the deadline: the reviewer's manager when that
 * is an active identity other than the one under review, else the campaign
 * creator, else (the creator is the one under review) the same reviewer.
 * Borrowed from the inputs.
 */
static const char *escalation_target(const json_t *identities, const json_t *item,
                                     const json_t *campaign)
{
    const char *reviewer = str_of(item, "reviewer") ?: "", *subject = str_of(item, "identity");
    const char *mgr = str_of(json_object_get(identities, reviewer), "manager");
    const char *creator = str_of(campaign, "created_by");
    const json_t *m = mgr ? json_object_get(identities, mgr) : NULL;

    if (m && str_is(m, "state", "active") && (!subject || strcmp(mgr, subject) != 0))
        return mgr;
    if (creator && (!subject || strcmp(creator, subject) != 0))
        return creator;
    return reviewer;
}

static int item_escalate(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *item,
                         const char *to, const char *by)
{
    const char *id = str_of(item, "id");
    int r;

    json_object_set(item, "escalated_from", json_object_get(item, "reviewer"));
    json_object_set_new(item, "escalated_at", json_integer(gov_now()));
    json_object_set_new(item, "reviewer", json_string(to));
    json_object_set_new(item, "decision", json_string("escalated"));
    if ((r = store_json_put(vd->store, txn, STORE_ITEMS, id, item, STORE_UPDATE)) != 0)
        return r;
    return req_audit(vd, rq, txn, id,
                     json_pack("{s:s,s:s,s:O,s:s,s:s}", "change", "review.escalate", "decision",
                               "escalated", "from", json_object_get(item, "escalated_from"), "to",
                               to, "by", by));
}

/*
 * Close an open campaign now: every pending item follows on_deadline
 * (revoked by `by`, or escalated), then state "closed".  Audited; `c` is
 * updated in place and stored.
 */
static int campaign_finish(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t *c,
                           const char *by)
{
    const char *id = str_of(c, "id");
    bool revoke = str_is(c, "on_deadline", "revoke");
    json_t *items = NULL, *identities = NULL, *it;
    json_int_t revoked = 0, escalated = 0;
    size_t i;
    int r;

    if ((r = items_of(vd, txn, id, &items)) != 0 ||
        (!revoke && (r = gov_identities_all(vd, txn, &identities)) != 0))
        goto out;
    json_array_foreach(items, i, it)
    {
        if (!str_is(it, "decision", "pending"))
            continue;
        if (revoke) {
            r = item_decide(vd, rq, txn, it, "revoked", by,
                            "not reviewed before the campaign closed (on_deadline revoke)");
            revoked++;
        } else {
            r = item_escalate(vd, rq, txn, it, escalation_target(identities, it, c), by);
            escalated++;
        }
        if (r != 0)
            goto out;
    }
    json_object_set_new(c, "state", json_string("closed"));
    json_object_set_new(c, "closed_at", json_integer(gov_now()));
    json_object_set_new(c, "closed_by", json_string(by));
    if ((r = store_json_put(vd->store, txn, STORE_CAMPAIGNS, id, c, STORE_UPDATE)) != 0 ||
        (r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:s,s:I,s:I}", "change", "campaign.close", "by", by,
                                 "revoked", revoked, "escalated", escalated))) != 0)
        goto out;
    log_info("campaign=%s closed by=%s revoked=%lld escalated=%lld", id, by, (long long)revoked,
             (long long)escalated);
out:
    json_decref(items);
    json_decref(identities);
    return r;
}

int gov_campaign_deadline(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id)
{
    json_t *c = NULL, *deadline;
    int r;

    if ((r = store_json_get(vd->store, txn, STORE_CAMPAIGNS, id, &c)) != 0) {
        if (r == -ERR_NOT_FOUND) {
            log_warn("campaign=%s deadline for a campaign that does not exist; ignored", id);
            r = 0;
        }
        return r;
    }
    deadline = json_object_get(c, "deadline");
    /* Idempotent: closed already, or the deadline is not (or no longer) due. */
    if (str_is(c, "state", "open") && json_is_integer(deadline) &&
        gov_now() >= json_integer_value(deadline))
        r = campaign_finish(vd, rq, txn, c, "deadline");
    json_decref(c);
    return r;
}

/* ---- snapshot at creation ---- */

struct snap {
    const json_t *scope;
    bool by_account;      /* target/privileged: coverage is decided per account */
    const char *campaign; /* id */
    const char *creator;  /* reviewer of last resort */
    json_t *identities;   /* id -> identity */
    json_t *roles;        /* name -> role */
    json_t *targets;      /* name -> target */
    json_t *accounts;     /* array of account objects */
    json_t *matched;      /* role name -> accounts its entitlements match */
    json_t *items;        /* array being built */
};

static int map_by(struct vaultd *vd, MDB_txn *txn, enum store_table t, const char *key,
                  json_t **out)
{
    json_t *arr = NULL, *o;
    size_t i;
    int r;

    *out = NULL;
    if ((r = gov_list(vd, txn, t, &arr)) != 0)
        return r;
    *out = json_object();
    json_array_foreach(arr, i, o)
    {
        if (str_of(o, key))
            json_object_set(*out, str_of(o, key), o);
    }
    json_decref(arr);
    return 0;
}

/* Fold STORE_USAGE "identity/account" into evidence (latest of each kind). */
static int evidence_add(struct vaultd *vd, MDB_txn *txn, json_t *ev, const char *identity,
                        const char *account)
{
    static const char *const keys[] = {"last_session", "last_use"};
    char key[STORE_KEY_MAX + 1];
    json_t *u = NULL;
    int r;

    if ((size_t)snprintf(key, sizeof(key), "%s/%s", identity, account) >= sizeof(key))
        return 0;
    if ((r = store_json_get(vd->store, txn, STORE_USAGE, key, &u)) != 0)
        return r == -ERR_NOT_FOUND ? 0 : r;
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(u, keys[k]), *cur = json_object_get(ev, keys[k]);
        if (json_is_integer(v) &&
            (!json_is_integer(cur) || json_integer_value(v) > json_integer_value(cur)))
            json_object_set(ev, keys[k], v);
    }
    json_decref(u);
    return 0;
}

/* Append an item (evidence stolen); its reviewer per docs/governance.md. */
static int item_add(struct snap *s, const json_t *identity, const char *kind, const char *ref,
                    const char *account, const json_t *target, json_t *evidence)
{
    char id[REVIEW_ITEM_ID_MAX];
    const char *reviewer =
        gov_reviewer_for(kind, identity, target, s->identities, s->creator) ?: s->creator;
    json_t *item;

    snprintf(id, sizeof(id), "%s/i-%zu", s->campaign, json_array_size(s->items) + 1);
    item = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:o,s:s,s:n,s:n,s:n}", "id", id, "campaign",
                     s->campaign, "identity", str_of(identity, "id"), "kind", kind, "ref", ref,
                     "account", account, "reviewer", reviewer, "evidence", evidence, "decision",
                     "pending", "comment", "decided_by", "decided_at");
    if (!item || json_array_append_new(s->items, item) != 0)
        return -ERR_NOMEM;
    return 0;
}

/* Vault accounts a role's entitlements match: computed once per role (borrowed from s). */
static const json_t *role_accounts(struct snap *s, const char *role_name)
{
    const json_t *role = json_object_get(s->roles, role_name), *acct, *ent;
    json_t *m = json_object_get(s->matched, role_name);
    size_t i, j;

    if (m)
        return m;
    m = json_array();
    json_array_foreach(s->accounts, i, acct)
    {
        const char *aid = str_of(acct, "id");
        json_array_foreach(json_object_get(role, "entitlements"), j, ent)
        {
            if (aid && gov_glob_match(str_of(ent, "account"), aid)) {
                json_array_append(m, (json_t *)acct);
                break;
            }
        }
    }
    json_object_set_new(s->matched, role_name, m);
    return m;
}

/*
 * One item for a held role, if the scope covers it: by the identity alone
 * (all, department), or by any account the role reaches (target, privileged).
 */
static int snap_role(struct vaultd *vd, MDB_txn *txn, struct snap *s, const json_t *identity,
                     const char *role_name)
{
    const char *who = str_of(identity, "id");
    const json_t *accts = role_accounts(s, role_name), *acct;
    bool covered = !s->by_account && gov_scope_covers(s->scope, identity, NULL, NULL);
    json_t *ev;
    size_t i;
    int r;

    for (i = 0; s->by_account && !covered && i < json_array_size(accts); i++) {
        acct = json_array_get(accts, i);
        covered = gov_scope_covers(s->scope, identity, str_of(acct, "id"),
                                   json_object_get(s->targets, str_of(acct, "target") ?: ""));
    }
    if (!covered)
        return 0;
    ev = json_pack("{s:n,s:n}", "last_session", "last_use");
    json_array_foreach(accts, i, acct)
    {
        if ((r = evidence_add(vd, txn, ev, who, str_of(acct, "id"))) != 0) {
            json_decref(ev);
            return r;
        }
    }
    return item_add(s, identity, "role", role_name, NULL, NULL, ev);
}

/* One item for a live grant of `identity`, if the scope covers its account. */
static int snap_grant(struct vaultd *vd, MDB_txn *txn, struct snap *s, const json_t *identity,
                      const json_t *g)
{
    const char *who = str_of(identity, "id"), *account = str_of(g, "account");
    const char *at = account ? strrchr(account, '@') : NULL;
    const json_t *target = at ? json_object_get(s->targets, at + 1) : NULL;
    json_t *ev;
    int r;

    if (!account || !str_of(g, "id") || !gov_scope_covers(s->scope, identity, account, target))
        return 0;
    ev = json_pack("{s:n,s:n}", "last_session", "last_use");
    if ((r = evidence_add(vd, txn, ev, who, account)) != 0) {
        json_decref(ev);
        return r;
    }
    return item_add(s, identity, "grant", str_of(g, "id"), account, target, ev);
}

/*
 * Build s->items: for every active or suspended identity, each role it holds
 * and each live grant, when the scope covers them.
 */
static int snapshot(struct vaultd *vd, MDB_txn *txn, struct snap *s)
{
    json_t *idents = NULL, *live = NULL, *ident, *a, *g;
    size_t i, j;
    int r;

    if ((r = gov_list(vd, txn, STORE_IDENTITIES, &idents)) != 0 ||
        (r = map_by(vd, txn, STORE_ROLES, "name", &s->roles)) != 0 ||
        (r = map_by(vd, txn, STORE_TARGETS, "name", &s->targets)) != 0 ||
        (r = gov_list(vd, txn, STORE_ACCOUNTS, &s->accounts)) != 0)
        goto out;
    if ((r = sort_by_id(idents)) != 0)
        goto out;
    s->identities = json_object();
    s->matched = json_object();
    json_array_foreach(idents, i, ident)
    {
        if (str_of(ident, "id"))
            json_object_set(s->identities, str_of(ident, "id"), ident);
    }
    json_array_foreach(idents, i, ident)
    {
        const char *who = str_of(ident, "id");
        if (!who || !(str_is(ident, "state", "active") || str_is(ident, "state", "suspended")))
            continue;
        json_array_foreach(json_object_get(ident, "roles"), j, a)
        {
            const char *role = str_of(a, "role");
            if (role && (r = snap_role(vd, txn, s, ident, role)) != 0)
                goto out;
        }
        if ((r = gov_grants_live(vd, txn, who, NULL, &live)) != 0)
            goto out;
        json_array_foreach(live, j, g)
        {
            if ((r = snap_grant(vd, txn, s, ident, g)) != 0)
                goto out;
        }
        json_decref(live);
        live = NULL;
    }
    r = 0;
out:
    json_decref(idents);
    json_decref(live);
    return r;
}

/* ---- campaign.create ---- */

/* args.scope -> a new {"kind","value"}; a target scope must name an existing target. */
static int scope_arg(struct vaultd *vd, struct req *rq, MDB_txn *txn, json_t **out)
{
    json_t *sc = json_object_get(rq->args, "scope"), *t = NULL;
    const char *kind = str_of(sc, "kind"), *value;
    json_t *jv = json_object_get(sc, "value");
    int r;

    *out = NULL;
    if (!json_is_object(sc) || !kind || !in_list(kind, scope_kinds)) {
        req_fail(rq, -ERR_INVAL,
                 "\"scope\" must be {\"kind\": all|department|target|privileged, \"value\"?}");
        return -ERR_INVAL;
    }
    if (strcmp(kind, "all") == 0 || strcmp(kind, "privileged") == 0) {
        if (jv && !json_is_null(jv)) {
            req_fail(rq, -ERR_INVAL, "scope %s takes no value", kind);
            return -ERR_INVAL;
        }
        *out = json_pack("{s:s,s:n}", "kind", kind, "value");
        return 0;
    }
    value = json_string_value(jv);
    if (!value || !text_is_valid(value, REVIEW_VALUE_MAX, false)) {
        req_fail(rq, -ERR_INVAL, "scope %s needs a \"value\" (1-%u characters)", kind,
                 REVIEW_VALUE_MAX);
        return -ERR_INVAL;
    }
    if (strcmp(kind, "target") == 0) {
        if (!name_is_valid(value)) {
            req_fail(rq, -ERR_INVAL, "scope target: \"value\" is not a target name");
            return -ERR_INVAL;
        }
        if ((r = gov_load(vd, rq, txn, STORE_TARGETS, "target", value, &t)) != 0)
            return r;
        json_decref(t);
    }
    *out = json_pack("{s:s,s:s}", "kind", kind, "value", value);
    return 0;
}

static int deadline_arg(struct req *rq, json_int_t now, json_int_t *out)
{
    unsigned long long deadline = 0, duration = 0;
    json_t *jd = json_object_get(rq->args, "deadline"), *ju = json_object_get(rq->args, "duration");
    bool has_deadline = jd && !json_is_null(jd), has_duration = ju && !json_is_null(ju);
    int r;

    if (has_deadline && has_duration) {
        req_fail(rq, -ERR_INVAL, "give \"deadline\" or \"duration\", not both");
        return -ERR_INVAL;
    }
    if ((r = arg_uint(rq, "deadline", false, (unsigned long long)now + REVIEW_DURATION_MAX,
                      &deadline)) != 0 ||
        (r = arg_uint(rq, "duration", false, (unsigned long long)REVIEW_DURATION_MAX, &duration)) !=
            0)
        return r;
    if (has_duration && duration == 0) {
        req_fail(rq, -ERR_INVAL, "\"duration\" must be at least 1 second");
        return -ERR_INVAL;
    }
    /* A deadline in the past is allowed: the campaign closes at once (on_deadline applies). */
    if (has_deadline)
        *out = (json_int_t)deadline;
    else
        *out = now + (has_duration ? (json_int_t)duration : REVIEW_DURATION_DEFAULT);
    return 0;
}

static int op_campaign_create(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    char id[32];
    const char *name, *on_deadline = NULL;
    json_int_t now = gov_now(), deadline = 0;
    json_t *scope = NULL, *actor = NULL, *c = NULL, *it;
    struct snap s = {0};
    size_t i;
    int r;

    if ((r = arg_str(rq, "name", true, &name)) != 0 ||
        (r = arg_str(rq, "on_deadline", false, &on_deadline)) != 0)
        goto out;
    if (!text_is_valid(name, REVIEW_NAME_MAX, false)) {
        req_fail(rq, -ERR_INVAL, "\"name\" must be 1-%u printable characters", REVIEW_NAME_MAX);
        r = -ERR_INVAL;
        goto out;
    }
    if (!on_deadline)
        on_deadline = "escalate";
    if (strcmp(on_deadline, "revoke") != 0 && strcmp(on_deadline, "escalate") != 0) {
        req_fail(rq, -ERR_INVAL, "\"on_deadline\" must be revoke or escalate");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = deadline_arg(rq, now, &deadline)) != 0 || (r = scope_arg(vd, rq, txn, &scope)) != 0 ||
        (r = gov_actor_optional(vd, rq, txn, &actor)) != 0 ||
        (r = gov_id_next(vd, txn, "c", id, sizeof(id))) != 0)
        goto out;
    s.scope = scope;
    s.by_account = !str_is(scope, "kind", "all") && !str_is(scope, "kind", "department");
    s.campaign = id;
    s.creator = actor ? str_of(actor, "id") : rq->principal;
    s.items = json_array();
    if ((r = snapshot(vd, txn, &s)) != 0)
        goto out;
    c = json_pack("{s:s,s:s,s:O,s:I,s:s,s:s,s:s,s:I,s:n}", "id", id, "name", name, "scope", scope,
                  "deadline", deadline, "on_deadline", on_deadline, "state", "open", "created_by",
                  s.creator, "created_at", now, "closed_at");
    if ((r = store_json_put(vd->store, txn, STORE_CAMPAIGNS, id, c, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            req_fail(rq, r, "campaign %s exists", id);
        goto out;
    }
    json_array_foreach(s.items, i, it)
    {
        if ((r = store_json_put(vd->store, txn, STORE_ITEMS, str_of(it, "id"), it, STORE_CREATE)) !=
            0)
            goto out;
    }
    if ((r = req_audit(vd, rq, txn, id,
                       json_pack("{s:s,s:s,s:O,s:I,s:s,s:I}", "change", "campaign.create", "name",
                                 name, "scope", scope, "deadline", deadline, "on_deadline",
                                 on_deadline, "items", (json_int_t)json_array_size(s.items)))) != 0)
        goto out;
    gov_schedule(rq, deadline, "campaign", id);
    rq->result = json_deep_copy(c);
    json_object_set_new(rq->result, "items", json_integer((json_int_t)json_array_size(s.items)));
out:
    json_decref(scope);
    json_decref(actor);
    json_decref(c);
    json_decref(s.identities);
    json_decref(s.roles);
    json_decref(s.targets);
    json_decref(s.accounts);
    json_decref(s.matched);
    json_decref(s.items);
    return r;
}

/* ---- campaign.list / get / close ---- */

static int op_campaign_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *arr = NULL;
    int r = list_sorted(vd, txn, STORE_CAMPAIGNS, "", &arr);

    if (r == 0)
        rq->result = json_pack("{s:o}", "campaigns", arr);
    return r;
}

/* The campaign (new object) with "totals" of its items; *items_out (optional) the items. */
static int campaign_with_totals(struct vaultd *vd, struct req *rq, MDB_txn *txn, const char *id,
                                json_t **out, json_t **items_out)
{
    json_t *c = NULL, *items = NULL;
    int r;

    *out = NULL;
    if ((r = gov_load(vd, rq, txn, STORE_CAMPAIGNS, "campaign", id, &c)) != 0)
        return r;
    if ((r = items_of(vd, txn, id, &items)) != 0) {
        json_decref(c);
        return r;
    }
    json_object_set_new(c, "totals", totals_of(items));
    *out = c;
    if (items_out)
        *items_out = items;
    else
        json_decref(items);
    return 0;
}

static int op_campaign_get(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    int r;

    if ((r = campaign_id_arg(rq, "id", true, &id)) != 0)
        return r;
    return campaign_with_totals(vd, rq, txn, id, &rq->result, NULL);
}

static int op_campaign_close(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id;
    json_t *c = NULL, *actor = NULL;
    int r;

    if ((r = campaign_id_arg(rq, "id", true, &id)) != 0 ||
        (r = gov_actor_optional(vd, rq, txn, &actor)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_CAMPAIGNS, "campaign", id, &c)) != 0)
        goto out;
    if (!str_is(c, "state", "open")) {
        req_fail(rq, -ERR_STATE, "campaign %s is %s already", id, str_of(c, "state") ?: "closed");
        r = -ERR_STATE;
        goto out;
    }
    if ((r = campaign_finish(vd, rq, txn, c, actor ? str_of(actor, "id") : rq->principal)) != 0)
        goto out;
    r = campaign_with_totals(vd, rq, txn, id, &rq->result, NULL);
out:
    json_decref(c);
    json_decref(actor);
    return r;
}

/* ---- campaign.report ---- */

/*
 * One RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes
 * doubled).  A field a spreadsheet would run as a formula (leading = + - @
 * tab or CR) gets a leading apostrophe: comments are free text from
 * reviewers, and the report is meant to be opened by people.
 */
static int csv_field(struct buf *b, const char *s, bool last)
{
    bool formula = s && s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = s && (formula || strpbrk(s, ",\"\r\n"));
    int r = 0;

    if (quote && (r = buf_append(b, "\"", 1)) != 0)
        return r;
    if (formula && (r = buf_append(b, "'", 1)) != 0)
        return r;
    for (const char *p = s; p && *p && r == 0; p++)
        r = *p == '"' ? buf_append(b, "\"\"", 2) : buf_append(b, p, 1);
    if (r == 0 && quote)
        r = buf_append(b, "\"", 1);
    if (r == 0)
        r = last ? buf_append(b, "\r\n", 2) : buf_append(b, ",", 1);
    return r;
}

static int csv_value(struct buf *b, const json_t *v, bool last)
{
    char num[32];

    if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return csv_field(b, num, last);
    }
    return csv_field(b, json_string_value(v), last);
}

static const char *const csv_columns[] = {
    "item",           "identity",     "kind",     "ref",        "account",
    "reviewer",       "decision",     "comment",  "decided_by", "decided_at",
    "escalated_from", "last_session", "last_use", NULL};

static int report_csv(const json_t *items, json_t **out)
{
    struct buf b;
    const json_t *it;
    size_t i, k;
    int r = 0;

    *out = NULL;
    buf_init(&b, REVIEW_CSV_MAX);
    for (k = 0; csv_columns[k] && r == 0; k++)
        r = csv_field(&b, csv_columns[k], !csv_columns[k + 1]);
    json_array_foreach(items, i, it)
    {
        const json_t *ev = json_object_get(it, "evidence");
        for (k = 0; csv_columns[k] && r == 0; k++) {
            const char *col = csv_columns[k];
            const json_t *v;
            if (strcmp(col, "item") == 0)
                v = json_object_get(it, "id");
            else if (strcmp(col, "last_session") == 0 || strcmp(col, "last_use") == 0)
                v = json_object_get(ev, col);
            else
                v = json_object_get(it, col);
            r = csv_value(&b, v, !csv_columns[k + 1]);
        }
        if (r != 0)
            break;
    }
    if (r == 0) {
        *out = json_stringn(b.data ? b.data : "", b.len);
        r = *out ? 0 : -ERR_NOMEM;
    }
    buf_fini(&b);
    return r;
}

/*
 * The report answers to `gov` (campaign owners) and to `audit` (auditors who
 * administer nothing).  The op table takes one set of required bits, so the
 * entry asks for none beyond being a known principal and the check is here.
 */
static int op_campaign_report(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *id, *format = NULL;
    json_t *c = NULL, *items = NULL, *csv = NULL;
    int r;

    if (!(rq->scopes & (SCOPE(GOV) | SCOPE(AUDIT)))) {
        log_warn("principal=%s op=%s refused: scope", rq->principal, rq->op->name);
        req_fail(rq, -ERR_DENIED, "principal lacks the scope for this op (gov or audit)");
        return -ERR_DENIED;
    }
    if ((r = campaign_id_arg(rq, "id", true, &id)) != 0 ||
        (r = arg_str(rq, "format", false, &format)) != 0)
        return r;
    if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        req_fail(rq, -ERR_INVAL, "\"format\" must be json or csv");
        return -ERR_INVAL;
    }
    if ((r = campaign_with_totals(vd, rq, txn, id, &c, &items)) != 0)
        goto out;
    if (format && strcmp(format, "csv") == 0) {
        if ((r = report_csv(items, &csv)) != 0) {
            req_fail(rq, r, "report of campaign %s is too large for CSV; use JSON", id);
            goto out;
        }
        rq->result = json_pack("{s:o}", "csv", csv);
    } else {
        rq->result = json_pack("{s:O,s:O,s:O}", "campaign", c, "items", items, "totals",
                               json_object_get(c, "totals"));
    }
out:
    json_decref(c);
    json_decref(items);
    return r;
}

/* ---- gov.review.list / decide ---- */

/*
 * Items assigned to the acting identity; a `gov` caller that names no
 * identity sees every item.  Like the report, the entry needs no scope bits
 * and the check (request or gov) is here.
 */
static int op_review_list(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *campaign = NULL, *me = NULL;
    json_t *actor = NULL, *all = NULL, *res = NULL, *it;
    size_t i;
    int r;

    if (!(rq->scopes & (SCOPE(REQUEST) | SCOPE(GOV)))) {
        log_warn("principal=%s op=%s refused: scope", rq->principal, rq->op->name);
        req_fail(rq, -ERR_DENIED, "principal lacks the scope for this op (request or gov)");
        return -ERR_DENIED;
    }
    if ((r = campaign_id_arg(rq, "campaign", false, &campaign)) != 0)
        return r;
    if ((r = gov_actor_optional(vd, rq, txn, &actor)) != 0)
        goto out;
    if (actor && (rq->scopes & SCOPE(REQUEST))) {
        me = str_of(actor, "id");
    } else if (!(rq->scopes & SCOPE(GOV))) {
        req_fail(rq, -ERR_DENIED,
                 "principal %s is not bound to an identity; pass \"as\" (needs the act_as scope)",
                 rq->principal);
        r = -ERR_DENIED;
        goto out;
    }
    if ((r = items_of(vd, txn, campaign, &all)) != 0)
        goto out;
    res = json_array();
    json_array_foreach(all, i, it)
    {
        if (!me || str_is(it, "reviewer", me))
            json_array_append(res, it);
    }
    rq->result = json_pack("{s:o}", "items", res);
out:
    json_decref(actor);
    json_decref(all);
    return r;
}

static int op_review_decide(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    const char *item_id, *decision, *comment = NULL, *me;
    json_t *actor = NULL, *item = NULL;
    int r;

    if ((r = item_id_arg(rq, &item_id)) != 0 ||
        (r = arg_str(rq, "decision", true, &decision)) != 0 ||
        (r = arg_str(rq, "comment", false, &comment)) != 0)
        goto out;
    if (strcmp(decision, "certify") != 0 && strcmp(decision, "revoke") != 0) {
        req_fail(rq, -ERR_INVAL, "\"decision\" must be certify or revoke");
        r = -ERR_INVAL;
        goto out;
    }
    if (comment && !*comment)
        comment = NULL;
    if (comment && !text_is_valid(comment, REVIEW_COMMENT_MAX, true)) {
        req_fail(rq, -ERR_INVAL, "\"comment\" must be up to %u printable characters",
                 REVIEW_COMMENT_MAX);
        r = -ERR_INVAL;
        goto out;
    }
    if (!comment && strcmp(decision, "revoke") == 0) {
        req_fail(rq, -ERR_INVAL, "a revoke decision needs a \"comment\"");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = gov_actor(vd, rq, txn, &actor)) != 0 ||
        (r = gov_load(vd, rq, txn, STORE_ITEMS, "review item", item_id, &item)) != 0)
        goto out;
    me = str_of(actor, "id");
    if (!str_is(item, "reviewer", me)) {
        req_fail(rq, -ERR_DENIED, "item %s is not assigned to %s", item_id, me);
        r = -ERR_DENIED;
        goto out;
    }
    if (str_is(item, "identity", me)) {
        req_fail(rq, -ERR_DENIED, "nobody reviews their own access (item %s)", item_id);
        r = -ERR_DENIED;
        goto out;
    }
    if (!item_is_open(item)) {
        req_fail(rq, -ERR_STATE, "item %s is %s already", item_id,
                 str_of(item, "decision") ?: "decided");
        r = -ERR_STATE;
        goto out;
    }
    if ((r = item_decide(vd, rq, txn, item,
                         strcmp(decision, "revoke") == 0 ? "revoked" : "certified", me, comment)) !=
        0)
        goto out;
    rq->result = json_incref(item);
out:
    json_decref(actor);
    json_decref(item);
    return r;
}

const struct op ops_gov_review[] = {
    {"gov.campaign.create", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_campaign_create, NULL},
    {"gov.campaign.list", SCOPE(GOV), ST_UNSEALED, OP_READ, op_campaign_list, NULL},
    {"gov.campaign.get", SCOPE(GOV), ST_UNSEALED, OP_READ, op_campaign_get, NULL},
    {"gov.campaign.close", SCOPE(GOV), ST_UNSEALED, OP_WRITE, op_campaign_close, NULL},
    /* Scope gov or audit: checked in the handler. */
    {"gov.campaign.report", 0, ST_UNSEALED, OP_READ, op_campaign_report, NULL},
    /* Scope request or gov: checked in the handler. */
    {"gov.review.list", 0, ST_UNSEALED, OP_READ, op_review_list, NULL},
    {"gov.review.decide", SCOPE(REQUEST), ST_UNSEALED, OP_WRITE, op_review_decide, NULL},
    {NULL, 0, 0, 0, NULL, NULL},
};
