/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/crypt.c: XChaCha20-Poly1305 envelope seal and open. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypt.h"

#define AD "secret:db1/root:v3"
#define AD_LEN (sizeof(AD) - 1)
#define MAX_PLAIN 1000u

static struct secbuf *new_key(void)
{
    struct secbuf *k = NULL;

    assert_int_equal(crypt_key_new(&k), 0);
    assert_non_null(k);
    return k;
}

static void test_key_new(void **state)
{
    struct secbuf *a = new_key(), *b = new_key();

    (void)state;
    assert_int_equal(secbuf_len(a), CRYPT_KEY_LEN);
    assert_false(secbuf_equal(a, b));
    secbuf_free(a);
    secbuf_free(b);
}

static void test_roundtrip(void **state)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 32, 64, 255, MAX_PLAIN};
    struct secbuf *key = new_key(), *out = NULL;
    unsigned char plain[MAX_PLAIN], sealed[MAX_PLAIN + CRYPT_OVERHEAD];
    size_t i, n;

    (void)state;
    randombytes_buf(plain, sizeof(plain));
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        n = lens[i];
        assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, n, sealed), 0);
        assert_int_equal(crypt_open(key, AD, AD_LEN, sealed, n + CRYPT_OVERHEAD, &out), 0);
        assert_int_equal(secbuf_len(out), n);
        if (n)
            assert_memory_equal(secbuf_cdata(out), plain, n);
        secbuf_free(out);
        out = NULL;
    }
    /* Empty associated data works too. */
    assert_int_equal(crypt_seal(key, NULL, 0, plain, 32, sealed), 0);
    assert_int_equal(crypt_open(key, NULL, 0, sealed, 32 + CRYPT_OVERHEAD, &out), 0);
    assert_memory_equal(secbuf_cdata(out), plain, 32);
    secbuf_free(out);
    secbuf_free(key);
}

/* Same key, plaintext and AD: the random nonce makes every sealed form differ. */
static void test_fresh_nonce(void **state)
{
    struct secbuf *key = new_key();
    unsigned char plain[32] = {0}, a[32 + CRYPT_OVERHEAD], b[32 + CRYPT_OVERHEAD];

    (void)state;
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), a), 0);
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), b), 0);
    assert_memory_not_equal(a, b, CRYPT_NONCE_LEN);
    assert_memory_not_equal(a + CRYPT_NONCE_LEN, b + CRYPT_NONCE_LEN, sizeof(a) - CRYPT_NONCE_LEN);
    secbuf_free(key);
}

/* Flipping any bit of any byte (nonce, ciphertext or tag) is detected. */
static void test_tamper_every_byte(void **state)
{
    struct secbuf *key = new_key(), *out = NULL;
    struct secbuf *sentinel = (struct secbuf *)&sentinel;
    unsigned char plain[48], sealed[sizeof(plain) + CRYPT_OVERHEAD];
    size_t i;
    unsigned bit;

    (void)state;
    randombytes_buf(plain, sizeof(plain));
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), sealed), 0);
    for (i = 0; i < sizeof(sealed); i++) {
        for (bit = 0; bit < 8; bit++) {
            sealed[i] ^= (unsigned char)(1u << bit);
            out = sentinel;
            assert_int_equal(crypt_open(key, AD, AD_LEN, sealed, sizeof(sealed), &out),
                             -ERR_TAMPERED);
            assert_null(out);
            sealed[i] ^= (unsigned char)(1u << bit);
        }
    }
    /* Untouched, it still opens. */
    assert_int_equal(crypt_open(key, AD, AD_LEN, sealed, sizeof(sealed), &out), 0);
    secbuf_free(out);
    secbuf_free(key);
}

