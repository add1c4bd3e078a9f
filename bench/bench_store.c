/* SPDX-License-Identifier: Apache-2.0 */
/* Cost of sealing in vaultd/store.c against raw LMDB: reads, durable commits and file size. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "custos/log.h"
#include "custos/secbuf.h"
#include "crypt.h"
#include "store.h"

#define READ_N 100000u
#define READ_VALUE 64u
#define COMMIT_N 500u
#define COMMIT_ROUND 50u /* plain and sealed alternate in rounds, so both see the same disk */
#define SIZE_N 20000u
#define BATCH 1000u
#define KEY_LEN 24u

#define TARGET_READ 0.45
#define TARGET_COMMIT 0.5
#define TARGET_SIZE 1.15

struct bench {
    char base[64];
    struct secbuf *dek;
    char (*keys)[KEY_LEN];
    unsigned char *values; /* READ_N * READ_VALUE */
    int failed;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int check(int ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "bench_store: %s failed\n", what);
    return ok ? 0 : -1;
}

static void report(struct bench *b, const char *name, const char *unit, double plain, double enc,
                   double ratio, double target, int higher_is_better)
{
    int pass = higher_is_better ? ratio >= target : ratio <= target;

    if (!pass)
        b->failed = 1;
    printf("%s plain=%.0f%s enc=%.0f%s ratio=%.2f target%s%.2f %s\n", name, plain, unit, enc, unit,
           ratio, higher_is_better ? ">=" : "<=", target, pass ? "PASS" : "FAIL");
}

/* A raw LMDB environment set up like the store's (no WRITEMAP, durable, NOTLS). */
static int raw_open(const char *dir, MDB_env **out, MDB_dbi *dbi)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;

    if (mkdir(dir, 0700) != 0 || mdb_env_create(&env) != 0 ||
        mdb_env_set_mapsize(env, STORE_MAP_SIZE_DEFAULT) != 0 ||
        mdb_env_open(env, dir, MDB_NOTLS, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
        mdb_dbi_open(txn, NULL, 0, dbi) != 0 || mdb_txn_commit(txn) != 0) {
        if (env)
            mdb_env_close(env);
        return check(0, "raw env open");
    }
    *out = env;
    return 0;
}

static int raw_fill(MDB_env *env, MDB_dbi dbi, struct bench *b, unsigned n, const void *values,
                    size_t vlen)
{
    MDB_txn *txn = NULL;

    for (unsigned i = 0; i < n; i++) {
        MDB_val k = {strlen(b->keys[i]), b->keys[i]};
        MDB_val v = {vlen, (unsigned char *)values + (size_t)i * vlen};

        if (!txn && mdb_txn_begin(env, NULL, 0, &txn) != 0)
            return check(0, "raw txn");
        if (mdb_put(txn, dbi, &k, &v, 0) != 0)
            return check(0, "raw put");
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            if (mdb_txn_commit(txn) != 0)
                return check(0, "raw commit");
            txn = NULL;
        }
    }
    return 0;
}

static int store_fill(struct store *s, struct bench *b, unsigned n, const void *values, size_t vlen)
{
    MDB_txn *txn = NULL;

    for (unsigned i = 0; i < n; i++) {
        if (!txn && store_txn_begin(s, NULL, true, &txn) != 0)
            return check(0, "store txn");
        if (store_value_put(s, txn, b->dek, b->keys[i], 1,
                            (const unsigned char *)values + (size_t)i * vlen, vlen) != 0)
            return check(0, "store put");
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            if (store_txn_commit(txn) != 0)
                return check(0, "store commit");
            txn = NULL;
        }
    }
    return 0;
}

