/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/rec/vt.c: what a terminal shows, and snapshots that restore it exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/rec/vt.h"

static void put(struct vt *vt, const char *s)
{
    assert_int_equal(vt_feed(vt, s, strlen(s)), 0);
}

static struct vt *feed(unsigned cols, unsigned rows, const char *s)
{
    struct vt *vt;

    assert_int_equal(vt_new(cols, rows, &vt), 0);
    assert_int_equal(vt_feed(vt, s, strlen(s)), 0);
    return vt;
}

/* The row as text (right-trimmed), wide right halves skipped. */
static void row_text(const struct vt *vt, unsigned row, char *out, size_t len)
{
    unsigned cols, rows, n = 0;

    vt_size(vt, &cols, &rows);
    for (unsigned x = 0; x < cols && n + 4 < len; x++) {
        unsigned cp = vt_cell_char(vt, x, row);
        if (cp == 0)
            continue;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | cp >> 6);
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xe0 | cp >> 12);
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static void assert_row(const struct vt *vt, unsigned row, const char *want)
{
    char got[2048];

    row_text(vt, row, got, sizeof(got));
    assert_string_equal(got, want);
}

static void assert_cursor(const struct vt *vt, unsigned x, unsigned y)
{
    unsigned cx, cy;

    vt_cursor(vt, &cx, &cy);
    assert_int_equal(cx, x);
    assert_int_equal(cy, y);
}

/* Snapshot a, feed it to a fresh model of the same size, and require equality. */
static void assert_round_trip(const struct vt *a)
{
    struct vt *b;
    struct buf snap;
    unsigned cols, rows;

    vt_size(a, &cols, &rows);
    buf_init(&snap, 8u << 20);
    assert_int_equal(vt_snapshot(a, &snap), 0);
    assert_int_equal(vt_new(cols, rows, &b), 0);
    assert_int_equal(vt_feed(b, snap.data, snap.len), 0);
    assert_true(vt_equal(a, b));
    vt_free(b);
    buf_fini(&snap);
}

