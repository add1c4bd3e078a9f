/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/rec/merkle.c: RFC 6962/9162 roots, proofs, and refusals of bad proofs. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "custos/merkle.h"

#define MAXN 70

/* A log in memory: every complete subtree by (level, index). */
struct log {
    unsigned char node[8][MAXN][MERKLE_HASH];
    bool have[8][MAXN];
    unsigned char leaf[MAXN][MERKLE_HASH];
    uint64_t n;
};

static int get(void *ctx, unsigned level, uint64_t index, unsigned char out[MERKLE_HASH])
{
    struct log *l = ctx;

    if (level >= 8 || index >= MAXN || !l->have[level][index])
        return -ERR_NOT_FOUND;
    memcpy(out, l->node[level][index], MERKLE_HASH);
    return 0;
}

static int put(void *ctx, unsigned level, uint64_t index, const unsigned char h[MERKLE_HASH])
{
    struct log *l = ctx;

    assert_true(level < 8 && index < MAXN);
    assert_false(l->have[level][index]); /* written once, never again */
    memcpy(l->node[level][index], h, MERKLE_HASH);
    l->have[level][index] = true;
    return 0;
}

static void log_add(struct log *l, const void *data, size_t n)
{
    merkle_leaf_hash(data, n, l->leaf[l->n]);
    assert_int_equal(merkle_append(l->n, l->leaf[l->n], get, put, l), 0);
    l->n++;
}

/* MTH straight from the RFC's recursive definition, over leaf hashes. */
static void naive_root(const unsigned char (*leaves)[MERKLE_HASH], uint64_t n,
                       unsigned char out[MERKLE_HASH])
{
    uint64_t k = 1;
    unsigned char l[MERKLE_HASH], r[MERKLE_HASH];

    if (n == 1) {
        memcpy(out, leaves[0], MERKLE_HASH);
        return;
    }
    while (k << 1 < n)
        k <<= 1;
    naive_root(leaves, k, l);
    naive_root(leaves + k, n - k, r);
    merkle_node_hash(l, r, out);
}

static void hex(const unsigned char *h, char *out)
{
    sodium_bin2hex(out, 2 * MERKLE_HASH + 1, h, MERKLE_HASH);
}

/* The eight leaves and roots of the RFC 6962 reference tests (certificate-transparency). */
static const char *const leaf_hex[] = {"",
                                       "00",
                                       "10",
                                       "2021",
                                       "3031",
                                       "40414243",
                                       "5051525354555657",
                                       "606162636465666768696a6b6c6d6e6f"};
static const char *const root_hex[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static struct log lg;

static void test_merkle_reference_roots(void **state)
{
    unsigned char root[MERKLE_HASH], data[16];
    char h[2 * MERKLE_HASH + 1];
    size_t n;

    memset(&lg, 0, sizeof(lg));
    assert_int_equal(merkle_root(0, get, &lg, root), 0);
    hex(root, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    for (int i = 0; i < 8; i++) {
        assert_int_equal(
            sodium_hex2bin(data, sizeof(data), leaf_hex[i], strlen(leaf_hex[i]), NULL, &n, NULL),
            0);
        log_add(&lg, data, n);
        assert_int_equal(merkle_root(lg.n, get, &lg, root), 0);
        hex(root, h);
        assert_string_equal(h, root_hex[i]);
    }
}

static void test_merkle_matches_the_definition_and_proofs_verify(void **state)
{
    unsigned char root[MAXN + 1][MERKLE_HASH], path[MERKLE_PATH_MAX][MERKLE_HASH];
    size_t len;

    memset(&lg, 0, sizeof(lg));
    for (uint64_t i = 0; i < MAXN; i++) {
        unsigned char d[8];
        memcpy(d, &i, sizeof(d));
        log_add(&lg, d, sizeof(d));
        assert_int_equal(merkle_root(lg.n, get, &lg, root[lg.n]), 0);
        {
            unsigned char want[MERKLE_HASH];
            naive_root((const unsigned char(*)[MERKLE_HASH])lg.leaf, lg.n, want);
            assert_memory_equal(root[lg.n], want, MERKLE_HASH);
        }
    }
    for (uint64_t n = 1; n <= MAXN; n++) {
        for (uint64_t m = 0; m < n; m++) {
            assert_int_equal(merkle_inclusion_proof(m, n, get, &lg, path, &len), 0);
            assert_int_equal(merkle_verify_inclusion(m, n, lg.leaf[m], path, len, root[n]), 0);
            /* the wrong leaf, the wrong index, a changed step: refused */
            assert_int_equal(
                merkle_verify_inclusion(m, n, lg.leaf[(m + 1) % n], path, len, root[n]),
                n > 1 ? -ERR_TAMPERED : 0);
            if (len) {
                path[len / 2][0] ^= 1;
                assert_int_equal(merkle_verify_inclusion(m, n, lg.leaf[m], path, len, root[n]),
                                 -ERR_TAMPERED);
                assert_int_equal(merkle_verify_inclusion(m, n, lg.leaf[m], path, len - 1, root[n]),
                                 -ERR_TAMPERED);
            }
        }
        for (uint64_t m = 1; m <= n; m++) {
            assert_int_equal(merkle_consistency_proof(m, n, get, &lg, path, &len), 0);
            assert_int_equal(merkle_verify_consistency(m, n, root[m], root[n], path, len), 0);
            if (m < n) {
                /* another old root (a forked history), or a changed step: refused */
                assert_int_equal(
                    merkle_verify_consistency(m, n, root[m == 1 ? 2 : m - 1], root[n], path, len),
                    -ERR_TAMPERED);
                path[0][5] ^= 0x80;
                assert_int_equal(merkle_verify_consistency(m, n, root[m], root[n], path, len),
                                 -ERR_TAMPERED);
            }
        }
    }
    assert_int_equal(merkle_inclusion_proof(5, 5, get, &lg, path, &len), -ERR_INVAL);
    assert_int_equal(merkle_consistency_proof(0, 5, get, &lg, path, &len), -ERR_INVAL);
    assert_int_equal(merkle_consistency_proof(6, 5, get, &lg, path, &len), -ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle_reference_roots),
        cmocka_unit_test(test_merkle_matches_the_definition_and_proofs_verify),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
