/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of vaultd/audit.c: chain, checkpoints, signed head, tamper detection, export. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"
#include "crypt.h"
#include "store.h"

struct fx {
    char dir[64];
    struct store *s;
    struct secbuf *dek;
    struct audit *a;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    MDB_txn *txn;

    assert_non_null(f);
    strcpy(f->dir, "/tmp/custos-audit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(store_open(f->dir, 0, &f->s), 0);
    assert_int_equal(crypt_key_new(&f->dek), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_open(f->s, txn, f->dek, &f->a), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    audit_free(f->a);
    store_close(f->s);
    secbuf_free(f->dek);
    (void)nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static json_t *event(int i)
{
    json_t *e =
        json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:i}}", "principal", "alice", "uid", 1000, "op",
                  "secret.get", "object", "root@db02", "result", "ok", "detail", "n", i);

    assert_non_null(e);
    return e;
}

/* Append n entries, `per_txn` to a commit. */
static void append_n(struct fx *f, int n, int per_txn)
{
    MDB_txn *txn = NULL;

    for (int i = 0; i < n; i++) {
        json_t *e = event(i);

        if (!txn)
            assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
        assert_int_equal(audit_append(f->a, txn, e), 0);
        /* Borrowed: left as it was. */
        assert_null(json_object_get(e, "seq"));
        json_decref(e);
        if ((i + 1) % per_txn == 0 || i + 1 == n) {
            assert_int_equal(store_txn_commit(txn), 0);
            txn = NULL;
        }
    }
}

static json_t *verify(struct fx *f)
{
    MDB_txn *txn;
    json_t *rep = NULL;

    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(audit_verify(f->a, txn, &rep), 0);
    store_txn_abort(txn);
    assert_non_null(rep);
    return rep;
}

static void expect_ok(struct fx *f, json_int_t entries, json_int_t ckpts)
{
    json_t *rep = verify(f);

    assert_true(json_is_true(json_object_get(rep, "ok")));
    assert_null(json_object_get(rep, "error"));
    assert_int_equal(json_integer_value(json_object_get(rep, "entries")), entries);
    assert_int_equal(json_integer_value(json_object_get(rep, "checkpoints")), ckpts);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "head"), "seq")),
                     entries);
    assert_string_equal(json_string_value(json_object_get(rep, "pubkey")), audit_pubkey_hex(f->a));
    json_decref(rep);
}

static void expect_bad(struct fx *f, json_int_t seq)
{
    json_t *rep = verify(f), *err = json_object_get(rep, "error");

    assert_true(json_is_false(json_object_get(rep, "ok")));
    assert_non_null(err);
    assert_int_equal(json_integer_value(json_object_get(err, "seq")), seq);
    assert_true(json_is_string(json_object_get(err, "reason")));
    json_decref(rep);
}

static void key_of(unsigned char *kb, uint64_t seq)
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        kb[i] = (unsigned char)seq;
}

/* Raw LMDB access to the audit tables, bypassing audit.c: the attacker's view. */
static void raw_del(struct fx *f, enum store_table t, uint64_t seq)
{
    unsigned char kb[8];
    MDB_val k = {8, kb};
    MDB_txn *txn;

    key_of(kb, seq);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(mdb_del(txn, store_dbi(f->s, t), &k, NULL), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

static char *raw_get(struct fx *f, enum store_table t, uint64_t seq, size_t *len)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v;
    MDB_txn *txn;
    char *copy;

    key_of(kb, seq);
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(mdb_get(txn, store_dbi(f->s, t), &k, &v), 0);
    copy = malloc(v.mv_size + 1);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size] = '\0';
    *len = v.mv_size;
    store_txn_abort(txn);
    return copy;
}

