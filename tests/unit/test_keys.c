/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/keys.c: passphrase, key file and Shamir KEKs; DEK wrapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypt.h"
#include "keys.h"
#include "shamir.h"

#define OPS crypto_pwhash_OPSLIMIT_MIN
#define MEM crypto_pwhash_MEMLIMIT_MIN

static char tmpdir[] = "/tmp/custos-test-keys-XXXXXX";

static struct secbuf *sb_str(const char *s)
{
    struct secbuf *b = NULL;

    assert_int_equal(secbuf_from(s, strlen(s), &b), 0);
    return b;
}

static struct secbuf *new_key(void)
{
    struct secbuf *k = NULL;

    assert_int_equal(crypt_key_new(&k), 0);
    return k;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
    assert_true((size_t)snprintf(buf, len, "%s/%s", tmpdir, name) < len);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static const char *str_field(const json_t *d, const char *name)
{
    return json_string_value(json_object_get(d, name));
}

/* ---- descriptors ---- */

static void test_desc_new(void **state)
{
    json_t *a = NULL, *b = NULL, *kf = NULL, *sh = NULL, *bad = (json_t *)&bad;

    (void)state;
    assert_int_equal(keys_desc_new("passphrase", OPS, MEM, 0, 0, &a), 0);
    assert_string_equal(str_field(a, "method"), "passphrase");
    assert_int_equal(strlen(str_field(a, "salt")), 32);
    assert_int_equal(json_integer_value(json_object_get(a, "opslimit")), OPS);
    assert_int_equal(json_integer_value(json_object_get(a, "memlimit")), MEM);
    assert_null(json_object_get(a, "wrapped_dek"));
    assert_int_equal(keys_desc_new("passphrase", OPS, MEM, 0, 0, &b), 0);
    assert_string_not_equal(str_field(a, "salt"), str_field(b, "salt"));

    assert_int_equal(keys_desc_new("keyfile", 0, 0, 0, 0, &kf), 0);
    assert_string_equal(str_field(kf, "method"), "keyfile");
    assert_null(json_object_get(kf, "salt"));

    assert_int_equal(keys_desc_new("shamir", 0, 0, 3, 5, &sh), 0);
    assert_string_equal(str_field(sh, "method"), "shamir");
    assert_int_equal(json_integer_value(json_object_get(sh, "threshold")), 3);
    assert_int_equal(json_integer_value(json_object_get(sh, "shares")), 5);

    assert_int_equal(keys_desc_new("password", OPS, MEM, 0, 0, &bad), -ERR_INVAL);
    assert_null(bad);
    assert_int_equal(keys_desc_new(NULL, OPS, MEM, 0, 0, &bad), -ERR_INVAL);
    assert_int_equal(keys_desc_new("passphrase", 0, MEM, 0, 0, &bad), -ERR_INVAL);
    assert_int_equal(keys_desc_new("passphrase", OPS, 1024, 0, 0, &bad), -ERR_INVAL);
    assert_int_equal(keys_desc_new("shamir", 0, 0, 1, 5, &bad), -ERR_INVAL);
    assert_int_equal(keys_desc_new("shamir", 0, 0, 6, 5, &bad), -ERR_INVAL);
    assert_int_equal(keys_desc_new("shamir", 0, 0, 2, 256, &bad), -ERR_INVAL);
    assert_null(bad);

    json_decref(a);
    json_decref(b);
    json_decref(kf);
    json_decref(sh);
}

/* ---- passphrase ---- */

static void test_passphrase_wrap_unwrap(void **state)
{
    json_t *desc = NULL, *other = NULL;
    struct secbuf *pass = sb_str("correct horse battery staple");
    struct secbuf *wrong = sb_str("correct horse battery stapler");
    struct secbuf *kek = NULL, *kek2 = NULL, *kek_wrong = NULL, *kek_other = NULL;
    struct secbuf *dek = new_key(), *back = NULL;

    (void)state;
    assert_int_equal(keys_desc_new("passphrase", OPS, MEM, 0, 0, &desc), 0);
    assert_int_equal(keys_kek_from_passphrase(desc, pass, &kek), 0);
    assert_int_equal(secbuf_len(kek), CRYPT_KEY_LEN);
    /* Deterministic for one descriptor... */
    assert_int_equal(keys_kek_from_passphrase(desc, pass, &kek2), 0);
    assert_true(secbuf_equal(kek, kek2));
    /* ...and salted: another descriptor gives another KEK for the same passphrase. */
    assert_int_equal(keys_desc_new("passphrase", OPS, MEM, 0, 0, &other), 0);
    assert_int_equal(keys_kek_from_passphrase(other, pass, &kek_other), 0);
    assert_false(secbuf_equal(kek, kek_other));

    assert_int_equal(keys_wrap_dek(desc, kek, dek), 0);
    assert_int_equal(strlen(str_field(desc, "dek_id")), 16);
    assert_int_equal(strlen(str_field(desc, "wrapped_dek")), 2 * (CRYPT_KEY_LEN + CRYPT_OVERHEAD));
    assert_int_equal(keys_unwrap_dek(desc, kek2, &back), 0);
    assert_true(secbuf_equal(back, dek));
    secbuf_free(back);
    back = NULL;

    /* Wrong passphrase: a different KEK, refused as authentication failure. */
    assert_int_equal(keys_kek_from_passphrase(desc, wrong, &kek_wrong), 0);
    assert_false(secbuf_equal(kek, kek_wrong));
    back = (struct secbuf *)&back;
    assert_int_equal(keys_unwrap_dek(desc, kek_wrong, &back), -ERR_AUTH);
    assert_null(back);
    assert_int_equal(keys_unwrap_dek(desc, kek_other, &back), -ERR_AUTH);

    secbuf_free(kek);
    secbuf_free(kek2);
    secbuf_free(kek_wrong);
    secbuf_free(kek_other);
    secbuf_free(dek);
    secbuf_free(pass);
    secbuf_free(wrong);
    json_decref(desc);
    json_decref(other);
}

static void test_passphrase_bad_desc(void **state)
{
    json_t *desc = NULL, *d = NULL, *kf = NULL;
    struct secbuf *pass = sb_str("pw"), *empty = NULL, *kek = (struct secbuf *)&kek;

    (void)state;
    assert_int_equal(secbuf_new(4, &empty), 0);
    assert_int_equal(keys_desc_new("passphrase", OPS, MEM, 0, 0, &desc), 0);
    assert_int_equal(keys_kek_from_passphrase(desc, empty, &kek), -ERR_INVAL);
    assert_null(kek);
    assert_int_equal(keys_kek_from_passphrase(desc, NULL, &kek), -ERR_INVAL);

    assert_int_equal(keys_desc_new("keyfile", 0, 0, 0, 0, &kf), 0);
    assert_int_equal(keys_kek_from_passphrase(kf, pass, &kek), -ERR_INVAL);

    d = json_deep_copy(desc);
    assert_int_equal(json_object_del(d, "salt"), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    assert_int_equal(json_object_set_new(d, "salt", json_string("00112233")), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    assert_int_equal(
        json_object_set_new(d, "salt", json_string("zz112233445566778899aabbccddeeff")), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    json_decref(d);

    d = json_deep_copy(desc);
    assert_int_equal(json_object_set_new(d, "opslimit", json_integer(0)), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    assert_int_equal(json_object_set_new(d, "opslimit", json_string("3")), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    json_decref(d);

    d = json_deep_copy(desc);
    assert_int_equal(json_object_set_new(d, "memlimit", json_integer(-1)), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    assert_int_equal(json_object_del(d, "memlimit"), 0);
    assert_int_equal(keys_kek_from_passphrase(d, pass, &kek), -ERR_CORRUPT);
    json_decref(d);
    assert_null(kek);

    secbuf_free(empty);
    secbuf_free(pass);
    json_decref(kf);
    json_decref(desc);
}

/* ---- DEK wrapping ---- */

/* A keyfile descriptor with a random KEK wrapping a random DEK. */
static json_t *wrapped_desc(struct secbuf **kek, struct secbuf **dek)
{
    json_t *d = NULL;

    *kek = new_key();
    *dek = new_key();
    assert_int_equal(keys_desc_new("keyfile", 0, 0, 0, 0, &d), 0);
    assert_int_equal(keys_wrap_dek(d, *kek, *dek), 0);
    return d;
}

static void set_str(json_t *d, const char *name, const char *v)
{
    assert_int_equal(json_object_set_new(d, name, json_string(v)), 0);
}

static void test_unwrap_tampered(void **state)
{
    struct secbuf *kek, *dek, *out = NULL;
    json_t *desc = wrapped_desc(&kek, &dek), *d;
    char w[2 * (CRYPT_KEY_LEN + CRYPT_OVERHEAD) + 3];
    size_t len, i;
    int r;

    (void)state;
    len = strlen(str_field(desc, "wrapped_dek"));
    assert_true(len + 3 <= sizeof(w));
    /* Every hex digit, changed to another: nonce, ciphertext and tag are all covered. */
    for (i = 0; i < len; i++) {
        d = json_deep_copy(desc);
        memcpy(w, str_field(desc, "wrapped_dek"), len + 1);
        w[i] = w[i] == '0' ? '1' : '0';
        set_str(d, "wrapped_dek", w);
        r = keys_unwrap_dek(d, kek, &out);
        assert_true(r == -ERR_AUTH || r == -ERR_CORRUPT);
        assert_null(out);
        json_decref(d);
    }

    d = json_deep_copy(desc);
    memcpy(w, str_field(desc, "wrapped_dek"), len + 1);
    w[len - 2] = '\0'; /* one byte short */
    set_str(d, "wrapped_dek", w);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    memcpy(w, str_field(desc, "wrapped_dek"), len + 1);
    memcpy(w + len, "00", 3); /* one byte long */
    set_str(d, "wrapped_dek", w);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    memcpy(w, str_field(desc, "wrapped_dek"), len + 1);
    w[10] = 'x';
    set_str(d, "wrapped_dek", w);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    assert_int_equal(json_object_set_new(d, "wrapped_dek", json_integer(7)), 0);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    assert_int_equal(json_object_del(d, "wrapped_dek"), 0);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    json_decref(d);

    d = json_deep_copy(desc);
    assert_int_equal(json_object_del(d, "dek_id"), 0);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    set_str(d, "dek_id", "0011223344556677aa");
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_CORRUPT);
    json_decref(d);
    assert_null(out);

    /* The original still opens. */
    assert_int_equal(keys_unwrap_dek(desc, kek, &out), 0);
    assert_true(secbuf_equal(out, dek));
    secbuf_free(out);
    secbuf_free(kek);
    secbuf_free(dek);
    json_decref(desc);
}

/* dek_id is in the AD: another id, or another vault's wrapped key, does not open. */
static void test_dek_id_swapped(void **state)
{
    struct secbuf *kek, *dek, *dek2 = new_key(), *out = NULL;
    json_t *a = wrapped_desc(&kek, &dek), *b = NULL, *d;
    char id[17];
    size_t i;

    (void)state;
    d = json_deep_copy(a);
    memcpy(id, str_field(a, "dek_id"), sizeof(id));
    id[0] = id[0] == 'f' ? '0' : 'f';
    set_str(d, "dek_id", id);
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_AUTH);
    /* Upper case is the same bytes but not the same AD: still refused. */
    memcpy(id, str_field(a, "dek_id"), sizeof(id));
    for (i = 0; i < 16; i++)
        if (id[i] >= 'a' && id[i] <= 'f')
            id[i] = (char)(id[i] - 'a' + 'A');
    if (strcmp(id, str_field(a, "dek_id")) != 0) {
        set_str(d, "dek_id", id);
        assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_AUTH);
    }
    json_decref(d);

    /* Splice: b's id with a's wrapped key, both under the same KEK. */
    assert_int_equal(keys_desc_new("keyfile", 0, 0, 0, 0, &b), 0);
    assert_int_equal(keys_wrap_dek(b, kek, dek2), 0);
    assert_string_not_equal(str_field(a, "dek_id"), str_field(b, "dek_id"));
    d = json_deep_copy(b);
    set_str(d, "wrapped_dek", str_field(a, "wrapped_dek"));
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_AUTH);
    json_decref(d);
    d = json_deep_copy(a);
    set_str(d, "dek_id", str_field(b, "dek_id"));
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_AUTH);
    json_decref(d);
    assert_null(out);

    secbuf_free(kek);
    secbuf_free(dek);
    secbuf_free(dek2);
    json_decref(a);
    json_decref(b);
}

/* Rewrapping (new KEK after a passphrase change) gives a new id and still opens. */
static void test_rewrap(void **state)
{
    struct secbuf *kek, *dek, *kek2 = new_key(), *out = NULL;
    json_t *d = wrapped_desc(&kek, &dek);
    char *id1 = strdup(str_field(d, "dek_id"));

    (void)state;
    assert_int_equal(keys_wrap_dek(d, kek2, dek), 0);
    assert_string_not_equal(id1, str_field(d, "dek_id"));
    assert_int_equal(keys_unwrap_dek(d, kek, &out), -ERR_AUTH);
    assert_int_equal(keys_unwrap_dek(d, kek2, &out), 0);
    assert_true(secbuf_equal(out, dek));
    secbuf_free(out);
    free(id1);
    secbuf_free(kek);
    secbuf_free(kek2);
    secbuf_free(dek);
    json_decref(d);
}

static void test_wrap_invalid(void **state)
{
    struct secbuf *kek = new_key(), *dek = new_key(), *short_key = NULL, *out = NULL;
    json_t *d = NULL, *arr = json_array();
    unsigned char raw[16] = {0};

    (void)state;
    assert_int_equal(secbuf_from(raw, sizeof(raw), &short_key), 0);
    assert_int_equal(keys_desc_new("keyfile", 0, 0, 0, 0, &d), 0);
    assert_int_equal(keys_wrap_dek(d, short_key, dek), -ERR_INVAL);
    assert_int_equal(keys_wrap_dek(d, kek, short_key), -ERR_INVAL);
    assert_int_equal(keys_wrap_dek(arr, kek, dek), -ERR_INVAL);
    assert_int_equal(keys_wrap_dek(NULL, kek, dek), -ERR_INVAL);
    /* Nothing written on failure. */
    assert_null(json_object_get(d, "dek_id"));
    assert_null(json_object_get(d, "wrapped_dek"));

    assert_int_equal(keys_wrap_dek(d, kek, dek), 0);
    assert_int_equal(keys_unwrap_dek(d, short_key, &out), -ERR_INVAL);
    assert_int_equal(keys_unwrap_dek(NULL, kek, &out), -ERR_INVAL);
    assert_null(out);

    secbuf_free(short_key);
    secbuf_free(kek);
    secbuf_free(dek);
    json_decref(d);
    json_decref(arr);
}

/* ---- key files ---- */

static void test_keyfile_raw(void **state)
{
    unsigned char raw[32];
    char path[256];
    struct secbuf *kek = NULL;

    (void)state;
    randombytes_buf(raw, sizeof(raw));
    tmp_path(path, sizeof(path), "raw.key");
    write_file(path, raw, sizeof(raw), 0600);
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    assert_int_equal(secbuf_len(kek), 32);
    assert_memory_equal(secbuf_cdata(kek), raw, 32);
    secbuf_free(kek);
    kek = NULL;
    /* Read-only for the owner is fine too. */
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    secbuf_free(kek);
    unlink(path);
}

static void test_keyfile_hex(void **state)
{
    unsigned char raw[32];
    char hex[66], path[256];
    struct secbuf *kek = NULL;
    size_t i;

    (void)state;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    tmp_path(path, sizeof(path), "hex.key");

    write_file(path, hex, 64, 0600);
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    assert_memory_equal(secbuf_cdata(kek), raw, 32);
    secbuf_free(kek);
    kek = NULL;

    hex[64] = '\n';
    write_file(path, hex, 65, 0600);
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    assert_memory_equal(secbuf_cdata(kek), raw, 32);
    secbuf_free(kek);
    kek = NULL;

    /* Upper-case hex, as some tools print it. */
    for (i = 0; i < 64; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - 'a' + 'A');
    write_file(path, hex, 65, 0600);
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    assert_memory_equal(secbuf_cdata(kek), raw, 32);
    secbuf_free(kek);
    unlink(path);
}

static void expect_keyfile_refused(const char *content, size_t len, int want)
{
    char path[256];
    struct secbuf *kek = (struct secbuf *)&kek;

    tmp_path(path, sizeof(path), "bad.key");
    write_file(path, content, len, 0600);
    assert_int_equal(keys_kek_from_file(path, &kek), want);
    assert_null(kek);
    unlink(path);
}

static void test_keyfile_bad_content(void **state)
{
    char buf[80];

    (void)state;
    memset(buf, 'a', sizeof(buf));
    expect_keyfile_refused(buf, 0, -ERR_CONFIG);
    expect_keyfile_refused(buf, 31, -ERR_CONFIG);
    expect_keyfile_refused(buf, 33, -ERR_CONFIG);
    expect_keyfile_refused(buf, 63, -ERR_CONFIG);
    expect_keyfile_refused(buf, 66, -ERR_CONFIG);
    expect_keyfile_refused(buf, sizeof(buf), -ERR_CONFIG);
    buf[64] = '\n';
    buf[65] = '\n';
    expect_keyfile_refused(buf, 66, -ERR_CONFIG); /* two newlines */
    buf[64] = ' ';
    expect_keyfile_refused(buf, 65, -ERR_CONFIG); /* not a newline */
    buf[64] = '\r';
    expect_keyfile_refused(buf, 65, -ERR_CONFIG);
    memset(buf, 'a', sizeof(buf));
    buf[17] = 'g'; /* not hex */
    expect_keyfile_refused(buf, 64, -ERR_CONFIG);
    buf[17] = ' ';
    expect_keyfile_refused(buf, 64, -ERR_CONFIG);
}

static void test_keyfile_mode(void **state)
{
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620, 0610, 0601, 0666, 0700 | 0070};
    unsigned char raw[32] = {1};
    char path[256];
    struct secbuf *kek = NULL;
    size_t i;

    (void)state;
    tmp_path(path, sizeof(path), "mode.key");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, raw, sizeof(raw), bad[i]);
        assert_int_equal(keys_kek_from_file(path, &kek), -ERR_CONFIG);
        assert_null(kek);
    }
    unlink(path);
}

