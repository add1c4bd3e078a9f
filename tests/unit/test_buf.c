/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for buf.c: the bound is exact and a refused append changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/buf.h"

static void test_buf_append_terminates(void **state)
{
    struct buf b;

    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_append(&b, "def", 3), 0);
    assert_int_equal(b.len, 6);
    assert_string_equal(b.data, "abcdef");
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 6);
    buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_buf_exact_bound(void **state)
{
    struct buf b;
    char big[65];

    memset(big, 'x', sizeof(big));
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, big, 64), 0); /* exactly at the bound */
    assert_int_equal(b.len, 64);
    assert_int_equal(buf_append(&b, "y", 1), -ERR_TOO_LONG); /* one past */
    assert_int_equal(b.len, 64);
    assert_int_equal(b.data[64], '\0');
    assert_true(b.cap <= 65);
    buf_fini(&b);

    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, big, 65), -ERR_TOO_LONG);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
}

static void test_buf_refused_append_keeps_content(void **state)
{
    struct buf b;
    char big[300];

    memset(big, 'z', sizeof(big));
    buf_init(&b, 299);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    assert_int_equal(buf_append(&b, big, 296), -ERR_TOO_LONG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    /* SIZE_MAX must not wrap the bound check. */
    assert_int_equal(buf_append(&b, big, SIZE_MAX), -ERR_TOO_LONG);
    assert_int_equal(buf_append(&b, big, SIZE_MAX - 2), -ERR_TOO_LONG);
    assert_string_equal(b.data, "keep");
    buf_fini(&b);
}

static void test_buf_zero_bound(void **state)
{
    struct buf b;

    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "a", 1), -ERR_TOO_LONG);
    assert_int_equal(buf_append(&b, "a", 0), 0);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
}

static void test_buf_printf(void **state)
{
    struct buf b;

    buf_init(&b, 16);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "ab"), 0);
    assert_string_equal(b.data, "42-ab");
    assert_int_equal(buf_printf(&b, "%s", "0123456789ab"), -ERR_TOO_LONG);
    assert_string_equal(b.data, "42-ab");
    assert_int_equal(buf_printf(&b, "%s", "0123456789a"), 0); /* 16 exactly */
    assert_int_equal(b.len, 16);
    assert_string_equal(b.data, "42-ab0123456789a");
    buf_fini(&b);
}

static void test_buf_grow_many(void **state)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 1000000);
    assert_int_equal(memcmp(b.data + 999990, "0123456789", 10), 0);
    assert_int_equal(b.data[b.len], '\0');
    buf_fini(&b);
}

static void test_buf_consume_reset(void **state)
{
    struct buf b;

    buf_init(&b, 100);
    assert_int_equal(buf_append(&b, "hello world", 11), 0);
    buf_consume(&b, 6);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "world");
    buf_consume(&b, 0);
    assert_string_equal(b.data, "world");
    buf_consume(&b, 99);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_append(&b, "x", 1), 0);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_fini(&b);

    /* A zeroed or never-grown buf may be consumed, reset and finished. */
    memset(&b, 0, sizeof(b));
    buf_consume(&b, 3);
    buf_reset(&b);
    buf_fini(&b);
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_terminates),
        cmocka_unit_test(test_buf_exact_bound),
        cmocka_unit_test(test_buf_refused_append_keeps_content),
        cmocka_unit_test(test_buf_zero_bound),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_buf_grow_many),
        cmocka_unit_test(test_buf_consume_reset),
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