static void test_vt_text_and_cursor(void **state)
{
    struct vt *vt = feed(20, 5, "hello\r\nworld");

    assert_row(vt, 0, "hello");
    assert_row(vt, 1, "world");
    assert_cursor(vt, 5, 1);
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_scrolls_at_bottom(void **state)
{
    struct vt *vt = feed(10, 3, "a\r\nb\r\nc\r\nd");

    assert_row(vt, 0, "b");
    assert_row(vt, 1, "c");
    assert_row(vt, 2, "d");
    vt_free(vt);
}

static void test_vt_autowrap_is_deferred(void **state)
{
    struct vt *vt = feed(5, 3, "abcde");

    /* The cursor stays on the last column until the next character. */
    assert_cursor(vt, 4, 0);
    assert_row(vt, 1, "");
    assert_round_trip(vt); /* the pending wrap itself is restored */
    put(vt, "f");
    assert_row(vt, 0, "abcde");
    assert_row(vt, 1, "f");
    assert_cursor(vt, 1, 1);
    vt_free(vt);

    vt = feed(5, 3, "\x1b[?7labcdefg");
    assert_row(vt, 0, "abcdg"); /* no wrap: the last column is overwritten */
    assert_row(vt, 1, "");
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_erase_and_position(void **state)
{
    struct vt *vt = feed(10, 4, "0123456789\r\nabcdefghij\x1b[1;4H\x1b[K\x1b[2;3H\x1b[1K");

    assert_row(vt, 0, "012");
    assert_row(vt, 1, "   defghij");
    put(vt, "\x1b[2J");
    assert_row(vt, 0, "");
    assert_row(vt, 1, "");
    assert_cursor(vt, 2, 1); /* ED does not move the cursor */
    vt_free(vt);
}

static void test_vt_insert_delete(void **state)
{
    struct vt *vt = feed(10, 3, "abcdef\x1b[1;3H\x1b[2@XY\x1b[1;1H\x1b[1P");

    assert_row(vt, 0, "bXYcdef");
    put(vt, "\r\n1\r\n2\x1b[2;1H\x1b[L");
    assert_row(vt, 1, "");
    assert_row(vt, 2, "1");
    vt_free(vt);
}

static void test_vt_wide_characters(void **state)
{
    /* 世 and 界 are two columns each; an emoji too. */
    struct vt *vt = feed(6, 2, "\xe4\xb8\x96\xe7\x95\x8c!");

    assert_int_equal(vt_cell_char(vt, 0, 0), 0x4e16);
    assert_int_equal(vt_cell_char(vt, 1, 0), 0);
    assert_int_equal(vt_cell_char(vt, 2, 0), 0x754c);
    assert_int_equal(vt_cell_char(vt, 4, 0), '!');
    assert_cursor(vt, 5, 0);
    /* A wide character that no longer fits wraps to the next line. */
    put(vt, "\xe4\xb8\x96");
    assert_int_equal(vt_cell_char(vt, 0, 1), 0x4e16);
    assert_round_trip(vt);
    /* Overwriting half of one blanks the other half. */
    put(vt, "\x1b[1;2Hx");
    assert_int_equal(vt_cell_char(vt, 0, 0), ' ');
    assert_int_equal(vt_cell_char(vt, 1, 0), 'x');
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_utf8_split_and_invalid(void **state)
{
    struct vt *vt;

    assert_int_equal(vt_new(10, 2, &vt), 0);
    put(vt, "\xc3");
    put(vt, "\xa9"); /* é, split over two feeds */
    assert_int_equal(vt_cell_char(vt, 0, 0), 0xe9);
    /* invalid: a stray continuation byte, an overlong NUL, a surrogate */
    put(vt, "\x80"
            "\xc0\x80"
            "\xed\xa0\x80");
    assert_int_equal(vt_cell_char(vt, 1, 0), 0xfffd);
    assert_int_equal(vt_cell_char(vt, 2, 0), 0xfffd);
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_alternate_screen(void **state)
{
    struct vt *vt = feed(10, 3, "shell$ \x1b[?1049h\x1b[Hvim");

    assert_row(vt, 0, "vim");
    assert_round_trip(vt); /* both screens and the saved cursor */
    put(vt, "\x1b[?1049l");
    assert_row(vt, 0, "shell$");
    assert_cursor(vt, 7, 0);
    vt_free(vt);
}

static void test_vt_scroll_region(void **state)
{
    struct vt *vt = feed(10, 5, "top\x1b[5;1Hbottom\x1b[2;4r\x1b[4;1H1\n2\n3");

    /* LF at the region's bottom scrolls rows 2-4 only: "top" and "bottom" stay */
    assert_row(vt, 0, "top");
    assert_row(vt, 4, "bottom");
    assert_row(vt, 1, "1");
    assert_row(vt, 2, " 2");
    assert_row(vt, 3, "  3");
    assert_round_trip(vt);
    /* RI at the region's top scrolls it down */
    put(vt, "\x1b[2;1H\x1bM");
    assert_row(vt, 1, "");
    assert_row(vt, 2, "1");
    assert_row(vt, 3, " 2");
    assert_row(vt, 4, "bottom");
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_attributes_survive_snapshot(void **state)
{
    struct vt *vt = feed(30, 3,
                         "\x1b[1;31mred\x1b[0m \x1b[38;5;200mpal\x1b[48;2;1;2;3mrgb\x1b[7;4mrev"
                         "\x1b[38:2::10:20:30mcolon\x1b[0m\x1b[44m\x1b[K");

    assert_row(vt, 0, "red palrgbrevcolon");
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_line_drawing(void **state)
{
    struct vt *vt = feed(10, 2, "\x1b(0lqk\x1b(Bx");

    assert_int_equal(vt_cell_char(vt, 0, 0), 0x250c);
    assert_int_equal(vt_cell_char(vt, 1, 0), 0x2500);
    assert_int_equal(vt_cell_char(vt, 2, 0), 0x2510);
    assert_int_equal(vt_cell_char(vt, 3, 0), 'x');
    vt_free(vt);
}

static void test_vt_modes_and_saved_cursor(void **state)
{
    struct vt *vt = feed(20, 6,
                         "\x1b[3;5H\x1b[1m\x1b"
                         "7\x1b[H\x1b[?1h\x1b[?25l\x1b[?2004h\x1b[4h\x1b="
                         "\x1b[2;5r\x1b[?6h\x1b[2;2Hx");

    assert_round_trip(vt);
    put(vt, "\x1b"
            "8");
    assert_cursor(vt, 4, 2);
    assert_round_trip(vt);
    vt_free(vt);
}

static void test_vt_controls_and_strings_draw_nothing(void **state)
{
    struct vt *vt = feed(20, 2,
                         "a\x07"
                         "b\x1b]0;title\x07"
                         "c\x1bPdcs\x1b\\d\x1b[5n\x1b[?1;2c");

    assert_row(vt, 0, "abcd");
    vt_free(vt);
}

static void test_vt_resize_keeps_content(void **state)
{
    struct vt *vt = feed(10, 3, "abcdefghij\r\nline2");

    assert_int_equal(vt_resize(vt, 5, 2), 0);
    assert_row(vt, 0, "abcde");
    assert_row(vt, 1, "line2");
    assert_cursor(vt, 4, 1);
    assert_int_equal(vt_resize(vt, 100000, 100000), 0);
    {
        unsigned c, r;
        vt_size(vt, &c, &r);
        assert_int_equal(c, VT_MAX_COLS);
        assert_int_equal(r, VT_MAX_ROWS);
    }
    assert_round_trip(vt);
    vt_free(vt);
}

/* A deterministic random walk over escape sequences and text: snapshots always restore. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_vt_random_sequences_round_trip(void **state)
{
    static const char *const pieces[] = {
        "x",
        "hello ",
        "\r",
        "\n",
        "\b",
        "\t",
        "\x1b[A",
        "\x1b[3B",
        "\x1b[2C",
        "\x1b[D",
        "\x1b[H",
        "\x1b[5;7H",
        "\x1b[J",
        "\x1b[1J",
        "\x1b[2J",
        "\x1b[K",
        "\x1b[1K",
        "\x1b[2K",
        "\x1b[L",
        "\x1b[2M",
        "\x1b[3@",
        "\x1b[P",
        "\x1b[X",
        "\x1b[S",
        "\x1b[T",
        "\x1b[1m",
        "\x1b[0m",
        "\x1b[31;42m",
        "\x1b[38;5;99m",
        "\x1b[48;2;9;8;7m",
        "\x1b[7m",
        "\x1b[2;6r",
        "\x1b[r",
        "\x1b"
        "7",
        "\x1b"
        "8",
        "\x1bM",
        "\x1b"
        "D",
        "\x1b"
        "E",
        "\x1b[?1049h",
        "\x1b[?1049l",
        "\x1b[?47h",
        "\x1b[?47l",
        "\x1b[?7l",
        "\x1b[?7h",
        "\x1b[?6h",
        "\x1b[?6l",
        "\x1b[4h",
        "\x1b[4l",
        "\x1b[?25l",
        "\x1b[?25h",
        "\x1b(0",
        "\x1b(B",
        "\x0e",
        "\x0f",
        "\xe4\xb8\x96",
        "\xf0\x9f\x98\x80",
        "\xc3\xa9",
        "\x1b[3g",
        "\x1bH",
        "\x1b[Z",
        "\x1b[2b",
        "\x1b[!p",
        "\x1b[?1h",
        "\x1b=",
        "\x1b>",
        "\x1b]2;t\x07",
        "\x1b[s",
        "\x1b[u",
        "\x1b[10G",
        "\x1b[3d",
        "\x1b[2E",
        "\x1b[F",
        "\x1b#8",
        "\x1b[1;3;4;5;7;9;38;2;1;2;3;48;2;4;5;6m",
    };
    size_t np = sizeof(pieces) / sizeof(pieces[0]);

    for (int round = 0; round < 300; round++) {
        struct vt *vt;
        unsigned cols = 5 + rnd() % 30, rows = 2 + rnd() % 10;
        assert_int_equal(vt_new(cols, rows, &vt), 0);
        for (int k = 0; k < 60; k++) {
            const char *p = pieces[rnd() % np];
            assert_int_equal(vt_feed(vt, p, strlen(p)), 0);
            if (rnd() % 10 == 0)
                assert_round_trip(vt);
        }
        assert_round_trip(vt);
        vt_free(vt);
    }
}

static void test_vt_snapshot_bound(void **state)
{
    struct vt *vt = feed(80, 24, "some text");
    struct buf small;

    buf_init(&small, 16);
    assert_int_equal(buf_append(&small, "keep", 4), 0);
    assert_int_equal(vt_snapshot(vt, &small), -ERR_TOO_LONG);
    assert_int_equal(small.len, 4); /* what it had is kept */
    buf_fini(&small);
    vt_free(vt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vt_text_and_cursor),
        cmocka_unit_test(test_vt_scrolls_at_bottom),
        cmocka_unit_test(test_vt_autowrap_is_deferred),
        cmocka_unit_test(test_vt_erase_and_position),
        cmocka_unit_test(test_vt_insert_delete),
        cmocka_unit_test(test_vt_wide_characters),
        cmocka_unit_test(test_vt_utf8_split_and_invalid),
        cmocka_unit_test(test_vt_alternate_screen),
        cmocka_unit_test(test_vt_scroll_region),
        cmocka_unit_test(test_vt_attributes_survive_snapshot),
        cmocka_unit_test(test_vt_line_drawing),
        cmocka_unit_test(test_vt_modes_and_saved_cursor),
        cmocka_unit_test(test_vt_controls_and_strings_draw_nothing),
        cmocka_unit_test(test_vt_resize_keeps_content),
        cmocka_unit_test(test_vt_random_sequences_round_trip),
        cmocka_unit_test(test_vt_snapshot_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
