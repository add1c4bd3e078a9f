/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broker/echo.c: typed text is kept when echoed, masked when not (a password). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker/echo.h"

/* What came out, as text: kept bytes as they are, masked ones as '*' each, "|" between events. */
struct out {
    char s[8192];
    size_t n;
    uint64_t last_t;
    unsigned events;
};

static void add(struct out *o, const char *p, size_t n)
{
    assert_true(o->n + n + 2 < sizeof(o->s));
    if (o->events++)
        o->s[o->n++] = '|';
    memcpy(o->s + o->n, p, n);
    o->n += n;
    o->s[o->n] = '\0';
}

static void kept(void *ctx, uint64_t t, const unsigned char *p, size_t n)
{
    struct out *o = ctx;

    assert_true(t >= o->last_t); /* in order */
    o->last_t = t;
    add(o, (const char *)p, n);
}

static void masked(void *ctx, uint64_t t, size_t n)
{
    struct out *o = ctx;
    char stars[ECHO_HOLD_MAX + 1];

    assert_true(t >= o->last_t);
    o->last_t = t;
    assert_true(n < sizeof(stars));
    memset(stars, '*', n);
    add(o, stars, n);
}

static struct echo e;
static struct out out;
static struct echo_ops ops = {&out, kept, masked};
static uint64_t now;

static void setup_state(void)
{
    echo_init(&e);
    memset(&out, 0, sizeof(out));
    now = 0;
}

static void type(const char *keys)
{
    /* one read per key, 100 ms apart, as a person types */
    for (const char *k = keys; *k; k++) {
        now += 100000;
        echo_input(&e, now, k, 1, &ops);
    }
}

static void shows(const char *s)
{
    echo_output(&e, s, strlen(s), &ops);
}

static void test_echoed_typing_is_kept(void **state)
{
    setup_state();
    for (const char *k = "ls -la\r"; *k; k++) {
        now += 100000;
        echo_input(&e, now, k, 1, &ops);
        shows(*k == '\r' ? "\r\n" : (char[]){*k, 0});
    }
    assert_string_equal(out.s, "l|s| |-|l|a|\r");
}

static void test_password_prompt_is_masked(void **state)
{
    setup_state();
    shows("[sudo] password for alice: ");
    type("hunter2\r");
    shows("\r\n"); /* sudo prints the newline after Enter, never the password */
    assert_string_equal(out.s, "*|*|*|*|*|*|*|\r");
    assert_null(strstr(out.s, "hunter2"));
}

static void test_no_output_at_all_is_masked_after_the_wait(void **state)
{
    setup_state();
    type("secret");
    echo_expire(&e, now, &ops);
    assert_int_equal(out.n, 0); /* not yet: an echo may still come */
    /* keys older than the wait are decided one by one (each keeps its own time) */
    echo_expire(&e, now + ECHO_WAIT_US - 1, &ops);
    assert_string_equal(out.s, "*|*|*|*|*");
    echo_expire(&e, now + ECHO_WAIT_US, &ops);
    assert_string_equal(out.s, "*|*|*|*|*|*");
}

static void test_typing_ahead_of_the_echo_and_colours(void **state)
{
    setup_state();
    type("echo hi\r"); /* all typed before any echo */
    shows("\x1b[01;32me\x1b[0mcho hi\r\nhi\r\n\x1b]0;title\x07prompt$ ");
    assert_string_equal(out.s, "e|c|h|o| |h|i|\r");
}

static void test_backspace_and_arrows_are_editing(void **state)
{
    setup_state();
    type("lz");
    shows("lz");
    type("\x7f");
    shows("\b \b");
    type("s");
    shows("s");
    now += 100000;
    echo_input(&e, now, "\x1b[A", 3, &ops); /* history: the shell redraws the line */
    shows("\r\x1b[Kprompt$ ls -la");
    assert_string_equal(out.s, "l|z|\x7f|s|\x1b[A");
}

static void test_paste_into_a_password_prompt(void **state)
{
    setup_state();
    shows("Password: ");
    now += 100000;
    echo_input(&e, now, "p4ss w0rd\r", 10, &ops); /* one read */
    shows("\r\n");
    assert_string_equal(out.s, "*********|\r");
}

static void test_flush_masks_what_is_left(void **state)
{
    setup_state();
    type("abc");
    shows("a");
    echo_flush(&e, &ops);
    assert_string_equal(out.s, "a|*|*");
}

static void test_bounded_hold_decides_the_oldest(void **state)
{
    char big[ECHO_HOLD_MAX];

    setup_state();
    memset(big, 'x', sizeof(big));
    echo_input(&e, 1, big, sizeof(big), &ops);
    assert_int_equal(out.n, 0);
    echo_input(&e, 2, "y", 1, &ops); /* no room: the oldest key is decided, masked */
    assert_int_equal(out.events, 1);
    assert_int_equal(out.n, ECHO_HOLD_MAX);
    assert_int_equal(e.hold_len, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echoed_typing_is_kept),
        cmocka_unit_test(test_password_prompt_is_masked),
        cmocka_unit_test(test_no_output_at_all_is_masked_after_the_wait),
        cmocka_unit_test(test_typing_ahead_of_the_echo_and_colours),
        cmocka_unit_test(test_backspace_and_arrows_are_editing),
        cmocka_unit_test(test_paste_into_a_password_prompt),
        cmocka_unit_test(test_flush_masks_what_is_left),
        cmocka_unit_test(test_bounded_hold_decides_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
