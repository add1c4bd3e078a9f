/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for cli/rec_export.c: asciicast lines are valid UTF-8 JSON, the transcript is clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/rec_export.h"

static struct rec_event out_ev(uint64_t t, const char *s)
{
    struct rec_event e = {REC_OUT, t, (const unsigned char *)s, strlen(s)};
    return e;
}

/* Parse every line of an asciicast body and return the concatenated "o" data. */
static void cast_text(const struct buf *b, char *text, size_t n, int *lines)
{
    const char *p = b->data, *end = b->data + b->len;
    size_t k = 0;

    *lines = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        json_error_t err;
        json_t *a;
        assert_non_null(nl);
        a = json_loadb(p, (size_t)(nl - p), 0, &err);
        assert_non_null(a);
        assert_true(json_is_array(a));
        assert_int_equal(json_array_size(a), 3);
        assert_true(json_is_real(json_array_get(a, 0)));
        if (strcmp(json_string_value(json_array_get(a, 1)), "o") == 0) {
            size_t l = json_string_length(json_array_get(a, 2));
            assert_true(k + l < n);
            memcpy(text + k, json_string_value(json_array_get(a, 2)), l);
            k += l;
        }
        json_decref(a);
        (*lines)++;
        p = nl + 1;
    }
    text[k] = '\0';
}

static void test_cast_utf8_split_between_events(void **state)
{
    struct rec_cast st = {0};
    struct buf b;
    char text[256];
    int lines;
    /* "é" split over two events, "世" over three, then a stray byte */
    struct rec_event e[] = {out_ev(1, "caf\xc3"), out_ev(2, "\xa9 \xe4"), out_ev(3, "\xb8"),
                            out_ev(4, "\x96!\xff")};

    buf_init(&b, 1u << 16);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(rec_cast_event(&st, &e[i], &b), 0);
    cast_text(&b, text, sizeof(text), &lines);
    assert_string_equal(text, "caf\xc3\xa9 \xe4\xb8\x96!\xef\xbf\xbd");
    assert_true(lines >= 2);
    buf_fini(&b);
}

static void test_cast_times_and_codes(void **state)
{
    struct rec_cast st = {.input = false};
    struct buf b;
    unsigned char rs[] = {100, 30};
    struct rec_event in = {REC_IN, 1500000, (const unsigned char *)"x", 1};
    struct rec_event rz = {REC_RESIZE, 2000000, rs, 2};
    struct rec_event o = out_ev(2500001, "hi");

    buf_init(&b, 4096);
    assert_int_equal(rec_cast_event(&st, &in, &b), 0);
    assert_int_equal(b.len, 0); /* input only with --input */
    st.input = true;
    assert_int_equal(rec_cast_event(&st, &in, &b), 0);
    assert_int_equal(rec_cast_event(&st, &rz, &b), 0);
    assert_int_equal(rec_cast_event(&st, &o, &b), 0);
    assert_string_equal(b.data, "[1.500000, \"i\", \"x\"]\n[2.000000, \"r\", \"100x30\"]\n"
                                "[2.500001, \"o\", \"hi\"]\n");
    buf_fini(&b);
}

static void transcript(const char *const *outs, size_t n, const char *want)
{
    struct rec_text t;
    struct buf b;

    rec_text_init(&t);
    buf_init(&b, 1u << 16);
    for (size_t i = 0; i < n; i++) {
        struct rec_event e = out_ev(i, outs[i]);
        assert_int_equal(rec_text_event(&t, &e, &b), 0);
    }
    assert_int_equal(rec_text_finish(&t, &b), 0);
    assert_string_equal(b.data, want);
    buf_fini(&b);
    rec_text_fini(&t);
}

static void test_text_transcript_applies_the_line(void **state)
{
    /* colours, a backspace correction, CR overwrite, erase-line, a title, tabs */
    const char *outs[] = {"\x1b[01;32mroot@web01\x1b[0m:~# ls -lz",
                          "\b\x1b[Ka\r\n",
                          "total 0\r\n",
                          "progress 10%\rprogress 100%\r\n",
                          "\x1b]0;title\x07"
                          "a\tb\r\n",
                          "tail"};

    transcript(outs, sizeof(outs) / sizeof(outs[0]),
               "root@web01:~# ls -la\ntotal 0\nprogress 100%\na       b\ntail\n");
}

static void test_text_notes_exec_and_exit(void **state)
{
    struct rec_text t;
    struct buf b;
    unsigned char st = 3;
    struct rec_event ex = {REC_EXEC, 1200000, (const unsigned char *)"id\n-u", 5};
    struct rec_event o = out_ev(1300000, "0\n");
    struct rec_event end = {REC_EXIT, 1400000, &st, 1};

    rec_text_init(&t);
    buf_init(&b, 4096);
    assert_int_equal(rec_text_event(&t, &ex, &b), 0);
    assert_int_equal(rec_text_event(&t, &o, &b), 0);
    assert_int_equal(rec_text_event(&t, &end, &b), 0);
    assert_string_equal(b.data, "[custos +1.2s] exec: id?-u\n0\n[custos +1.4s] exit status 3\n");
    buf_fini(&b);
    rec_text_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cast_utf8_split_between_events),
        cmocka_unit_test(test_cast_times_and_codes),
        cmocka_unit_test(test_text_transcript_applies_the_line),
        cmocka_unit_test(test_text_notes_exec_and_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
