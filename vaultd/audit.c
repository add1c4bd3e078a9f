/* SPDX-License-Identifier: Apache-2.0 */
/* Audit log in LMDB: a keyed BLAKE2b chain of JSON entries with Ed25519-signed checkpoints. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "custos/log.h"
#include "audit.h"

#define AUDIT_HASH_LEN 32u /* BLAKE2b-256 (RFC 7693) */
#define AUDIT_MAC_LEN 32u
#define AUDIT_VERSION 1u
#define AUDIT_KEY_MAC "!audit/mac"
#define AUDIT_KEY_SIGN "!audit/sign"
#define AUDIT_HEAD "audit_head"
#define AUDIT_META "audit"
/* Checkpoints and the head sign: domain || le64 seq || hash. */
#define CKPT_DOMAIN "custos-audit-ckpt-v1"
#define CKPT_DOMAIN_LEN (sizeof(CKPT_DOMAIN) - 1)
#define CKPT_MSG_LEN (CKPT_DOMAIN_LEN + 8u + AUDIT_HASH_LEN)
/* Every entry and checkpoint is written in this one form, so any changed byte shows. */
#define CANON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define PARSE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

struct audit {
    struct store *s;
    struct secbuf *mac; /* chain MAC key */
    struct secbuf *sk;  /* Ed25519 secret key (seed || public key) */
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
};

/* A signed (seq, hash) pair: the head and every checkpoint have this shape. */
struct ckpt {
    uint64_t seq;
    unsigned char hash[AUDIT_HASH_LEN];
    unsigned char sig[crypto_sign_BYTES];
};

/* As store's translation, but a duplicate key below the last seq means the table is not ours. */
static int from_mdb(const char *func, int rc, const char *what)
{
    if (rc == MDB_KEYEXIST) {
        log_msg(LOG_LVL_ERR, func, "%s: %s (rc=%d)", what, mdb_strerror(rc), rc);
        return -ERR_CORRUPT;
    }
    return store_mdb_error(func, rc, what);
}
#define FROM_MDB(rc, what) from_mdb(__func__, (rc), (what))

