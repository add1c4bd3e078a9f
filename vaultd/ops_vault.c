/* SPDX-License-Identifier: Apache-2.0 */
/* vault.* ops: status, init, unseal, seal, rekey, backup, restore. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/log.h"
#include "crypt.h"
#include "dispatch.h"
#include "gov_state.h"
#include "scopes.h"
#include "shamir.h"

#ifndef CUSTOS_VERSION
#include "custos_config.h"
#endif

const char *vaultd_state_name(enum vault_state s)
{
    switch (s) {
    case VAULT_UNINITIALIZED:
        return "uninitialized";
    case VAULT_SEALED:
        return "sealed";
    case VAULT_UNSEALED:
        return "unsealed";
    }
    return "unknown";
}

/* A string argument copied into locked memory; the JSON copy is wiped by the allocator. */
static int arg_secret(struct req *rq, const char *key, struct secbuf **out)
{
    json_t *v = json_object_get(rq->args, key);

    *out = NULL;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        req_fail(rq, -ERR_INVAL, "argument \"%s\" must be a non-empty string", key);
        return -ERR_INVAL;
    }
    return secbuf_from(json_string_value(v), json_string_length(v), out);
}

static const char *desc_method(const json_t *desc)
{
    return json_string_value(json_object_get(desc, "method"));
}

static int op_status(struct vaultd *vd, struct req *rq, MDB_txn *txn)
{
    json_t *res = json_object();

    (void)txn;
    json_object_set_new(res, "state", json_string(vaultd_state_name(vd->state)));
    json_object_set_new(res, "method",
                        vd->kek_desc ? json_string(desc_method(vd->kek_desc)) : json_null());
    if (vd->kek_desc && strcmp(desc_method(vd->kek_desc), "shamir") == 0) {
        json_object_set(res, "threshold", json_object_get(vd->kek_desc, "threshold"));
        json_object_set_new(res, "shares_given", json_integer(vd->shares_given));
    }
    json_object_set_new(res, "schema", json_integer(STORE_SCHEMA));
    json_object_set_new(res, "version", json_string(CUSTOS_VERSION));
    rq->result = res;
    return 0;
}

/*
 * Write the descriptor, create the audit keys and the first audit entry in
 * one transaction, so a crash leaves either no vault or a complete one.
 */
static int init_commit(struct vaultd *vd, struct req *rq, json_t *desc, const struct secbuf *dek)
{
    MDB_txn *txn = NULL;
    struct audit *a = NULL;
    json_t *detail = json_pack("{s:s}", "method", desc_method(desc));
    int r;

    if ((r = store_txn_begin(vd->store, NULL, true, &txn)) != 0)
        goto out;
    if ((r = store_json_put(vd->store, txn, STORE_META, "kek", desc, STORE_CREATE)) != 0) {
        if (r == -ERR_EXISTS)
            r = -ERR_ALREADY_INIT;
        goto out;
    }
    if ((r = audit_open(vd->store, txn, dek, &a)) != 0)
        goto out;
    vd->audit = a; /* borrowed by req_audit for this one entry */
    r = req_audit(vd, rq, txn, NULL, detail);
    detail = NULL;
    vd->audit = NULL;
    if (r != 0)
        goto out;
    r = store_txn_commit(txn);
    txn = NULL;
out:
    json_decref(detail);
    store_txn_abort(txn);
    audit_free(a);
    return r;
}

