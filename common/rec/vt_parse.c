/* SPDX-License-Identifier: Apache-2.0 */
/* The screen model's parser: control characters, ESC, CSI and SGR sequences, UTF-8. */
#include <stdint.h>
#include <string.h>

#include "vt_internal.h"

/* ---- SGR ------------------------------------------------------------------------ */

/* 38/48: "5;n" or "2;r;g;b" (also with ':' and an optional colour-space id). Returns params used.
 */
static unsigned ext_color(const struct vt *vt, unsigned i, uint32_t *out)
{
    unsigned n = vt->nparams;

    if (i + 1 >= n)
        return n - i;
    if (vt->params[i + 1] == 5 && i + 2 < n) {
        *out = C_PAL | (vt->params[i + 2] & 0xff);
        return 3;
    }
    if (vt->params[i + 1] == 2) {
        unsigned j = i + 2;
        /* 38:2:<cs>:r:g:b has a colour-space slot when given with colons and 6 parts */
        if (vt->sub[i + 1] && j + 3 < n && vt->sub[j + 3])
            j++;
        if (j + 2 < n) {
            *out = C_RGB | (vt->params[j] & 0xff) << 16 | (vt->params[j + 1] & 0xff) << 8 |
                   (vt->params[j + 2] & 0xff);
            return j + 3 - i;
        }
    }
    return n - i;
}

static void sgr(struct vt *vt)
{
    struct pen *p = &vt->cur.pen;

    if (vt->nparams == 0) {
        memset(p, 0, sizeof(*p));
        return;
    }
    for (unsigned i = 0; i < vt->nparams;) {
        unsigned v = vt->params[i], used = 1;
        /* A sub-parameter list (4:3, 38:2:…) belongs to the parameter before it. */
        switch (v) {
        case 0:
            memset(p, 0, sizeof(*p));
            break;
        case 1:
            p->attrs |= A_BOLD;
            break;
        case 2:
            p->attrs |= A_DIM;
            break;
        case 3:
            p->attrs |= A_ITALIC;
            break;
        case 4:
            if (i + 1 < vt->nparams && vt->sub[i + 1]) {
                if (vt->params[i + 1] == 0)
                    p->attrs &= ~(unsigned)A_UNDER;
                else
                    p->attrs |= A_UNDER;
                used = 2;
            } else {
                p->attrs |= A_UNDER;
            }
            break;
        case 5:
        case 6:
            p->attrs |= A_BLINK;
            break;
        case 7:
            p->attrs |= A_REVERSE;
            break;
        case 8:
            p->attrs |= A_INVIS;
            break;
        case 9:
            p->attrs |= A_STRIKE;
            break;
        case 21:
            p->attrs |= A_UNDER;
            break;
        case 22:
            p->attrs &= ~(unsigned)(A_BOLD | A_DIM);
            break;
        case 23:
            p->attrs &= ~(unsigned)A_ITALIC;
            break;
        case 24:
            p->attrs &= ~(unsigned)A_UNDER;
            break;
        case 25:
            p->attrs &= ~(unsigned)A_BLINK;
            break;
        case 27:
            p->attrs &= ~(unsigned)A_REVERSE;
            break;
        case 28:
            p->attrs &= ~(unsigned)A_INVIS;
            break;
        case 29:
            p->attrs &= ~(unsigned)A_STRIKE;
            break;
        case 38:
            used = ext_color(vt, i, &p->fg);
            break;
        case 39:
            p->fg = 0;
            break;
        case 48:
            used = ext_color(vt, i, &p->bg);
            break;
        case 49:
            p->bg = 0;
            break;
        default:
            if (v >= 30 && v <= 37)
                p->fg = C_PAL | (v - 30);
            else if (v >= 40 && v <= 47)
                p->bg = C_PAL | (v - 40);
            else if (v >= 90 && v <= 97)
                p->fg = C_PAL | (v - 90 + 8);
            else if (v >= 100 && v <= 107)
                p->bg = C_PAL | (v - 100 + 8);
            break;
        }
        i += used ? used : 1;
        while (i < vt->nparams && vt->sub[i])
            i++; /* sub-parameters we did not use */
    }
}