static void test_keyfile_missing(void **state)
{
    char path[256];
    struct secbuf *kek = (struct secbuf *)&kek;

    (void)state;
    tmp_path(path, sizeof(path), "does-not-exist.key");
    assert_int_equal(keys_kek_from_file(path, &kek), -ERR_IO);
    assert_null(kek);
    tmp_path(path, sizeof(path), "no-dir/x.key");
    assert_int_equal(keys_kek_from_file(path, &kek), -ERR_IO);
}

static void test_keyfile_not_regular(void **state)
{
    unsigned char raw[32] = {1};
    char path[256], link[256];
    struct secbuf *kek = NULL;

    (void)state;
    /* A symlink, even to a good file, is refused (O_NOFOLLOW). */
    tmp_path(path, sizeof(path), "target.key");
    tmp_path(link, sizeof(link), "link.key");
    write_file(path, raw, sizeof(raw), 0600);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(keys_kek_from_file(link, &kek), -ERR_CONFIG);
    unlink(link);
    unlink(path);

    /* A directory or a FIFO (which must not block us). */
    tmp_path(path, sizeof(path), "dir.key");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(keys_kek_from_file(path, &kek), -ERR_CONFIG);
    rmdir(path);
    tmp_path(path, sizeof(path), "fifo.key");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(keys_kek_from_file(path, &kek), -ERR_CONFIG);
    unlink(path);
    assert_null(kek);
}

