/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots of the screen model: bytes that repaint it on a reset terminal; equality. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vt_internal.h"

/* ---- snapshot ------------------------------------------------------------------- */

static int put_color(struct buf *b, uint32_t c, bool fg)
{
    unsigned v = c & 0xffffff;

    if (c == 0)
        return buf_append(b, fg ? ";39" : ";49", 3);
    if ((c & 0xff000000u) == C_RGB)
        return buf_printf(b, ";%d;2;%u;%u;%u", fg ? 38 : 48, v >> 16, (v >> 8) & 0xff, v & 0xff);
    if (v < 8)
        return buf_printf(b, ";%u", (fg ? 30 : 40) + v);
    if (v < 16)
        return buf_printf(b, ";%u", (fg ? 90 : 100) + v - 8);
    return buf_printf(b, ";%d;5;%u", fg ? 38 : 48, v);
}

/* Set the pen to (attrs, fg, bg) from any state: reset first, then add. */
static int put_pen(struct buf *b, unsigned attrs, uint32_t fg, uint32_t bg)
{
    static const struct {
        unsigned bit;
        const char *code;
    } codes[] = {{A_BOLD, ";1"},  {A_DIM, ";2"},     {A_ITALIC, ";3"}, {A_UNDER, ";4"},
                 {A_BLINK, ";5"}, {A_REVERSE, ";7"}, {A_INVIS, ";8"},  {A_STRIKE, ";9"}};
    int r;

    if ((r = buf_append(b, "\x1b[0", 3)) != 0)
        return r;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if ((attrs & codes[i].bit) && (r = buf_append(b, codes[i].code, 2)) != 0)
            return r;
    if (fg && (r = put_color(b, fg, true)) != 0)
        return r;
    if (bg && (r = put_color(b, bg, false)) != 0)
        return r;
    return buf_append(b, "m", 1);
}

static int put_utf8(struct buf *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return buf_append(b, u, n);
}

static bool is_default_blank(const struct cell *c)
{
    return c->cp == ' ' && c->width == 1 && c->attrs == 0 && c->fg == 0 && c->bg == 0;
}

/*
 * Paint one screen: every row that is not default blanks, from its first to
 * its last non-default cell.  Autowrap is off while painting, so the last
 * column never scrolls; the caller sets the real modes afterwards.
 */
static int paint(const struct vt *vt, const struct screen *s, struct buf *b)
{
    int r;
    unsigned pa = 0;
    uint32_t pf = 0, pb = 0;

    for (unsigned y = 0; y < vt->rows; y++) {
        unsigned x0 = 0, x1 = vt->cols;
        while (x0 < x1 && is_default_blank(vt_cat(vt, s, x0, y)))
            x0++;
        while (x1 > x0 && is_default_blank(vt_cat(vt, s, x1 - 1, y)))
            x1--;
        if (x0 == x1)
            continue;
        if (vt_cat(vt, s, x0, y)->width == 0)
            x0--; /* start at the left half of a wide character */
        if ((r = buf_printf(b, "\x1b[%u;%uH", y + 1, x0 + 1)) != 0)
            return r;
        for (unsigned x = x0; x < x1; x++) {
            const struct cell *c = vt_cat(vt, s, x, y);
            if (c->width == 0)
                continue;
            if (c->attrs != pa || c->fg != pf || c->bg != pb) {
                if ((r = put_pen(b, c->attrs, c->fg, c->bg)) != 0)
                    return r;
                pa = c->attrs;
                pf = c->fg;
                pb = c->bg;
            }
            if ((r = put_utf8(b, c->cp)) != 0)
                return r;
        }
    }
    if (pa || pf || pb)
        return buf_append(b, "\x1b[0m", 4);
    return 0;
}

/*
 * Restore a whole cursor state: origin mode, position, a pending wrap
 * (re-armed by redrawing the cell under the cursor, which autowrap must be
 * on for), pen and charsets.  With `top` non-zero positions are relative to
 * a region starting there (the live cursor under origin mode); saved cursors
 * are restored while the region is the whole screen, so theirs are absolute.
 */
