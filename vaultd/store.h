/* SPDX-License-Identifier: Apache-2.0 */
/* The LMDB environment of vaultd: tables, schema, JSON objects and sealed values. */
#ifndef VAULTD_STORE_H
#define VAULTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "custos/secbuf.h"

/* Schema of the environment written by this build; a newer one is refused. */
#define STORE_SCHEMA 1u
/* Default map size: 1 GiB (sparse; grows on disk only as used). */
#define STORE_MAP_SIZE_DEFAULT ((size_t)1 << 30)
/* Longest key accepted by any table (LMDB's default limit is 511). */
#define STORE_KEY_MAX 400u

enum store_table {
    STORE_META,       /* name -> JSON: "schema", "kek" (descriptor, no secrets) ... */
    STORE_TARGETS,    /* target name -> JSON */
    STORE_ACCOUNTS,   /* "name@target" -> JSON */
    STORE_SECRETS,    /* key || 0x00 || be32 version -> nonce||ct||tag (sealed) */
    STORE_AUDIT,      /* be64 seq -> JSON entry */
    STORE_AUDIT_CKPT, /* be64 seq -> JSON signed checkpoint */
    /* Governance (docs/governance.md); keys are ids unless said otherwise. */
    STORE_IDENTITIES, /* identity id -> JSON */
    STORE_KEYFP,      /* "SHA256:..." -> {"identity": id} */
    STORE_ROLES,      /* role name -> JSON */
    STORE_RULES,      /* birthright rule name -> JSON */
    STORE_SOD,        /* SoD rule name -> JSON */
    STORE_SOD_EXC,    /* exception id -> JSON */
    STORE_AUTO,       /* auto-approval rule name -> JSON */
    STORE_REQUESTS,   /* request id -> JSON */
    STORE_GRANTS,     /* grant id -> JSON */
    STORE_GRANT_IDX,  /* "identity/account/grant" -> {"state","expires_at"} (every grant) */
    STORE_ASSIGN,     /* "identity/%016llu" -> {"role","source","from","until"} (history) */
    STORE_CAMPAIGNS,  /* campaign id -> JSON */
    STORE_ITEMS,      /* "campaign/item" -> JSON */
    STORE_ROTATION,   /* queue id -> JSON */
    STORE_USAGE,      /* "identity/account" -> {"last_session","last_use"} */
    STORE_SESSIONS,   /* broker session id -> JSON (docs/api.md, session.*) */
    STORE_MFA,        /* identity id -> TOTP throttle record (gov_throttle_to_json) */
    STORE__TABLES
};

/* Flags for store_json_put. */
#define STORE_UPSERT 0u
#define STORE_CREATE 1u /* fail with -ERR_EXISTS if the key exists */
#define STORE_UPDATE 2u /* fail with -ERR_NOT_FOUND if it does not */

struct store;

/*
 * Open (creating if needed) the environment in directory `dir` (created 0700
 * if missing; data.mdb is 0600).  A new environment gets STORE_SCHEMA.  An
 * existing one must carry a schema <= STORE_SCHEMA (-ERR_SCHEMA otherwise,
 * logged with both numbers); an unreadable or non-LMDB file gives
 * -ERR_CORRUPT, never a crash.  `map_size` 0 means STORE_MAP_SIZE_DEFAULT.
 * Only vaultd calls this.  *out is freed with store_close().
 */
MUST_CHECK int store_open(const char *dir, size_t map_size, struct store **out);
void store_close(struct store *s);

/* Directory the store was opened on (borrowed, valid until store_close). */
const char *store_dir(const struct store *s);

/*
 * Transactions.  A write txn must be committed or aborted on the thread that
 * began it.  store_txn_begin with `parent` non-NULL begins a nested write txn.
 * commit maps MDB_MAP_FULL to -ERR_FULL and other failures to -ERR_IO (the txn
 * is gone either way).  abort accepts NULL.
 */
