/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vaultd/shamir.c: field arithmetic, thresholds, share text format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "shamir.h"

#define SECRET_LEN 32u

/* Reference GF(2^8) product (FIPS-197 4.2), plain and branchy: only for checking. */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;

    while (b) {
        if (b & 1)
            p ^= a;
        a = (a & 0x80) ? (uint8_t)((a << 1) ^ 0x1b) : (uint8_t)(a << 1);
        b >>= 1;
    }
    return p;
}

/* f(x) = c[0] + c[1] x + ... + c[k-1] x^(k-1) with the reference product. */
static uint8_t ref_eval(const uint8_t *c, unsigned k, uint8_t x)
{
    uint8_t acc = 0;
    unsigned i;

    for (i = k; i > 0; i--)
        acc = ref_mul(acc, x) ^ c[i - 1];
    return acc;
}

static struct secbuf *random_secret(size_t len)
{
    struct secbuf *s = NULL;

    assert_int_equal(secbuf_new(len, &s), 0);
    randombytes_buf(secbuf_data(s), len);
    assert_int_equal(secbuf_set_len(s, len), 0);
    return s;
}

static struct secbuf *make_share(uint8_t x, const uint8_t *y, size_t len)
{
    struct secbuf *s = NULL;

    assert_int_equal(secbuf_new(1 + len, &s), 0);
    ((uint8_t *)secbuf_data(s))[0] = x;
    memcpy((uint8_t *)secbuf_data(s) + 1, y, len);
    assert_int_equal(secbuf_set_len(s, 1 + len), 0);
    return s;
}

static void free_shares(struct secbuf **sh, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        secbuf_free(sh[i]);
        sh[i] = NULL;
    }
}

/* Combine the shares at idx[0..count) and say whether the result is `secret`. */
static int combine_matches(struct secbuf **sh, const unsigned *idx, unsigned count,
                           const struct secbuf *secret)
{
    struct secbuf *pick[SHAMIR_MAX_SHARES];
    struct secbuf *out = NULL;
    unsigned i;
    int eq;

    for (i = 0; i < count; i++)
        pick[i] = sh[idx[i]];
    assert_int_equal(shamir_combine(pick, count, &out), 0);
    assert_non_null(out);
    assert_int_equal(secbuf_len(out), secbuf_len(secret));
    eq = secbuf_equal(out, secret);
    secbuf_free(out);
    return eq;
}

/* count distinct random indexes below n (partial Fisher-Yates), in random order. */
static void random_subset(unsigned n, unsigned count, unsigned *idx)
{
    unsigned perm[SHAMIR_MAX_SHARES], i, j, t;

    for (i = 0; i < n; i++)
        perm[i] = i;
    for (i = 0; i < count; i++) {
        j = i + randombytes_uniform(n - i);
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        idx[i] = perm[i];
    }
}

static void test_ref_mul_fips197(void **state)
{
    (void)state;
    /* The worked examples of FIPS-197 section 4.2 and the inverse pair of 4.2.1 / 5.1.1. */
    assert_int_equal(ref_mul(0x57, 0x83), 0xc1);
    assert_int_equal(ref_mul(0x57, 0x13), 0xfe);
    assert_int_equal(ref_mul(0x53, 0xca), 0x01);
}

/*
 * Known answers: shares made with the reference arithmetic from a chosen
 * polynomial must combine to its constant term.  Every pair of x values is
 * tried, so every non-zero denominator (and thus every inverse) is used.
 */
static void test_combine_known_answer(void **state)
{
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL};
    struct secbuf *pair[2], *out = NULL;
    uint8_t coef[2][3] = {{0x42, 0x9d, 0}, {0x00, 0xff, 0}}; /* per byte: s, a */
    uint8_t y[2];
    unsigned x1, x2, b;

    (void)state;
    for (x1 = 1; x1 <= 255; x1++) {
        for (b = 0; b < 2; b++)
            y[b] = ref_eval(coef[b], 2, (uint8_t)x1);
        sh[x1 - 1] = make_share((uint8_t)x1, y, 2);
    }
    for (x1 = 1; x1 <= 255; x1++) {
        for (x2 = x1 + 1; x2 <= 255; x2++) {
            pair[0] = sh[x1 - 1];
            pair[1] = sh[x2 - 1];
            assert_int_equal(shamir_combine(pair, 2, &out), 0);
            assert_int_equal(secbuf_len(out), 2);
            assert_int_equal(((const uint8_t *)secbuf_cdata(out))[0], 0x42);
            assert_int_equal(((const uint8_t *)secbuf_cdata(out))[1], 0x00);
            secbuf_free(out);
            out = NULL;
        }
    }
    free_shares(sh, 255);
}

