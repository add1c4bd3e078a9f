/* SPDX-License-Identifier: Apache-2.0 */
/* Output of custos: aligned tables, key: value objects, ISO 8601 times and raw JSON lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define OUT_CELL_MAX 4096u /* one rendered value */
#define OUT_TABLE_MAX (64u << 20)

void out_dump_free(char *s)
{
    json_malloc_t m;
    json_free_t f;

    if (!s)
        return;
    json_get_alloc_funcs(&m, &f);
    if (f)
        f(s);
    else
        free(s);
}

void out_time_format(long long t, char *dst, size_t n)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (!gmtime_r(&tt, &tm) || strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(dst, n, "%lld", t);
}

static bool is_time_key(const char *key)
{
    size_t len = key ? strlen(key) : 0;

    return (len > 3 && strcmp(key + len - 3, "_at") == 0) || (key && strcmp(key, "time") == 0);
}

/*
 * Names and messages come from the vault, but meta fields and hostkeys are
 * free text set by other users: never let them move the cursor or recolour
 * the terminal.  C0, DEL and the UTF-8 encoded C1 range become '?'.
 */
static int append_clean(struct buf *dst, const char *s, size_t len)
{
    int r = 0;

    for (size_t i = 0; i < len && r == 0; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f) {
            r = buf_append(dst, "?", 1);
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            r = buf_append(dst, "?", 1);
            i++;
        } else {
            r = buf_append(dst, s + i, 1);
        }
    }
    return r;
}

int out_value_format(const char *key, const json_t *v, struct buf *dst)
{
    int r = 0;
    char tmp[OUT_TIME_LEN];
    char *js = NULL;

    if (!v || json_is_null(v)) {
        r = buf_append(dst, "-", 1);
    } else if (json_is_string(v)) {
        r = append_clean(dst, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        if (is_time_key(key)) {
            out_time_format((long long)json_integer_value(v), tmp, sizeof(tmp));
            r = buf_append(dst, tmp, strlen(tmp));
        } else {
            r = buf_printf(dst, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        }
    } else if (json_is_real(v) && is_time_key(key)) {
        out_time_format((long long)json_real_value(v), tmp, sizeof(tmp));
        r = buf_append(dst, tmp, strlen(tmp));
    } else if (json_is_real(v)) {
        r = buf_printf(dst, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        r = json_is_true(v) ? buf_append(dst, "yes", 3) : buf_append(dst, "no", 2);
    } else {
        js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!js) {
            r = -ERR_NOMEM;
            goto out;
        }
        r = append_clean(dst, js, strlen(js));
    }
out:
    out_dump_free(js);
    return r;
}

/* Display width: count UTF-8 lead bytes, not bytes. */
static size_t width_of(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static int pad(FILE *f, size_t n)
{
    for (; n > 0; n--)
        if (fputc(' ', f) == EOF)
            return -ERR_IO;
    return 0;
}

int out_table(FILE *f, const struct out_col *cols, size_t ncols, const json_t *rows)
{
    int r = 0;
    size_t nrows = json_is_array(rows) ? json_array_size(rows) : 0;
    size_t *width = NULL;
    size_t *start = NULL; /* offset of each cell in cells.data, row-major */
    struct buf cells;

    buf_init(&cells, OUT_TABLE_MAX);
    width = calloc(ncols ? ncols : 1, sizeof(*width));
    start = calloc((nrows + 1) * (ncols ? ncols : 1), sizeof(*start));
    if (!width || !start) {
        r = -ERR_NOMEM;
        goto out;
    }
    /* Row 0 is the header; cells are stored NUL-separated in one buffer. */
    for (size_t row = 0; row <= nrows; row++) {
        const json_t *obj = row ? json_array_get(rows, row - 1) : NULL;

        for (size_t c = 0; c < ncols; c++) {
            start[row * ncols + c] = cells.len;
            if (row == 0)
                r = buf_append(&cells, cols[c].title, strlen(cols[c].title));
            else
                r = out_value_format(cols[c].key, json_object_get(obj, cols[c].key), &cells);
            if (r == 0)
                r = buf_append(&cells, "", 1);
            if (r != 0)
                goto out;
        }
    }
    for (size_t row = 0; row <= nrows; row++)
        for (size_t c = 0; c < ncols; c++) {
            size_t w = width_of(cells.data + start[row * ncols + c]);

            if (w > width[c])
                width[c] = w;
        }
    for (size_t row = 0; row <= nrows; row++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = cells.data + start[row * ncols + c];

            if (fputs(cell, f) == EOF) {
                r = -ERR_IO;
                goto out;
            }
            if (c + 1 < ncols && (r = pad(f, width[c] - width_of(cell) + 2)) != 0)
                goto out;
        }
        if (fputc('\n', f) == EOF) {
            r = -ERR_IO;
            goto out;
        }
    }
out:
    buf_fini(&cells);
    free(width);
    free(start);
    return r;
}

static bool in_order(const char *const *order, const char *key)
{
    for (size_t i = 0; order && order[i]; i++)
        if (strcmp(order[i], key) == 0)
            return true;
    return false;
}

static int print_line(FILE *f, const char *key, const json_t *v, size_t width)
{
    int r = 0;
    struct buf val;

    buf_init(&val, OUT_CELL_MAX * 16);
    if ((r = out_value_format(key, v, &val)) != 0)
        goto out;
    if (fprintf(f, "%s:", key) < 0 || pad(f, width - strlen(key) + 1) != 0 ||
        fprintf(f, "%s\n", val.data ? val.data : "") < 0)
        r = -ERR_IO;
out:
    buf_fini(&val);
    return r;
}

int out_object(FILE *f, const json_t *obj, const char *const *order)
{
    int r = 0;
    size_t width = 0;
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return -ERR_PARSE;
    for (size_t i = 0; order && order[i]; i++)
        if (json_object_get(obj, order[i]) && strlen(order[i]) > width)
            width = strlen(order[i]);
    json_object_foreach((json_t *)obj, key, v) if (strlen(key) > width) width = strlen(key);
    for (size_t i = 0; order && order[i]; i++) {
        if (!(v = json_object_get(obj, order[i])))
            continue;
        if ((r = print_line(f, order[i], v, width)) != 0)
            goto out;
    }
    json_object_foreach((json_t *)obj, key, v)
    {
        if (in_order(order, key))
            continue;
        if ((r = print_line(f, key, v, width)) != 0)
            goto out;
    }
out:
    return r;
}

int out_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    if (fd == 1 && fflush(stdout) != 0)
        return -ERR_IO;
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -ERR_IO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int out_json(const json_t *v)
{
    int r = 0;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (!s)
        return -ERR_NOMEM;
    if ((r = out_write_all(1, s, strlen(s))) == 0)
        r = out_write_all(1, "\n", 1);
    out_dump_free(s); /* the result may hold a secret: the wiping allocator clears it */
    return r;
}