/* ---- CSI ----------------------------------------------------------------------- */

static unsigned param(const struct vt *vt, unsigned i, unsigned def)
{
    if (i >= vt->nparams || vt->params[i] == 0)
        return def;
    return vt->params[i];
}

static void csi_dispatch(struct vt *vt, unsigned char f)
{
    unsigned n = param(vt, 0, 1), y = vt->cur.y, x = vt->cur.x;

    if (vt->csi_bad)
        return;
    if (vt->prefix == '?') {
        if (vt->ninter == 0 && (f == 'h' || f == 'l'))
            for (unsigned i = 0; i < vt->nparams; i++)
                vt_set_private_mode(vt, vt->params[i], f == 'h');
        return;
    }
    if (vt->prefix) /* '>' '<' '=': queries and key settings we do not model */
        return;
    if (vt->ninter == 1 && vt->inter[0] == '!' && f == 'p') {
        vt_soft_reset(vt);
        return;
    }
    if (vt->ninter)
        return; /* cursor style (SP q) and the like */
    switch (f) {
    case '@': /* ICH */
        if (n > vt->cols - x)
            n = vt->cols - x;
        vt_unsplit(vt, x, y);
        vt_unsplit(vt, vt->cols - n, y); /* what is pushed off the edge */
        memmove(vt_at(vt, x + n, y), vt_at(vt, x, y),
                (size_t)(vt->cols - x - n) * sizeof(struct cell));
        vt_fill(vt, vt->scr, (size_t)y * vt->cols + x, (size_t)y * vt->cols + x + n);
        vt->cur.wrap_pending = false;
        break;
    case 'A':
    case 'F': {
        unsigned lim = y >= vt->top ? vt->top : 0;
        vt_move_to(vt, f == 'F' ? 0 : x, y - lim < n ? lim : y - n);
        break;
    }
    case 'B':
    case 'E': {
        unsigned lim = y <= vt->bot ? vt->bot : vt->rows - 1;
        vt_move_to(vt, f == 'E' ? 0 : x, lim - y < n ? lim : y + n);
        break;
    }
    case 'C':
    case 'a':
        vt_move_to(vt, x + n >= vt->cols ? vt->cols - 1 : x + n, y);
        break;
    case 'D':
        vt_move_to(vt, n > x ? 0 : x - n, y);
        break;
    case 'G':
    case '`':
        vt_move_to(vt, n - 1, y);
        break;
    case 'H':
    case 'f':
        vt_move_abs(vt, param(vt, 1, 1) - 1, param(vt, 0, 1) - 1);
        break;
    case 'I':
        vt_tab_forward(vt, n);
        break;
    case 'Z':
        vt_tab_back(vt, n);
        break;
    case 'J': {
        unsigned m = param(vt, 0, 0);
        size_t here = (size_t)y * vt->cols + x, all = (size_t)vt->cols * vt->rows;
        if (m == 0) {
            vt_unsplit(vt, x, y);
            vt_fill(vt, vt->scr, here, all);
        } else if (m == 1) {
            vt_unsplit(vt, x, y);
            vt_fill(vt, vt->scr, 0, here + 1);
        } else if (m == 2 || m == 3) {
            vt_fill(vt, vt->scr, 0, all);
        }
        vt->cur.wrap_pending = false;
        break;
    }
    case 'K': {
        unsigned m = param(vt, 0, 0);
        if (m == 0)
            vt_erase_cells(vt, y, x, vt->cols);
        else if (m == 1)
            vt_erase_cells(vt, y, 0, x + 1);
        else if (m == 2)
            vt_erase_cells(vt, y, 0, vt->cols);
        vt->cur.wrap_pending = false;
        break;
    }
    case 'L':
        if (y >= vt->top && y <= vt->bot) {
            vt_scroll_down(vt, y, vt->bot, n);
            vt->cur.x = 0;
            vt->cur.wrap_pending = false;
        }
        break;
    case 'M':
        if (y >= vt->top && y <= vt->bot) {
            vt_scroll_up(vt, y, vt->bot, n);
            vt->cur.x = 0;
            vt->cur.wrap_pending = false;
        }
        break;
    case 'P': /* DCH */
        if (n > vt->cols - x)
            n = vt->cols - x;
        vt_unsplit(vt, x, y);
        if (x + n < vt->cols)
            vt_unsplit(vt, x + n, y);
        memmove(vt_at(vt, x, y), vt_at(vt, x + n, y),
                (size_t)(vt->cols - x - n) * sizeof(struct cell));
        vt_fill(vt, vt->scr, (size_t)y * vt->cols + vt->cols - n, (size_t)(y + 1) * vt->cols);
        vt->cur.wrap_pending = false;
        break;
    case 'S':
        vt_scroll_up(vt, vt->top, vt->bot, n);
        break;
    case 'T':
        if (vt->nparams <= 1)
            vt_scroll_down(vt, vt->top, vt->bot, n);
        break;
    case 'X': /* ECH */
        vt_erase_cells(vt, y, x, x + n > vt->cols ? vt->cols : x + n);
        vt->cur.wrap_pending = false;
        break;
    case 'b': /* REP: the last character printed, n more times */
        if (n > (unsigned)vt->cols * vt->rows)
            n = (unsigned)vt->cols * vt->rows;
        while (vt->last_cp && n--)
            vt_put_char(vt, vt->last_cp);
        break;
    case 'd':
        vt_move_abs(vt, x, n - 1);
        break;
    case 'e':
        vt_move_to(vt, x, y + n >= vt->rows ? vt->rows - 1 : y + n);
        break;
    case 'g': {
        unsigned m = param(vt, 0, 0);
        if (m == 0)
            vt->tabs[x] = 0;
        else if (m == 3)
            memset(vt->tabs, 0, vt->cols);
        break;
    }
    case 'h':
    case 'l':
        for (unsigned i = 0; i < vt->nparams; i++)
            if (vt->params[i] == 4) {
                if (f == 'h')
                    vt->modes |= M_INSERT;
                else
                    vt->modes &= ~(unsigned)M_INSERT;
            }
        break;
    case 'm':
        sgr(vt);
        break;
    case 'r': {
        unsigned t = param(vt, 0, 1), b = param(vt, 1, vt->rows);
        if (b > vt->rows)
            b = vt->rows;
        if (t < b) {
            vt->top = t - 1;
            vt->bot = b - 1;
            vt_move_abs(vt, 0, 0);
        }
        break;
    }
    case 's':
        if (vt->nparams == 0)
            vt_save_cursor(vt);
        break;
    case 'u':
        if (vt->nparams == 0)
            vt_restore_cursor(vt);
        break;
    default:
        break; /* DSR, DA, window ops: answers are the terminal's business */
    }
}