MUST_CHECK int store_txn_begin(struct store *s, MDB_txn *parent, bool write, MDB_txn **out);
MUST_CHECK int store_txn_commit(MDB_txn *txn);
void store_txn_abort(MDB_txn *txn);

/*
 * Delayed durability ([vault] sync_interval_ms > 0): with `on`, commits are
 * written to the OS but not fsynced (MDB_NOSYNC); store_sync() then flushes
 * them.  Call both from the writer thread only (never during a write txn).
 */
MUST_CHECK int store_set_nosync(struct store *s, bool on);
MUST_CHECK int store_sync(struct store *s);

/*
 * Translate an LMDB (MDB_*) or errno result once, at the call, logging the
 * original with `func` and `what`: NOT_FOUND, EXISTS, FULL, CORRUPT, BUSY,
 * TOO_LONG, NOMEM, INVAL, else IO.  For modules (audit) that call LMDB.
 */
MUST_CHECK int store_mdb_error(const char *func, int rc, const char *what);

/* The LMDB handle of a table, for modules (audit) that walk it themselves. */
MDB_dbi store_dbi(const struct store *s, enum store_table t);

/* JSON objects.  `key` is a NUL-terminated string of at most STORE_KEY_MAX bytes. */
MUST_CHECK int store_json_get(struct store *s, MDB_txn *txn, enum store_table t, const char *key,
                              json_t **out);
MUST_CHECK int store_json_put(struct store *s, MDB_txn *txn, enum store_table t, const char *key,
                              const json_t *obj, unsigned flags);
/* -ERR_NOT_FOUND if absent. */
MUST_CHECK int store_del(struct store *s, MDB_txn *txn, enum store_table t, const char *key);
/* Every object whose key starts with `prefix` ("" for all), in key order, as a new array. */
MUST_CHECK int store_json_list(struct store *s, MDB_txn *txn, enum store_table t,
                               const char *prefix, json_t **out);

/*
 * Sealed values in STORE_SECRETS.  The LMDB key is key || 0x00 || be32(version)
 * and is also the associated data, so a value cannot be moved to another
 * record or version unnoticed.  get returns -ERR_NOT_FOUND or -ERR_TAMPERED;
 * the plaintext is a new secbuf owned by the caller.
 */
MUST_CHECK int store_value_put(struct store *s, MDB_txn *txn, const struct secbuf *dek,
                               const char *key, uint32_t version, const void *plain, size_t len);
MUST_CHECK int store_value_get(struct store *s, MDB_txn *txn, const struct secbuf *dek,
                               const char *key, uint32_t version, struct secbuf **out);
MUST_CHECK int store_value_del(struct store *s, MDB_txn *txn, const char *key, uint32_t version);
/* Delete every version of `key`. */
MUST_CHECK int store_value_del_all(struct store *s, MDB_txn *txn, const char *key);
/* Re-encrypt every sealed value from old_dek to new_dek inside `txn`; *count = values done. */
MUST_CHECK int store_reseal_all(struct store *s, MDB_txn *txn, const struct secbuf *old_dek,
                                const struct secbuf *new_dek, size_t *count);

/*
 * Hot backup: a consistent, compacted copy written to `path` (which must not
 * exist; created 0600 and fsynced).  Runs against a read txn of its own, so
 * service goes on; call from a worker thread.  *bytes = size written.
 */
MUST_CHECK int store_backup(struct store *s, const char *path, uint64_t *bytes);

/*
 * Check that `path` is a readable Custos environment file (as written by
 * store_backup) with a supported schema: 0, -ERR_CORRUPT, -ERR_SCHEMA, -ERR_IO.
 */
MUST_CHECK int store_check_file(const char *path);

/*
 * Replace the environment of *s by the backup at `path`: check it, copy it
 * beside data.mdb, fsync, close *s, rename over data.mdb, reopen into *s.
 * On failure before the rename nothing changed and *s is still open; on a
 * failure to reopen *s is NULL and the error is returned.
 */
MUST_CHECK int store_restore(struct store **s, const char *backup_path);

#endif
