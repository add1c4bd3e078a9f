/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of vaultd/store.c: environment, schema, JSON tables, sealed values, backups. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypt.h"
#include "store.h"

struct fx {
    char dir[64];
    char envdir[96];
    struct store *s;
    struct secbuf *dek;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir)
{
    (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void fx_path(const struct fx *f, const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, "%s/%s", f->dir, name);

    assert_true(n > 0 && (size_t)n < len);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    strcpy(f->dir, "/tmp/custos-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* A subdirectory that store_open must create itself. */
    snprintf(f->envdir, sizeof(f->envdir), "%s/env", f->dir);
    assert_int_equal(store_open(f->envdir, 0, &f->s), 0);
    assert_int_equal(crypt_key_new(&f->dek), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->s);
    secbuf_free(f->dek);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static void reopen(struct fx *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->envdir, 0, &f->s), 0);
}

static void put_obj(struct store *s, const char *key, const char *field, json_int_t n)
{
    MDB_txn *txn;
    json_t *o = json_pack("{s:I}", field, n);

    assert_non_null(o);
    assert_int_equal(store_txn_begin(s, NULL, true, &txn), 0);
    assert_int_equal(store_json_put(s, txn, STORE_TARGETS, key, o, STORE_UPSERT), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    json_decref(o);
}

/* -1 when absent, else the field's value. */
static json_int_t get_field(struct store *s, const char *key, const char *field)
{
    MDB_txn *txn;
    json_t *o = NULL;
    json_int_t n = -1;
    int r;

    assert_int_equal(store_txn_begin(s, NULL, false, &txn), 0);
    r = store_json_get(s, txn, STORE_TARGETS, key, &o);
    store_txn_abort(txn);
    if (r == -ERR_NOT_FOUND)
        return -1;
    assert_int_equal(r, 0);
    n = json_integer_value(json_object_get(o, field));
    json_decref(o);
    return n;
}

static void put_value(struct fx *f, const char *key, uint32_t ver, const char *plain)
{
    MDB_txn *txn;

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_value_put(f->s, txn, f->dek, key, ver, plain, strlen(plain)), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static int get_value(struct fx *f, const struct secbuf *dek, const char *key, uint32_t ver,
                     const char *expect)
{
    MDB_txn *txn;
    struct secbuf *out = NULL;
    int r;

    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    r = store_value_get(f->s, txn, dek, key, ver, &out);
    store_txn_abort(txn);
    if (r == 0 && expect) {
        assert_int_equal(secbuf_len(out), strlen(expect));
        assert_memory_equal(secbuf_cdata(out), expect, strlen(expect));
    }
    secbuf_free(out);
    return r;
}

static size_t raw_key(const char *key, uint32_t ver, unsigned char *out)
{
    size_t n = strlen(key);

    memcpy(out, key, n);
    out[n] = 0;
    out[n + 1] = (unsigned char)(ver >> 24);
    out[n + 2] = (unsigned char)(ver >> 16);
    out[n + 3] = (unsigned char)(ver >> 8);
    out[n + 4] = (unsigned char)ver;
    return n + 5;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* ---- tests -------------------------------------------------------------- */

static void test_open_create_reopen(void **state)
{
    struct fx *f = *state;
    char data[160];
    struct stat st;
    MDB_txn *txn;
    json_t *schema = NULL;

    assert_string_equal(store_dir(f->s), f->envdir);
    assert_int_equal(stat(f->envdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(data, sizeof(data), "%s/data.mdb", f->envdir);
    assert_int_equal(stat(data, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(store_json_get(f->s, txn, STORE_META, "schema", &schema), 0);
    store_txn_abort(txn);
    assert_int_equal(json_integer_value(json_object_get(schema, "version")), STORE_SCHEMA);
    assert_true(json_is_integer(json_object_get(schema, "created_at")));
    json_decref(schema);

    put_obj(f->s, "web01", "port", 22);
    reopen(f);
    assert_int_equal(get_field(f->s, "web01", "port"), 22);
    /* Every table handle is a real one. */
    for (int t = 0; t < STORE__TABLES; t++)
        assert_int_not_equal(store_dbi(f->s, (enum store_table)t), 0);
}

static void test_schema_newer_refused(void **state)
{
    struct fx *f = *state;
    struct store *s2 = NULL;
    MDB_txn *txn;
    json_t *o = json_pack("{s:i, s:i}", "version", 99, "created_at", 1);

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_META, "schema", o, STORE_UPDATE), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    json_decref(o);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open(f->envdir, 0, &s2), -ERR_SCHEMA);
    assert_null(s2);
}

static void test_garbage_is_corrupt(void **state)
{
    struct fx *f = *state;
    char dir[160], data[192];
    unsigned char junk[65536];
    struct store *s2 = NULL;

    randombytes_buf(junk, sizeof(junk));
    snprintf(dir, sizeof(dir), "%s/garbage", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    write_file(data, junk, sizeof(junk));
    assert_int_equal(store_open(dir, 0, &s2), -ERR_CORRUPT);
    assert_null(s2);

    /* Empty: never silently replaced by a new, empty vault. */
    write_file(data, junk, 0);
    assert_int_equal(store_open(dir, 0, &s2), -ERR_CORRUPT);

    /* Shorter than one page. */
    write_file(data, junk, 100);
    assert_int_equal(store_open(dir, 0, &s2), -ERR_CORRUPT);
    assert_null(s2);
}

static void test_truncated_is_corrupt(void **state)
{
    struct fx *f = *state;
    char data[160], key[32];
    struct store *s2 = NULL;
    struct stat st;
    MDB_txn *txn;
    json_t *o = json_pack("{s:s}", "pad",
                          "................................................"
                          "................................................");

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "t%05d", i);
        assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, key, o, STORE_CREATE), 0);
    }
    assert_int_equal(store_txn_commit(txn), 0);
    json_decref(o);
    store_close(f->s);
    f->s = NULL;
    snprintf(data, sizeof(data), "%s/data.mdb", f->envdir);
    assert_int_equal(stat(data, &st), 0);
    assert_true(st.st_size > 64 * 4096);
    /* Cut it in half: the pages referenced from the tail are gone. */
    assert_int_equal(truncate(data, st.st_size / 2), 0);
    assert_int_equal(store_open(f->envdir, 0, &s2), -ERR_CORRUPT);
    assert_null(s2);
}

static void test_json_put_flags(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *a = json_pack("{s:i}", "v", 1), *b = json_pack("{s:i}", "v", 2), *got = NULL;
    json_t *arr = json_array();
    char longkey[STORE_KEY_MAX + 2];

    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", a, STORE_UPDATE),
                     -ERR_NOT_FOUND);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", a, STORE_CREATE), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", b, STORE_CREATE), -ERR_EXISTS);
    assert_int_equal(store_json_get(f->s, txn, STORE_TARGETS, "x", &got), 0);
    assert_int_equal(json_integer_value(json_object_get(got, "v")), 1);
    json_decref(got);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", b, STORE_UPDATE), 0);
    assert_int_equal(store_json_get(f->s, txn, STORE_TARGETS, "x", &got), 0);
    assert_int_equal(json_integer_value(json_object_get(got, "v")), 2);
    json_decref(got);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", a, STORE_UPSERT), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "y", a, STORE_UPSERT), 0);
    assert_int_equal(store_json_get(f->s, txn, STORE_TARGETS, "x", &got), 0);
    assert_int_equal(json_integer_value(json_object_get(got, "v")), 1);
    json_decref(got);

