/* SPDX-License-Identifier: Apache-2.0 */
/* The screen model's state and the operations its parser and snapshot share (internal). */
#ifndef CUSTOS_REC_VT_INTERNAL_H
#define CUSTOS_REC_VT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt.h"

/* Attributes (9 bits of a cell). */
#define A_BOLD 0x001
#define A_DIM 0x002
#define A_ITALIC 0x004
#define A_UNDER 0x008
#define A_BLINK 0x010
#define A_REVERSE 0x020
#define A_INVIS 0x040
#define A_STRIKE 0x080

/* Colours: 0 default; palette 0x01000000|idx; true colour 0x02000000|rgb. */
#define C_PAL 0x01000000u
#define C_RGB 0x02000000u

#define MAX_PARAMS 32 /* a snapshot's SGR takes up to 19 */
#define MAX_INTER 2

struct cell {
    uint32_t cp : 21;   /* character; 0 for the right half of a wide one */
    uint32_t width : 2; /* 1, 2 (left half of a wide char) or 0 (right half) */
    uint32_t attrs : 9;
    uint32_t fg, bg;
};

struct pen {
    uint32_t fg, bg;
    unsigned attrs;
};

struct cursor {
    unsigned x, y;
    struct pen pen;
    bool origin, wrap_pending, g0_graphics, g1_graphics, shifted;
};

/* Modes kept as flags: each changes drawing or what keys send (so replay matches). */
enum {
    M_AUTOWRAP = 1 << 0,  /* ?7 */
    M_ORIGIN = 1 << 1,    /* ?6 */
    M_INSERT = 1 << 2,    /* 4 (IRM) */
    M_HIDECUR = 1 << 3,   /* ?25 reset */
    M_APPCUR = 1 << 4,    /* ?1 */
    M_APPKEYPAD = 1 << 5, /* ESC = */
    M_BRACKET = 1 << 6,   /* ?2004 */
    M_MOUSE1000 = 1 << 7,
    M_MOUSE1002 = 1 << 8,
    M_MOUSE1003 = 1 << 9,
    M_MOUSE1006 = 1 << 10,
};

enum pstate { S_GROUND, S_ESC, S_ESC_INT, S_CSI, S_OSC, S_STR, S_STR_ESC, S_OSC_ESC };

/*
 * A screen is rows of cells reached through row pointers, so that scrolling
 * moves pointers, not cells (output at the bottom of a terminal scrolls on
 * every line).
 */
struct screen {
    struct cell *store; /* rows * cols cells, in no particular row order */
    struct cell **row;  /* row[y]: the cells of row y */
};

struct vt {
    unsigned cols, rows;
    struct screen main, alt, *scr; /* scr is &main or &alt */
    bool alt_on;
    struct cursor cur, saved_main, saved_alt;
    unsigned top, bot; /* scroll region, inclusive, 0-based */
    unsigned modes;
    unsigned char *tabs; /* one byte per column: 1 = tab stop */
    /* parser */
    enum pstate ps;
    uint32_t u8cp;
    unsigned u8need;
    unsigned params[MAX_PARAMS];
    bool sub[MAX_PARAMS]; /* params[i] came after ':' */
    unsigned nparams;
    bool param_started;
    char prefix; /* '?', '>', '<', '=' or 0 */
    char inter[MAX_INTER];
    unsigned ninter;
    bool csi_bad;
    uint32_t u8min;   /* smallest code point the UTF-8 sequence under way may encode */
    uint32_t last_cp; /* for REP (not part of the state a snapshot restores) */
};

/* ---- cells (vt.c) ---- */
static inline struct cell *vt_at(struct vt *vt, unsigned x, unsigned y)
{
    return &vt->scr->row[y][x];
}

struct cell vt_blank(const struct vt *vt);
const struct cell *vt_cat(const struct vt *vt, const struct screen *s, unsigned x, unsigned y);
/* Blank cells [from,to) of screen s (counted row by row) with the pen's background (BCE). */
void vt_fill(struct vt *vt, struct screen *s, size_t from, size_t to);
/* Break a wide character that (x,y) is half of, so no half is left alone. */
void vt_unsplit(struct vt *vt, unsigned x, unsigned y);
void vt_erase_cells(struct vt *vt, unsigned y, unsigned x0, unsigned x1); /* [x0,x1) */
void vt_scroll_up(struct vt *vt, unsigned top, unsigned bot, unsigned n);
void vt_scroll_down(struct vt *vt, unsigned top, unsigned bot, unsigned n);

/* ---- cursor and printing (vt.c) ---- */
void vt_move_to(struct vt *vt, unsigned x, unsigned y);
void vt_move_abs(struct vt *vt, unsigned x, unsigned y);
void vt_linefeed(struct vt *vt);
void vt_reverse_index(struct vt *vt);
void vt_tab_forward(struct vt *vt, unsigned n);
void vt_tab_back(struct vt *vt, unsigned n);
void vt_tabs_default(struct vt *vt);
void vt_put_char(struct vt *vt, uint32_t cp);

/* ---- modes (vt.c) ---- */
void vt_save_cursor(struct vt *vt);
void vt_restore_cursor(struct vt *vt);
void vt_full_reset(struct vt *vt);
void vt_soft_reset(struct vt *vt);
void vt_set_private_mode(struct vt *vt, unsigned m, bool on);

#endif
