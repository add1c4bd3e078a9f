/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for err.c: API codes, messages and the reverse mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/err.h"

static void test_err_name_known(void **state)
{
    assert_string_equal(err_name(0), "ok");
    assert_string_equal(err_name(-ERR_NOT_FOUND), "not_found");
    assert_string_equal(err_name(ERR_NOT_FOUND), "not_found");
    assert_string_equal(err_name(-ERR_CLOSED), "closed");
    assert_string_equal(err_str(-ERR_DENIED), "permission denied");
    assert_string_equal(err_str(ERR_DENIED), "permission denied");
}

static void test_err_out_of_range(void **state)
{
    assert_string_equal(err_name(ERR__COUNT), "internal");
    assert_string_equal(err_name(-ERR__COUNT), "internal");
    assert_string_equal(err_name(-1000000), "internal");
    assert_string_equal(err_str(1000000), "internal error");
    assert_string_equal(err_name(-ERR__COUNT - 1), "internal");
}

static void test_err_round_trip(void **state)
{
    for (int i = 0; i < ERR__COUNT; i++) {
        assert_int_equal(err_from_name(err_name(-i)), -i);
        assert_true(err_str(-i)[0] != '\0');
    }
}

static void test_err_names_unique_and_lower(void **state)
{
    for (int i = 0; i < ERR__COUNT; i++) {
        const char *n = err_name(-i);

        for (const char *p = n; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        for (int j = i + 1; j < ERR__COUNT; j++)
            assert_string_not_equal(n, err_name(-j));
    }
}

static void test_err_from_name_unknown(void **state)
{
    assert_int_equal(err_from_name("no_such_code"), -ERR_INTERNAL);
    assert_int_equal(err_from_name(""), -ERR_INTERNAL);
    assert_int_equal(err_from_name(NULL), -ERR_INTERNAL);
    /* Codes are case-sensitive protocol strings. */
    assert_int_equal(err_from_name("NOT_FOUND"), -ERR_INTERNAL);
    assert_int_equal(err_from_name("timeout"), -ERR_TIMEOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_name_known),
        cmocka_unit_test(test_err_out_of_range),
        cmocka_unit_test(test_err_round_trip),
        cmocka_unit_test(test_err_names_unique_and_lower),
        cmocka_unit_test(test_err_from_name_unknown),
    };

    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