static void test_keyfile_owner(void **state)
{
    unsigned char raw[32] = {1};
    char path[256];
    struct secbuf *kek = NULL;

    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    tmp_path(path, sizeof(path), "owner.key");
    write_file(path, raw, sizeof(raw), 0600);
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(keys_kek_from_file(path, &kek), -ERR_CONFIG);
    assert_null(kek);
    unlink(path);
}

static void test_keyfile_create(void **state)
{
    char path[256], link[256], other[256], buf[80];
    struct secbuf *kek = NULL, *kek2 = NULL;
    unsigned char raw[32];
    struct stat st;
    mode_t old;
    int fd, cwd;
    ssize_t n;

    (void)state;
    tmp_path(path, sizeof(path), "created.key");
    /* The mode is exactly 0600 whatever the umask. */
    old = umask(0277);
    assert_int_equal(keys_keyfile_create(path), 0);
    umask(0);
    tmp_path(other, sizeof(other), "umask0.key");
    assert_int_equal(keys_keyfile_create(other), 0);
    umask(old);
    assert_int_equal(lstat(other, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    unlink(other);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 65);
    assert_int_equal(buf[64], '\n');
    assert_int_equal(keys_kek_from_file(path, &kek), 0);
    assert_int_equal(sodium_hex2bin(raw, sizeof(raw), buf, 64, NULL, NULL, NULL), 0);
    assert_memory_equal(secbuf_cdata(kek), raw, 32);

    /* O_EXCL: never overwrites, and the old key stays. */
    assert_int_equal(keys_keyfile_create(path), -ERR_EXISTS);
    assert_int_equal(keys_kek_from_file(path, &kek2), 0);
    assert_true(secbuf_equal(kek, kek2));

    /* Nor follows a (dangling) symlink planted at the path. */
    tmp_path(link, sizeof(link), "planted.key");
    tmp_path(other, sizeof(other), "elsewhere.key");
    assert_int_equal(symlink(other, link), 0);
    assert_int_equal(keys_keyfile_create(link), -ERR_EXISTS);
    assert_int_equal(access(other, F_OK), -1);
    unlink(link);

    /* Two new files hold different keys. */
    tmp_path(other, sizeof(other), "created2.key");
    assert_int_equal(keys_keyfile_create(other), 0);
    secbuf_free(kek2);
    kek2 = NULL;
    assert_int_equal(keys_kek_from_file(other, &kek2), 0);
    assert_false(secbuf_equal(kek, kek2));
    unlink(other);

    tmp_path(other, sizeof(other), "no-dir/x.key");
    assert_int_equal(keys_keyfile_create(other), -ERR_IO);

    /* A bare name: created (and its directory synced) in the working directory. */
    cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(cwd >= 0);
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(keys_keyfile_create("bare.key"), 0);
    assert_int_equal(unlink("bare.key"), 0);
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);

    secbuf_free(kek);
    secbuf_free(kek2);
    unlink(path);
}