static long long file_size(const char *dir)
{
    char path[128];
    struct stat st;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* 1. Random reads in one read txn: mdb_get + copy out, against store_value_get. */
static int bench_read(struct bench *b, MDB_env *env, MDB_dbi dbi, struct store *s)
{
    unsigned *order = malloc(READ_N * sizeof(*order));
    unsigned char copy[READ_VALUE];
    unsigned long sum = 0;
    double t0, plain, enc, alloc_us, whatif;
    struct secbuf *reuse = NULL;
    MDB_txn *txn = NULL;
    int r = -1;

    if (check(order != NULL, "malloc") != 0)
        goto out;
    for (unsigned i = 0; i < READ_N; i++)
        order[i] = i;
    for (unsigned i = READ_N - 1; i > 0; i--) { /* Fisher-Yates */
        unsigned j = randombytes_uniform(i + 1), t = order[i];

        order[i] = order[j];
        order[j] = t;
    }

    if (check(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0, "raw read txn") != 0)
        goto out;
    t0 = now();
    for (unsigned i = 0; i < READ_N; i++) {
        MDB_val k = {strlen(b->keys[order[i]]), b->keys[order[i]]}, v;

        if (check(mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == READ_VALUE, "raw get") != 0)
            goto out;
        memcpy(copy, v.mv_data, READ_VALUE);
        sum += copy[i % READ_VALUE];
    }
    plain = READ_N / (now() - t0);
    mdb_txn_abort(txn);
    txn = NULL;

    if (check(store_txn_begin(s, NULL, false, &txn) == 0, "store read txn") != 0)
        goto out;
    t0 = now();
    for (unsigned i = 0; i < READ_N; i++) {
        struct secbuf *p = NULL;

        if (check(store_value_get(s, txn, b->dek, b->keys[order[i]], 1, &p) == 0 &&
                      secbuf_len(p) == READ_VALUE,
                  "store get") != 0)
            goto out;
        sum += ((const unsigned char *)secbuf_cdata(p))[i % READ_VALUE];
        secbuf_free(p);
    }
    enc = READ_N / (now() - t0);
    store_txn_abort(txn);
    txn = NULL;

    /* Where the time goes: every store_value_get returns a fresh sodium_malloc'd secbuf. */
    t0 = now();
    for (unsigned i = 0; i < READ_N / 10; i++) {
        struct secbuf *p = NULL;

        if (check(secbuf_new(READ_VALUE + 1, &p) == 0, "secbuf_new") != 0)
            goto out;
        secbuf_free(p);
    }
    alloc_us = (now() - t0) / (READ_N / 10) * 1e6;

    /*
     * What-if, not store_value_get: the same lookup and AEAD open into one
     * reused locked buffer, i.e. the read path minus the per-call secbuf.
     */
    if (check(secbuf_new(READ_VALUE + 1, &reuse) == 0, "secbuf_new") != 0 ||
        check(store_txn_begin(s, NULL, false, &txn) == 0, "store read txn") != 0)
        goto out;
    t0 = now();
    for (unsigned i = 0; i < READ_N; i++) {
        unsigned char kb[KEY_LEN + 5];
        size_t klen = strlen(b->keys[order[i]]);
        unsigned long long plen;
        MDB_val k = {klen + 5, kb}, v;

        memcpy(kb, b->keys[order[i]], klen);
        memcpy(kb + klen, "\0\0\0\0\1", 5);
        if (check(mdb_get(txn, store_dbi(s, STORE_SECRETS), &k, &v) == 0, "raw sealed get") != 0)
            goto out;
        if (check(crypto_aead_xchacha20poly1305_ietf_decrypt(
                      secbuf_data(reuse), &plen, NULL,
                      (const unsigned char *)v.mv_data + CRYPT_NONCE_LEN,
                      v.mv_size - CRYPT_NONCE_LEN, kb, k.mv_size, v.mv_data,
                      secbuf_cdata(b->dek)) == 0,
                  "decrypt") != 0)
            goto out;
        sum += ((const unsigned char *)secbuf_cdata(reuse))[i % READ_VALUE];
    }
    whatif = READ_N / (now() - t0);
    store_txn_abort(txn);
    txn = NULL;

    report(b, "store.read", "/s", plain, enc, enc / plain, TARGET_READ, 1);
    printf("  note: n=%u value=%uB one read txn; per op: plain get=%.2fus sealed get=%.2fus "
           "secbuf_new+free alone=%.2fus\n",
           READ_N, READ_VALUE, 1e6 / plain, 1e6 / enc, alloc_us);
    printf("  what-if (not store_value_get): get+open into a reused secbuf=%.0f/s ratio=%.2f "
           "(checksum %lu)\n",
           whatif, whatif / plain, sum & 0xff);
    r = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    secbuf_free(reuse);
    free(order);
    return r;
}

/* 2. Durable single-put commits, alternating rounds of raw and sealed. */
static int bench_commit(struct bench *b, MDB_env *env, MDB_dbi dbi, struct store *s)
{
    unsigned char val[READ_VALUE];
    double t_plain = 0, t_enc = 0, t0;
    char key[32];

    randombytes_buf(val, sizeof(val));
    for (unsigned done = 0; done < COMMIT_N; done += COMMIT_ROUND) {
        t0 = now();
        for (unsigned i = done; i < done + COMMIT_ROUND; i++) {
            MDB_txn *txn;
            MDB_val k, v = {sizeof(val), val};

            snprintf(key, sizeof(key), "commit%06u@host", i);
            k.mv_size = strlen(key);
            k.mv_data = key;
            if (check(mdb_txn_begin(env, NULL, 0, &txn) == 0, "raw txn") != 0)
                return -1;
            if (check(mdb_put(txn, dbi, &k, &v, 0) == 0, "raw put") != 0) {
                mdb_txn_abort(txn);
                return -1;
            }
            if (check(mdb_txn_commit(txn) == 0, "raw commit") != 0)
                return -1;
        }
        t_plain += now() - t0;

        t0 = now();
        for (unsigned i = done; i < done + COMMIT_ROUND; i++) {
            MDB_txn *txn;

            snprintf(key, sizeof(key), "commit%06u@host", i);
            if (check(store_txn_begin(s, NULL, true, &txn) == 0, "store txn") != 0)
                return -1;
            if (check(store_value_put(s, txn, b->dek, key, 1, val, sizeof(val)) == 0,
                      "store put") != 0) {
                store_txn_abort(txn);
                return -1;
            }
            if (check(store_txn_commit(txn) == 0, "store commit") != 0)
                return -1;
        }
        t_enc += now() - t0;
    }
    report(b, "store.commit", "/s", COMMIT_N / t_plain, COMMIT_N / t_enc,
           (COMMIT_N / t_enc) / (COMMIT_N / t_plain), TARGET_COMMIT, 1);
    return 0;
}

/* 3. data.mdb of SIZE_N sealed values against the same keys and values in clear. */
static int bench_size(struct bench *b, unsigned vlen)
{
    char plain_dir[96], enc_dir[96];
    unsigned char *values = malloc((size_t)SIZE_N * vlen);
    struct store *s = NULL;
    MDB_env *env = NULL;
    MDB_dbi dbi;
    long long ps, es;
    char name[48];
    int r = -1;

    if (check(values != NULL, "malloc") != 0)
        goto out;
    randombytes_buf(values, (size_t)SIZE_N * vlen);
    snprintf(plain_dir, sizeof(plain_dir), "%s/size-plain-%u", b->base, vlen);
    snprintf(enc_dir, sizeof(enc_dir), "%s/size-enc-%u", b->base, vlen);
    if (raw_open(plain_dir, &env, &dbi) != 0 || raw_fill(env, dbi, b, SIZE_N, values, vlen) != 0)
        goto out;
    mdb_env_close(env);
    env = NULL;
    if (check(store_open(enc_dir, 0, &s) == 0, "store_open") != 0 ||
        store_fill(s, b, SIZE_N, values, vlen) != 0)
        goto out;
    store_close(s);
    s = NULL;
    ps = file_size(plain_dir);
    es = file_size(enc_dir);
    if (check(ps > 0 && es > 0, "stat data.mdb") != 0)
        goto out;
    snprintf(name, sizeof(name), "store.size(n=%u,value=%uB)", SIZE_N, vlen);
    report(b, name, "B", (double)ps, (double)es, (double)es / (double)ps, TARGET_SIZE, 0);
    r = 0;
out:
    if (env)
        mdb_env_close(env);
    store_close(s);
    free(values);
    return r;
}

int main(void)
{
    struct bench b;
    char plain_dir[96], enc_dir[96];
    struct store *s = NULL;
    MDB_env *env = NULL;
    MDB_dbi dbi;
    int r = 1;

    memset(&b, 0, sizeof(b));
    if (secbuf_init() != 0 || crypt_key_new(&b.dek) != 0)
        return 1;
    log_set_level(LOG_LVL_WARN);
    strcpy(b.base, "/tmp/custos-bench-XXXXXX");
    if (!mkdtemp(b.base)) {
        perror("mkdtemp");
        goto out_nodir;
    }
    b.keys = calloc(READ_N, sizeof(*b.keys));
    b.values = malloc((size_t)READ_N * READ_VALUE);
    if (check(b.keys && b.values, "malloc") != 0)
        goto out;
    for (unsigned i = 0; i < READ_N; i++)
        snprintf(b.keys[i], KEY_LEN, "acct%06u@host", i);
    randombytes_buf(b.values, (size_t)READ_N * READ_VALUE);

    snprintf(plain_dir, sizeof(plain_dir), "%s/plain", b.base);
    snprintf(enc_dir, sizeof(enc_dir), "%s/enc", b.base);
    if (raw_open(plain_dir, &env, &dbi) != 0 ||
        raw_fill(env, dbi, &b, READ_N, b.values, READ_VALUE) != 0)
        goto out;
    if (check(store_open(enc_dir, 0, &s) == 0, "store_open") != 0 ||
        store_fill(s, &b, READ_N, b.values, READ_VALUE) != 0)
        goto out;

    if (bench_read(&b, env, dbi, s) != 0 || bench_commit(&b, env, dbi, s) != 0)
        goto out;
    mdb_env_close(env);
    env = NULL;
    store_close(s);
    s = NULL;
    /* 64 B as above (a password); 512 B is about an OpenSSH ed25519 private key. */
    if (bench_size(&b, READ_VALUE) != 0 || bench_size(&b, 512) != 0)
        goto out;
    r = b.failed ? 3 : 0;
out:
    if (env)
        mdb_env_close(env);
    store_close(s);
    (void)nftw(b.base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
out_nodir:
    free(b.keys);
    free(b.values);
    secbuf_free(b.dek);
    return r;
}
