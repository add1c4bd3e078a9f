/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for broker/lineedit.c: typed-line reconstruction, echo tracking, raw script lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/lineedit.h"

/* Append " T[text]ue" for a line at a stop (tag T) to out; non-printable bytes as \xNN. */
static size_t describe(char *out, size_t o, size_t cap, char tag, const struct lineedit_line *l)
{
    assert_true(l->len <= LINEEDIT_MAX);
    assert_int_equal(l->text[l->len], '\0');
    o += (size_t)snprintf(out + o, cap - o, "%s%c[", o ? " " : "", tag);
    for (size_t j = 0; j < l->len && o + 8 < cap; j++) {
        unsigned char c = (unsigned char)l->text[j];

        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    o += (size_t)snprintf(out + o, cap - o, "]%s%s", l->unknown ? "u" : "", l->echoed ? "e" : "");
    assert_true(o < cap - 16);
    return o;
}

/*
 * A trace of every stop while feeding in[0..n) in chunks of `chunk` bytes
 * (0: all at once): "E[text]" for an Enter, "K[text]" for another control
 * key, then "u" when the line is unknown and "e" when it was echoed;
 * stops separated by a blank.
 */
static const char *trace_chunked(struct lineedit *le, const char *in, size_t n, size_t chunk)
{
    static char out[8192];
    size_t o = 0, i = 0;

    out[0] = '\0';
    while (i < n) {
        size_t len = chunk && n - i > chunk ? chunk : n - i;
        size_t used = 0;

        while (used < len) {
            enum lineedit_stop stop;
            struct lineedit_line l;
            size_t k = lineedit_feed(le, in + i + used, len - used, &stop, &l);

            assert_true(k > 0 && k <= len - used);
            used += k;
            if (stop == LINEEDIT_MORE)
                assert_int_equal(used, len);
            else
                o = describe(out, o, sizeof(out), stop == LINEEDIT_ENTER ? 'E' : 'K', &l);
        }
        i += len;
    }
    return out;
}

static const char *trace(struct lineedit *le, const char *in)
{
    return trace_chunked(le, in, strlen(in), 0);
}

/* trace() for input holding NUL bytes. */
static const char *trace_n(struct lineedit *le, const char *in, size_t n)
{
    return trace_chunked(le, in, n, 0);
}

/* The line being typed, as the editor holds it. */
static void assert_pending(const struct lineedit *le, const char *text, bool unknown)
{
    assert_int_equal(lineedit_pending(le), strlen(text));
    assert_memory_equal(le->line, text, strlen(text));
    assert_int_equal(le->unknown, unknown);
}

/* Keys fed in turn to one editor, and the trace each must give. */
struct keys {
    const char *in;
    const char *want;
};

static void feed_all(const struct keys *k, size_t n)
{
    struct lineedit le = {0};

    for (size_t i = 0; i < n; i++) {
        const char *got = trace(&le, k[i].in);

        if (strcmp(got, k[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, k[i].want);
    }
}

#define FEED_ALL(k) feed_all(k, sizeof(k) / sizeof((k)[0]))

static void test_plain_typing(void **state)
{
    struct lineedit le = {0};

    (void)state;
    assert_string_equal(trace(&le, "ls -l"), "");
    assert_pending(&le, "ls -l", false);
    assert_string_equal(trace(&le, " /tmp\r"), "E[ls -l /tmp]");
    assert_pending(&le, "", false);
    /* LF ends a line as CR does; CR LF is two Enters, the second on an empty line. */
    assert_string_equal(trace(&le, "id\n"), "E[id]");
    assert_string_equal(trace(&le, "id\r\n"), "E[id] E[]");
    assert_string_equal(trace(&le, "\r"), "E[]");
    /* UTF-8 is typed like anything else. */
    assert_string_equal(trace(&le, "echo h\xc3\xa9\r"), "E[echo h\\xc3\\xa9]");
}

static void test_enter_stops_the_feed(void **state)
{
    struct lineedit le = {0};
    enum lineedit_stop stop;
    struct lineedit_line l;

    (void)state;
    /* The bytes after the Enter are not taken: the owner decides first. */
    assert_int_equal(lineedit_feed(&le, "rm x\rls\r", 8, &stop, &l), 5);
    assert_int_equal(stop, LINEEDIT_ENTER);
    assert_int_equal(l.len, 4);
    assert_string_equal(l.text, "rm x");
    assert_false(l.unknown);
    assert_pending(&le, "", false);
    assert_int_equal(lineedit_feed(&le, "ls", 2, &stop, &l), 2);
    assert_int_equal(stop, LINEEDIT_MORE);
    assert_pending(&le, "ls", false);
}

static void test_erase_keys(void **state)
{
    static const struct keys k[] = {
        {"lx\x7fs\r", "E[ls]"},
        {"lx\bs\r", "E[ls]"},
        {"\x7f\b\x7fls\r", "E[ls]"}, /* erasing an empty line does nothing */
        {"a\xc3\xa9\x7f\r", "E[a]"}, /* a UTF-8 character is erased whole */
        {"a\xe2\x82\xac\x7f"
         "b\r",
         "E[ab]"},
        {"rm -rf /\x15ls\r", "E[ls]"}, /* ^U erases the line */
        {"echo foo bar\x17"
         "baz\r",
         "E[echo foo baz]"},              /* ^W: the last word ... */
        {"echo foo  \x17\r", "E[echo ]"}, /* ... and the blanks after it */
        {"word\x17\x17\r", "E[]"},
    };

    (void)state;
    FEED_ALL(k);
}

static void test_ctrl_c_resets(void **state)
{
    struct lineedit le = {0};

    (void)state;
    /* An unknown line discarded with ^C leaves a known, empty one. */
    assert_string_equal(trace(&le, "\x1b[Arm -rf /\x03"), "");
    assert_pending(&le, "", false);
    assert_string_equal(trace(&le, "ls\r"), "E[ls]");
    lineedit_echo(&le, "ls", 2);
    assert_string_equal(trace(&le, "ls\x03ls\r"), "E[ls]"); /* the echo went with the line */
}

static void test_escape_sequences_make_the_line_unknown(void **state)
{
    static const struct keys k[] = {
        /* Cursor keys (CSI and SS3): the broker's copy is kept, but marked unknown. */
        {"ls\x1b[D\x1b[Dx\r", "E[lsx]u"},
        {"ls\x1bOD\r", "E[ls]u"},
        {"a\x1b[1;5Cb\r", "E[ab]u"}, /* parameters are swallowed up to the final byte */
        {"ls\x1b"
         "b\r",
         "E[ls]u"}, /* Alt-b (ESC b): the letter is not typed */
        /* ESC then a control key: the key counts on its own, the ESC alone marks nothing. */
        {"ls\x1b\r", "E[ls]"},
        /* The mark ends with the line: the next one is known again. */
        {"\x1b[Cid\r", "E[id]u"},
        {"id\r", "E[id]"},
        /* ^U after cursor keys: what is left of the line is not known. */
        {"\x1b[Dx\x15ls\r", "E[ls]u"},
        /* A sequence split across reads is followed all the same. */
        {"a\x1b", ""},
        {"[", ""},
        {"1;5", ""},
        {"Cb\r", "E[ab]u"},
    };

    (void)state;
    FEED_ALL(k);
}

static void test_history_and_completion_make_the_line_unknown(void **state)
{
    static const struct keys k[] = {
        {"\x1b[A\r", "E[]u"}, /* up arrow recalls a line the broker never saw */
        /* Tab completes: a decision point first (the line so far), then unknown. */
        {"ls /et\tx\r", "K[ls /et] E[ls /etx]u"},
        /* ^R (search), ^P (previous), ^A (cursor): the same. */
        {"\x12rm\r", "K[] E[rm]u"},
        {"\x10\r", "K[] E[]u"},
        {"ls\x01x\r", "K[ls] E[lsx]u"},
    };

    (void)state;
    FEED_ALL(k);
}

static void test_control_keys_are_decision_points(void **state)
{
    struct lineedit le = {0};
    enum lineedit_stop stop;
    struct lineedit_line l;

    (void)state;
    /* ^O (operate-and-get-next) may run the line: the feed stops on it. */
    assert_int_equal(lineedit_feed(&le, "rm x\x0fls", 7, &stop, &l), 5);
    assert_int_equal(stop, LINEEDIT_KEY);
    assert_string_equal(l.text, "rm x");
    assert_false(l.unknown); /* as it was before the key */
    assert_pending(&le, "rm x", true);
    /* An owner that refuses the line resets it. */
    lineedit_reset(&le);
    assert_pending(&le, "", false);
    /* NUL is a control key like the others. */
    assert_string_equal(trace_n(&le, "a\0b\r", 4), "K[a] E[ab]u");
    /* Keys the editor follows itself are no decision points. */
    assert_string_equal(trace(&le, "a\b\x15\x17\x03"), "");
    /* DEL is not a control key here: it erases. */
    assert_string_equal(trace(&le, "ab\x7f\r"), "E[a]");
}

static void test_echo_tracking(void **state)
{
    struct lineedit le = {0};

    (void)state;
    /* A shell echoes each key: the line counts as echoed. */
    for (const char *p = "ls -l"; *p; p++) {
        assert_string_equal(trace_n(&le, p, 1), "");
        lineedit_echo(&le, p, 1);
    }
    assert_string_equal(trace(&le, "\r"), "E[ls -l]e");
    /* A password prompt echoes nothing. */
    lineedit_echo(&le, "[sudo] password for root: ", 26);
    assert_string_equal(trace(&le, "secret\r"), "E[secret]"); /* its last 't' is in "root" */
    /* Only the line's last four characters count, and they must be in the kept tail. */
    lineedit_echo(&le, "cat ", 4);
    assert_string_equal(trace(&le, "cat /etc/shadow\r"), "E[cat /etc/shadow]");
    assert_string_equal(trace(&le, "abcd"), "");
    lineedit_echo(&le, "abcd", 4);
    for (int i = 0; i < 10; i++)
        lineedit_echo(&le, "0123456789", 10);
    assert_string_equal(trace(&le, "\r"), "E[abcd]");
    /* A long output keeps only its tail. */
    {
        char big[300];

        memset(big, '.', sizeof(big));
        memcpy(big + sizeof(big) - 3, "xyz", 3);
        lineedit_echo(&le, big, sizeof(big));
        assert_int_equal(le.echo_len, LINEEDIT_ECHO);
        assert_string_equal(trace(&le, "xyz\r"), "E[xyz]e");
    }
    /* Exactly the last LINEEDIT_ECHO bytes are kept. */
    {
        char dots[LINEEDIT_ECHO - 4];

        memset(dots, '.', sizeof(dots));
        lineedit_echo(&le, "wxyz", 4);
        lineedit_echo(&le, dots, sizeof(dots));
        lineedit_echo(&le, ".", 1); /* the 'w' goes */
        assert_int_equal(le.echo_len, LINEEDIT_ECHO);
        assert_string_equal(trace(&le, "xyz.\r"), "E[xyz.]e");
        lineedit_echo(&le, "wxyz", 4);
        lineedit_echo(&le, dots, sizeof(dots));
        lineedit_echo(&le, "..", 2); /* the 'x' goes too */
        assert_string_equal(trace(&le, "xyz.\r"), "E[xyz.]");
    }
    /* The echo is forgotten at each Enter. */
    lineedit_echo(&le, "id", 2);
    assert_string_equal(trace(&le, "id\r"), "E[id]e");
    assert_string_equal(trace(&le, "id\r"), "E[id]");
    /* ^U forgets it too; an empty line is never "echoed". */
    lineedit_echo(&le, "ls", 2);
    assert_string_equal(trace(&le, "ls\x15ls\r"), "E[ls]");
    lineedit_echo(&le, "$ ", 2);
    assert_string_equal(trace(&le, "\r"), "E[]");
    /* A one-character line needs its one character back. */
    lineedit_echo(&le, "q", 1);
    assert_string_equal(trace(&le, "q\r"), "E[q]e");
    /* The echo at a decision key is reported too. */
    lineedit_echo(&le, "rm", 2);
    assert_string_equal(trace(&le, "rm\t"), "K[rm]e");
}

static void test_not_utf8_is_unknown(void **state)
{
    static const struct keys k[] = {
        {"\xff\r", "E[\\xff]u"},
        {"\xc0\xaf\r", "E[\\xc0\\xaf]u"},          /* overlong */
        {"\xed\xa0\x80\r", "E[\\xed\\xa0\\x80]u"}, /* surrogate */
        {"\xe2\x82\r", "E[\\xe2\\x82]u"},          /* cut short */
        {"\xf0\x9f\x98\x80\r", "E[\\xf0\\x9f\\x98\\x80]"},
    };

    (void)state;
    FEED_ALL(k);
    assert_true(lineedit_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
    assert_false(lineedit_utf8_valid("\xf4\x90\x80\x80", 4)); /* past it */
    assert_false(lineedit_utf8_valid("\xe0\x9f\xbf", 3));     /* overlong 3-byte */
    assert_false(lineedit_utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong 4-byte */
    assert_false(lineedit_utf8_valid("\x80", 1));
    assert_true(lineedit_utf8_valid("a\0b", 3)); /* NUL is a character (as for jansson) */
    assert_true(lineedit_utf8_valid("", 0));
}

static void test_buffer_full(void **state)
{
    struct lineedit le = {0};
    char in[LINEEDIT_MAX + 10];
    enum lineedit_stop stop;
    struct lineedit_line l;

    (void)state;
    memset(in, 'a', sizeof(in));
    assert_int_equal(lineedit_feed(&le, in, sizeof(in), &stop, &l), sizeof(in));
    assert_int_equal(stop, LINEEDIT_MORE);
    assert_int_equal(lineedit_pending(&le), LINEEDIT_MAX);
    assert_true(le.unknown);
    assert_int_equal(lineedit_feed(&le, "\r", 1, &stop, &l), 1);
    assert_int_equal(stop, LINEEDIT_ENTER);
    assert_int_equal(l.len, LINEEDIT_MAX);
    assert_int_equal(l.text[LINEEDIT_MAX], '\0');
    assert_true(l.unknown);
    /* Exactly LINEEDIT_MAX bytes still fit and are known; the next line is known again. */
    assert_int_equal(lineedit_feed(&le, in, LINEEDIT_MAX, &stop, &l), LINEEDIT_MAX);
    assert_int_equal(lineedit_feed(&le, "\r", 1, &stop, &l), 1);
    assert_int_equal(l.len, LINEEDIT_MAX);
    assert_false(l.unknown);
    /* Erasing a character of a full line does not make it known. */
    assert_int_equal(lineedit_feed(&le, in, LINEEDIT_MAX + 1, &stop, &l), LINEEDIT_MAX + 1);
    assert_int_equal(lineedit_feed(&le, "\x7f\r", 2, &stop, &l), 2);
    assert_int_equal(l.len, LINEEDIT_MAX - 1);
    assert_true(l.unknown);
    /* Raw mode: the same bound, the same mark. */
    {
        struct lineedit raw = {0};
        bool done;

        assert_int_equal(lineedit_feed_raw(&raw, in, sizeof(in), &done, &l), sizeof(in));
        assert_false(done);
        assert_int_equal(lineedit_pending(&raw), LINEEDIT_MAX);
        assert_int_equal(lineedit_feed_raw(&raw, "\n", 1, &done, &l), 1);
        assert_true(done);
        assert_int_equal(l.len, LINEEDIT_MAX);
        assert_true(l.unknown);
    }
}

/* Raw mode: every line ended by an unescaped newline, as "R[text]" with its marks. */
static const char *trace_raw(struct lineedit *le, const char *in, size_t n)
{
    static char out[4096];
    size_t o = 0, i = 0;

    out[0] = '\0';
    while (i < n) {
        struct lineedit_line l;
        bool done;
        size_t k = lineedit_feed_raw(le, in + i, n - i, &done, &l);

        assert_true(k > 0 && k <= n - i);
        i += k;
        if (!done) {
            assert_int_equal(i, n);
            break;
        }
        assert_int_equal(in[i - 1], '\n');
        o = describe(out, o, sizeof(out), 'R', &l);
    }
    return out;
}

static void test_raw_lines(void **state)
{
    struct lineedit le = {0};

    (void)state;
    assert_string_equal(trace_raw(&le, "ls\nwhoami\n", 10), "R[ls]e R[whoami]e");
    /* Nothing is edited in a script: erase keys and CR are bytes of the line. */
    assert_string_equal(trace_raw(&le, "lx\x7fs\r\n", 6), "R[lx\\x7fs\\x0d]e");
    /* A line is kept until its newline, across reads. */
    assert_string_equal(trace_raw(&le, "ech", 3), "");
    assert_pending(&le, "ech", false);
    assert_string_equal(trace_raw(&le, "o hi\n", 5), "R[echo hi]e");
    assert_pending(&le, "", false);
    /* The echo plays no part: raw lines are sent only when checked. */
    assert_string_equal(trace_raw(&le, "\n", 1), "R[]e");
}

static void test_raw_continuation(void **state)
{
    struct lineedit le = {0};
    char joined[64];

    (void)state;
    /* An odd number of backslashes continues the line; an even number does not. */
    assert_string_equal(trace_raw(&le, "echo a \\\nb\n", 11), "R[echo a \\\\x0ab]e");
    assert_string_equal(trace_raw(&le, "echo \\\\\nls\n", 11), "R[echo \\\\]e R[ls]e");
    assert_string_equal(trace_raw(&le, "x\\\\\\\ny\n", 7), "R[x\\\\\\\\x0ay]e");
    /* The continuation may come in the next read. */
    assert_string_equal(trace_raw(&le, "rm \\", 4), "");
    assert_string_equal(trace_raw(&le, "\n-rf /\n", 7), "R[rm \\\\x0a-rf /]e");
    /* What the shell runs: the backslash-newlines joined. */
    lineedit_join("rm \\\n-rf /", joined, sizeof(joined));
    assert_string_equal(joined, "rm -rf /");
    lineedit_join("a\\\n\\\nb\\", joined, sizeof(joined));
    assert_string_equal(joined, "ab\\");
    lineedit_join("abcdef", joined, 4);
    assert_string_equal(joined, "abc");
    lineedit_join("abc", joined, 1);
    assert_string_equal(joined, "");
}

static void test_raw_control_bytes_are_unknown(void **state)
{
    struct lineedit le = {0};

    (void)state;
    /* NUL above all: the shell drops it, so a check of the text would be wrong. */
    assert_string_equal(trace_raw(&le, "rm\0 -rf /\n", 10), "R[rm\\x00 -rf /]ue");
    assert_string_equal(trace_raw(&le, "ls\x1b[A\n", 6), "R[ls\\x1b[A]ue");
    assert_string_equal(trace_raw(&le, "ls\x03\n", 4), "R[ls\\x03]ue");
    /* TAB and CR are ordinary in a script; the next line is known again. */
    assert_string_equal(trace_raw(&le, "a\tb\r\nc\n", 7), "R[a\\x09b\\x0d]e R[c]e");
    assert_string_equal(trace_raw(&le, "\xff\n", 2), "R[\\xff]ue");
}

/* The stops do not depend on how the keys were split into reads. */
static void test_chunking_does_not_matter(void **state)
{
    static const char in[] = "ls -l\x1b[D\x1b[Cx\x7f\r"
                             "echo \xc3\xa9t\xc3\xa9\x17"
                             "ok\x0f\x15id\x1bOA\x03whoami\n"
                             "a\tb\x1b\r";
    struct lineedit le = {0};
    char whole[1024];

    (void)state;
    snprintf(whole, sizeof(whole), "%s", trace_chunked(&le, in, sizeof(in) - 1, 0));
    assert_string_equal(whole, "E[ls -l]u K[echo ok] E[whoami] K[a] E[ab]u");
    for (size_t chunk = 1; chunk < sizeof(in); chunk++) {
        struct lineedit le2 = {0};

        assert_string_equal(trace_chunked(&le2, in, sizeof(in) - 1, chunk), whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_typing),
        cmocka_unit_test(test_enter_stops_the_feed),
        cmocka_unit_test(test_erase_keys),
        cmocka_unit_test(test_ctrl_c_resets),
        cmocka_unit_test(test_escape_sequences_make_the_line_unknown),
        cmocka_unit_test(test_history_and_completion_make_the_line_unknown),
        cmocka_unit_test(test_control_keys_are_decision_points),
        cmocka_unit_test(test_echo_tracking),
        cmocka_unit_test(test_not_utf8_is_unknown),
        cmocka_unit_test(test_buffer_full),
        cmocka_unit_test(test_raw_lines),
        cmocka_unit_test(test_raw_continuation),
        cmocka_unit_test(test_raw_control_bytes_are_unknown),
        cmocka_unit_test(test_chunking_does_not_matter),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