static void be64_put(unsigned char *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

static uint64_t be64_get(const unsigned char *b)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void le64_put(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        b[i] = (unsigned char)v;
}

static double now_real(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex_encode(char *hex, const unsigned char *bin, size_t len)
{
    sodium_bin2hex(hex, 2 * len + 1, bin, len);
}

/* Exactly 2*len lowercase or uppercase hex digits, nothing else: 0 or -1. */
static int hex_field(const json_t *obj, const char *name, unsigned char *bin, size_t len)
{
    const char *hex = json_string_value(json_object_get(obj, name));
    size_t got = 0;
    const char *end = NULL;

    if (!hex || strlen(hex) != 2 * len)
        return -1;
    if (sodium_hex2bin(bin, len, hex, 2 * len, NULL, &got, &end) != 0 || got != len || *end)
        return -1;
    return 0;
}

/* A positive integer field: 0 or -1. */
static int seq_field(const json_t *obj, uint64_t *seq)
{
    const json_t *v = json_object_get(obj, "seq");

    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return -1;
    *seq = (uint64_t)json_integer_value(v);
    return 0;
}

static json_t *parse(const MDB_val *v)
{
    json_t *obj = json_loadb(v->mv_data, v->mv_size, PARSE_FLAGS, NULL);

    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* hash = BLAKE2b-256(key=mac, prev || le64(seq) || canonical entry without "hash"). */
static void entry_hash(const struct audit *a, const unsigned char *prev, uint64_t seq,
                       const char *canon, size_t len, unsigned char *out)
{
    crypto_generichash_state st;
    unsigned char le[8];

    le64_put(le, seq);
    crypto_generichash_init(&st, secbuf_cdata(a->mac), AUDIT_MAC_LEN, AUDIT_HASH_LEN);
    crypto_generichash_update(&st, prev, AUDIT_HASH_LEN);
    crypto_generichash_update(&st, le, sizeof(le));
    crypto_generichash_update(&st, (const unsigned char *)canon, len);
    crypto_generichash_final(&st, out, AUDIT_HASH_LEN);
    sodium_memzero(&st, sizeof(st)); /* keyed state */
}

static void ckpt_msg(unsigned char *msg, uint64_t seq, const unsigned char *hash)
{
    memcpy(msg, CKPT_DOMAIN, CKPT_DOMAIN_LEN);
    le64_put(msg + CKPT_DOMAIN_LEN, seq);
    memcpy(msg + CKPT_DOMAIN_LEN + 8, hash, AUDIT_HASH_LEN);
}

static int ckpt_sig_ok(const struct audit *a, const struct ckpt *c)
{
    unsigned char msg[CKPT_MSG_LEN];

    ckpt_msg(msg, c->seq, c->hash);
    return crypto_sign_verify_detached(c->sig, msg, sizeof(msg), a->pk) == 0;
}

/* {"seq","hash","time","sig"}, signed now. */
static int ckpt_new(const struct audit *a, uint64_t seq, const unsigned char *hash, json_t **out)
{
    unsigned char msg[CKPT_MSG_LEN], sig[crypto_sign_BYTES];
    char hash_hex[2 * AUDIT_HASH_LEN + 1], sig_hex[2 * crypto_sign_BYTES + 1];
    json_t *obj;

    ckpt_msg(msg, seq, hash);
    crypto_sign_detached(sig, NULL, msg, sizeof(msg), secbuf_cdata(a->sk));
    hex_encode(hash_hex, hash, AUDIT_HASH_LEN);
    hex_encode(sig_hex, sig, sizeof(sig));
    obj = json_pack("{s:I, s:s, s:f, s:s}", "seq", (json_int_t)seq, "hash", hash_hex, "time",
                    now_real(), "sig", sig_hex);
    if (!obj)
        return -ERR_NOMEM;
    *out = obj;
    return 0;
}

/* Decode a checkpoint or head object; its signature is not checked here. */
static int ckpt_decode(const json_t *obj, struct ckpt *c)
{
    if (seq_field(obj, &c->seq) != 0 || hex_field(obj, "hash", c->hash, AUDIT_HASH_LEN) != 0 ||
        hex_field(obj, "sig", c->sig, crypto_sign_BYTES) != 0)
        return -1;
    return 0;
}

/* The seq and hash of the last entry (0 and zeros when the log is empty). */
static int log_last(const struct audit *a, MDB_txn *txn, uint64_t *seq, unsigned char *hash)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    json_t *obj = NULL;
    uint64_t fseq;
    int r, rc;

    if ((rc = mdb_cursor_open(txn, store_dbi(a->s, STORE_AUDIT), &cur)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        *seq = 0;
        memset(hash, 0, AUDIT_HASH_LEN);
        r = 0;
        goto out;
    }
    if (rc != 0) {
        r = FROM_MDB(rc, "mdb_cursor_get");
        goto out;
    }
    if (k.mv_size != 8 || !(obj = parse(&v)) || seq_field(obj, &fseq) != 0 ||
        fseq != be64_get(k.mv_data) || hex_field(obj, "hash", hash, AUDIT_HASH_LEN) != 0) {
        log_err("last audit entry is malformed");
        r = -ERR_CORRUPT;
        goto out;
    }
    *seq = fseq;
    r = 0;
out:
    json_decref(obj);
    mdb_cursor_close(cur);
    return r;
}

/*
 * The signed head must name the last entry before anything is chained to it:
 * otherwise a cut tail, then one honest append, would re-sign the cut log.
 */
static int head_check(const struct audit *a, MDB_txn *txn, uint64_t seq, const unsigned char *hash)
{
    json_t *obj = NULL;
    struct ckpt head;
    int r;

    r = store_json_get(a->s, txn, STORE_META, AUDIT_HEAD, &obj);
    if (r == -ERR_NOT_FOUND && seq == 0) {
        r = 0;
        goto out;
    }
    if (r == -ERR_NOT_FOUND) {
        log_err("audit log ends at seq=%llu but has no signed head", (unsigned long long)seq);
        r = -ERR_TAMPERED;
        goto out;
    }
    if (r != 0)
        goto out;
    if (ckpt_decode(obj, &head) != 0 || !ckpt_sig_ok(a, &head)) {
        log_err("audit signed head is malformed or its signature is invalid");
        r = -ERR_TAMPERED;
        goto out;
    }
    if (head.seq != seq || sodium_memcmp(head.hash, hash, AUDIT_HASH_LEN) != 0) {
        log_err("audit signed head is at seq=%llu but the log ends at seq=%llu",
                (unsigned long long)head.seq, (unsigned long long)seq);
        r = -ERR_TAMPERED;
        goto out;
    }
    r = 0;
out:
    json_decref(obj);
    return r;
}

static int ckpt_put(const struct audit *a, MDB_txn *txn, uint64_t seq, const json_t *obj)
{
    unsigned char kb[8];
    char *text = NULL;
    MDB_val k = {sizeof(kb), kb}, v;
    int r, rc;

    be64_put(kb, seq);
    if (!(text = json_dumps(obj, CANON_FLAGS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    v.mv_size = strlen(text);
    v.mv_data = text;
    if ((rc = mdb_put(txn, store_dbi(a->s, STORE_AUDIT_CKPT), &k, &v, 0)) != 0) {
        r = FROM_MDB(rc, "mdb_put checkpoint");
        goto out;
    }
    r = 0;
out:
    free(text);
    return r;
}

/* ---- keys --------------------------------------------------------------- */

static int keys_create(struct audit *a, MDB_txn *txn, const struct secbuf *dek)
{
    MDB_stat st;
    json_t *meta = NULL;
    int r, rc;

    /* Missing keys beside a non-empty log means deletion, not a first start. */
    if ((rc = mdb_stat(txn, store_dbi(a->s, STORE_AUDIT), &st)) != 0) {
        r = FROM_MDB(rc, "mdb_stat");
        goto out;
    }
    r = store_json_get(a->s, txn, STORE_META, AUDIT_META, &meta);
    if (r == 0 || st.ms_entries > 0) {
        log_err("audit keys are missing but the audit log exists (entries=%zu)",
                (size_t)st.ms_entries);
        r = -ERR_TAMPERED;
        goto out;
    }
    if (r != -ERR_NOT_FOUND)
        goto out;
    if ((r = secbuf_new(AUDIT_MAC_LEN, &a->mac)) != 0 ||
        (r = secbuf_new(crypto_sign_SECRETKEYBYTES, &a->sk)) != 0)
        goto out;
    randombytes_buf(secbuf_data(a->mac), AUDIT_MAC_LEN);
    crypto_sign_keypair(a->pk, secbuf_data(a->sk));
    if ((r = secbuf_set_len(a->mac, AUDIT_MAC_LEN)) != 0 ||
        (r = secbuf_set_len(a->sk, crypto_sign_SECRETKEYBYTES)) != 0)
        goto out;
    hex_encode(a->pk_hex, a->pk, sizeof(a->pk));
    if ((r = store_value_put(a->s, txn, dek, AUDIT_KEY_MAC, AUDIT_VERSION, secbuf_cdata(a->mac),
                             AUDIT_MAC_LEN)) != 0 ||
        (r = store_value_put(a->s, txn, dek, AUDIT_KEY_SIGN, AUDIT_VERSION, secbuf_cdata(a->sk),
                             crypto_sign_SECRETKEYBYTES)) != 0) {
        log_err_r(r, "storing new audit keys failed (a write txn is needed on first use)");
        goto out;
    }
    if (!(meta =
              json_pack("{s:s, s:I}", "pubkey", a->pk_hex, "created_at", (json_int_t)time(NULL)))) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((r = store_json_put(a->s, txn, STORE_META, AUDIT_META, meta, STORE_CREATE)) != 0)
        goto out;
    log_info("created audit keys pubkey=%s", a->pk_hex);
    r = 0;
out:
    json_decref(meta);
    return r;
}

static int keys_check(struct audit *a, MDB_txn *txn)
{
    json_t *meta = NULL;
    const char *pub;
    int r;

    if (secbuf_len(a->mac) != AUDIT_MAC_LEN || secbuf_len(a->sk) != crypto_sign_SECRETKEYBYTES) {
        log_err("audit keys have the wrong length");
        r = -ERR_CORRUPT;
        goto out;
    }
    crypto_sign_ed25519_sk_to_pk(a->pk, secbuf_cdata(a->sk));
    hex_encode(a->pk_hex, a->pk, sizeof(a->pk));
    r = store_json_get(a->s, txn, STORE_META, AUDIT_META, &meta);
    if (r != 0 && r != -ERR_NOT_FOUND)
        goto out;
    pub = json_string_value(json_object_get(meta, "pubkey"));
    if (!pub || strcmp(pub, a->pk_hex) != 0) {
        log_err("audit public key in meta does not match the sealed signing key");
        r = -ERR_TAMPERED;
        goto out;
    }
    r = 0;
out:
    json_decref(meta);
    return r;
}

int audit_open(struct store *s, MDB_txn *txn, const struct secbuf *dek, struct audit **out)
{
    struct audit *a = NULL;
    int r, r1, r2;

    if (out)
        *out = NULL;
    if (!s || !txn || !dek || !out) {
        r = -ERR_INVAL;
        goto out;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        r = -ERR_NOMEM;
        goto out;
    }
    a->s = s;
    r1 = store_value_get(s, txn, dek, AUDIT_KEY_MAC, AUDIT_VERSION, &a->mac);
    r2 = store_value_get(s, txn, dek, AUDIT_KEY_SIGN, AUDIT_VERSION, &a->sk);
    if (r1 == -ERR_NOT_FOUND && r2 == -ERR_NOT_FOUND) {
        r = keys_create(a, txn, dek);
    } else if (r1 == -ERR_NOT_FOUND || r2 == -ERR_NOT_FOUND) {
        log_err("one of the two audit keys is missing");
        r = -ERR_TAMPERED;
    } else if (r1 != 0 || r2 != 0) {
        r = r1 != 0 ? r1 : r2;
    } else {
        r = keys_check(a, txn);
    }
    if (r != 0)
        goto out;
    *out = a;
    a = NULL;
out:
    audit_free(a);
    return r;
}

void audit_free(struct audit *a)
{
    if (!a)
        return;
    secbuf_free(a->mac);
    secbuf_free(a->sk);
    sodium_memzero(a, sizeof(*a));
    free(a);
}

const char *audit_pubkey_hex(const struct audit *a)
{
    return a->pk_hex;
}

/* ---- append ------------------------------------------------------------- */

int audit_append(struct audit *a, MDB_txn *txn, json_t *event)
{
    unsigned char prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN], kb[8];
    char hex[2 * AUDIT_HASH_LEN + 1];
    json_t *entry = NULL, *head = NULL;
    char *canon = NULL, *text = NULL;
    MDB_val k = {sizeof(kb), kb}, v;
    uint64_t last, seq;
    int r, rc;

    if (!a || !txn || !json_is_object(event)) {
        r = -ERR_INVAL;
        goto out;
    }
    /* Read from the txn: after an abort the next append reuses the seq. */
    if ((r = log_last(a, txn, &last, prev)) != 0 || (r = head_check(a, txn, last, prev)) != 0)
        goto out;
    seq = last + 1;
    /* A shallow copy: the caller's object is borrowed and stays as it was. */
    if (!(entry = json_copy(event))) {
        r = -ERR_NOMEM;
        goto out;
    }
    hex_encode(hex, prev, AUDIT_HASH_LEN);
    json_object_del(entry, "hash");
    if (json_object_set_new(entry, "seq", json_integer((json_int_t)seq)) != 0 ||
        json_object_set_new(entry, "time", json_real(now_real())) != 0 ||
        json_object_set_new(entry, "prev", json_string(hex)) != 0 ||
        !(canon = json_dumps(entry, CANON_FLAGS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    entry_hash(a, prev, seq, canon, strlen(canon), hash);
    hex_encode(hex, hash, AUDIT_HASH_LEN);
    if (json_object_set_new(entry, "hash", json_string(hex)) != 0 ||
        !(text = json_dumps(entry, CANON_FLAGS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    be64_put(kb, seq);
    v.mv_size = strlen(text);
    v.mv_data = text;
    /* MDB_APPEND: the key must sort after every other, which a seq gap would not. */
    if ((rc = mdb_put(txn, store_dbi(a->s, STORE_AUDIT), &k, &v, MDB_APPEND)) != 0) {
        r = FROM_MDB(rc, "mdb_put audit entry");
        goto out;
    }
    if ((r = ckpt_new(a, seq, hash, &head)) != 0 ||
        (r = store_json_put(a->s, txn, STORE_META, AUDIT_HEAD, head, STORE_UPSERT)) != 0)
        goto out;
    if (seq % AUDIT_CHECKPOINT_EVERY == 0 && (r = ckpt_put(a, txn, seq, head)) != 0)
        goto out;
    r = 0;
out:
    free(canon);
    free(text);
    json_decref(head);
    json_decref(entry);
    return r;
}

int audit_checkpoint(struct audit *a, MDB_txn *txn)
{
    unsigned char hash[AUDIT_HASH_LEN];
    json_t *obj = NULL;
    uint64_t seq;
    int r;

    if (!a || !txn) {
        r = -ERR_INVAL;
        goto out;
    }
    if ((r = log_last(a, txn, &seq, hash)) != 0 || (r = head_check(a, txn, seq, hash)) != 0)
        goto out;
    if (seq == 0) {
        r = 0; /* nothing to vouch for yet */
        goto out;
    }
    if ((r = ckpt_new(a, seq, hash, &obj)) != 0 || (r = ckpt_put(a, txn, seq, obj)) != 0)
        goto out;
    r = 0;
out:
    json_decref(obj);
    return r;
}

/* ---- verify ------------------------------------------------------------- */

struct walk {
    uint64_t entries, ckpts;
    uint64_t last;                      /* last entry proved good */
    unsigned char hash[AUDIT_HASH_LEN]; /* its hash */
    uint64_t bad_seq;                   /* 0: none */
    char reason[160];
};

static void walk_fail(struct walk *w, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void walk_fail(struct walk *w, uint64_t seq, const char *fmt, ...)
{
    va_list ap;

    w->bad_seq = seq;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
}

/* Check one entry against the chain; 0 good, 1 bad (w says why), or a negative error. */
static int entry_check(const struct audit *a, struct walk *w, uint64_t seq, const MDB_val *v)
{
    unsigned char prev[AUDIT_HASH_LEN], stored[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
    json_t *obj = NULL;
    char *canon = NULL;
    uint64_t fseq;
    int r;

    if (!(obj = parse(v))) {
        walk_fail(w, seq, "entry is not a JSON object");
        r = 1;
        goto out;
    }
    if (seq_field(obj, &fseq) != 0 || fseq != seq) {
        walk_fail(w, seq, "entry seq field does not match its position (moved or reordered)");
        r = 1;
        goto out;
    }
    if (hex_field(obj, "prev", prev, sizeof(prev)) != 0 ||
        sodium_memcmp(prev, w->hash, sizeof(prev)) != 0) {
        walk_fail(w, seq, "entry prev does not match the previous entry's hash");
        r = 1;
        goto out;
    }
    if (hex_field(obj, "hash", stored, sizeof(stored)) != 0) {
        walk_fail(w, seq, "entry hash field is malformed");
        r = 1;
        goto out;
    }
    /* Byte-exact canonical form: a change that parses to the same JSON still shows. */
    if (!(canon = json_dumps(obj, CANON_FLAGS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (strlen(canon) != v->mv_size || memcmp(canon, v->mv_data, v->mv_size) != 0) {
        walk_fail(w, seq, "entry bytes are not in canonical form (modified)");
        r = 1;
        goto out;
    }
    free(canon);
    json_object_del(obj, "hash");
    if (!(canon = json_dumps(obj, CANON_FLAGS))) {
        r = -ERR_NOMEM;
        goto out;
    }
    entry_hash(a, prev, seq, canon, strlen(canon), hash);
    if (sodium_memcmp(hash, stored, sizeof(hash)) != 0) {
        walk_fail(w, seq, "entry hash does not match its contents (modified)");
        r = 1;
        goto out;
    }
    memcpy(w->hash, hash, sizeof(hash));
    w->last = seq;
    w->entries++;
    r = 0;
out:
    free(canon);
    json_decref(obj);
    return r;
}

/* Check the checkpoint stored for entry `seq` (whose hash is w->hash): 0 good, 1 bad. */
static int ckpt_check(const struct audit *a, struct walk *w, uint64_t seq, const MDB_val *v)
{
    json_t *obj = parse(v);
    struct ckpt c;
    int r = 1;

    if (!obj || ckpt_decode(obj, &c) != 0)
        walk_fail(w, seq, "checkpoint is malformed");
    else if (c.seq != seq)
        walk_fail(w, seq, "checkpoint seq field does not match its position");
    else if (!ckpt_sig_ok(a, &c))
        walk_fail(w, seq, "checkpoint signature is invalid");
    else if (sodium_memcmp(c.hash, w->hash, sizeof(c.hash)) != 0)
        walk_fail(w, seq, "checkpoint hash does not match the chain");
    else
        r = 0;
    json_decref(obj);
    return r;
}

/* Walk entries and checkpoints together, in seq order, stopping at the first fault. */
static int chain_walk(const struct audit *a, MDB_txn *txn, struct walk *w)
{
    MDB_cursor *ce = NULL, *cc = NULL;
    MDB_val k, v, ck, cv;
    uint64_t seq, cseq = 0;
    int r, rc, rcc;

    if ((rc = mdb_cursor_open(txn, store_dbi(a->s, STORE_AUDIT), &ce)) != 0 ||
        (rc = mdb_cursor_open(txn, store_dbi(a->s, STORE_AUDIT_CKPT), &cc)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    rcc = mdb_cursor_get(cc, &ck, &cv, MDB_FIRST);
    for (rc = mdb_cursor_get(ce, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(ce, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            walk_fail(w, w->last + 1, "entry key is malformed");
            r = 0;
            goto out;
        }
        seq = be64_get(k.mv_data);
        if (seq != w->last + 1) {
            walk_fail(w, w->last + 1, "entry is missing (next stored entry is seq %llu)",
                      (unsigned long long)seq);
            r = 0;
            goto out;
        }
        if ((r = entry_check(a, w, seq, &v)) != 0) {
            r = r > 0 ? 0 : r;
            goto out;
        }
        if (rcc == 0 && ck.mv_size == 8)
            cseq = be64_get(ck.mv_data);
        if (rcc == 0 && (ck.mv_size != 8 || cseq < seq)) {
            walk_fail(w, ck.mv_size == 8 ? cseq : seq, "checkpoint does not match any entry");
            r = 0;
            goto out;
        }
        if (rcc == 0 && cseq == seq) {
            if (ckpt_check(a, w, seq, &cv) != 0) {
                r = 0;
                goto out;
            }
            w->ckpts++;
            rcc = mdb_cursor_get(cc, &ck, &cv, MDB_NEXT);
        } else if (seq % AUDIT_CHECKPOINT_EVERY == 0) {
            walk_fail(w, seq, "checkpoint is missing");
            r = 0;
            goto out;
        }
    }
    if (rc != MDB_NOTFOUND) {
        r = FROM_MDB(rc, "mdb_cursor_get audit");
        goto out;
    }
    if (rcc == 0) {
        cseq = ck.mv_size == 8 ? be64_get(ck.mv_data) : 0;
        walk_fail(w, w->last + 1,
                  "entries are missing at the tail (a checkpoint exists for seq %llu)",
                  (unsigned long long)cseq);
        r = 0;
        goto out;
    }
    if (rcc != MDB_NOTFOUND) {
        r = FROM_MDB(rcc, "mdb_cursor_get checkpoint");
        goto out;
    }
    r = 0;
out:
    mdb_cursor_close(cc);
    mdb_cursor_close(ce);
    return r;
}

/* The signed head must sign the last entry. */
static int head_walk(const struct audit *a, MDB_txn *txn, struct walk *w)
{
    json_t *obj = NULL;
    struct ckpt head;
    int r;

    r = store_json_get(a->s, txn, STORE_META, AUDIT_HEAD, &obj);
    if (r == -ERR_NOT_FOUND) {
        if (w->last > 0)
            walk_fail(w, w->last, "signed head is missing");
        r = 0;
        goto out;
    }
    if (r != 0)
        goto out;
    if (ckpt_decode(obj, &head) != 0)
        walk_fail(w, w->last + 1, "signed head is malformed");
    else if (!ckpt_sig_ok(a, &head))
        walk_fail(w, head.seq, "signed head signature is invalid");
    else if (head.seq > w->last)
        walk_fail(w, w->last + 1, "entries are missing at the tail (signed head is at seq %llu)",
                  (unsigned long long)head.seq);
    else if (head.seq < w->last)
        walk_fail(w, head.seq + 1, "entries follow the signed head (seq %llu)",
                  (unsigned long long)head.seq);
    else if (sodium_memcmp(head.hash, w->hash, sizeof(head.hash)) != 0)
        walk_fail(w, w->last, "last entry does not match the signed head");
    r = 0;
out:
    json_decref(obj);
    return r;
}

int audit_verify(struct audit *a, MDB_txn *txn, json_t **report)
{
    char hex[2 * AUDIT_HASH_LEN + 1];
    struct walk w;
    json_t *rep = NULL, *err = NULL;
    int r;

    if (report)
        *report = NULL;
    if (!a || !txn || !report) {
        r = -ERR_INVAL;
        goto out;
    }
    memset(&w, 0, sizeof(w));
    if ((r = chain_walk(a, txn, &w)) != 0)
        goto out;
    if (w.bad_seq == 0 && (r = head_walk(a, txn, &w)) != 0)
        goto out;
    hex_encode(hex, w.hash, sizeof(w.hash));
    rep = json_pack("{s:b, s:I, s:I, s:{s:I, s:s}, s:s}", "ok", w.bad_seq == 0, "entries",
                    (json_int_t)w.entries, "checkpoints", (json_int_t)w.ckpts, "head", "seq",
                    (json_int_t)w.last, "hash", hex, "pubkey", a->pk_hex);
    if (!rep) {
        r = -ERR_NOMEM;
        goto out;
    }
    if (w.bad_seq != 0) {
        if (!(err = json_pack("{s:I, s:s}", "seq", (json_int_t)w.bad_seq, "reason", w.reason)) ||
            json_object_set_new(rep, "error", err) != 0) {
            r = -ERR_NOMEM;
            goto out;
        }
        log_warn("audit chain broken at seq=%llu: %s", (unsigned long long)w.bad_seq, w.reason);
    }
    *report = rep;
    rep = NULL;
    r = 0;
out:
    json_decref(rep);
    return r;
}

/* ---- export ------------------------------------------------------------- */

int audit_export(struct store *s, MDB_txn *txn, uint64_t after, size_t limit, json_t **out)
{
    unsigned char kb[8];
    MDB_cursor *cur = NULL;
    MDB_val k = {sizeof(kb), kb}, v;
    json_t *arr = NULL, *obj = NULL, *res = NULL;
    uint64_t last = 0;
    size_t n = 0;
    bool more = false;
    int r, rc;

    if (out)
        *out = NULL;
    if (!s || !txn || !out || limit == 0) {
        r = -ERR_INVAL;
        goto out;
    }
    if (!(arr = json_array())) {
        r = -ERR_NOMEM;
        goto out;
    }
    if ((rc = mdb_cursor_open(txn, store_dbi(s, STORE_AUDIT), &cur)) != 0) {
        r = FROM_MDB(rc, "mdb_cursor_open");
        goto out;
    }
    be64_put(kb, after + 1);
    rc = after == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (n == limit) {
            more = true;
            break;
        }
        if (k.mv_size != 8 || !(obj = parse(&v))) {
            log_err("audit entry after seq=%llu is malformed", (unsigned long long)last);
            r = -ERR_CORRUPT;
            goto out;
        }
        if (json_array_append_new(arr, obj) != 0) {
            obj = NULL;
            r = -ERR_NOMEM;
            goto out;
        }
        obj = NULL;
        last = be64_get(k.mv_data);
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        r = FROM_MDB(rc, "mdb_cursor_get");
        goto out;
    }
    res = json_pack("{s:O, s:o}", "entries", arr, "next",
                    more ? json_integer((json_int_t)last) : json_null());
    if (!res) {
        r = -ERR_NOMEM;
        goto out;
    }
    *out = res;
    r = 0;
out:
    mdb_cursor_close(cur);
    json_decref(obj);
    json_decref(arr);
    return r;
}