    /* Refusals. */
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "x", a, 3), -ERR_INVAL);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "z", arr, STORE_UPSERT), -ERR_INVAL);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, "", a, STORE_UPSERT), -ERR_INVAL);
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, longkey, a, STORE_UPSERT),
                     -ERR_TOO_LONG);
    longkey[STORE_KEY_MAX] = '\0';
    assert_int_equal(store_json_put(f->s, txn, STORE_TARGETS, longkey, a, STORE_UPSERT), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_SECRETS, "x", a, STORE_UPSERT), -ERR_INVAL);
    assert_int_equal(store_json_get(f->s, txn, STORE_TARGETS, "nope", &got), -ERR_NOT_FOUND);
    assert_null(got);

    /* Delete. */
    assert_int_equal(store_del(f->s, txn, STORE_TARGETS, "y"), 0);
    assert_int_equal(store_del(f->s, txn, STORE_TARGETS, "y"), -ERR_NOT_FOUND);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(get_field(f->s, "x", "v"), 1);
    assert_int_equal(get_field(f->s, "y", "v"), -1);

    /* A nested txn that aborts leaves its parent as it was. */
    {
        MDB_txn *parent, *child;

        assert_int_equal(store_txn_begin(f->s, NULL, true, &parent), 0);
        assert_int_equal(store_txn_begin(f->s, parent, true, &child), 0);
        assert_int_equal(store_json_put(f->s, child, STORE_TARGETS, "x", b, STORE_UPDATE), 0);
        store_txn_abort(child);
        assert_int_equal(store_txn_begin(f->s, parent, false, &child), -ERR_INVAL);
        assert_int_equal(store_txn_commit(parent), 0);
        assert_int_equal(get_field(f->s, "x", "v"), 1);
    }
    json_decref(a);
    json_decref(b);
    json_decref(arr);
}