static int put_cursor_state(const struct vt *vt, const struct screen *s, const struct cursor *c,
                            unsigned top, struct buf *b)
{
    unsigned y = c->y - top;
    int r;

    if (c->origin && (r = buf_append(b, "\x1b[?6h", 5)) != 0)
        return r;
    if ((r = buf_printf(b, "\x1b[%u;%uH", y + 1, c->x + 1)) != 0)
        return r;
    if (c->wrap_pending) {
        const struct cell *k = vt_cat(vt, s, c->x, c->y);
        if (k->width == 0 && c->x > 0) {
            k = vt_cat(vt, s, c->x - 1, c->y);
            if ((r = buf_printf(b, "\x1b[%u;%uH", y + 1, c->x)) != 0)
                return r;
        }
        if ((r = put_pen(b, k->attrs, k->fg, k->bg)) != 0 || (r = put_utf8(b, k->cp)) != 0)
            return r;
    }
    if ((r = put_pen(b, c->pen.attrs, c->pen.fg, c->pen.bg)) != 0)
        return r;
    if ((r = buf_append(b, c->g0_graphics ? "\x1b(0" : "\x1b(B", 3)) != 0 ||
        (r = buf_append(b, c->g1_graphics ? "\x1b)0" : "\x1b)B", 3)) != 0 ||
        (r = buf_append(b, c->shifted ? "\x0e" : "\x0f", 1)) != 0)
        return r;
    return 0;
}

/* A saved cursor: set its state, DECSC, then back to origin off, default pen and charsets. */
static int put_saved(const struct vt *vt, const struct screen *s, const struct cursor *c,
                     struct buf *b)
{
    int r;

    if ((r = put_cursor_state(vt, s, c, 0, b)) != 0 || (r = buf_append(b,
                                                                       "\x1b"
                                                                       "7",
                                                                       2)) != 0)
        return r;
    if (c->origin && (r = buf_append(b, "\x1b[?6l", 5)) != 0)
        return r;
    return buf_append(b, "\x0f\x1b(B\x1b)B\x1b[0m", 11);
}

static int put_modes(const struct vt *vt, struct buf *b)
{
    static const struct {
        unsigned flag;
        const char *on;
    } m[] = {
        {M_APPCUR, "\x1b[?1h"},       {M_APPKEYPAD, "\x1b="},       {M_BRACKET, "\x1b[?2004h"},
        {M_MOUSE1000, "\x1b[?1000h"}, {M_MOUSE1002, "\x1b[?1002h"}, {M_MOUSE1003, "\x1b[?1003h"},
        {M_MOUSE1006, "\x1b[?1006h"}, {M_INSERT, "\x1b[4h"},        {M_HIDECUR, "\x1b[?25l"},
    };
    int r;

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if ((vt->modes & m[i].flag) && (r = buf_append(b, m[i].on, strlen(m[i].on))) != 0)
            return r;
    if (!(vt->modes & M_AUTOWRAP) && (r = buf_append(b, "\x1b[?7l", 5)) != 0)
        return r;
    return 0;
}

static int put_tabs(const struct vt *vt, struct buf *b)
{
    bool def = true;
    int r;

    for (unsigned i = 0; i < vt->cols; i++)
        if (vt->tabs[i] != (i > 0 && i % 8 == 0))
            def = false;
    if (def)
        return 0;
    if ((r = buf_append(b, "\x1b[3g", 4)) != 0)
        return r;
    for (unsigned i = 0; i < vt->cols; i++)
        if (vt->tabs[i] && (r = buf_printf(b, "\x1b[1;%uH\x1bH", i + 1)) != 0)
            return r;
    return 0;
}