static int op_init(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    const struct vconf *conf = vd->conf;
    struct secbuf *pass = NULL, *kek = NULL, *dek = NULL, *shares[SHAMIR_MAX_SHARES] = {0};
    json_t *desc = NULL, *res = json_object(), *list = NULL;
    const char *method = NULL;
    unsigned long long n = 0, k = 0;
    bool created = false;
    int r;

    (void)unused;
    if ((r = arg_str(rq, "method", true, &method)) != 0)
        goto out;
    if (strcmp(method, "passphrase") == 0) {
        if ((r = arg_secret(rq, "passphrase", &pass)) != 0)
            goto out;
        if ((r = keys_desc_new(method, conf->argon2_ops, conf->argon2_mem, 0, 0, &desc)) != 0)
            goto out;
        if ((r = keys_kek_from_passphrase(desc, pass, &kek)) != 0)
            goto out;
    } else if (strcmp(method, "keyfile") == 0) {
        if (!conf->key_file || !*conf->key_file) {
            req_fail(rq, -ERR_CONFIG, "no [vault] key_file is configured");
            r = -ERR_CONFIG;
            goto out;
        }
        if (access(conf->key_file, F_OK) != 0) {
            if ((r = keys_keyfile_create(conf->key_file)) != 0)
                goto out;
            created = true;
        }
        if ((r = keys_desc_new(method, 0, 0, 0, 0, &desc)) != 0)
            goto out;
        if ((r = keys_kek_from_file(conf->key_file, &kek)) != 0) {
            req_fail(rq, r, "key file %s cannot be used", conf->key_file);
            goto out;
        }
    } else if (strcmp(method, "shamir") == 0) {
        if ((r = arg_uint(rq, "shares", true, SHAMIR_MAX_SHARES, &n)) != 0 ||
            (r = arg_uint(rq, "threshold", true, SHAMIR_MAX_SHARES, &k)) != 0)
            goto out;
        if (k < 2 || k > n) {
            req_fail(rq, -ERR_INVAL, "need 2 <= threshold <= shares <= %u", SHAMIR_MAX_SHARES);
            r = -ERR_INVAL;
            goto out;
        }
        if ((r = keys_desc_new(method, 0, 0, (unsigned)k, (unsigned)n, &desc)) != 0 ||
            (r = crypt_key_new(&kek)) != 0 ||
            (r = shamir_split(kek, (unsigned)k, (unsigned)n, shares)) != 0)
            goto out;
        list = json_array();
        for (unsigned i = 0; i < n; i++) {
            struct secbuf *text = NULL;
            if ((r = shamir_share_encode(shares[i], (unsigned)k, &text)) != 0)
                goto out;
            json_array_append_new(list, json_stringn(secbuf_cdata(text), secbuf_len(text)));
            secbuf_free(text);
        }
    } else {
        req_fail(rq, -ERR_INVAL, "method must be passphrase, keyfile or shamir");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = crypt_key_new(&dek)) != 0 || (r = keys_wrap_dek(desc, kek, dek)) != 0)
        goto out;
    if ((r = init_commit(vd, rq, desc, dek)) != 0)
        goto out;
    json_object_set_new(res, "state", json_string("sealed"));
    json_object_set_new(res, "method", json_string(method));
    if (list)
        json_object_set(res, "shares", list);
    if (created)
        json_object_set_new(res, "key_file_created", json_string(conf->key_file));
    rq->new_desc = desc;
    desc = NULL;
    rq->result = res;
    res = NULL;
out:
    for (unsigned i = 0; i < SHAMIR_MAX_SHARES; i++)
        secbuf_free(shares[i]);
    json_decref(list);
    json_decref(res);
    json_decref(desc);
    secbuf_free(pass);
    secbuf_free(kek);
    secbuf_free(dek);
    return r;
}

static void post_init(struct vaultd *vd, struct req *rq)
{
    if (rq->err || !rq->new_desc)
        return;
    vd->kek_desc = rq->new_desc;
    rq->new_desc = NULL;
    vd->state = VAULT_SEALED;
    log_info("vault initialized method=%s principal=%s", desc_method(vd->kek_desc), rq->principal);
}

/* With the DEK in hand: load the audit keys and write the unseal entry. */
static int unseal_finish(struct vaultd *vd, struct req *rq, struct secbuf *dek)
{
    MDB_txn *txn = NULL;
    struct audit *a = NULL;
    json_t *detail = json_object(), *ev = NULL;
    int r;

    if ((r = store_txn_begin(vd->store, NULL, true, &txn)) != 0)
        goto out;
    if ((r = audit_open(vd->store, txn, dek, &a)) != 0) {
        req_fail(rq, r, "audit keys cannot be opened");
        goto out;
    }
    json_object_set_new(detail, "failed_attempts", json_integer(vd->failed_unseals));
    json_object_set_new(detail, "method", json_string(desc_method(vd->kek_desc)));
    if (vd->restored_from)
        json_object_set_new(detail, "restored_from", json_string(vd->restored_from));
    ev = req_audit_event(rq, NULL, detail);
    detail = NULL;
    r = audit_append(a, txn, ev);
    if (r == -ERR_TAMPERED) {
        /*
         * The stored chain does not match its signed head.  Unseal anyway so
         * that audit.verify can show what is wrong; every op that must write
         * an audit entry keeps failing until the log is repaired (restore).
         */
        log_err("audit log fails its integrity check: unsealed for inspection only, every "
                "write and release is refused; run 'custos audit verify'");
        store_txn_abort(txn);
        txn = NULL;
    } else if (r != 0) {
        req_fail(rq, -ERR_AUDIT, "audit log could not be written; vault stays sealed");
        r = -ERR_AUDIT;
        goto out;
    } else if ((r = store_txn_commit(txn)) != 0) {
        txn = NULL;
        req_fail(rq, -ERR_AUDIT, "audit log could not be written; vault stays sealed");
        r = -ERR_AUDIT;
        goto out;
    }
    txn = NULL;
    r = 0;
    rq->new_audit = a;
    a = NULL;
out:
    json_decref(ev);
    json_decref(detail);
    store_txn_abort(txn);
    audit_free(a);
    return r;
}

