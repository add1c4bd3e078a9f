/* SPDX-License-Identifier: Apache-2.0 */
/* The screen model: cells, cursor, printing, modes, size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vt_internal.h"

/* ---- cells ------------------------------------------------------------------ */

struct cell vt_blank(const struct vt *vt)
{
    struct cell c = {.cp = ' ', .width = 1, .attrs = 0, .fg = 0, .bg = vt->cur.pen.bg};
    return c;
}

const struct cell *vt_cat(const struct vt *vt, const struct screen *s, unsigned x, unsigned y)
{
    (void)vt;
    return &s->row[y][x];
}

void vt_fill(struct vt *vt, struct screen *s, size_t from, size_t to)
{
    struct cell b = vt_blank(vt);

    while (from < to) {
        size_t y = from / vt->cols, x = from % vt->cols, n = vt->cols - x, done = 1;
        struct cell *c = s->row[y] + x;
        if (n > to - from)
            n = to - from;
        /* one cell, then copies of what is done so far: a row in log2(cols) memcpy calls */
        c[0] = b;
        while (done < n) {
            size_t k = done < n - done ? done : n - done;
            memcpy(c + done, c, k * sizeof(*c));
            done += k;
        }
        from += n;
    }
}

/* Break a wide character that (x,y) is half of, so no half is left alone. */
void vt_unsplit(struct vt *vt, unsigned x, unsigned y)
{
    struct cell *c = vt_at(vt, x, y);

    if (c->width == 0 && x > 0) {
        *vt_at(vt, x - 1, y) = vt_blank(vt);
        *c = vt_blank(vt);
    } else if (c->width == 2 && x + 1 < vt->cols) {
        *vt_at(vt, x + 1, y) = vt_blank(vt);
        *c = vt_blank(vt);
    }
}

void vt_erase_cells(struct vt *vt, unsigned y, unsigned x0, unsigned x1) /* [x0,x1) */
{
    if (x0 >= x1)
        return;
    vt_unsplit(vt, x0, y);
    vt_unsplit(vt, x1 - 1, y);
    vt_fill(vt, vt->scr, (size_t)y * vt->cols + x0, (size_t)y * vt->cols + x1);
}

/* Scroll lines [top,bot] up by n (content moves up; blank lines at the bottom). */
void vt_scroll_up(struct vt *vt, unsigned top, unsigned bot, unsigned n)
{
    struct cell **row = vt->scr->row, *tmp[VT_MAX_ROWS];
    unsigned h = bot - top + 1;

    if (n > h)
        n = h;
    memcpy(tmp, row + top, n * sizeof(*row));
    memmove(row + top, row + top + n, (h - n) * sizeof(*row));
    memcpy(row + bot + 1 - n, tmp, n * sizeof(*row));
    vt_fill(vt, vt->scr, (size_t)(bot + 1 - n) * vt->cols, (size_t)(bot + 1) * vt->cols);
}

void vt_scroll_down(struct vt *vt, unsigned top, unsigned bot, unsigned n)
{
    struct cell **row = vt->scr->row, *tmp[VT_MAX_ROWS];
    unsigned h = bot - top + 1;

    if (n > h)
        n = h;
    memcpy(tmp, row + bot + 1 - n, n * sizeof(*row));
    memmove(row + top + n, row + top, (h - n) * sizeof(*row));
    memcpy(row + top, tmp, n * sizeof(*row));
    vt_fill(vt, vt->scr, (size_t)top * vt->cols, (size_t)(top + n) * vt->cols);
}

/* ---- cursor ------------------------------------------------------------------ */

void vt_move_to(struct vt *vt, unsigned x, unsigned y)
{
    unsigned lo = 0, hi = vt->rows - 1;

    if (vt->cur.origin) {
        lo = vt->top;
        hi = vt->bot;
    }
    vt->cur.x = x < vt->cols ? x : vt->cols - 1;
    vt->cur.y = y < lo ? lo : y > hi ? hi : y;
    vt->cur.wrap_pending = false;
}

