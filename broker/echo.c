/* SPDX-License-Identifier: Apache-2.0 */
/* Keystrokes held until the target's output shows whether it echoed them. */
#include <string.h>

#include "echo.h"

void echo_init(struct echo *e)
{
    memset(e, 0, sizeof(*e));
}

static bool printable(unsigned char c)
{
    return c >= 0x20 && c != 0x7f; /* UTF-8 bytes too: they come back as they went */
}

static bool is_enter(unsigned char c)
{
    return c == '\r' || c == '\n';
}

/*
 * Is the next input byte c (in order) an editing key: a control byte, or part
 * of an escape sequence (arrows, function keys, Alt-x)?  Those are kept as
 * typed; only text is checked against the echo.
 */
static bool editing(struct echo *e, unsigned char c)
{
    switch (e->iesc) {
    case 1:
        e->iesc = c == '[' || c == 'O' ? 2 : 0;
        return true;
    case 2:
        if (c >= 0x40 && c <= 0x7e)
            e->iesc = 0;
        return true;
    default:
        break;
    }
    if (c == 0x1b) {
        e->iesc = 1;
        return true;
    }
    return !printable(c);
}

/* Decided bytes of the first key go out as one run; the key leaves when all are decided. */
struct run {
    bool open, kept;
    uint64_t t;
    size_t from, n;
};

static void run_end(struct echo *e, struct run *r, const struct echo_ops *ops)
{
    if (!r->open || r->n == 0) {
        r->open = false;
        return;
    }
    if (r->kept)
        ops->kept(ops->ctx, r->t, e->hold + r->from, r->n);
    else
        ops->masked(ops->ctx, r->t, r->n);
    r->open = false;
}

static void decide(struct echo *e, struct run *r, size_t at, bool kept, const struct echo_ops *ops)
{
    uint64_t t = e->keys[0].t_us;

    if (r->open && (r->kept != kept || r->t != t || r->from + r->n != at))
        run_end(e, r, ops);
    if (!r->open) {
        r->open = true;
        r->kept = kept;
        r->t = t;
        r->from = at;
        r->n = 0;
    }
    r->n++;
}

/* Drop the first key (all its bytes decided) from hold. */
static void pop_key(struct echo *e)
{
    uint32_t len = e->keys[0].off + e->keys[0].len;

    memmove(e->hold, e->hold + len, e->hold_len - len);
    e->hold_len -= len;
    memmove(e->keys, e->keys + 1, (e->nkeys - 1) * sizeof(e->keys[0]));
    e->nkeys--;
    for (size_t i = 0; i < e->nkeys; i++)
        e->keys[i].off -= len;
}

/* The first key's bytes from its current start: decided ones are cut from its front. */
static void advance_first(struct echo *e, uint32_t k)
{
    e->keys[0].off += k;
    e->keys[0].len -= k;
}

/* Decide every held key as not echoed (oldest first); keys past `until` (exclusive) stay. */
static void mask_keys(struct echo *e, size_t until, const struct echo_ops *ops)
{
    struct run r = {0};

    while (e->nkeys && until) {
        size_t base = e->keys[0].off;
        for (uint32_t i = 0; i < e->keys[0].len; i++) {
            /* Enter and editing keys are never secret: kept as typed */
            decide(e, &r, base + i, editing(e, e->hold[base + i]), ops);
        }
        run_end(e, &r, ops);
        advance_first(e, e->keys[0].len);
        pop_key(e);
        until--;
    }
}

void echo_input(struct echo *e, uint64_t t_us, const void *p, size_t n, const struct echo_ops *ops)
{
    const unsigned char *s = p;

    while (n) {
        size_t k = n;
        /* make room: the oldest keys are decided as not echoed */
        while (e->nkeys == ECHO_KEYS_MAX || (e->hold_len + 1 > ECHO_HOLD_MAX && e->nkeys))
            mask_keys(e, 1, ops);
        if (k > ECHO_HOLD_MAX - e->hold_len)
            k = ECHO_HOLD_MAX - e->hold_len;
        memcpy(e->hold + e->hold_len, s, k);
        e->keys[e->nkeys].t_us = t_us;
        e->keys[e->nkeys].off = (uint32_t)e->hold_len;
        e->keys[e->nkeys].len = (uint32_t)k;
        e->nkeys++;
        e->hold_len += k;
        s += k;
        n -= k;
    }
}