static int op_unseal(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    const char *method = desc_method(vd->kek_desc);
    struct secbuf *pass = NULL, *kek = NULL, *dek = NULL;
    json_t *share = json_object_get(rq->args, "share");
    int r;

    (void)unused;
    if (json_object_get(rq->args, "passphrase")) {
        if (strcmp(method, "passphrase") != 0)
            goto wrong_method;
        if ((r = arg_secret(rq, "passphrase", &pass)) != 0 ||
            (r = keys_kek_from_passphrase(vd->kek_desc, pass, &kek)) != 0)
            goto out;
    } else if (json_is_true(json_object_get(rq->args, "keyfile"))) {
        if (strcmp(method, "keyfile") != 0)
            goto wrong_method;
        if ((r = keys_kek_from_file(vd->conf->key_file, &kek)) != 0) {
            req_fail(rq, r, "key file %s cannot be used", vd->conf->key_file);
            goto out;
        }
    } else if (share) {
        if (strcmp(method, "shamir") != 0)
            goto wrong_method;
        if (!json_is_string(share)) {
            req_fail(rq, -ERR_INVAL, "argument \"share\" must be a string");
            r = -ERR_INVAL;
            goto out;
        }
        if (!vd->shares && (r = keys_shares_new((unsigned)json_integer_value(
                                                    json_object_get(vd->kek_desc, "threshold")),
                                                &vd->shares)) != 0)
            goto out;
        if ((r = keys_shares_add(vd->shares, json_string_value(share),
                                 json_string_length(share))) != 0) {
            req_fail(rq, r,
                     r == -ERR_PARSE ? "share is malformed or mistyped"
                                     : "share does not fit this vault or was given already");
            goto out;
        }
        if (keys_shares_count(vd->shares) <
            (unsigned)json_integer_value(json_object_get(vd->kek_desc, "threshold"))) {
            rq->result = json_pack("{s:s,s:i,s:O}", "state", "sealed", "shares_given",
                                   (int)keys_shares_count(vd->shares), "threshold",
                                   json_object_get(vd->kek_desc, "threshold"));
            r = 0;
            goto out;
        }
        r = keys_shares_combine(vd->shares, &kek);
        keys_shares_free(vd->shares); /* a wrong set is forgotten whole */
        vd->shares = NULL;
        if (r != 0)
            goto out;
    } else {
        req_fail(rq, -ERR_INVAL, "give one of \"passphrase\", \"keyfile\": true or \"share\"");
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = keys_unwrap_dek(vd->kek_desc, kek, &dek)) != 0) {
        vd->failed_unseals++;
        log_warn("unseal failed principal=%s uid=%u method=%s attempts=%u", rq->principal,
                 (unsigned)rq->uid, method, vd->failed_unseals);
        req_fail(rq, -ERR_AUTH, "wrong %s",
                 strcmp(method, "shamir") == 0    ? "set of shares"
                 : strcmp(method, "keyfile") == 0 ? "key file"
                                                  : "passphrase");
        r = -ERR_AUTH;
        goto out;
    }
    if ((r = unseal_finish(vd, rq, dek)) != 0)
        goto out;
    rq->new_kek = kek;
    rq->new_dek = dek;
    kek = dek = NULL;
    rq->result = json_pack("{s:s}", "state", "unsealed");
    r = 0;
    goto out;
wrong_method:
    req_fail(rq, -ERR_INVAL, "this vault is unsealed with its %s", method);
    r = -ERR_INVAL;
out:
    secbuf_free(pass);
    secbuf_free(kek);
    secbuf_free(dek);
    return r;
}

static void post_unseal(struct vaultd *vd, struct req *rq)
{
    vd->shares_given = vd->shares ? keys_shares_count(vd->shares) : 0;
    if (rq->err || !rq->new_dek)
        return;
    vd->kek = rq->new_kek;
    vd->dek = rq->new_dek;
    vd->audit = rq->new_audit;
    rq->new_kek = rq->new_dek = NULL;
    rq->new_audit = NULL;
    vd->state = VAULT_UNSEALED;
    vd->failed_unseals = 0;
    if (gov_timers_load(vd) != 0)
        log_err("governance deadlines could not be loaded; they apply at the next unseal");
    free(vd->restored_from);
    vd->restored_from = NULL;
    log_info("vault unsealed principal=%s uid=%u", rq->principal, (unsigned)rq->uid);
}