/* ---- Shamir shares ---- */

/* Split `kek` k of n and encode every share. */
static void split_texts(const struct secbuf *kek, unsigned k, unsigned n, struct secbuf **texts)
{
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL};
    unsigned i;

    assert_int_equal(shamir_split(kek, k, n, sh), 0);
    for (i = 0; i < n; i++) {
        assert_int_equal(shamir_share_encode(sh[i], k, &texts[i]), 0);
        secbuf_free(sh[i]);
    }
}

static int add_text(struct keys_shares *ks, const struct secbuf *t)
{
    return keys_shares_add(ks, secbuf_cdata(t), secbuf_len(t));
}

static void free_texts(struct secbuf **t, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        secbuf_free(t[i]);
}

static void test_shares_flow(void **state)
{
    struct secbuf *kek = new_key(), *dek = new_key(), *kek2 = NULL, *back = NULL;
    struct secbuf *t[5] = {NULL}, *t23[3] = {NULL}, *tsmall[5] = {NULL}, *small = NULL;
    struct keys_shares *ks = NULL;
    json_t *desc = NULL;
    unsigned char raw16[16] = {9};

    (void)state;
    /* Vault initialisation: random KEK, split 3 of 5, DEK wrapped under it. */
    assert_int_equal(keys_desc_new("shamir", 0, 0, 3, 5, &desc), 0);
    assert_int_equal(keys_wrap_dek(desc, kek, dek), 0);
    split_texts(kek, 3, 5, t);

    /* Unseal: custodians hand in their shares one at a time. */
    assert_int_equal(keys_shares_new(3, &ks), 0);
    assert_int_equal(keys_shares_count(ks), 0);
    assert_int_equal(add_text(ks, t[4]), 0);
    assert_int_equal(keys_shares_count(ks), 1);
    assert_int_equal(add_text(ks, t[4]), -ERR_INVAL); /* same share again: not counted */
    assert_int_equal(keys_shares_count(ks), 1);
    assert_int_equal(keys_shares_add(ks, "cst1-3-1-zz-00000000", 20), -ERR_PARSE);
    assert_int_equal(keys_shares_add(ks, "hello", 5), -ERR_PARSE);
    split_texts(kek, 2, 3, t23); /* threshold does not match the vault's */
    assert_int_equal(add_text(ks, t23[0]), -ERR_INVAL);
    assert_int_equal(secbuf_from(raw16, sizeof(raw16), &small), 0);
    split_texts(small, 3, 5, tsmall); /* a share, but not of a 32-byte key */
    assert_int_equal(add_text(ks, tsmall[0]), -ERR_INVAL);
    assert_int_equal(keys_shares_count(ks), 1);
    kek2 = (struct secbuf *)&kek2;
    assert_int_equal(keys_shares_combine(ks, &kek2), -ERR_STATE); /* not enough yet */
    assert_null(kek2);

    assert_int_equal(add_text(ks, t[1]), 0);
    assert_int_equal(add_text(ks, t[0]), 0);
    assert_int_equal(keys_shares_count(ks), 3);
    assert_int_equal(add_text(ks, t[2]), -ERR_INVAL); /* enough already */
    assert_int_equal(keys_shares_count(ks), 3);

    assert_int_equal(keys_shares_combine(ks, &kek2), 0);
    assert_true(secbuf_equal(kek2, kek));
    assert_int_equal(keys_unwrap_dek(desc, kek2, &back), 0);
    assert_true(secbuf_equal(back, dek));

    secbuf_free(back);
    secbuf_free(kek2);
    keys_shares_free(ks);
    free_texts(t, 5);
    free_texts(t23, 3);
    free_texts(tsmall, 5);
    secbuf_free(small);
    secbuf_free(kek);
    secbuf_free(dek);
    json_decref(desc);
}

