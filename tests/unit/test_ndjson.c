/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for ndjson.c: line limits, split feeds, CRLF, empty lines, NUL, encoder, allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/ndjson.h"

#define MAX_SEEN 16

/* What the line callback saw. */
struct seen {
    size_t n;
    char *lines[MAX_SEEN];
    size_t lens[MAX_SEEN];
    int errs[MAX_SEEN];
    int stop_after; /* return 99 from the callback after this many calls (0: never) */
    struct ndjson_reader *r;
    size_t max_buffered;
};

static int on_line(void *ctx, const char *line, size_t len, int err)
{
    struct seen *s = ctx;

    assert_true(s->n < MAX_SEEN);
    s->errs[s->n] = err;
    s->lens[s->n] = len;
    if (line) {
        s->lines[s->n] = malloc(len + 1);
        assert_non_null(s->lines[s->n]);
        memcpy(s->lines[s->n], line, len + 1);
        assert_int_equal(line[len], '\0');
    } else {
        s->lines[s->n] = NULL;
    }
    s->n++;
    if (s->stop_after && (int)s->n >= s->stop_after)
        return 99;
    return 0;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->lines[i]);
    memset(s, 0, sizeof(*s));
}

/* Feed a string one byte at a time, checking the buffer never passes the limit. */
static void feed_bytewise(struct ndjson_reader *r, const char *data, size_t len, struct seen *s)
{
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(ndjson_reader_feed(r, data + i, 1, on_line, s), 0);
        assert_true(r->line.len <= r->max_line);
        assert_true(r->line.cap <= r->max_line + 1);
    }
}

static int setup(void **state)
{
    ndjson_use_wiping_allocator();
    return 0;
}

static void test_ndjson_one_line(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    const char *in = "{\"id\":1}\n";

    ndjson_reader_init(&r, 0);
    assert_int_equal(r.max_line, NDJSON_LINE_DEFAULT);
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), on_line, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.errs[0], 0);
    assert_int_equal(s.lens[0], 8);
    assert_string_equal(s.lines[0], "{\"id\":1}");
    assert_false(ndjson_reader_has_partial(&r));
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_clamps_limit(void **state)
{
    struct ndjson_reader r;

    ndjson_reader_init(&r, (size_t)NDJSON_LINE_HARD_MAX * 4);
    assert_int_equal(r.max_line, NDJSON_LINE_HARD_MAX);
    ndjson_reader_fini(&r);
}