/*
 * Seal: a final audit entry and signed checkpoint, then the keys go.  Sealing
 * never fails for want of an audit entry: keeping keys in memory because the
 * log is broken would be the worse outcome.
 */
static int op_seal(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    MDB_txn *txn = NULL;
    int r;

    (void)unused;
    if ((r = store_txn_begin(vd->store, NULL, true, &txn)) == 0 &&
        (r = req_audit(vd, rq, txn, NULL, NULL)) == 0 &&
        (r = audit_checkpoint(vd->audit, txn)) == 0) {
        r = store_txn_commit(txn);
        txn = NULL;
    }
    if (r != 0)
        log_err_r(r, "seal: no durable audit entry; sealing anyway");
    store_txn_abort(txn);
    rq->err = 0;
    rq->errmsg[0] = '\0';
    rq->result = json_pack("{s:s}", "state", "sealed");
    return 0;
}

void vaultd_wipe_keys(struct vaultd *vd)
{
    secbuf_free(vd->kek);
    secbuf_free(vd->dek);
    audit_free(vd->audit);
    keys_shares_free(vd->shares);
    vd->kek = vd->dek = NULL;
    vd->audit = NULL;
    vd->shares = NULL;
    vd->shares_given = 0;
    gov_timers_clear(vd);
    if (vd->state == VAULT_UNSEALED)
        vd->state = VAULT_SEALED;
}

static void post_seal(struct vaultd *vd, struct req *rq)
{
    if (rq->err)
        return;
    vaultd_wipe_keys(vd);
    log_info("vault sealed principal=%s uid=%u", rq->principal, (unsigned)rq->uid);
}

/* Rekey: new DEK, every value re-encrypted, the DEK re-wrapped, all in one txn. */
static int op_rekey(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    struct secbuf *dek = NULL;
    json_t *desc = json_deep_copy(vd->kek_desc);
    MDB_txn *txn = NULL;
    size_t count = 0;
    int r;

    (void)unused;
    if ((r = crypt_key_new(&dek)) != 0 || (r = keys_wrap_dek(desc, vd->kek, dek)) != 0)
        goto out;
    if ((r = store_txn_begin(vd->store, NULL, true, &txn)) != 0)
        goto out;
    if ((r = store_reseal_all(vd->store, txn, vd->dek, dek, &count)) != 0) {
        req_fail(rq, r, "re-encryption failed; nothing changed");
        goto out;
    }
    if ((r = store_json_put(vd->store, txn, STORE_META, "kek", desc, STORE_UPDATE)) != 0)
        goto out;
    if ((r = req_audit(vd, rq, txn, NULL, json_pack("{s:I}", "reencrypted", (json_int_t)count))) !=
        0)
        goto out;
    if ((r = store_txn_commit(txn)) != 0) {
        txn = NULL;
        req_fail(rq, r, "rekey could not be committed; nothing changed");
        goto out;
    }
    txn = NULL;
    rq->new_dek = dek;
    rq->new_desc = desc;
    dek = NULL;
    desc = NULL;
    rq->result = json_pack("{s:I}", "reencrypted", (json_int_t)count);
out:
    store_txn_abort(txn);
    secbuf_free(dek);
    json_decref(desc);
    return r;
}

static void post_rekey(struct vaultd *vd, struct req *rq)
{
    if (rq->err || !rq->new_dek)
        return;
    secbuf_free(vd->dek);
    vd->dek = rq->new_dek;
    rq->new_dek = NULL;
    json_decref(vd->kek_desc);
    vd->kek_desc = rq->new_desc;
    rq->new_desc = NULL;
    log_info("vault rekeyed principal=%s", rq->principal);
}

static int abs_path_arg(struct req *rq, const char **out)
{
    int r = arg_str(rq, "path", true, out);

    if (r == 0 && (*out)[0] != '/') {
        req_fail(rq, -ERR_INVAL, "\"path\" must be absolute");
        r = -ERR_INVAL;
    }
    return r;
}