/* Every 3 of 5 reaches the KEK through keys_shares; shares of another split do not. */
static void test_shares_subsets(void **state)
{
    struct secbuf *kek = new_key(), *dek = new_key(), *other = new_key();
    struct secbuf *t[5] = {NULL}, *u[5] = {NULL}, *k2 = NULL, *back = NULL;
    struct keys_shares *ks = NULL;
    json_t *desc = NULL;
    unsigned a, b, c;

    (void)state;
    assert_int_equal(keys_desc_new("shamir", 0, 0, 3, 5, &desc), 0);
    assert_int_equal(keys_wrap_dek(desc, kek, dek), 0);
    split_texts(kek, 3, 5, t);
    split_texts(other, 3, 5, u);
    for (a = 0; a < 5; a++)
        for (b = a + 1; b < 5; b++)
            for (c = b + 1; c < 5; c++) {
                assert_int_equal(keys_shares_new(3, &ks), 0);
                assert_int_equal(add_text(ks, t[c]), 0);
                assert_int_equal(add_text(ks, t[a]), 0);
                assert_int_equal(add_text(ks, t[b]), 0);
                assert_int_equal(keys_shares_combine(ks, &k2), 0);
                assert_true(secbuf_equal(k2, kek));
                secbuf_free(k2);
                keys_shares_free(ks);
            }

    /* Two of this vault and one of another: some KEK, but the wrong one. */
    assert_int_equal(keys_shares_new(3, &ks), 0);
    assert_int_equal(add_text(ks, t[0]), 0);
    assert_int_equal(add_text(ks, t[1]), 0);
    assert_int_equal(add_text(ks, u[2]), 0);
    assert_int_equal(keys_shares_combine(ks, &k2), 0);
    assert_false(secbuf_equal(k2, kek));
    assert_int_equal(keys_unwrap_dek(desc, k2, &back), -ERR_AUTH);
    assert_null(back);
    secbuf_free(k2);
    keys_shares_free(ks);

    free_texts(t, 5);
    free_texts(u, 5);
    secbuf_free(kek);
    secbuf_free(dek);
    secbuf_free(other);
    json_decref(desc);
}