/* Degree 4 with scattered x values, checked against the reference evaluation. */
static void test_combine_known_answer_k5(void **state)
{
    static const uint8_t xs[5] = {7, 200, 255, 1, 128};
    uint8_t c[5] = {0xa5, 0x01, 0x80, 0xfe, 0x3c};
    struct secbuf *sh[5], *out = NULL;
    uint8_t y;
    unsigned i;

    (void)state;
    for (i = 0; i < 5; i++) {
        y = ref_eval(c, 5, xs[i]);
        sh[i] = make_share(xs[i], &y, 1);
    }
    assert_int_equal(shamir_combine(sh, 5, &out), 0);
    assert_int_equal(((const uint8_t *)secbuf_cdata(out))[0], 0xa5);
    secbuf_free(out);
    free_shares(sh, 5);
}

/* Split, then check the shares' shape and every subset of up to 16 shares. */
static void check_split_exhaustive(unsigned k, unsigned n, size_t len)
{
    struct secbuf *secret = random_secret(len);
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL};
    unsigned idx[SHAMIR_MAX_SHARES], mask, cnt, i;

    assert_true(n <= 16);
    assert_int_equal(shamir_split(secret, k, n, sh), 0);
    for (i = 0; i < n; i++) {
        assert_non_null(sh[i]);
        assert_int_equal(secbuf_len(sh[i]), 1 + len);
        assert_int_equal(((const uint8_t *)secbuf_cdata(sh[i]))[0], i + 1);
    }
    for (mask = 1; mask < (1u << n); mask++) {
        cnt = 0;
        for (i = 0; i < n; i++)
            if (mask & (1u << i))
                idx[cnt++] = i;
        if (cnt >= k)
            assert_true(combine_matches(sh, idx, cnt, secret));
        else
            assert_false(combine_matches(sh, idx, cnt, secret));
    }
    free_shares(sh, n);
    secbuf_free(secret);
}

static void test_split_2_2(void **state)
{
    (void)state;
    check_split_exhaustive(2, 2, SECRET_LEN);
}

static void test_split_2_3(void **state)
{
    (void)state;
    check_split_exhaustive(2, 3, SECRET_LEN);
}

static void test_split_3_5(void **state)
{
    (void)state;
    check_split_exhaustive(3, 5, SECRET_LEN);
}

static void test_split_5_5(void **state)
{
    (void)state;
    check_split_exhaustive(5, 5, SECRET_LEN);
}

static void test_split_more(void **state)
{
    (void)state;
    check_split_exhaustive(2, 5, SECRET_LEN);
    check_split_exhaustive(4, 7, 64);
    check_split_exhaustive(7, 12, 16);
    check_split_exhaustive(12, 12, SECRET_LEN);
}

/* One-byte secrets: only "k shares reconstruct" is checkable (k-1 match 1 time in 256). */
static void test_split_one_byte(void **state)
{
    struct secbuf *secret = random_secret(1);
    struct secbuf *sh[4] = {NULL};
    unsigned idx[3] = {3, 0, 2};

    (void)state;
    assert_int_equal(shamir_split(secret, 3, 4, sh), 0);
    assert_true(combine_matches(sh, idx, 3, secret));
    free_shares(sh, 4);
    secbuf_free(secret);
}

/* n = 255: random samples of k- and (k-1)-subsets, and all 255 shares. */
static void check_split_255(unsigned k, unsigned samples)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL};
    unsigned idx[SHAMIR_MAX_SHARES], i;

    assert_int_equal(shamir_split(secret, k, 255, sh), 0);
    for (i = 0; i < 255; i++)
        assert_int_equal(((const uint8_t *)secbuf_cdata(sh[i]))[0], i + 1);
    for (i = 0; i < samples; i++) {
        random_subset(255, k, idx);
        assert_true(combine_matches(sh, idx, k, secret));
        random_subset(255, k - 1, idx);
        assert_false(combine_matches(sh, idx, k - 1, secret));
    }
    for (i = 0; i < 255; i++)
        idx[i] = i;
    assert_true(combine_matches(sh, idx, 255, secret));
    free_shares(sh, 255);
    secbuf_free(secret);
}

