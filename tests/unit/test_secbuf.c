/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for secbuf.c: bounds, wiping on shrink, constant-time equality, hardening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "custos/secbuf.h"

static int setup(void **state)
{
    return secbuf_init() == 0 ? 0 : -1;
}

static void test_secbuf_new_zeroed(void **state)
{
    struct secbuf *b = NULL;
    const unsigned char *p;

    assert_int_equal(secbuf_new(0, &b), -ERR_INVAL);
    assert_null(b);
    assert_int_equal(secbuf_new((1u << 30) + 1, &b), -ERR_INVAL);
    assert_null(b);
    assert_int_equal(secbuf_new(32, &b), 0);
    assert_non_null(b);
    assert_int_equal(secbuf_len(b), 0);
    assert_int_equal(secbuf_cap(b), 32);
    p = secbuf_cdata(b);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(p[i], 0);
    secbuf_free(b);
    secbuf_free(NULL);
}

static void test_secbuf_from_dup_equal(void **state)
{
    struct secbuf *a = NULL, *b = NULL, *c = NULL, *e = NULL;

    assert_int_equal(secbuf_from("s3cret", 6, &a), 0);
    assert_int_equal(secbuf_len(a), 6);
    assert_memory_equal(secbuf_cdata(a), "s3cret", 6);
    assert_int_equal(secbuf_dup(a, &b), 0);
    assert_true(secbuf_equal(a, b));
    assert_ptr_not_equal(secbuf_data(a), secbuf_data(b));
    assert_int_equal(secbuf_from("s3creT", 6, &c), 0);
    assert_false(secbuf_equal(a, c));
    /* Same prefix, other length. */
    assert_int_equal(secbuf_from("s3cre", 5, &e), 0);
    assert_false(secbuf_equal(a, e));
    secbuf_free(a);
    secbuf_free(b);
    secbuf_free(c);
    secbuf_free(e);

    /* An empty secret is a valid buffer of length 0. */
    assert_int_equal(secbuf_from(NULL, 0, &a), 0);
    assert_int_equal(secbuf_len(a), 0);
    assert_true(secbuf_cap(a) >= 1);
    secbuf_free(a);
}

static void test_secbuf_append_bounds(void **state)
{
    struct secbuf *b = NULL;

    assert_int_equal(secbuf_new(8, &b), 0);
    assert_int_equal(secbuf_append(b, "abcd", 4), 0);
    assert_int_equal(secbuf_append(b, "efgh", 4), 0); /* exactly full */
    assert_int_equal(secbuf_append(b, "i", 1), -ERR_TOO_LONG);
    assert_int_equal(secbuf_len(b), 8);
    assert_memory_equal(secbuf_cdata(b), "abcdefgh", 8);
    assert_int_equal(secbuf_append(b, "", 0), 0);
    secbuf_free(b);
}

static void test_secbuf_set_len_wipes(void **state)
{
    struct secbuf *b = NULL;
    const unsigned char *p;

    assert_int_equal(secbuf_from("password", 8, &b), 0);
    assert_int_equal(secbuf_set_len(b, 9), -ERR_INVAL);
    assert_int_equal(secbuf_len(b), 8);
    assert_int_equal(secbuf_set_len(b, 4), 0);
    assert_int_equal(secbuf_len(b), 4);
    p = secbuf_cdata(b);
    assert_memory_equal(p, "pass", 4);
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(p[i], 0);
    assert_int_equal(secbuf_set_len(b, 8), 0); /* growing back shows zeros, not the old tail */
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(p[i], 0);
    secbuf_free(b);
}

static void test_secbuf_harden(void **state)
{
    struct rlimit rl;

    assert_int_equal(secbuf_harden_process(), 0);
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
    assert_int_equal(rl.rlim_cur, 0);
    assert_int_equal(rl.rlim_max, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secbuf_new_zeroed),    cmocka_unit_test(test_secbuf_from_dup_equal),
        cmocka_unit_test(test_secbuf_append_bounds), cmocka_unit_test(test_secbuf_set_len_wipes),
        cmocka_unit_test(test_secbuf_harden),
    };

    return cmocka_run_group_tests_name("secbuf", tests, setup, NULL);
}