static void raw_put(struct fx *f, enum store_table t, uint64_t seq, const char *val, size_t len)
{
    unsigned char kb[8];
    MDB_val k = {8, kb}, v = {len, (void *)val};
    MDB_txn *txn;

    key_of(kb, seq);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(mdb_put(txn, store_dbi(f->s, t), &k, &v, 0), 0);
    assert_int_equal(store_txn_commit(txn), 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_append_verify(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *meta = NULL, *entry = NULL;
    size_t len;
    char *raw;

    expect_ok(f, 0, 0);
    append_n(f, 130, 7);
    expect_ok(f, 130, 2); /* checkpoints at 64 and 128 */

    /* The public key is pinned in meta, in clear. */
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(store_json_get(f->s, txn, STORE_META, "audit", &meta), 0);
    store_txn_abort(txn);
    assert_string_equal(json_string_value(json_object_get(meta, "pubkey")), audit_pubkey_hex(f->a));
    assert_int_equal(strlen(audit_pubkey_hex(f->a)), 64);
    json_decref(meta);

    /* Entry shape. */
    raw = raw_get(f, STORE_AUDIT, 5, &len);
    entry = json_loads(raw, 0, NULL);
    assert_non_null(entry);
    assert_int_equal(json_integer_value(json_object_get(entry, "seq")), 5);
    assert_true(json_is_real(json_object_get(entry, "time")));
    assert_int_equal(strlen(json_string_value(json_object_get(entry, "hash"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(entry, "prev"))), 64);
    assert_string_equal(json_string_value(json_object_get(entry, "op")), "secret.get");
    json_decref(entry);
    free(raw);

    /* A checkpoint on demand (at seal) is verified too. */
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_checkpoint(f->a, txn), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    expect_ok(f, 130, 3);
}

static void test_reopen_keys(void **state)
{
    struct fx *f = *state;
    struct audit *a2 = NULL;
    struct secbuf *wrong = NULL;
    MDB_txn *txn;
    size_t count;
    struct secbuf *new_dek = NULL;

    append_n(f, 10, 10);
    /* Loaded from a read txn, same keys. */
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(audit_open(f->s, txn, f->dek, &a2), 0);
    assert_string_equal(audit_pubkey_hex(a2), audit_pubkey_hex(f->a));
    audit_free(a2);
    a2 = NULL;
    assert_int_equal(crypt_key_new(&wrong), 0);
    assert_int_equal(audit_open(f->s, txn, wrong, &a2), -ERR_TAMPERED);
    assert_null(a2);
    store_txn_abort(txn);
    secbuf_free(wrong);

    /* A rekey carries the audit keys along. */
    assert_int_equal(crypt_key_new(&new_dek), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_reseal_all(f->s, txn, f->dek, new_dek, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(store_txn_commit(txn), 0);
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(audit_open(f->s, txn, new_dek, &a2), 0);
    store_txn_abort(txn);
    assert_string_equal(audit_pubkey_hex(a2), audit_pubkey_hex(f->a));
    audit_free(f->a);
    f->a = a2;
    expect_ok(f, 10, 0);
    secbuf_free(new_dek);
}

static void test_tamper_modify_byte(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *raw, *p;

    append_n(f, 70, 70);
    raw = raw_get(f, STORE_AUDIT, 10, &len);
    p = strstr(raw, "alice");
    assert_non_null(p);
    p[0] = 'A'; /* still valid JSON, still canonical: only the MAC can tell */
    raw_put(f, STORE_AUDIT, 10, raw, len);
    free(raw);
    expect_bad(f, 10);
}

static void test_tamper_modify_any_byte(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *raw;

    append_n(f, 20, 20);
    raw = raw_get(f, STORE_AUDIT, 7, &len);
    /* Every single-byte change of entry 7 is caught at seq 7. */
    for (size_t i = 0; i < len; i += 3) {
        char old = raw[i];

        raw[i] = (char)(old ^ 0x01);
        raw_put(f, STORE_AUDIT, 7, raw, len);
        expect_bad(f, 7);
        raw[i] = old;
    }
    raw_put(f, STORE_AUDIT, 7, raw, len);
    free(raw);
    expect_ok(f, 20, 0);
}

static void test_tamper_delete_middle(void **state)
{
    struct fx *f = *state;

    append_n(f, 70, 10);
    raw_del(f, STORE_AUDIT, 20);
    expect_bad(f, 20);
}

static void test_tamper_delete_first(void **state)
{
    struct fx *f = *state;

    append_n(f, 5, 5);
    raw_del(f, STORE_AUDIT, 1);
    expect_bad(f, 1);
}

static void test_tamper_swap(void **state)
{
    struct fx *f = *state;
    size_t l30, l31;
    char *e30, *e31;

    append_n(f, 70, 70);
    e30 = raw_get(f, STORE_AUDIT, 30, &l30);
    e31 = raw_get(f, STORE_AUDIT, 31, &l31);
    raw_put(f, STORE_AUDIT, 30, e31, l31);
    raw_put(f, STORE_AUDIT, 31, e30, l30);
    free(e30);
    free(e31);
    expect_bad(f, 30);
}

static void test_tamper_delete_tail(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *e = event(0);

    append_n(f, 70, 70);
    raw_del(f, STORE_AUDIT, 70);
    expect_bad(f, 70);
    /* Appending over the cut would hide it: refused. */
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_append(f->a, txn, e), -ERR_TAMPERED);
    assert_int_equal(audit_checkpoint(f->a, txn), -ERR_TAMPERED);
    store_txn_abort(txn);
    json_decref(e);
}

static void test_tamper_delete_tail_at_checkpoint(void **state)
{
    struct fx *f = *state;

    append_n(f, 64, 64);
    raw_del(f, STORE_AUDIT, 64);
    expect_bad(f, 64);
}

static void test_tamper_checkpoint_sig(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *raw, *sig;

    append_n(f, 70, 70);
    raw = raw_get(f, STORE_AUDIT_CKPT, 64, &len);
    sig = strstr(raw, "\"sig\":\"");
    assert_non_null(sig);
    sig += 7;
    sig[5] = sig[5] == '0' ? '1' : '0';
    raw_put(f, STORE_AUDIT_CKPT, 64, raw, len);
    free(raw);
    expect_bad(f, 64);
}

static void test_tamper_checkpoint_deleted(void **state)
{
    struct fx *f = *state;

    append_n(f, 70, 70);
    raw_del(f, STORE_AUDIT_CKPT, 64);
    expect_bad(f, 64);
}

static void test_tamper_head(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;

    append_n(f, 5, 5);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(store_del(f->s, txn, STORE_META, "audit_head"), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    expect_bad(f, 5);
}

static void test_aborted_txn(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *e = event(99), *page = NULL;

    append_n(f, 3, 3);
    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_append(f->a, txn, e), 0);
    assert_int_equal(audit_append(f->a, txn, e), 0);
    store_txn_abort(txn);
    expect_ok(f, 3, 0);

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_append(f->a, txn, e), 0);
    assert_int_equal(store_txn_commit(txn), 0);
    expect_ok(f, 4, 0);
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(audit_export(f->s, txn, 3, 10, &page), 0);
    store_txn_abort(txn);
    assert_int_equal(json_array_size(json_object_get(page, "entries")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(page, "entries"), 0), "seq")),
                     4);
    json_decref(page);
    json_decref(e);
}

static void test_export_paging(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *page = NULL, *entries;
    uint64_t after = 0, want = 1;
    int pages = 0;

    append_n(f, 10, 10);
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    for (;;) {
        json_t *next;

        assert_int_equal(audit_export(f->s, txn, after, 4, &page), 0);
        entries = json_object_get(page, "entries");
        pages++;
        for (size_t i = 0; i < json_array_size(entries); i++) {
            json_t *e = json_array_get(entries, i);

            assert_int_equal(json_integer_value(json_object_get(e, "seq")), (json_int_t)want);
            want++;
        }
        next = json_object_get(page, "next");
        if (json_is_null(next)) {
            json_decref(page);
            break;
        }
        assert_true(json_is_integer(next));
        assert_int_equal(json_array_size(entries), 4);
        after = (uint64_t)json_integer_value(next);
        json_decref(page);
    }
    assert_int_equal(pages, 3);
    assert_int_equal(want, 11);

    /* Exactly a page's worth: the next call is empty. */
    assert_int_equal(audit_export(f->s, txn, 0, 10, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "entries")), 10);
    assert_true(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    assert_int_equal(audit_export(f->s, txn, 10, 10, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "entries")), 0);
    assert_true(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    assert_int_equal(audit_export(f->s, txn, UINT64_MAX, 10, &page), 0);
    assert_int_equal(json_array_size(json_object_get(page, "entries")), 0);
    json_decref(page);
    assert_int_equal(audit_export(f->s, txn, 0, 0, &page), -ERR_INVAL);
    store_txn_abort(txn);
}

static void test_event_fields_kept(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    json_t *e = json_pack("{s:s, s:s, s:i}", "op", "vault.seal", "hash", "forged", "seq", 42);
    json_t *page = NULL, *got, *arr = json_array();

    assert_int_equal(store_txn_begin(f->s, NULL, true, &txn), 0);
    assert_int_equal(audit_append(f->a, txn, e), 0);
    assert_int_equal(audit_append(f->a, txn, arr), -ERR_INVAL);
    assert_int_equal(store_txn_commit(txn), 0);
    /* The caller's object is untouched; reserved fields are the log's own. */
    assert_string_equal(json_string_value(json_object_get(e, "hash")), "forged");
    assert_int_equal(store_txn_begin(f->s, NULL, false, &txn), 0);
    assert_int_equal(audit_export(f->s, txn, 0, 5, &page), 0);
    store_txn_abort(txn);
    got = json_array_get(json_object_get(page, "entries"), 0);
    assert_int_equal(json_integer_value(json_object_get(got, "seq")), 1);
    assert_string_not_equal(json_string_value(json_object_get(got, "hash")), "forged");
    assert_string_equal(json_string_value(json_object_get(got, "op")), "vault.seal");
    json_decref(page);
    json_decref(e);
    json_decref(arr);
    expect_ok(f, 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_modify_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_modify_any_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete_tail_at_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_checkpoint_sig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_checkpoint_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aborted_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_fields_kept, setup, teardown),
    };

    if (secbuf_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