static void test_split_255(void **state)
{
    (void)state;
    check_split_255(2, 500);
    check_split_255(3, 500);
    check_split_255(128, 60);
    check_split_255(254, 10);
    check_split_255(255, 10);
}

static void test_split_invalid(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *empty = NULL;
    struct secbuf *sentinel = (struct secbuf *)&sentinel;
    struct secbuf *sh[SHAMIR_MAX_SHARES + 1];
    unsigned i;

    (void)state;
    for (i = 0; i <= SHAMIR_MAX_SHARES; i++)
        sh[i] = sentinel;
    assert_int_equal(secbuf_new(8, &empty), 0);
    assert_int_equal(shamir_split(secret, 0, 3, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(secret, 1, 3, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(secret, 4, 3, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(secret, 2, 256, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(secret, 256, 256, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(empty, 2, 3, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(NULL, 2, 3, sh), -ERR_INVAL);
    assert_int_equal(shamir_split(secret, 2, 3, NULL), -ERR_INVAL);
    /* Nothing written on failure. */
    for (i = 0; i <= SHAMIR_MAX_SHARES; i++)
        assert_ptr_equal(sh[i], sentinel);
    secbuf_free(empty);
    secbuf_free(secret);
}

/* Two splits of one secret differ: the coefficients are fresh each time. */
static void test_split_random(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *a[3] = {NULL}, *b[3] = {NULL};

    (void)state;
    assert_int_equal(shamir_split(secret, 2, 3, a), 0);
    assert_int_equal(shamir_split(secret, 2, 3, b), 0);
    assert_false(secbuf_equal(a[0], b[0]));
    assert_false(secbuf_equal(a[0], secret));
    free_shares(a, 3);
    free_shares(b, 3);
    secbuf_free(secret);
}

static void test_combine_invalid(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[3] = {NULL}, *pick[3], *out = NULL;
    struct secbuf *sentinel = (struct secbuf *)&sentinel;
    struct secbuf *shortsh = NULL, *zero = NULL, *tiny = NULL;
    uint8_t y[SECRET_LEN] = {0};

    (void)state;
    assert_int_equal(shamir_split(secret, 2, 3, sh), 0);

    /* The same share twice (duplicate x). */
    pick[0] = sh[0];
    pick[1] = sh[0];
    out = sentinel;
    assert_int_equal(shamir_combine(pick, 2, &out), -ERR_INVAL);
    assert_null(out);

    /* A different share that claims an x already present. */
    assert_int_equal(secbuf_dup(sh[1], &shortsh), 0);
    ((uint8_t *)secbuf_data(shortsh))[0] = 1;
    pick[0] = sh[0];
    pick[1] = shortsh;
    assert_int_equal(shamir_combine(pick, 2, &out), -ERR_INVAL);
    secbuf_free(shortsh);

    /* x = 0 would be the secret itself. */
    zero = make_share(0, y, SECRET_LEN);
    pick[0] = sh[0];
    pick[1] = zero;
    assert_int_equal(shamir_combine(pick, 2, &out), -ERR_INVAL);

    /* Lengths differ. */
    shortsh = make_share(3, y, SECRET_LEN - 1);
    pick[0] = sh[0];
    pick[1] = shortsh;
    assert_int_equal(shamir_combine(pick, 2, &out), -ERR_INVAL);

    /* A share without any y byte. */
    assert_int_equal(secbuf_from("\x01", 1, &tiny), 0);
    pick[0] = tiny;
    assert_int_equal(shamir_combine(pick, 1, &out), -ERR_INVAL);

    pick[0] = sh[0];
    pick[1] = NULL;
    assert_int_equal(shamir_combine(pick, 2, &out), -ERR_INVAL);
    assert_int_equal(shamir_combine(sh, 0, &out), -ERR_INVAL);
    assert_int_equal(shamir_combine(NULL, 2, &out), -ERR_INVAL);
    assert_null(out);

    secbuf_free(tiny);
    secbuf_free(shortsh);
    secbuf_free(zero);
    free_shares(sh, 3);
    secbuf_free(secret);
}

/* Decode from an exact-size heap copy so ASan sees any read past `len`. */
static int decode_exact(const char *text, size_t len, unsigned *k, struct secbuf **share)
{
    char *copy = malloc(len ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, text, len);
    r = shamir_share_decode(copy, len, k, share);
    free(copy);
    return r;
}

static void test_encode_decode_roundtrip(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL}, *text = NULL, *back = NULL;
    char want[32];
    const char *t;
    unsigned k = 0, i, x;
    size_t i2;

    (void)state;
    assert_int_equal(shamir_split(secret, 3, 255, sh), 0);
    for (i = 0; i < 255; i++) {
        x = i + 1;
        assert_int_equal(shamir_share_encode(sh[i], 3, &text), 0);
        t = secbuf_cdata(text);
        snprintf(want, sizeof(want), "cst1-3-%u-", x);
        assert_int_equal(strncmp(t, want, strlen(want)), 0);
        assert_int_equal(secbuf_len(text), strlen(want) + 2 * SECRET_LEN + 1 + 8);
        assert_int_equal(strlen(t), secbuf_len(text)); /* NUL-terminated */
        assert_int_equal(t[secbuf_len(text) - 9], '-');
        for (i2 = strlen(want); i2 < secbuf_len(text); i2++)
            assert_true((t[i2] >= '0' && t[i2] <= '9') || (t[i2] >= 'a' && t[i2] <= 'f') ||
                        (t[i2] == '-' && i2 == secbuf_len(text) - 9));
        k = 0;
        assert_int_equal(decode_exact(t, secbuf_len(text), &k, &back), 0);
        assert_int_equal(k, 3);
        assert_true(secbuf_equal(back, sh[i]));
        secbuf_free(back);
        back = NULL;
        secbuf_free(text);
        text = NULL;
    }
    free_shares(sh, 255);
    secbuf_free(secret);
}

/* Decoded shares still reconstruct: the whole path a custodian's text takes. */
static void test_encode_decode_combine(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[5] = {NULL}, *dec[3] = {NULL}, *text = NULL, *out = NULL;
    unsigned k, i;

    (void)state;
    assert_int_equal(shamir_split(secret, 3, 5, sh), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(shamir_share_encode(sh[4 - i], 3, &text), 0);
        assert_int_equal(shamir_share_decode(secbuf_cdata(text), secbuf_len(text), &k, &dec[i]), 0);
        secbuf_free(text);
        text = NULL;
    }
    assert_int_equal(shamir_combine(dec, 3, &out), 0);
    assert_true(secbuf_equal(out, secret));
    secbuf_free(out);
    free_shares(dec, 3);
    free_shares(sh, 5);
    secbuf_free(secret);
}

static void test_encode_invalid(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[2] = {NULL}, *zero = NULL, *tiny = NULL, *text = NULL;
    uint8_t y[4] = {1, 2, 3, 4};

    (void)state;
    assert_int_equal(shamir_split(secret, 2, 2, sh), 0);
    assert_int_equal(shamir_share_encode(sh[0], 1, &text), -ERR_INVAL);
    assert_int_equal(shamir_share_encode(sh[0], 256, &text), -ERR_INVAL);
    zero = make_share(0, y, sizeof(y));
    assert_int_equal(shamir_share_encode(zero, 2, &text), -ERR_INVAL);
    assert_int_equal(secbuf_from("\x01", 1, &tiny), 0);
    assert_int_equal(shamir_share_encode(tiny, 2, &text), -ERR_INVAL);
    assert_int_equal(shamir_share_encode(NULL, 2, &text), -ERR_INVAL);
    assert_null(text);
    secbuf_free(tiny);
    secbuf_free(zero);
    free_shares(sh, 2);
    secbuf_free(secret);
}

/* A fresh valid share text for k of n (caller frees). */
static struct secbuf *valid_text(unsigned k, unsigned n, unsigned which)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[SHAMIR_MAX_SHARES] = {NULL}, *text = NULL;

    assert_int_equal(shamir_split(secret, k, n, sh), 0);
    assert_int_equal(shamir_share_encode(sh[which], k, &text), 0);
    free_shares(sh, n);
    secbuf_free(secret);
    return text;
}

static void expect_refused(const char *t, size_t len)
{
    struct secbuf *share = (struct secbuf *)&share;
    unsigned k = 77;

    assert_int_equal(decode_exact(t, len, &k, &share), -ERR_PARSE);
    assert_null(share);
    assert_int_equal(k, 77);
}

/*
 * Every one-character substitution (any printable character), deletion and
 * adjacent transposition is refused.  Hex digits changed inside y or the
 * check are caught by the 32-bit check; a false accept is a 2^-32 event.
 */
static void test_decode_typo(void **state)
{
    struct secbuf *text = valid_text(3, 5, 1);
    const char *t = secbuf_cdata(text);
    size_t len = secbuf_len(text), i;
    char buf[256];
    int c;

    (void)state;
    assert_true(len < sizeof(buf));
    for (i = 0; i < len; i++) {
        for (c = 0x20; c < 0x7f; c++) {
            if (c == t[i])
                continue;
            memcpy(buf, t, len);
            buf[i] = (char)c;
            expect_refused(buf, len);
        }
        /* deletion */
        memcpy(buf, t, i);
        memcpy(buf + i, t + i + 1, len - i - 1);
        expect_refused(buf, len - 1);
        /* transposition with the next character */
        if (i + 1 < len && t[i] != t[i + 1]) {
            memcpy(buf, t, len);
            buf[i] = t[i + 1];
            buf[i + 1] = t[i];
            expect_refused(buf, len);
        }
    }
    secbuf_free(text);
}

/*
 * The share text written from the header's definition alone: "cst1-<k>-<x>-"
 * hex(y) "-" hex(first 4 bytes of BLAKE2b-256("custos-share" || k || x || y)),
 * k and x one byte each.  NUL-terminated in buf.
 */
static void spec_text(unsigned k, unsigned x, const uint8_t *y, size_t ylen, char *buf, size_t cap)
{
    crypto_generichash_state st;
    uint8_t h[crypto_generichash_BYTES], kb = (uint8_t)k, xb = (uint8_t)x;
    int n;

    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)"custos-share", 12);
    crypto_generichash_update(&st, &kb, 1);
    crypto_generichash_update(&st, &xb, 1);
    crypto_generichash_update(&st, y, ylen);
    crypto_generichash_final(&st, h, sizeof(h));
    n = snprintf(buf, cap, "cst1-%u-%u-", k, x);
    assert_true(n > 0 && (size_t)n + 2 * ylen + 10 <= cap);
    sodium_bin2hex(buf + n, 2 * ylen + 1, y, ylen);
    buf[n + 2 * ylen] = '-';
    sodium_bin2hex(buf + n + 2 * ylen + 1, 9, h, 4);
}

/* encode matches the written definition, and decode accepts exactly that. */
static void test_check_spec(void **state)
{
    struct secbuf *secret = random_secret(SECRET_LEN);
    struct secbuf *sh[7] = {NULL}, *text = NULL, *back = NULL;
    char want[128];
    unsigned k = 0, i;

    (void)state;
    assert_int_equal(shamir_split(secret, 4, 7, sh), 0);
    for (i = 0; i < 7; i++) {
        spec_text(4, i + 1, (const uint8_t *)secbuf_cdata(sh[i]) + 1, SECRET_LEN, want,
                  sizeof(want));
        assert_int_equal(shamir_share_encode(sh[i], 4, &text), 0);
        assert_string_equal(secbuf_cdata(text), want);
        secbuf_free(text);
        text = NULL;
        assert_int_equal(shamir_share_decode(want, strlen(want), &k, &back), 0);
        assert_int_equal(k, 4);
        assert_true(secbuf_equal(back, sh[i]));
        secbuf_free(back);
        back = NULL;
    }
    free_shares(sh, 7);
    secbuf_free(secret);
}

/* Out-of-range k or x are refused by the format rules, even with a matching check. */
static void test_decode_range_valid_check(void **state)
{
    static const uint8_t y[4] = {0xde, 0xad, 0xbe, 0xef};
    struct secbuf *share = NULL;
    char buf[128];
    unsigned k = 0;

    (void)state;
    spec_text(2, 1, y, sizeof(y), buf, sizeof(buf));
    assert_int_equal(shamir_share_decode(buf, strlen(buf), &k, &share), 0); /* control */
    assert_int_equal(k, 2);
    secbuf_free(share);
    share = NULL;
    spec_text(255, 255, y, sizeof(y), buf, sizeof(buf));
    assert_int_equal(shamir_share_decode(buf, strlen(buf), &k, &share), 0);
    assert_int_equal(k, 255);
    secbuf_free(share);
    share = NULL;

    spec_text(1, 1, y, sizeof(y), buf, sizeof(buf)); /* k = 1 would be the secret in clear */
    expect_refused(buf, strlen(buf));
    spec_text(0, 1, y, sizeof(y), buf, sizeof(buf));
    expect_refused(buf, strlen(buf));
    spec_text(2, 0, y, sizeof(y), buf, sizeof(buf)); /* x = 0 is the secret itself */
    expect_refused(buf, strlen(buf));
}

static void test_decode_format(void **state)
{
    struct secbuf *text = valid_text(3, 5, 1); /* "cst1-3-2-<64 hex>-<8 hex>" */
    struct secbuf *big = valid_text(2, 200, 149);
    const char *t = secbuf_cdata(text);
    size_t len = secbuf_len(text), i;
    struct secbuf *share = NULL;
    char buf[256];
    unsigned k;

    (void)state;
    assert_int_equal(strncmp(t, "cst1-3-2-", 9), 0);

    /* Wrong prefix, or none. */
    memcpy(buf, t, len);
    memcpy(buf, "CST1", 4);
    expect_refused(buf, len);
    memcpy(buf, "cst2", 4);
    expect_refused(buf, len);
    expect_refused(t + 5, len - 5);
    buf[0] = ' ';
    memcpy(buf + 1, t, len);
    expect_refused(buf, len + 1);

    /* Extra characters at the end, or truncated. */
    memcpy(buf, t, len);
    buf[len] = '\n';
    expect_refused(buf, len + 1);
    buf[len] = '\0';
    expect_refused(buf, len + 1);
    for (i = 0; i < len; i++)
        expect_refused(t, i);

    /* Leading zeros in k or x are not canonical, although the check matches. */
    snprintf(buf, sizeof(buf), "cst1-03-%s", t + 7);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3-02-%s", t + 9);
    expect_refused(buf, strlen(buf));

    /* Upper-case hex is the same bytes (the check matches) but not the format. */
    memcpy(buf, t, len);
    for (i = 9; i < len; i++)
        if (buf[i] >= 'a' && buf[i] <= 'f')
            buf[i] = (char)(buf[i] - 'a' + 'A');
    if (memcmp(buf, t, len) != 0)
        expect_refused(buf, len);

    /* Out-of-range numbers. */
    snprintf(buf, sizeof(buf), "cst1-1-2-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-256-2-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3-0-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3-256-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3-1000-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1--2-%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3--%s", t + 9);
    expect_refused(buf, strlen(buf));

    /* Odd or empty y, short or missing check, missing separators. */
    snprintf(buf, sizeof(buf), "cst1-3-2-0%s", t + 9);
    expect_refused(buf, strlen(buf));
    snprintf(buf, sizeof(buf), "cst1-3-2--%s", t + len - 8);
    expect_refused(buf, strlen(buf));
    expect_refused(t, len - 9); /* no check at all */
    snprintf(buf, sizeof(buf), "%.*s%s", (int)(len - 9), t, t + len - 8);
    expect_refused(buf, strlen(buf));
    expect_refused("", 0);
    expect_refused("cst1-", 5);
    expect_refused("cst1-3-2-00-00000000", 20);

    /* A three-digit x round-trips. */
    assert_int_equal(strncmp(secbuf_cdata(big), "cst1-2-150-", 11), 0);
    assert_int_equal(shamir_share_decode(secbuf_cdata(big), secbuf_len(big), &k, &share), 0);
    assert_int_equal(k, 2);
    assert_int_equal(((const uint8_t *)secbuf_cdata(share))[0], 150);
    secbuf_free(share);
    share = NULL;

    /* Arguments. */
    assert_int_equal(shamir_share_decode(NULL, 10, &k, &share), -ERR_INVAL);
    assert_null(share);

    secbuf_free(big);
    secbuf_free(text);
}

static int setup(void **state)
{
    (void)state;
    return secbuf_init() == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_mul_fips197),
        cmocka_unit_test(test_combine_known_answer),
        cmocka_unit_test(test_combine_known_answer_k5),
        cmocka_unit_test(test_split_2_2),
        cmocka_unit_test(test_split_2_3),
        cmocka_unit_test(test_split_3_5),
        cmocka_unit_test(test_split_5_5),
        cmocka_unit_test(test_split_more),
        cmocka_unit_test(test_split_one_byte),
        cmocka_unit_test(test_split_255),
        cmocka_unit_test(test_split_invalid),
        cmocka_unit_test(test_split_random),
        cmocka_unit_test(test_combine_invalid),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_encode_decode_combine),
        cmocka_unit_test(test_encode_invalid),
        cmocka_unit_test(test_decode_typo),
        cmocka_unit_test(test_decode_format),
        cmocka_unit_test(test_check_spec),
        cmocka_unit_test(test_decode_range_valid_check),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