static void test_shares_invalid(void **state)
{
    struct keys_shares *ks = (struct keys_shares *)&ks;
    struct secbuf *kek = NULL;

    (void)state;
    assert_int_equal(keys_shares_new(1, &ks), -ERR_INVAL);
    assert_null(ks);
    assert_int_equal(keys_shares_new(256, &ks), -ERR_INVAL);
    assert_int_equal(keys_shares_new(255, &ks), 0);
    assert_int_equal(keys_shares_add(ks, NULL, 0), -ERR_INVAL);
    assert_int_equal(keys_shares_add(ks, "", 0), -ERR_PARSE);
    assert_int_equal(keys_shares_combine(ks, &kek), -ERR_STATE);
    assert_int_equal(keys_shares_combine(NULL, &kek), -ERR_INVAL);
    assert_int_equal(keys_shares_count(NULL), 0);
    keys_shares_free(ks);
    keys_shares_free(NULL);
}

static int setup(void **state)
{
    (void)state;
    if (secbuf_init() != 0 || !mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove the scratch directory even when a failed test left files behind. */
static int teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_desc_new),
        cmocka_unit_test(test_passphrase_wrap_unwrap),
        cmocka_unit_test(test_passphrase_bad_desc),
        cmocka_unit_test(test_unwrap_tampered),
        cmocka_unit_test(test_dek_id_swapped),
        cmocka_unit_test(test_rewrap),
        cmocka_unit_test(test_wrap_invalid),
        cmocka_unit_test(test_keyfile_raw),
        cmocka_unit_test(test_keyfile_hex),
        cmocka_unit_test(test_keyfile_bad_content),
        cmocka_unit_test(test_keyfile_mode),
        cmocka_unit_test(test_keyfile_missing),
        cmocka_unit_test(test_keyfile_not_regular),
        cmocka_unit_test(test_keyfile_owner),
        cmocka_unit_test(test_keyfile_create),
        cmocka_unit_test(test_shares_flow),
        cmocka_unit_test(test_shares_subsets),
        cmocka_unit_test(test_shares_invalid),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