/* CUP in origin mode counts rows from the region's top. */
void vt_move_abs(struct vt *vt, unsigned x, unsigned y)
{
    vt_move_to(vt, x, vt->cur.origin ? vt->top + y : y);
}

void vt_linefeed(struct vt *vt)
{
    if (vt->cur.y == vt->bot)
        vt_scroll_up(vt, vt->top, vt->bot, 1);
    else if (vt->cur.y + 1 < vt->rows)
        vt->cur.y++;
    vt->cur.wrap_pending = false;
}

void vt_reverse_index(struct vt *vt)
{
    if (vt->cur.y == vt->top)
        vt_scroll_down(vt, vt->top, vt->bot, 1);
    else if (vt->cur.y > 0)
        vt->cur.y--;
    vt->cur.wrap_pending = false;
}

void vt_tab_forward(struct vt *vt, unsigned n)
{
    while (n-- && vt->cur.x + 1 < vt->cols) {
        do
            vt->cur.x++;
        while (vt->cur.x + 1 < vt->cols && !vt->tabs[vt->cur.x]);
    }
    vt->cur.wrap_pending = false;
}

void vt_tab_back(struct vt *vt, unsigned n)
{
    while (n-- && vt->cur.x > 0) {
        do
            vt->cur.x--;
        while (vt->cur.x > 0 && !vt->tabs[vt->cur.x]);
    }
    vt->cur.wrap_pending = false;
}

void vt_tabs_default(struct vt *vt)
{
    for (unsigned i = 0; i < vt->cols; i++)
        vt->tabs[i] = i > 0 && i % 8 == 0;
}

/* ---- printing ------------------------------------------------------------------ */

/* East Asian Wide/Fullwidth and the common emoji blocks (a compact table; not all of Unicode). */
static const uint32_t wide_ranges[][2] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
    {0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},
    {0xfe30, 0xfe6f},   {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x16fe0, 0x16fe4},
    {0x17000, 0x18cff}, {0x1b000, 0x1b2ff}, {0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf},
    {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f2ff}, {0x1f300, 0x1f64f},
    {0x1f680, 0x1f6ff}, {0x1f7e0, 0x1f7eb}, {0x1f90c, 0x1f9ff}, {0x1fa70, 0x1faff},
    {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

/* Combining marks and other zero-width characters (the common blocks). */
static const uint32_t zero_ranges[][2] = {
    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},   {0x0610, 0x061a},   {0x064b, 0x065f},
    {0x0e31, 0x0e31}, {0x0e34, 0x0e3a}, {0x0e47, 0x0e4e},   {0x1ab0, 0x1aff},   {0x1dc0, 0x1dff},
    {0x200b, 0x200f}, {0x202a, 0x202e}, {0x2060, 0x2064},   {0x20d0, 0x20ff},   {0xfe00, 0xfe0f},
    {0xfe20, 0xfe2f}, {0xfeff, 0xfeff}, {0x1f3fb, 0x1f3ff}, {0xe0100, 0xe01ef},
};

static bool in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0])
            hi = mid;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static unsigned cp_width(uint32_t cp)
{
    if (cp < 0x300)
        return 1;
    if (in_ranges(cp, zero_ranges, sizeof(zero_ranges) / sizeof(zero_ranges[0])))
        return 0;
    return in_ranges(cp, wide_ranges, sizeof(wide_ranges) / sizeof(wide_ranges[0])) ? 2 : 1;
}

/* DEC Special Graphics (ESC ( 0): 0x60..0x7e as the Unicode line-drawing characters. */
static const uint16_t dec_graphics[31] = {
    0x25c6, 0x2592, 0x2409, 0x240c, 0x240d, 0x240a, 0x00b0, 0x00b1, 0x2424, 0x240b, 0x2518,
    0x2510, 0x250c, 0x2514, 0x253c, 0x23ba, 0x23bb, 0x2500, 0x23bc, 0x23bd, 0x251c, 0x2524,
    0x2534, 0x252c, 0x2502, 0x2264, 0x2265, 0x03c0, 0x2260, 0x00a3, 0x00b7,
};

