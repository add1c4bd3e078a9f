/* SPDX-License-Identifier: Apache-2.0 */
/* The typed-line editor: what an admin's keys make of a shell line, and whether it was echoed. */
#include <string.h>

#include "lineedit.h"

void lineedit_reset(struct lineedit *le)
{
    le->len = 0;
    le->unknown = false;
    le->echo_len = 0;
}

size_t lineedit_pending(const struct lineedit *le)
{
    return le->len;
}

bool lineedit_utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], cp, k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false; /* a continuation byte first, C0/C1 (overlong), or past U+10FFFF */
        }
        if (n - i <= k)
            return false;
        for (unsigned j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

void lineedit_echo(struct lineedit *le, const char *d, size_t n)
{
    if (n >= sizeof(le->echo)) {
        memcpy(le->echo, d + n - sizeof(le->echo), sizeof(le->echo));
        le->echo_len = sizeof(le->echo);
        return;
    }
    if (le->echo_len + n > sizeof(le->echo)) {
        size_t drop = le->echo_len + n - sizeof(le->echo);

        memmove(le->echo, le->echo + drop, le->echo_len - drop);
        le->echo_len -= drop;
    }
    memcpy(le->echo + le->echo_len, d, n);
    le->echo_len += n;
}

/*
 * Did the target echo the line's last characters?  Four are enough to tell
 * a shell that prints what is typed from a prompt that prints nothing.
 */
static bool is_echoed(const struct lineedit *le)
{
    size_t k = le->len < 4 ? le->len : 4;

    return k > 0 && le->echo_len >= k &&
           memmem(le->echo, le->echo_len, le->line + le->len - k, k) != NULL;
}

/* The line as it stands, for the owner (valid until the next call). */
static void snapshot(struct lineedit *le, struct lineedit_line *out)
{
    le->line[le->len] = '\0';
    out->text = le->line;
    out->len = le->len;
    /* Not UTF-8: it cannot be audited, and readline may take such bytes as Meta keys. */
    out->unknown = le->unknown || !lineedit_utf8_valid(le->line, le->len);
    out->echoed = is_echoed(le);
}

static void append(struct lineedit *le, unsigned char c)
{
    if (le->len < LINEEDIT_MAX)
        le->line[le->len++] = (char)c;
    else
        le->unknown = true;
}

/* Delete the last character (a UTF-8 sequence counts as one). */
static void erase_char(struct lineedit *le)
{
    while (le->len > 0 && ((unsigned char)le->line[--le->len] & 0xc0) == 0x80)
        ;
}

static void erase_word(struct lineedit *le)
{
    while (le->len > 0 && le->line[le->len - 1] == ' ')
        le->len--;
    while (le->len > 0 && le->line[le->len - 1] != ' ')
        le->len--;
}

size_t lineedit_feed(struct lineedit *le, const char *d, size_t n, enum lineedit_stop *stop,
                     struct lineedit_line *out)
{
    *stop = LINEEDIT_MORE;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];

        /* A control character ends any escape sequence and counts on its own (ESC ^M). */
        if (le->esc == 1 && c >= 0x20) {
            le->esc = c == '[' || c == 'O' ? 2 : 0;
            le->unknown = true;
            continue;
        }
        if (le->esc == 2 && c >= 0x20) {
            if (c >= 0x40 && c <= 0x7e)
                le->esc = 0;
            continue;
        }
        le->esc = 0;
        switch (c) {
        case 0x1b:
            le->esc = 1;
            break;
        case '\r':
        case '\n':
            snapshot(le, out);
            le->len = 0;
            le->unknown = false;
            le->echo_len = 0;
            *stop = LINEEDIT_ENTER;
            return i + 1;
        case 0x7f:
        case 0x08:
            erase_char(le);
            break;
        case 0x03: /* ^C: the shell discards the whole line */
            lineedit_reset(le);
            break;
        case 0x15: /* ^U erases back to the cursor: after cursor keys, what stays is unknown */
            le->len = 0;
            le->echo_len = 0;
            break;
        case 0x17: /* ^W */
            erase_word(le);
            break;
        default:
            if (c >= 0x20) {
                append(le, c);
                break;
            }
            /* Other keys may run the line (^O, ^X^E, a key bound to accept-line). */
            snapshot(le, out);
            le->unknown = true;
            *stop = LINEEDIT_KEY;
            return i + 1;
        }
    }
    return n;
}

/* Does the line so far end in an unescaped backslash (the newline continues it)? */
static bool is_continued(const struct lineedit *le)
{
    size_t k = 0;

    while (k < le->len && le->line[le->len - 1 - k] == '\\')
        k++;
    return k % 2 == 1;
}

size_t lineedit_feed_raw(struct lineedit *le, const char *d, size_t n, bool *done,
                         struct lineedit_line *out)
{
    *done = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];

        if (c != '\n' || is_continued(le)) {
            /*
             * A control byte (NUL above all: the shell drops it, a check
             * would stop at it) makes the line unknown.
             */
            if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
                le->unknown = true;
            append(le, c);
            continue;
        }
        snapshot(le, out);
        out->echoed = true;
        le->len = 0;
        le->unknown = false;
        *done = true;
        return i + 1;
    }
    return n;
}

void lineedit_join(const char *line, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *line && o + 1 < outlen; line++) {
        if (line[0] == '\\' && line[1] == '\n') {
            line++;
            continue;
        }
        out[o++] = *line;
    }
    out[o] = '\0';
}