/* ---- ESC ----------------------------------------------------------------------- */

static void esc_dispatch(struct vt *vt, unsigned char f)
{
    if (vt->ninter == 1) {
        char i = vt->inter[0];
        if (i == '(')
            vt->cur.g0_graphics = f == '0';
        else if (i == ')')
            vt->cur.g1_graphics = f == '0';
        else if (i == '#' && f == '8') { /* DECALN: fill with E */
            struct cell c = {.cp = 'E', .width = 1};
            for (unsigned y = 0; y < vt->rows; y++)
                for (unsigned x = 0; x < vt->cols; x++)
                    vt->scr->row[y][x] = c;
            vt->top = 0;
            vt->bot = vt->rows - 1;
            vt_move_to(vt, 0, 0);
        }
        return;
    }
    if (vt->ninter)
        return;
    switch (f) {
    case '7':
        vt_save_cursor(vt);
        break;
    case '8':
        vt_restore_cursor(vt);
        break;
    case 'D':
        vt_linefeed(vt);
        break;
    case 'E':
        vt->cur.x = 0;
        vt_linefeed(vt);
        break;
    case 'M':
        vt_reverse_index(vt);
        break;
    case 'H':
        vt->tabs[vt->cur.x] = 1;
        break;
    case 'c':
        vt_full_reset(vt);
        break;
    case '=':
        vt->modes |= M_APPKEYPAD;
        break;
    case '>':
        vt->modes &= ~(unsigned)M_APPKEYPAD;
        break;
    default:
        break;
    }
}

