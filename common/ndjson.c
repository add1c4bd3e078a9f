/* SPDX-License-Identifier: Apache-2.0 */
/* NDJSON framing: bounded line reader, compact encoder and a wiping allocator for jansson. */
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custos/log.h"
#include "custos/ndjson.h"

void ndjson_reader_init(struct ndjson_reader *r, size_t max_line)
{
    if (max_line == 0)
        max_line = NDJSON_LINE_DEFAULT;
    if (max_line > NDJSON_LINE_HARD_MAX)
        max_line = NDJSON_LINE_HARD_MAX;
    buf_init(&r->line, max_line);
    r->max_line = max_line;
    r->discarding = false;
}

static void wipe_line(struct ndjson_reader *r)
{
    if (r->line.data)
        sodium_memzero(r->line.data, r->line.cap);
    r->line.len = 0;
}

void ndjson_reader_fini(struct ndjson_reader *r)
{
    wipe_line(r);
    buf_fini(&r->line);
    r->discarding = false;
}

bool ndjson_reader_has_partial(const struct ndjson_reader *r)
{
    return r->line.len > 0 || r->discarding;
}

/*
 * The limit counts every byte before the '\n', so a CRLF line may carry one
 * byte less than an LF line: the '\r' is only known to be a line ending once
 * the '\n' arrives, possibly in a later read, and the buffer never grows past
 * max_line.
 */
int ndjson_reader_feed(struct ndjson_reader *r, const char *data, size_t len, ndjson_line_cb cb,
                       void *ctx)
{
    int ret = 0;

    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t seg = nl ? (size_t)(nl - data) : len;
        size_t used = nl ? seg + 1 : seg;

        if (r->discarding) {
            if (nl)
                r->discarding = false;
        } else if (seg > r->max_line - r->line.len) {
            /* Refuse before buffering: the rest of the line is dropped as it arrives. */
            wipe_line(r);
            r->discarding = nl == NULL;
            if ((ret = cb(ctx, NULL, 0, -ERR_TOO_LONG)) != 0)
                goto out;
        } else {
            if ((ret = buf_append(&r->line, data, seg)) != 0) {
                /* Cannot be TOO_LONG (checked above): out of memory. */
                wipe_line(r);
                r->discarding = nl == NULL;
                goto out;
            }
            if (nl) {
                size_t n = r->line.len;

                if (n > 0 && r->line.data[n - 1] == '\r')
                    r->line.data[--n] = '\0';
                /* Empty lines are keep-alives, not requests. */
                if (n > 0)
                    ret = cb(ctx, r->line.data, n, 0);
                /* The line may have carried a secret (a passphrase, a value). */
                wipe_line(r);
                if (ret != 0)
                    goto out;
            }
        }
        data += used;
        len -= used;
    }
out:
    return ret;
}

int ndjson_parse(const char *line, size_t len, json_t **out)
{
    int r = -ERR_PARSE;
    json_t *obj = NULL;
    json_error_t jerr;

    *out = NULL;
    /* jansson would reject it too, but NUL never belongs in a request line. */
    if (!line || memchr(line, '\0', len) != NULL)
        goto out;
    obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj || !json_is_object(obj))
        goto out;
    *out = obj;
    obj = NULL;
    r = 0;
out:
    json_decref(obj);
    return r;
}

static int encode_cb(const char *buffer, size_t size, void *data)
{
    return buf_append(data, buffer, size) == 0 ? 0 : -1;
}

int ndjson_encode(const json_t *obj, struct buf *out)
{
    int r = -ERR_INVAL;
    size_t orig = out->len;
    size_t need;

    if (!obj)
        goto out;
    /* Check the size before allocating: a huge answer must not grow the buffer first. */
    need = json_dumpb(obj, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    if (need == 0)
        goto out;
    r = -ERR_TOO_LONG;
    if (need >= out->max || out->len > out->max - need - 1)
        goto out;
    r = -ERR_NOMEM;
    if (json_dump_callback(obj, encode_cb, out, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        goto out;
    if ((r = buf_append(out, "\n", 1)) != 0)
        goto out;
    r = 0;
out:
    if (r != 0 && out->len > orig) {
        sodium_memzero(out->data + orig, out->len - orig);
        out->len = orig;
        out->data[orig] = '\0';
    }
    return r;
}

/*
 * The size to wipe comes from malloc_usable_size() rather than from a header
 * in front of the block: blocks stay plain malloc blocks, so code that hands
 * json_dumps() output to free() (as jansson documents) still works, it only
 * misses the wipe.  A header would turn that free() into heap corruption.
 */
void ndjson_free(void *p)
{
    if (!p)
        return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

void ndjson_use_wiping_allocator(void)
{
    json_set_alloc_funcs(malloc, ndjson_free);
}