void vt_put_char(struct vt *vt, uint32_t cp)
{
    unsigned w;
    bool graphics = vt->cur.shifted ? vt->cur.g1_graphics : vt->cur.g0_graphics;
    struct cell c;

    if (graphics && cp >= 0x60 && cp <= 0x7e)
        cp = dec_graphics[cp - 0x60];
    w = cp_width(cp);
    if (w == 0)
        return; /* combining marks are not kept (the base character stays) */
    if (vt->cur.wrap_pending && (vt->modes & M_AUTOWRAP)) {
        vt->cur.x = 0;
        vt_linefeed(vt);
    }
    vt->cur.wrap_pending = false;
    if (w == 2 && vt->cur.x + 1 >= vt->cols) {
        if (!(vt->modes & M_AUTOWRAP) || vt->cols < 2) {
            w = 1; /* no room and no wrap: shown as one cell */
            cp = 0xfffd;
        } else {
            vt_erase_cells(vt, vt->cur.y, vt->cur.x, vt->cols);
            vt->cur.x = 0;
            vt_linefeed(vt);
        }
    }
    vt_unsplit(vt, vt->cur.x, vt->cur.y);
    if (vt->modes & M_INSERT) {
        unsigned y = vt->cur.y, x = vt->cur.x, n = vt->cols - x;
        if (n > w) {
            /* the cells pushed off the edge must not leave half a wide character */
            vt_unsplit(vt, vt->cols - w, y);
            memmove(vt_at(vt, x + w, y), vt_at(vt, x, y), (size_t)(n - w) * sizeof(struct cell));
        }
    }
    if (w == 2)
        vt_unsplit(vt, vt->cur.x + 1, vt->cur.y);
    vt->last_cp = cp;
    c.cp = cp;
    c.width = w;
    c.attrs = vt->cur.pen.attrs;
    c.fg = vt->cur.pen.fg;
    c.bg = vt->cur.pen.bg;
    *vt_at(vt, vt->cur.x, vt->cur.y) = c;
    if (w == 2) {
        c.cp = 0;
        c.width = 0;
        *vt_at(vt, vt->cur.x + 1, vt->cur.y) = c;
    }
    if (vt->cur.x + w >= vt->cols) {
        vt->cur.x = vt->cols - 1;
        vt->cur.wrap_pending = (vt->modes & M_AUTOWRAP) != 0;
    } else {
        vt->cur.x += w;
    }
}

/* ---- modes and state ---------------------------------------------------------- */

void vt_save_cursor(struct vt *vt)
{
    struct cursor *s = vt->alt_on ? &vt->saved_alt : &vt->saved_main;

    *s = vt->cur;
}

void vt_restore_cursor(struct vt *vt)
{
    const struct cursor *s = vt->alt_on ? &vt->saved_alt : &vt->saved_main;

    vt->cur = *s;
    if (vt->cur.x >= vt->cols)
        vt->cur.x = vt->cols - 1;
    if (vt->cur.y >= vt->rows)
        vt->cur.y = vt->rows - 1;
    if (vt->cur.wrap_pending && vt->cur.x != vt->cols - 1)
        vt->cur.wrap_pending = false;
    /* Under origin mode the cursor stays inside the region (the region may have changed). */
    if (vt->cur.origin && (vt->cur.y < vt->top || vt->cur.y > vt->bot)) {
        vt->cur.y = vt->cur.y < vt->top ? vt->top : vt->bot;
        vt->cur.wrap_pending = false;
    }
}

static void cursor_home_state(struct cursor *c)
{
    memset(c, 0, sizeof(*c));
}