static void test_json_list_prefix(void **state)
{
    struct fx *f = *state;
    const char *keys[] = {"b/1", "a/2", "ab", "a/1", "a", "c"};
    MDB_txn *txn;
    json_t *list = NULL;

    for (int i = 0; i < 6; i++)
        put_obj(f->s, keys[i], "i", i);
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);

    assert_int_equal(store_json_list(f->s, txn, STORE_TARGETS, "a/", &list), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "i")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "i")), 1);
    json_decref(list);

    assert_int_equal(store_json_list(f->s, txn, STORE_TARGETS, "a", &list), 0);
    assert_int_equal(json_array_size(list), 4); /* a, a/1, a/2, ab */
    json_decref(list);

    assert_int_equal(store_json_list(f->s, txn, STORE_TARGETS, "", &list), 0);
    assert_int_equal(json_array_size(list), 6);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "i")), 4);
    json_decref(list);

    assert_int_equal(store_json_list(f->s, txn, STORE_TARGETS, "bb", &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(store_json_list(f->s, txn, STORE_TARGETS, "zzz", &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_int_equal(store_json_list(f->s, txn, STORE_ACCOUNTS, "", &list), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    store_txn_abort(txn);
}

static void test_value_roundtrip(void **state)
{
    struct fx *f = *state;
    struct secbuf *other = NULL, *out = NULL;
    MDB_txn *txn;

    put_value(f, "root@db02", 1, "hunter2");
    put_value(f, "root@db02", 2, "correct horse battery staple");
    put_value(f, "root@db0", 1, "shorter key");
    assert_int_equal(get_value(f, f->dek, "root@db02", 1, "hunter2"), 0);
    assert_int_equal(get_value(f, f->dek, "root@db02", 2, "correct horse battery staple"), 0);
    assert_int_equal(get_value(f, f->dek, "root@db0", 1, "shorter key"), 0);
    assert_int_equal(get_value(f, f->dek, "root@db02", 3, NULL), -ERR_NOT_FOUND);
    assert_int_equal(crypt_key_new(&other), 0);
    assert_int_equal(get_value(f, other, "root@db02", 1, NULL), -ERR_TAMPERED);
    secbuf_free(other);

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    /* Empty value. */
    assert_int_equal(store_value_put(f->s, txn, f->dek, "empty", 1, NULL, 0), 0);
    assert_int_equal(store_value_get(f->s, txn, f->dek, "empty", 1, &out), 0);
    assert_int_equal(secbuf_len(out), 0);
    secbuf_free(out);
    assert_int_equal(store_value_del(f->s, txn, "root@db02", 1), 0);
    assert_int_equal(store_value_del(f->s, txn, "root@db02", 1), -ERR_NOT_FOUND);
    assert_int_equal(store_value_put(f->s, txn, f->dek, "root@db02", 7, "x", 1), 0);
    assert_int_equal(store_value_del_all(f->s, txn, "root@db02"), 0);
    assert_int_equal(store_value_del_all(f->s, txn, "root@db02"), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(get_value(f, f->dek, "root@db02", 2, NULL), -ERR_NOT_FOUND);
    assert_int_equal(get_value(f, f->dek, "root@db02", 7, NULL), -ERR_NOT_FOUND);
    /* A key that is a prefix of the deleted one keeps its versions. */
    assert_int_equal(get_value(f, f->dek, "root@db0", 1, "shorter key"), 0);
}

/* Copy the sealed bytes of (from, vf) under (to, vt) with LMDB directly. */
static void raw_copy(struct fx *f, const char *from, uint32_t vf, const char *to, uint32_t vt)
{
    unsigned char kf[STORE_KEY_MAX + 5], kt[STORE_KEY_MAX + 5], *copy;
    MDB_val k1, k2, v;
    MDB_txn *txn;

    k1.mv_size = raw_key(from, vf, kf);
    k1.mv_data = kf;
    k2.mv_size = raw_key(to, vt, kt);
    k2.mv_data = kt;
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(mdb_get(txn, store_dbi(f->s, STORE_SECRETS), &k1, &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    v.mv_data = copy;
    assert_int_equal(mdb_put(txn, store_dbi(f->s, STORE_SECRETS), &k2, &v, 0), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    free(copy);
}

static void test_value_moved_is_tampered(void **state)
{
    struct fx *f = *state;

    put_value(f, "alice@web01", 1, "alice-secret");
    put_value(f, "bob@web01", 1, "bob-secret");
    raw_copy(f, "alice@web01", 1, "bob@web01", 1);
    assert_int_equal(get_value(f, f->dek, "bob@web01", 1, NULL), -ERR_TAMPERED);
    raw_copy(f, "alice@web01", 1, "mallory@web01", 1);
    assert_int_equal(get_value(f, f->dek, "mallory@web01", 1, NULL), -ERR_TAMPERED);
    assert_int_equal(get_value(f, f->dek, "alice@web01", 1, "alice-secret"), 0);
}

static void test_version_swap_is_tampered(void **state)
{
    struct fx *f = *state;

    put_value(f, "root@db01", 1, "old-password");
    put_value(f, "root@db01", 2, "new-password");
    /* Roll back: the old ciphertext placed as the current version. */
    raw_copy(f, "root@db01", 1, "root@db01", 2);
    assert_int_equal(get_value(f, f->dek, "root@db01", 2, NULL), -ERR_TAMPERED);
    assert_int_equal(get_value(f, f->dek, "root@db01", 1, "old-password"), 0);
}

static void test_reseal_all(void **state)
{
    struct fx *f = *state;
    struct secbuf *new_dek = NULL;
    char key[32], val[48];
    size_t count = 0;
    MDB_txn *txn;

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "acct%03d@t", i);
        snprintf(val, sizeof(val), "value-%d-%s", i, i % 7 ? "short" : "a-rather-longer-one");
        assert_int_equal(
            store_value_put(f->s, txn, f->dek, key, (uint32_t)(i % 3), val, strlen(val)), 0);
    }
    assert_int_equal(store_txn_commit(txn), 0);
    put_obj(f->s, "unrelated", "x", 1);

    assert_int_equal(crypt_key_new(&new_dek), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_reseal_all(f->s, txn, f->dek, new_dek, &count), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(count, 300);

    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "acct%03d@t", i);
        snprintf(val, sizeof(val), "value-%d-%s", i, i % 7 ? "short" : "a-rather-longer-one");
        assert_int_equal(get_value(f, new_dek, key, (uint32_t)(i % 3), val), 0);
        assert_int_equal(get_value(f, f->dek, key, (uint32_t)(i % 3), NULL), -ERR_TAMPERED);
    }
    /* Resealing with the wrong old key fails and changes nothing. */
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_reseal_all(f->s, txn, f->dek, new_dek, &count), -ERR_TAMPERED);
    store_txn_abort(txn);
    assert_int_equal(get_value(f, new_dek, "acct000@t", 0, "value-0-a-rather-longer-one"), 0);
    secbuf_free(new_dek);
}

static void test_backup_and_check(void **state)
{
    struct fx *f = *state;
    char bak[160], junk_path[160], missing[160];
    unsigned char junk[8192];
    uint64_t bytes = 0;
    struct stat st;

    put_value(f, "k", 1, "v");
    put_obj(f->s, "t", "n", 5);
    fx_path(f, "backup.mdb", bak, sizeof(bak));
    assert_int_equal(store_backup(f->s, bak, &bytes), 0);
    assert_int_equal(stat(bak, &st), 0);
    assert_int_equal((uint64_t)st.st_size, bytes);
    assert_true(bytes > 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(store_check_file(bak), 0);
    /* Never overwrites. */
    assert_int_equal(store_backup(f->s, bak, &bytes), -ERR_EXISTS);
    assert_int_equal(store_check_file(bak), 0);

    randombytes_buf(junk, sizeof(junk));
    fx_path(f, "junk.mdb", junk_path, sizeof(junk_path));
    write_file(junk_path, junk, sizeof(junk));
    assert_int_equal(store_check_file(junk_path), -ERR_CORRUPT);
    write_file(junk_path, junk, 0);
    assert_int_equal(store_check_file(junk_path), -ERR_CORRUPT);
    fx_path(f, "missing.mdb", missing, sizeof(missing));
    assert_int_equal(store_check_file(missing), -ERR_IO);
}

static void test_check_file_schema_and_foreign(void **state)
{
    struct fx *f = *state;
    char bak[160], foreign_dir[160], foreign[192];
    uint64_t bytes;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {1, "k"}, v = {1, "v"};
    json_t *o = json_pack("{s:i}", "version", 2);

    /* A newer schema. */
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_json_put(f->s, txn, STORE_META, "schema", o, STORE_UPDATE), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    json_decref(o);
    fx_path(f, "newer.mdb", bak, sizeof(bak));
    assert_int_equal(store_backup(f->s, bak, &bytes), 0);
    assert_int_equal(store_check_file(bak), -ERR_SCHEMA);

    /* A sound LMDB file that is not a Custos environment. */
    fx_path(f, "foreign", foreign_dir, sizeof(foreign_dir));
    assert_int_equal(mkdir(foreign_dir, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, foreign_dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    snprintf(foreign, sizeof(foreign), "%s/data.mdb", foreign_dir);
    assert_int_equal(store_check_file(foreign), -ERR_CORRUPT);
    {
        struct store *s2 = NULL;

        assert_int_equal(store_open(foreign_dir, 0, &s2), -ERR_CORRUPT);
        assert_null(s2);
    }
}

static void test_restore_roundtrip(void **state)
{
    struct fx *f = *state;
    char bak[160], junk_path[160];
    unsigned char junk[4096];
    uint64_t bytes;
    struct store *before;

    put_obj(f->s, "before", "n", 1);
    put_value(f, "before@t", 1, "kept");
    fx_path(f, "restore.mdb", bak, sizeof(bak));
    assert_int_equal(store_backup(f->s, bak, &bytes), 0);
    put_obj(f->s, "after", "n", 2);
    put_value(f, "after@t", 1, "lost");
    put_obj(f->s, "before", "n", 3);

    /* A bad backup changes nothing and keeps the store open. */
    randombytes_buf(junk, sizeof(junk));
    fx_path(f, "bad.mdb", junk_path, sizeof(junk_path));
    write_file(junk_path, junk, sizeof(junk));
    before = f->s;
    assert_int_equal(store_restore(&f->s, junk_path), -ERR_CORRUPT);
    assert_ptr_equal(f->s, before);
    assert_int_equal(get_field(f->s, "after", "n"), 2);

    assert_int_equal(store_restore(&f->s, bak), 0);
    assert_non_null(f->s);
    assert_int_equal(get_field(f->s, "before", "n"), 1);
    assert_int_equal(get_field(f->s, "after", "n"), -1);
    assert_int_equal(get_value(f, f->dek, "before@t", 1, "kept"), 0);
    assert_int_equal(get_value(f, f->dek, "after@t", 1, NULL), -ERR_NOT_FOUND);
    /* Still writable, and it survives a reopen. */
    put_obj(f->s, "later", "n", 4);
    reopen(f);
    assert_int_equal(get_field(f->s, "later", "n"), 4);
    assert_int_equal(get_field(f->s, "before", "n"), 1);
}

static void test_no_plaintext_on_disk(void **state)
{
    struct fx *f = *state;
    static const char secret[] = "Plaintext-Canary-7f3a9c1e-must-never-hit-disk";
    struct secbuf *new_dek = NULL;
    char data[160], bak[160];
    unsigned char *bytes;
    size_t len, count;
    uint64_t blen;
    MDB_txn *txn;

    for (uint32_t v = 1; v <= 3; v++)
        put_value(f, "canary@host", v, secret);
    assert_int_equal(crypt_key_new(&new_dek), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_reseal_all(f->s, txn, f->dek, new_dek, &count), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(get_value(f, new_dek, "canary@host", 2, secret), 0);
    fx_path(f, "plain-check.mdb", bak, sizeof(bak));
    assert_int_equal(store_backup(f->s, bak, &blen), 0);
    store_close(f->s);
    f->s = NULL;

    snprintf(data, sizeof(data), "%s/data.mdb", f->envdir);
    bytes = read_file(data, &len);
    /* The key is there in clear (so the file was read right); the value is not. */
    assert_non_null(memmem(bytes, len, "canary@host", strlen("canary@host")));
    assert_null(memmem(bytes, len, secret, strlen(secret)));
    assert_null(memmem(bytes, len, secret, 16));
    free(bytes);
    bytes = read_file(bak, &len);
    assert_non_null(memmem(bytes, len, "canary@host", strlen("canary@host")));
    assert_null(memmem(bytes, len, secret, 16));
    free(bytes);
    secbuf_free(new_dek);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct secbuf *shortkey = NULL, *out = NULL;
    MDB_txn *txn;
    size_t count;

    assert_int_equal(secbuf_from("0123456789", 10, &shortkey), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_value_put(f->s, txn, shortkey, "k", 1, "v", 1), -ERR_INVAL);
    assert_int_equal(store_value_put(f->s, txn, f->dek, "", 1, "v", 1), -ERR_INVAL);
    assert_int_equal(store_value_put(f->s, txn, f->dek, "k", 1, NULL, 3), -ERR_INVAL);
    assert_int_equal(store_value_get(f->s, txn, f->dek, NULL, 1, &out), -ERR_INVAL);
    assert_int_equal(store_reseal_all(f->s, txn, shortkey, f->dek, &count), -ERR_INVAL);
    store_txn_abort(txn);
    /* A write in a read txn is refused, not a crash. */
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(store_value_put(f->s, txn, f->dek, "k", 1, "v", 1), -ERR_INVAL);
    store_txn_abort(txn);
    assert_int_equal(store_txn_commit(NULL), -ERR_INVAL);
    store_txn_abort(NULL);
    store_close(NULL);
    secbuf_free(shortkey);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_newer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_is_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_put_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_list_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_moved_is_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_swap_is_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reseal_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_file_schema_and_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };

    if (secbuf_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