/* ---- the parser ------------------------------------------------------------------ */

static void csi_start(struct vt *vt)
{
    vt->nparams = 0;
    vt->param_started = false;
    vt->prefix = 0;
    vt->ninter = 0;
    vt->csi_bad = false;
    memset(vt->params, 0, sizeof(vt->params));
    memset(vt->sub, 0, sizeof(vt->sub));
}

static void control(struct vt *vt, unsigned char c)
{
    switch (c) {
    case 0x08:
        if (vt->cur.x > 0 && !vt->cur.wrap_pending)
            vt->cur.x--;
        vt->cur.wrap_pending = false;
        break;
    case 0x09:
        vt_tab_forward(vt, 1);
        break;
    case 0x0a:
    case 0x0b:
    case 0x0c:
        vt_linefeed(vt);
        break;
    case 0x0d:
        vt->cur.x = 0;
        vt->cur.wrap_pending = false;
        break;
    case 0x0e:
        vt->cur.shifted = true;
        break;
    case 0x0f:
        vt->cur.shifted = false;
        break;
    default:
        break; /* BEL and the rest draw nothing */
    }
}

static void ground_byte(struct vt *vt, unsigned char c)
{
    if (vt->u8need) {
        if ((c & 0xc0) == 0x80) {
            vt->u8cp = vt->u8cp << 6 | (c & 0x3f);
            if (--vt->u8need == 0) {
                uint32_t cp = vt->u8cp;
                if (cp < vt->u8min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                    cp = 0xfffd; /* overlong, surrogate or out of range */
                if (cp >= 0xa0)  /* C1 controls in UTF-8 draw nothing */
                    vt_put_char(vt, cp);
            }
            return;
        }
        vt->u8need = 0;
        vt_put_char(vt, 0xfffd); /* a sequence cut short */
    }
    if (c < 0x80) {
        vt_put_char(vt, c);
    } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
        vt->u8cp = c & 0x1f;
        vt->u8need = 1;
        vt->u8min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        vt->u8cp = c & 0x0f;
        vt->u8need = 2;
        vt->u8min = 0x800;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
        vt->u8cp = c & 0x07;
        vt->u8need = 3;
        vt->u8min = 0x10000;
    } else {
        vt_put_char(vt, 0xfffd);
    }
}