static void test_wrong_ad(void **state)
{
    struct secbuf *key = new_key(), *out = NULL;
    unsigned char plain[32] = {1}, sealed[sizeof(plain) + CRYPT_OVERHEAD];
    char ad[AD_LEN + 1];
    size_t i;

    (void)state;
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), sealed), 0);
    /* One character different, anywhere. */
    for (i = 0; i < AD_LEN; i++) {
        memcpy(ad, AD, AD_LEN);
        ad[i] ^= 1;
        assert_int_equal(crypt_open(key, ad, AD_LEN, sealed, sizeof(sealed), &out), -ERR_TAMPERED);
    }
    /* Shorter, longer, empty: e.g. another record's name or version. */
    assert_int_equal(crypt_open(key, AD, AD_LEN - 1, sealed, sizeof(sealed), &out), -ERR_TAMPERED);
    memcpy(ad, AD, AD_LEN);
    ad[AD_LEN] = '0';
    assert_int_equal(crypt_open(key, ad, AD_LEN + 1, sealed, sizeof(sealed), &out), -ERR_TAMPERED);
    assert_int_equal(crypt_open(key, NULL, 0, sealed, sizeof(sealed), &out), -ERR_TAMPERED);
    assert_null(out);
    secbuf_free(key);
}

static void test_wrong_key(void **state)
{
    struct secbuf *key = new_key(), *other = new_key(), *out = NULL;
    unsigned char plain[32] = {1}, sealed[sizeof(plain) + CRYPT_OVERHEAD];

    (void)state;
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), sealed), 0);
    assert_int_equal(crypt_open(other, AD, AD_LEN, sealed, sizeof(sealed), &out), -ERR_TAMPERED);
    assert_null(out);
    secbuf_free(other);
    secbuf_free(key);
}

static void test_truncated(void **state)
{
    struct secbuf *key = new_key(), *out = NULL;
    unsigned char plain[32] = {1}, sealed[sizeof(plain) + CRYPT_OVERHEAD];
    size_t n;

    (void)state;
    assert_int_equal(crypt_seal(key, AD, AD_LEN, plain, sizeof(plain), sealed), 0);
    /* Too short to hold nonce and tag: corrupt, not merely tampered. */
    for (n = 0; n < CRYPT_OVERHEAD; n++)
        assert_int_equal(crypt_open(key, AD, AD_LEN, sealed, n, &out), -ERR_CORRUPT);
    /* Long enough to parse but cut: the tag no longer matches. */
    for (n = CRYPT_OVERHEAD; n < sizeof(sealed); n++)
        assert_int_equal(crypt_open(key, AD, AD_LEN, sealed, n, &out), -ERR_TAMPERED);
    assert_null(out);
    secbuf_free(key);
}

static void test_key_length(void **state)
{
    static const size_t lens[] = {1, 16, CRYPT_KEY_LEN - 1, CRYPT_KEY_LEN + 1, 64};
    struct secbuf *good = new_key(), *bad = NULL, *empty = NULL, *out = NULL;
    unsigned char raw[64] = {0}, plain[32] = {1}, sealed[sizeof(plain) + CRYPT_OVERHEAD];
    size_t i;

    (void)state;
    assert_int_equal(crypt_seal(good, AD, AD_LEN, plain, sizeof(plain), sealed), 0);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        assert_int_equal(secbuf_from(raw, lens[i], &bad), 0);
        assert_int_equal(crypt_seal(bad, AD, AD_LEN, plain, sizeof(plain), sealed), -ERR_INVAL);
        assert_int_equal(crypt_open(bad, AD, AD_LEN, sealed, sizeof(sealed), &out), -ERR_INVAL);
        assert_null(out);
        secbuf_free(bad);
        bad = NULL;
    }
    assert_int_equal(secbuf_new(CRYPT_KEY_LEN, &empty), 0); /* capacity, but length 0 */
    assert_int_equal(crypt_seal(empty, AD, AD_LEN, plain, sizeof(plain), sealed), -ERR_INVAL);
    secbuf_free(empty);
    secbuf_free(good);
}

static int setup(void **state)
{
    (void)state;
    return secbuf_init() == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_new),     cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_fresh_nonce), cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_wrong_ad),    cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_truncated),   cmocka_unit_test(test_key_length),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