/*
 * The next byte of output that echo could be: escape sequences and control
 * bytes other than CR, LF and BS are skipped.  -1 when the output is used up.
 */
static int next_visible(struct echo *e, const unsigned char *p, size_t n, size_t *i)
{
    while (*i < n) {
        unsigned char c = p[(*i)++];
        switch (e->esc) {
        case 1:
            e->esc = c == '[' ? 2 : (c == ']' || c == 'P' || c == '_' || c == '^') ? 3 : 0;
            continue;
        case 2:
            if (c >= 0x40 && c <= 0x7e)
                e->esc = 0;
            continue;
        case 3:
            if (c == 0x07 || c == 0x1b) /* BEL, or ESC of ST ("ESC \\": the '\\' is skipped next) */
                e->esc = c == 0x1b ? 1 : 0;
            continue;
        default:
            break;
        }
        if (c == 0x1b) {
            e->esc = 1;
            continue;
        }
        if (printable(c) || c == '\r' || c == '\n' || c == '\b')
            return c;
    }
    return -1;
}

void echo_output(struct echo *e, const void *data, size_t n, const struct echo_ops *ops)
{
    const unsigned char *p = data;
    struct run r = {0};
    size_t i = 0;

    while (e->nkeys) {
        size_t base = e->keys[0].off;
        unsigned char c = e->hold[base];
        size_t save = i;
        int esc_save = e->esc;
        int o;

        if (e->iesc || c == 0x1b) {
            editing(e, c); /* a sequence in the input: kept, matches no output */
            decide(e, &r, base, true, ops);
            goto next;
        }
        o = next_visible(e, p, n, &i);

        if (o < 0) {
            /* the output is used up; what it showed decided nothing more */
            i = save;
            e->esc = esc_save;
            break;
        }
        if (printable(c)) {
            if (o == c) {
                decide(e, &r, base, true, ops);
            } else {
                decide(e, &r, base, false, ops); /* something else came back: not echoed */
                i = save;                        /* that output may be the next key's echo */
                e->esc = esc_save;
            }
        } else if (is_enter(c)) {
            decide(e, &r, base, true, ops);
            if (o == '\r' || o == '\n') {
                size_t j = i;
                int esc2 = e->esc;
                int o2 = next_visible(e, p, n, &j);
                if ((o == '\r' && o2 == '\n') || (o == '\n' && o2 == '\r'))
                    i = j;
                else
                    e->esc = esc2;
            } else {
                i = save;
                e->esc = esc_save;
            }
        } else {
            /* editing: Backspace comes back as "\b \b" (or \b and erase-line); others as they do */
            decide(e, &r, base, true, ops);
            if ((c == 0x7f || c == 0x08) && o == '\b') {
                size_t j = i;
                int o2 = next_visible(e, p, n, &j);
                if (o2 == ' ') {
                    size_t k = j;
                    if (next_visible(e, p, n, &k) == '\b')
                        j = k;
                    i = j;
                }
            } else {
                i = save;
                e->esc = esc_save;
            }
        }
    next:
        advance_first(e, 1);
        if (e->keys[0].len == 0) {
            run_end(e, &r, ops);
            pop_key(e);
        }
    }
    run_end(e, &r, ops);
    /* the rest of the output (prompts, completions, redraws) is the target's own */
    while (i < n) {
        int o = next_visible(e, p, n, &i);
        if (o < 0)
            break;
    }
}

void echo_expire(struct echo *e, uint64_t now_us, const struct echo_ops *ops)
{
    size_t old = 0;

    while (old < e->nkeys && now_us >= e->keys[old].t_us + ECHO_WAIT_US)
        old++;
    mask_keys(e, old, ops);
}

void echo_flush(struct echo *e, const struct echo_ops *ops)
{
    mask_keys(e, e->nkeys, ops);
}