static void alt_screen(struct vt *vt, bool on, bool clear, bool cursor)
{
    if (on == vt->alt_on)
        return;
    if (on) {
        if (cursor)
            vt_save_cursor(vt);
        vt->alt_on = true;
        vt->scr = &vt->alt;
        if (clear)
            vt_fill(vt, &vt->alt, 0, (size_t)vt->cols * vt->rows);
    } else {
        if (clear)
            vt_fill(vt, &vt->alt, 0, (size_t)vt->cols * vt->rows);
        vt->alt_on = false;
        vt->scr = &vt->main;
        if (cursor)
            vt_restore_cursor(vt);
    }
}

void vt_full_reset(struct vt *vt)
{
    vt->alt_on = false;
    vt->scr = &vt->main;
    cursor_home_state(&vt->cur);
    cursor_home_state(&vt->saved_main);
    cursor_home_state(&vt->saved_alt);
    vt->top = 0;
    vt->bot = vt->rows - 1;
    vt->modes = M_AUTOWRAP;
    vt_tabs_default(vt);
    vt_fill(vt, &vt->main, 0, (size_t)vt->cols * vt->rows);
    vt_fill(vt, &vt->alt, 0, (size_t)vt->cols * vt->rows);
}

/* DECSTR: modes, pen and region back to defaults; the screen stays. */
void vt_soft_reset(struct vt *vt)
{
    vt->modes = M_AUTOWRAP;
    memset(&vt->cur.pen, 0, sizeof(vt->cur.pen));
    vt->cur.origin = false;
    vt->cur.g0_graphics = vt->cur.g1_graphics = vt->cur.shifted = false;
    vt->top = 0;
    vt->bot = vt->rows - 1;
    cursor_home_state(vt->alt_on ? &vt->saved_alt : &vt->saved_main);
}