static void byte(struct vt *vt, unsigned char c)
{
    /* C0 controls act in every state but the strings (as in xterm); CAN/SUB abort. */
    if ((c == 0x18 || c == 0x1a) && vt->ps != S_GROUND) {
        vt->ps = S_GROUND;
        return;
    }
    if (c < 0x20 && vt->ps != S_OSC && vt->ps != S_STR && vt->ps != S_STR_ESC &&
        vt->ps != S_OSC_ESC) {
        if (c == 0x1b) {
            vt->u8need = 0;
            vt->ps = S_ESC;
            vt->ninter = 0;
        } else if (c == 0x18 || c == 0x1a) {
            vt->ps = S_GROUND;
        } else {
            control(vt, c);
        }
        return;
    }
    switch (vt->ps) {
    case S_GROUND:
        if (c == 0x7f)
            return;
        ground_byte(vt, c);
        return;
    case S_ESC:
        if (c == '[') {
            csi_start(vt);
            vt->ps = S_CSI;
        } else if (c == ']') {
            vt->ps = S_OSC;
        } else if (c == 'P' || c == 'X' || c == '^' || c == '_') {
            vt->ps = S_STR;
        } else if (c >= 0x20 && c <= 0x2f) {
            vt->inter[0] = (char)c;
            vt->ninter = 1;
            vt->ps = S_ESC_INT;
        } else {
            if (c >= 0x30 && c < 0x7f)
                esc_dispatch(vt, c);
            vt->ps = S_GROUND;
        }
        return;
    case S_ESC_INT:
        if (c >= 0x20 && c <= 0x2f) {
            if (vt->ninter < MAX_INTER)
                vt->inter[vt->ninter] = (char)c;
            vt->ninter++;
        } else {
            if (c >= 0x30 && c < 0x7f && vt->ninter <= MAX_INTER)
                esc_dispatch(vt, c);
            vt->ps = S_GROUND;
        }
        return;
    case S_CSI:
        if (c >= '0' && c <= '9') {
            if (vt->ninter) {
                vt->csi_bad = true;
                return;
            }
            if (!vt->param_started) {
                if (vt->nparams >= MAX_PARAMS) {
                    vt->csi_bad = true;
                    return;
                }
                vt->nparams++;
                vt->param_started = true;
            }
            unsigned *p = &vt->params[vt->nparams - 1];
            *p = *p > 99999 ? 99999 : *p * 10 + (c - '0');
        } else if (c == ';' || c == ':') {
            if (!vt->param_started) {
                if (vt->nparams >= MAX_PARAMS) {
                    vt->csi_bad = true;
                    return;
                }
                vt->nparams++; /* an empty parameter (default) */
            }
            vt->param_started = false;
            if (vt->nparams < MAX_PARAMS) {
                vt->sub[vt->nparams] = c == ':';
            }
        } else if (c >= 0x3c && c <= 0x3f) {
            if (vt->nparams || vt->prefix)
                vt->csi_bad = true;
            else
                vt->prefix = (char)c;
        } else if (c >= 0x20 && c <= 0x2f) {
            if (vt->ninter < MAX_INTER)
                vt->inter[vt->ninter++] = (char)c;
            else
                vt->csi_bad = true;
        } else if (c >= 0x40 && c <= 0x7e) {
            csi_dispatch(vt, c);
            vt->ps = S_GROUND;
        } else {
            vt->csi_bad = true; /* 0x7f and bytes >= 0x80 inside a CSI */
        }
        return;
    case S_OSC:
        if (c == 0x07)
            vt->ps = S_GROUND;
        else if (c == 0x1b)
            vt->ps = S_OSC_ESC;
        return;
    case S_OSC_ESC:
        vt->ps = c == 0x1b ? S_OSC_ESC : c == '\\' ? S_GROUND : S_OSC;
        return;
    case S_STR:
        if (c == 0x1b)
            vt->ps = S_STR_ESC;
        return;
    case S_STR_ESC:
        vt->ps = c == 0x1b ? S_STR_ESC : c == '\\' ? S_GROUND : S_STR;
        return;
    }
}

/* Can printable ASCII go straight into cells (no wrap, insert, charset or UTF-8 state)? */
static bool plain_text(const struct vt *vt)
{
    return vt->ps == S_GROUND && !vt->u8need && !vt->cur.wrap_pending && !(vt->modes & M_INSERT) &&
           !vt->cur.g0_graphics && !vt->cur.shifted;
}

int vt_feed(struct vt *vt, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0;

    while (i < n) {
        /*
         * Fast path: a run of printable ASCII in plain state, up to the last
         * column (printing there may arm a wrap: the slow path does that).
         */
        if (s[i] >= 0x20 && s[i] < 0x7f && plain_text(vt)) {
            struct cell *row = vt->scr->row[vt->cur.y], c;
            unsigned x = vt->cur.x, last = vt->cols - 1;
            size_t start = i;
            c.width = 1;
            c.attrs = vt->cur.pen.attrs;
            c.fg = vt->cur.pen.fg;
            c.bg = vt->cur.pen.bg;
            while (i < n && x < last && s[i] >= 0x20 && s[i] < 0x7f && row[x].width == 1) {
                c.cp = s[i++];
                row[x++] = c;
            }
            if (i > start) {
                vt->cur.x = x;
                vt->last_cp = s[i - 1];
                continue;
            }
        }
        byte(vt, s[i++]);
    }
    return 0;
}