static void test_ndjson_split_feeds(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    const char *in = "{\"op\":\"vault.status\"}\n{\"op\":\"x\"}\npartial";

    ndjson_reader_init(&r, 64);
    feed_bytewise(&r, in, strlen(in), &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[0], "{\"op\":\"vault.status\"}");
    assert_string_equal(s.lines[1], "{\"op\":\"x\"}");
    assert_true(ndjson_reader_has_partial(&r));
    assert_int_equal(ndjson_reader_feed(&r, "\n", 1, on_line, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[2], "partial");
    assert_false(ndjson_reader_has_partial(&r));
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_many_lines_one_feed(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    const char *in = "a\nbb\nccc\n";

    ndjson_reader_init(&r, 64);
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), on_line, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[0], "a");
    assert_string_equal(s.lines[1], "bb");
    assert_string_equal(s.lines[2], "ccc");
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_crlf_and_empty(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    const char *in = "\n\r\n{\"a\":1}\r\n\n\n{\"b\":2}\n\r\n";

    ndjson_reader_init(&r, 64);
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), on_line, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[0], "{\"a\":1}");
    assert_int_equal(s.lens[0], 7);
    assert_string_equal(s.lines[1], "{\"b\":2}");
    seen_free(&s);
    /* A CR split from its LF across feeds is still stripped. */
    feed_bytewise(&r, "xy\r\n", 4, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.lines[0], "xy");
    /* Only the CR right before LF goes; an inner CR is data. */
    seen_free(&s);
    assert_int_equal(ndjson_reader_feed(&r, "a\rb\n", 4, on_line, &s), 0);
    assert_int_equal(s.lens[0], 3);
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_at_limit(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    char line[18];

    memset(line, 'x', 16);
    line[16] = '\n';
    ndjson_reader_init(&r, 16);
    /* Exactly 16 bytes: delivered, in one feed and byte by byte. */
    assert_int_equal(ndjson_reader_feed(&r, line, 17, on_line, &s), 0);
    feed_bytewise(&r, line, 17, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.errs[0], 0);
    assert_int_equal(s.lens[0], 16);
    assert_int_equal(s.errs[1], 0);
    assert_int_equal(s.lens[1], 16);
    /* 15 bytes + CRLF fits; the CR counts, so 16 bytes + CRLF does not. */
    seen_free(&s);
    line[15] = '\r';
    assert_int_equal(ndjson_reader_feed(&r, line, 17, on_line, &s), 0);
    assert_int_equal(s.lens[0], 15);
    line[15] = 'x';
    line[16] = '\r';
    line[17] = '\n';
    assert_int_equal(ndjson_reader_feed(&r, line, 18, on_line, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.errs[1], -ERR_TOO_LONG);
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_one_past_limit(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    char line[40];

    memset(line, 'y', sizeof(line));
    line[17] = '\n'; /* 17 bytes: one past */
    memcpy(line + 18, "{\"ok\":1}\n", 9);
    ndjson_reader_init(&r, 16);
    assert_int_equal(ndjson_reader_feed(&r, line, 27, on_line, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.errs[0], -ERR_TOO_LONG);
    assert_null(s.lines[0]);
    assert_int_equal(s.lens[0], 0);
    assert_int_equal(s.errs[1], 0);
    assert_string_equal(s.lines[1], "{\"ok\":1}");
    seen_free(&s);

    /* Byte by byte: reported once, as soon as it is known, and the line is never buffered. */
    feed_bytewise(&r, line, 17, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.errs[0], -ERR_TOO_LONG);
    assert_true(ndjson_reader_has_partial(&r));
    assert_int_equal(r.line.len, 0);
    feed_bytewise(&r, "more junk without end", 21, &s);
    assert_int_equal(s.n, 1);
    feed_bytewise(&r, line + 17, 10, &s); /* "\n{"ok":1}\n" */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[1], "{\"ok\":1}");
    assert_false(ndjson_reader_has_partial(&r));
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_huge_line_not_buffered(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    size_t n = 1u << 20;
    char *big = malloc(n);

    assert_non_null(big);
    memset(big, 'q', n);
    ndjson_reader_init(&r, 1024);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ndjson_reader_feed(&r, big, n, on_line, &s), 0);
    assert_int_equal(s.n, 1);
    assert_true(r.line.cap <= 1025);
    assert_int_equal(ndjson_reader_feed(&r, "\n{}\n", 4, on_line, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[1], "{}");
    ndjson_reader_fini(&r);
    seen_free(&s);
    free(big);
}

static void test_ndjson_callback_stops(void **state)
{
    struct ndjson_reader r;
    struct seen s = {.stop_after = 1};
    const char *in = "a\nb\nc\n";

    ndjson_reader_init(&r, 64);
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), on_line, &s), 99);
    assert_int_equal(s.n, 1);
    seen_free(&s);
    /* Also when it stops on the too-long report. */
    s.stop_after = 1;
    ndjson_reader_fini(&r);
    ndjson_reader_init(&r, 2);
    assert_int_equal(ndjson_reader_feed(&r, "abcdef\nx\n", 9, on_line, &s), 99);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.errs[0], -ERR_TOO_LONG);
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_embedded_nul(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    static const char in[] = "{\"a\":1}\0{\"b\":2}\n";
    json_t *obj = NULL;

    ndjson_reader_init(&r, 64);
    assert_int_equal(ndjson_reader_feed(&r, in, sizeof(in) - 1, on_line, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.lens[0], 15);
    assert_int_equal(ndjson_parse(s.lines[0], s.lens[0], &obj), -ERR_PARSE);
    assert_null(obj);
    /* Inside a string as \u0000 too. */
    assert_int_equal(ndjson_parse("{\"a\":\"x\\u0000y\"}", 16, &obj), -ERR_PARSE);
    assert_null(obj);
    ndjson_reader_fini(&r);
    seen_free(&s);
}

static void test_ndjson_parse(void **state)
{
    json_t *obj = NULL;
    const char *ok = "{\"id\":7,\"op\":\"vault.status\",\"args\":{}}";

    assert_int_equal(ndjson_parse(ok, strlen(ok), &obj), 0);
    assert_true(json_is_object(obj));
    assert_int_equal(json_integer_value(json_object_get(obj, "id")), 7);
    json_decref(obj);

    assert_int_equal(ndjson_parse("[1,2]", 5, &obj), -ERR_PARSE);
    assert_null(obj);
    assert_int_equal(ndjson_parse("\"str\"", 5, &obj), -ERR_PARSE);
    assert_int_equal(ndjson_parse("42", 2, &obj), -ERR_PARSE);
    assert_int_equal(ndjson_parse("{\"a\":", 5, &obj), -ERR_PARSE);
    assert_int_equal(ndjson_parse("{} {}", 5, &obj), -ERR_PARSE);
    assert_int_equal(ndjson_parse("", 0, &obj), -ERR_PARSE);
    /* A repeated key could smuggle a second value past a check of the first. */
    assert_int_equal(ndjson_parse("{\"op\":\"a\",\"op\":\"b\"}", 19, &obj), -ERR_PARSE);
    /* The length bounds the parse, not the NUL. */
    assert_int_equal(ndjson_parse("{}garbage", 2, &obj), 0);
    json_decref(obj);
}

static void test_ndjson_encode(void **state)
{
    struct buf b;
    json_t *obj = json_pack("{s:i, s:s}", "id", 3, "v", "line1\nline2");

    assert_non_null(obj);
    buf_init(&b, 1024);
    assert_int_equal(buf_append(&b, "prev\n", 5), 0);
    assert_int_equal(ndjson_encode(obj, &b), 0);
    assert_string_equal(b.data, "prev\n{\"id\":3,\"v\":\"line1\\nline2\"}\n");
    buf_fini(&b);

    /* Too long: refused and the buffer is left as it was. */
    buf_init(&b, 20);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    assert_int_equal(ndjson_encode(obj, &b), -ERR_TOO_LONG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    buf_fini(&b);

    /* Exactly at the bound: 27 bytes of JSON + '\n'. */
    buf_init(&b, 28);
    assert_int_equal(ndjson_encode(obj, &b), 0);
    assert_int_equal(b.len, 28);
    buf_fini(&b);
    buf_init(&b, 27);
    assert_int_equal(ndjson_encode(obj, &b), -ERR_TOO_LONG);
    assert_int_equal(b.len, 0);
    buf_fini(&b);

    buf_init(&b, 64);
    assert_int_equal(ndjson_encode(NULL, &b), -ERR_INVAL);
    buf_fini(&b);
    json_decref(obj);
}

static void test_ndjson_round_trip(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    struct buf b;
    json_t *in = json_pack("{s:i, s:s, s:{s:s}}", "id", 9, "op", "secret.put", "args", "value",
                           "p\xc3\xa4ss\r\nword");
    json_t *out = NULL;

    buf_init(&b, 4096);
    assert_int_equal(ndjson_encode(in, &b), 0);
    assert_int_equal(ndjson_encode(in, &b), 0);
    ndjson_reader_init(&r, 4096);
    feed_bytewise(&r, b.data, b.len, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(ndjson_parse(s.lines[1], s.lens[1], &out), 0);
    assert_true(json_equal(in, out));
    json_decref(out);
    json_decref(in);
    ndjson_reader_fini(&r);
    buf_fini(&b);
    seen_free(&s);
}

static void test_ndjson_line_wiped_after_callback(void **state)
{
    struct ndjson_reader r;
    struct seen s = {0};
    const char *in = "{\"passphrase\":\"hunter2hunter2\"}\n";

    ndjson_reader_init(&r, 256);
    assert_int_equal(ndjson_reader_feed(&r, in, strlen(in), on_line, &s), 0);
    assert_int_equal(s.n, 1);
    assert_non_null(r.line.data);
    assert_null(memmem(r.line.data, r.line.cap, "hunter2", 7));
    /* A refused partial line is wiped too. */
    ndjson_reader_fini(&r);
    ndjson_reader_init(&r, 16);
    assert_int_equal(ndjson_reader_feed(&r, "hunter2hunt", 11, on_line, &s), 0);
    assert_int_equal(ndjson_reader_feed(&r, "er2hunter2", 10, on_line, &s), 0);
    assert_int_equal(s.errs[1], -ERR_TOO_LONG);
    assert_null(memmem(r.line.data, r.line.cap, "hunter2", 7));
    ndjson_reader_fini(&r);
    assert_null(r.line.data);
    assert_false(ndjson_reader_has_partial(&r));
    seen_free(&s);
}

static void test_ndjson_wiping_allocator(void **state)
{
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_t *obj;
    char *big, *dumped;

    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, malloc);
    assert_ptr_equal(f, ndjson_free);
    /* Blocks are usable for their full size and aligned like malloc's. */
    for (size_t n = 0; n < 2000; n += 7) {
        unsigned char *p = m(n);

        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xA5, n);
        f(p);
    }
    f(NULL);

    /* json_dumps output is a plain heap block: free() and ndjson_free() both take it. */
    obj = json_pack("{s:s}", "passphrase", "correct horse");
    assert_non_null(obj);
    dumped = json_dumps(obj, JSON_COMPACT);
    assert_string_equal(dumped, "{\"passphrase\":\"correct horse\"}");
    free(dumped);
    dumped = json_dumps(obj, JSON_COMPACT);
    ndjson_free(dumped);
    ndjson_free(NULL);
    json_decref(obj);

    /* jansson works on top of it, big strings included. */
    big = malloc(100000);
    assert_non_null(big);
    memset(big, 'k', 99999);
    big[99999] = '\0';
    obj = json_pack("{s:s, s:[i,i,{s:b}]}", "secret", big, "list", 1, 2, "x", 1);
    assert_non_null(obj);
    assert_int_equal(strlen(json_string_value(json_object_get(obj, "secret"))), 99999);
    json_decref(obj);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson_one_line),
        cmocka_unit_test(test_ndjson_clamps_limit),
        cmocka_unit_test(test_ndjson_split_feeds),
        cmocka_unit_test(test_ndjson_many_lines_one_feed),
        cmocka_unit_test(test_ndjson_crlf_and_empty),
        cmocka_unit_test(test_ndjson_at_limit),
        cmocka_unit_test(test_ndjson_one_past_limit),
        cmocka_unit_test(test_ndjson_huge_line_not_buffered),
        cmocka_unit_test(test_ndjson_callback_stops),
        cmocka_unit_test(test_ndjson_embedded_nul),
        cmocka_unit_test(test_ndjson_parse),
        cmocka_unit_test(test_ndjson_encode),
        cmocka_unit_test(test_ndjson_round_trip),
        cmocka_unit_test(test_ndjson_line_wiped_after_callback),
        cmocka_unit_test(test_ndjson_wiping_allocator),
    };

    return cmocka_run_group_tests_name("ndjson", tests, setup, NULL);
}