void vt_set_private_mode(struct vt *vt, unsigned m, bool on)
{
    unsigned flag = 0;

    switch (m) {
    case 1:
        flag = M_APPCUR;
        break;
    case 6:
        vt->cur.origin = on;
        vt_move_abs(vt, 0, 0);
        return;
    case 7:
        flag = M_AUTOWRAP;
        break;
    case 25:
        if (on)
            vt->modes &= ~(unsigned)M_HIDECUR;
        else
            vt->modes |= M_HIDECUR;
        return;
    case 47:
    case 1047:
        alt_screen(vt, on, m == 1047 && !on, false);
        return;
    case 1048:
        if (on)
            vt_save_cursor(vt);
        else
            vt_restore_cursor(vt);
        return;
    case 1049:
        alt_screen(vt, on, true, true);
        return;
    case 1000:
        flag = M_MOUSE1000;
        break;
    case 1002:
        flag = M_MOUSE1002;
        break;
    case 1003:
        flag = M_MOUSE1003;
        break;
    case 1006:
        flag = M_MOUSE1006;
        break;
    case 2004:
        flag = M_BRACKET;
        break;
    default:
        return;
    }
    if (on)
        vt->modes |= flag;
    else
        vt->modes &= ~flag;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static unsigned clamp(unsigned v, unsigned max)
{
    return v < 1 ? 1 : v > max ? max : v;
}

static int screen_alloc(struct screen *s, unsigned cols, unsigned rows)
{
    s->store = malloc((size_t)cols * rows * sizeof(struct cell));
    s->row = malloc(rows * sizeof(*s->row));
    if (!s->store || !s->row)
        return -ERR_NOMEM;
    for (unsigned y = 0; y < rows; y++)
        s->row[y] = s->store + (size_t)y * cols;
    return 0;
}

static void screen_free(struct screen *s)
{
    free(s->store);
    free(s->row);
    s->store = NULL;
    s->row = NULL;
}

int vt_new(unsigned cols, unsigned rows, struct vt **out)
{
    struct vt *vt;
    *out = NULL;
    if (!(vt = calloc(1, sizeof(*vt))))
        return -ERR_NOMEM;
    vt->cols = clamp(cols, VT_MAX_COLS);
    vt->rows = clamp(rows, VT_MAX_ROWS);
    vt->tabs = malloc(vt->cols);
    if (screen_alloc(&vt->main, vt->cols, vt->rows) != 0 ||
        screen_alloc(&vt->alt, vt->cols, vt->rows) != 0 || !vt->tabs) {
        vt_free(vt);
        return -ERR_NOMEM;
    }
    vt_full_reset(vt);
    *out = vt;
    return 0;
}

void vt_free(struct vt *vt)
{
    if (!vt)
        return;
    screen_free(&vt->main);
    screen_free(&vt->alt);
    free(vt->tabs);
    free(vt);
}

static void copy_grid(const struct screen *from, unsigned fc, unsigned fr, struct screen *to,
                      unsigned tc, unsigned tr)
{
    unsigned w = fc < tc ? fc : tc, h = fr < tr ? fr : tr;
    struct cell b = {.cp = ' ', .width = 1};

    for (unsigned y = 0; y < tr; y++)
        for (unsigned x = 0; x < tc; x++)
            to->row[y][x] = b;
    for (unsigned y = 0; y < h; y++) {
        memcpy(to->row[y], from->row[y], (size_t)w * sizeof(struct cell));
        /* A wide character cut in half at the new right edge becomes a blank. */
        if (w < fc && w > 0 && to->row[y][w - 1].width == 2) {
            to->row[y][w - 1].cp = ' ';
            to->row[y][w - 1].width = 1;
        }
    }
}

int vt_resize(struct vt *vt, unsigned cols, unsigned rows)
{
    unsigned nc = clamp(cols, VT_MAX_COLS), nr = clamp(rows, VT_MAX_ROWS);
    struct screen m = {0}, a = {0};
    unsigned char *t;

    if (nc == vt->cols && nr == vt->rows)
        return 0;
    t = malloc(nc);
    if (!t || screen_alloc(&m, nc, nr) != 0 || screen_alloc(&a, nc, nr) != 0) {
        free(t);
        screen_free(&m);
        screen_free(&a);
        return -ERR_NOMEM;
    }
    copy_grid(&vt->main, vt->cols, vt->rows, &m, nc, nr);
    copy_grid(&vt->alt, vt->cols, vt->rows, &a, nc, nr);
    for (unsigned i = 0; i < nc; i++)
        t[i] = i < vt->cols ? vt->tabs[i] : (i > 0 && i % 8 == 0);
    screen_free(&vt->main);
    screen_free(&vt->alt);
    free(vt->tabs);
    vt->main = m;
    vt->alt = a;
    vt->tabs = t;
    vt->scr = vt->alt_on ? &vt->alt : &vt->main;
    vt->cols = nc;
    vt->rows = nr;
    vt->top = 0;
    vt->bot = nr - 1;
    {
        struct cursor *cs[3] = {&vt->cur, &vt->saved_main, &vt->saved_alt};
        for (int i = 0; i < 3; i++) {
            if (cs[i]->x >= nc)
                cs[i]->x = nc - 1;
            if (cs[i]->y >= nr)
                cs[i]->y = nr - 1;
            if (cs[i]->x != nc - 1)
                cs[i]->wrap_pending = false;
        }
    }
    return 0;
}

void vt_size(const struct vt *vt, unsigned *cols, unsigned *rows)
{
    *cols = vt->cols;
    *rows = vt->rows;
}

unsigned vt_cell_char(const struct vt *vt, unsigned col, unsigned row)
{
    if (col >= vt->cols || row >= vt->rows)
        return 0;
    return vt_cat(vt, vt->scr, col, row)->cp;
}

void vt_cursor(const struct vt *vt, unsigned *col, unsigned *row)
{
    *col = vt->cur.x;
    *row = vt->cur.y;
}