/*
 * The order matters: reset and clear; tab stops; the main screen and its
 * saved cursor, then the alternate screen and its saved cursor when it is
 * shown — all with the region the whole screen, so saved positions are
 * absolute even under origin mode; the scroll region (DECSTBM homes the
 * cursor); the live cursor; and last the modes (insert mode must not be on
 * while painting, autowrap must be on while a pending wrap is re-armed).
 */
static int snapshot(const struct vt *vt, struct buf *b)
{
    /* Every mode we keep, set to its default explicitly: terminals differ in what DECSTR resets. */
    static const char reset[] = "\x1b[!p\x1b[?7h\x1b[?25h\x1b[?1l\x1b>\x1b[?2004l\x1b[?1000l"
                                "\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[4l\x1b[?6l\x1b[r"
                                "\x1b(B\x1b)B\x0f\x1b[0m\x1b[H\x1b[2J";
    int r;

    if ((r = buf_append(b, reset, sizeof(reset) - 1)) != 0 || (r = put_tabs(vt, b)) != 0)
        return r;
    if ((r = paint(vt, &vt->main, b)) != 0 ||
        (r = put_saved(vt, &vt->main, &vt->saved_main, b)) != 0)
        return r;
    if (vt->alt_on) {
        /* ?1047h switches without saving the cursor; then clear and paint the alternate. */
        if ((r = buf_append(b, "\x1b[?1047h\x1b[H\x1b[2J", 15)) != 0 ||
            (r = paint(vt, &vt->alt, b)) != 0 ||
            (r = put_saved(vt, &vt->alt, &vt->saved_alt, b)) != 0)
            return r;
    }
    if ((vt->top != 0 || vt->bot != vt->rows - 1) &&
        (r = buf_printf(b, "\x1b[%u;%ur", vt->top + 1, vt->bot + 1)) != 0)
        return r;
    if ((r = put_cursor_state(vt, vt->scr, &vt->cur, vt->cur.origin ? vt->top : 0, b)) != 0)
        return r;
    return put_modes(vt, b);
}

int vt_snapshot(const struct vt *vt, struct buf *out)
{
    size_t old = out->len;
    int r = snapshot(vt, out);

    if (r != 0) {
        out->len = old;
        if (out->data)
            out->data[old] = '\0';
    }
    return r;
}

static bool cursor_eq(const struct cursor *a, const struct cursor *b)
{
    return a->x == b->x && a->y == b->y && a->pen.fg == b->pen.fg && a->pen.bg == b->pen.bg &&
           a->pen.attrs == b->pen.attrs && a->origin == b->origin &&
           a->wrap_pending == b->wrap_pending && a->g0_graphics == b->g0_graphics &&
           a->g1_graphics == b->g1_graphics && a->shifted == b->shifted;
}

static bool cells_eq(const struct screen *a, const struct screen *b, unsigned cols, unsigned rows)
{
    for (unsigned y = 0; y < rows; y++)
        for (unsigned x = 0; x < cols; x++) {
            const struct cell *p = &a->row[y][x], *q = &b->row[y][x];
            if (p->cp != q->cp || p->width != q->width || p->attrs != q->attrs || p->fg != q->fg ||
                p->bg != q->bg)
                return false;
        }
    return true;
}

bool vt_equal(const struct vt *a, const struct vt *b)
{

    if (a->cols != b->cols || a->rows != b->rows || a->alt_on != b->alt_on || a->top != b->top ||
        a->bot != b->bot || a->modes != b->modes)
        return false;
    if (!cursor_eq(&a->cur, &b->cur) || !cursor_eq(&a->saved_main, &b->saved_main))
        return false;
    if (a->alt_on && !cursor_eq(&a->saved_alt, &b->saved_alt))
        return false;
    if (memcmp(a->tabs, b->tabs, a->cols) != 0)
        return false;
    if (!cells_eq(&a->main, &b->main, a->cols, a->rows))
        return false;
    return !a->alt_on || cells_eq(&a->alt, &b->alt, a->cols, a->rows);
}