/* Backup: audited first (in a txn of its own), then copied from a read snapshot. */
static int op_backup(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    const char *path;
    uint64_t bytes = 0;
    MDB_txn *txn = NULL;
    int r;

    (void)unused;
    if ((r = abs_path_arg(rq, &path)) != 0)
        return r;
    if (access(path, F_OK) == 0) {
        req_fail(rq, -ERR_EXISTS, "%s exists; backups never overwrite", path);
        return -ERR_EXISTS;
    }
    if ((r = store_txn_begin(vd->store, NULL, true, &txn)) != 0)
        return r;
    if ((r = req_audit(vd, rq, txn, path, NULL)) != 0 || (r = store_txn_commit(txn)) != 0) {
        store_txn_abort(r == -ERR_AUDIT ? txn : NULL);
        return -ERR_AUDIT;
    }
    if ((r = store_backup(vd->store, path, &bytes)) != 0) {
        req_fail(rq, r, "backup to %s failed", path);
        return r;
    }
    rq->result = json_pack("{s:s,s:I}", "path", path, "bytes", (json_int_t)bytes);
    log_info("backup written path=%s bytes=%llu principal=%s", path, (unsigned long long)bytes,
             rq->principal);
    return 0;
}

static int op_restore(struct vaultd *vd, struct req *rq, MDB_txn *unused)
{
    const char *path;
    int r;

    (void)unused;
    if ((r = abs_path_arg(rq, &path)) != 0)
        return r;
    if ((r = store_check_file(path)) != 0) {
        req_fail(rq, r, "%s is not a usable Custos backup (%s)", path, err_str(r));
        return r;
    }
    if (vd->state == VAULT_UNSEALED) {
        MDB_txn *txn = NULL;
        if ((r = store_txn_begin(vd->store, NULL, true, &txn)) != 0)
            return r;
        if ((r = req_audit(vd, rq, txn, path, NULL)) != 0 || (r = store_txn_commit(txn)) != 0) {
            store_txn_abort(r == -ERR_AUDIT ? txn : NULL);
            return -ERR_AUDIT;
        }
    }
    rq->new_store = vd->store;
    rq->store_replaced = true;
    if ((r = store_restore(&rq->new_store, path)) != 0) {
        req_fail(rq, r, "restore from %s failed", path);
        return r;
    }
    rq->result = json_pack("{s:s}", "state", "sealed");
    return 0;
}

static void post_restore(struct vaultd *vd, struct req *rq)
{
    json_t *desc = NULL;
    MDB_txn *txn = NULL;
    const char *path = json_string_value(json_object_get(rq->args, "path"));

    if (!rq->store_replaced)
        return;                /* refused before anything changed */
    vd->store = rq->new_store; /* NULL if the reopen failed: fatal below */
    rq->new_store = NULL;
    if (vd->store && vd->conf->sync_interval_ms && store_set_nosync(vd->store, true) != 0)
        log_err("restored store: cannot set delayed sync");
    if (rq->err && vd->store)
        return;
    vaultd_wipe_keys(vd);
    json_decref(vd->kek_desc);
    vd->kek_desc = NULL;
    vd->state = VAULT_UNINITIALIZED;
    if (!vd->store) {
        log_err("restore left no usable environment; stopping");
        vd->exit_code = 1;
        vaultd_stop(vd);
        return;
    }
    if (store_txn_begin(vd->store, NULL, false, &txn) == 0 &&
        store_json_get(vd->store, txn, STORE_META, "kek", &desc) == 0) {
        vd->kek_desc = desc;
        vd->state = VAULT_SEALED;
    }
    store_txn_abort(txn);
    free(vd->restored_from);
    vd->restored_from = path ? strdup(path) : NULL;
    log_info("restored from %s principal=%s; vault is %s", path ? path : "-", rq->principal,
             vaultd_state_name(vd->state));
}

const struct op ops_vault[] = {
    {"vault.status", SCOPE(STATUS), ST_UNINIT | ST_SEALED | ST_UNSEALED, OP_LOOP, op_status, NULL},
    {"vault.init", SCOPE(ADMIN), ST_UNINIT, OP_EXCLUSIVE, op_init, post_init},
    {"vault.unseal", SCOPE(UNSEAL), ST_SEALED, OP_EXCLUSIVE, op_unseal, post_unseal},
    {"vault.seal", SCOPE(ADMIN), ST_UNSEALED, OP_EXCLUSIVE, op_seal, post_seal},
    {"vault.rekey", SCOPE(ADMIN), ST_UNSEALED, OP_EXCLUSIVE, op_rekey, post_rekey},
    {"vault.backup", SCOPE(ADMIN), ST_UNSEALED, OP_EXCLUSIVE, op_backup, NULL},
    {"vault.restore", SCOPE(ADMIN), ST_UNINIT | ST_SEALED | ST_UNSEALED, OP_EXCLUSIVE, op_restore,
     post_restore},
    {NULL, 0, 0, 0, NULL, NULL},
};
