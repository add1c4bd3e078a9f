/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gov/totp.c: RFC 6238 Appendix B vectors, verification window, base32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/gov.h"

/* RFC 6238 Appendix B, SHA1 seed. */
static const unsigned char key[] = "12345678901234567890";
#define KEYLEN 20

static void test_rfc6238_vectors(void **state)
{
    static const struct {
        uint64_t t;
        unsigned code;
    } v[] = {
        {59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
        {1234567890, 89005924}, {2000000000, 69279037}, {20000000000ull, 65353130},
    };
    unsigned code;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(gov_totp_code(key, KEYLEN, v[i].t, 8, &code), 0);
        assert_int_equal(code, v[i].code);
        /* Fewer digits are the low digits of the same number. */
        assert_int_equal(gov_totp_code(key, KEYLEN, v[i].t, 6, &code), 0);
        assert_int_equal(code, v[i].code % 1000000);
        assert_int_equal(gov_totp_code(key, KEYLEN, v[i].t, 7, &code), 0);
        assert_int_equal(code, v[i].code % 10000000);
    }
}

static void test_code_rejects(void **state)
{
    unsigned code = 42;
    unsigned char big[GOV_TOTP_KEY_MAX + 1] = {0};

    assert_int_equal(gov_totp_code(key, KEYLEN, 59, 5, &code), -ERR_INVAL);
    assert_int_equal(gov_totp_code(key, KEYLEN, 59, 9, &code), -ERR_INVAL);
    assert_int_equal(gov_totp_code(key, 0, 59, 6, &code), -ERR_INVAL);
    assert_int_equal(gov_totp_code(NULL, KEYLEN, 59, 6, &code), -ERR_INVAL);
    assert_int_equal(gov_totp_code(big, sizeof(big), 59, 6, &code), -ERR_INVAL);
    assert_int_equal(code, 42);
}

static void test_verify(void **state)
{
    uint64_t step = 0;

    /* 94287082 at t=59: the six-digit code is 287082 (step 1). */
    assert_true(gov_totp_verify(key, KEYLEN, "287082", 59, 0));
    assert_true(gov_totp_verify(key, KEYLEN, "287082", 30, 0));
    assert_false(gov_totp_verify(key, KEYLEN, "287082", 60, 0));
    assert_true(gov_totp_verify(key, KEYLEN, "287082", 60, 1));
    assert_true(gov_totp_verify(key, KEYLEN, "287082", 0, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "287082", 90, 1));
    assert_true(gov_totp_verify(key, KEYLEN, "287082", 90, 2));
    assert_int_equal(gov_totp_match(key, KEYLEN, "287082", 90, 2, &step), 0);
    assert_int_equal(step, 1);
    /* Leading zeros matter: 07081804 -> "081804". */
    assert_true(gov_totp_verify(key, KEYLEN, "081804", 1111111109, 0));
    assert_false(gov_totp_verify(key, KEYLEN, "81804", 1111111109, 0));
    /* Wrong codes, wrong length, non-digits. */
    assert_false(gov_totp_verify(key, KEYLEN, "287083", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "94287082", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "2870822", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "28708", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "28708a", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, " 28708", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, "", 59, 1));
    assert_false(gov_totp_verify(key, KEYLEN, NULL, 59, 1));
    assert_int_equal(gov_totp_match(key, KEYLEN, "28708a", 59, 1, &step), -ERR_AUTH);
    assert_int_equal(gov_totp_match(key, KEYLEN, "287083", 59, 1, &step), -ERR_AUTH);
    /* Bounded window. */
    assert_false(gov_totp_verify(key, KEYLEN, "287082", 59, GOV_TOTP_WINDOW_MAX + 1));
    assert_int_equal(gov_totp_match(key, KEYLEN, "287082", 59, GOV_TOTP_WINDOW_MAX + 1, &step),
                     -ERR_INVAL);
    assert_true(
        gov_totp_verify(key, KEYLEN, "287082", 59 + 30 * GOV_TOTP_WINDOW_MAX, GOV_TOTP_WINDOW_MAX));
    assert_false(gov_totp_verify(key, 0, "287082", 59, 1));
}

static void test_base32(void **state)
{
    /* RFC 4648 section 10, without the padding. */
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},
        {"f", "MY"},
        {"fo", "MZXQ"},
        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI"},
    };
    char out[64];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n =
            gov_base32_encode((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof(out));

        assert_int_equal(n, strlen(v[i].out));
        assert_string_equal(out, v[i].out);
    }
    assert_int_equal(gov_base32_encode(key, KEYLEN, out, 2 * KEYLEN), 32);
    assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* Exactly big enough, one short. */
    assert_int_equal(gov_base32_encode((const unsigned char *)"foo", 3, out, 6), 5);
    assert_int_equal(gov_base32_encode((const unsigned char *)"foo", 3, out, 5), 0);
    assert_string_equal(out, "");
    assert_int_equal(gov_base32_encode((const unsigned char *)"foo", 3, NULL, 6), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_code_rejects),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_base32),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
