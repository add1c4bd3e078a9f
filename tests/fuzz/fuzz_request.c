/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: one request line (ndjson_parse), the shape check of
 * vaultd/server.c on_line (mirrored here: it is static there), the answer
 * the daemon builds for it, and the encoder round trip: ndjson_encode gives
 * one line equal to json_dumps(JSON_COMPACT), which parses back to an equal
 * object and encodes to the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "custos/buf.h"
#include "custos/err.h"
#include "custos/ndjson.h"
#include "fuzz.h"

/* Encode obj to one line and parse it back: must give an equal object and the same bytes again. */
static void round_trip(const json_t *obj, size_t in_len)
{
    /* Compact output is at most ~6 bytes per input byte (\u00XX escapes, %.17g reals). */
    size_t max = 16 * in_len + 1024;
    struct buf out, out2;
    json_t *again = NULL;
    char *dump;

    buf_init(&out, max);
    buf_init(&out2, max);
    FUZZ_CHECK(ndjson_encode(obj, &out) == 0);
    FUZZ_CHECK(out.len >= 2 && out.data[out.len - 1] == '\n');
    FUZZ_CHECK(memchr(out.data, '\n', out.len - 1) == NULL); /* one line, whatever the strings */
    dump = json_dumps(obj, JSON_COMPACT);
    FUZZ_CHECK(dump != NULL);
    FUZZ_CHECK(strlen(dump) == out.len - 1 && memcmp(dump, out.data, out.len - 1) == 0);
    ndjson_free(dump);
    FUZZ_CHECK(ndjson_parse(out.data, out.len - 1, &again) == 0);
    FUZZ_CHECK(json_equal(obj, again));
    FUZZ_CHECK(ndjson_encode(again, &out2) == 0);
    FUZZ_CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    json_decref(again);
    buf_fini(&out);
    buf_fini(&out2);
}

/* The answer server.c writes: {"id": id|null, "error": {"code", "message"}} or "result". */
static void answer(json_t *id, int err, const char *msg, json_t *result)
{
    json_t *ans = json_object(), *e;
    struct buf out;

    FUZZ_CHECK(ans != NULL);
    FUZZ_CHECK(json_object_set(ans, "id", id ? id : json_null()) == 0);
    if (err) {
        e = json_object();
        FUZZ_CHECK(e != NULL);
        FUZZ_CHECK(json_object_set_new(e, "code", json_string(err_name(err))) == 0);
        FUZZ_CHECK(json_object_set_new(e, "message", json_string(msg)) == 0);
        FUZZ_CHECK(json_object_set_new(ans, "error", e) == 0);
    } else {
        FUZZ_CHECK(json_object_set(ans, "result", result) == 0);
    }
    buf_init(&out, NDJSON_LINE_HARD_MAX);
    FUZZ_CHECK(ndjson_encode(ans, &out) == 0);
    buf_fini(&out);
    json_decref(ans);
}

/* What an op handler does with args: read each member by its type. */
static void read_args(const json_t *args)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)args, key, v)
    {
        FUZZ_CHECK(key != NULL && v != NULL);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);

            /* No JSON_ALLOW_NUL: the C string is the whole value. */
            FUZZ_CHECK(s != NULL && strlen(s) == json_string_length(v));
        } else if (json_is_integer(v)) {
            (void)json_integer_value(v);
        }
    }
}

/* Mirror of server.c on_line after ndjson_parse. */
static void shape_check(json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    json_t *jop, *args, *rid, *rargs;
    const char *name;

    if (id && !json_is_integer(id) && !json_is_string(id) && !json_is_null(id)) {
        answer(NULL, -ERR_INVAL, "\"id\" must be an integer or a string", NULL);
        return;
    }
    jop = json_object_get(msg, "op");
    args = json_object_get(msg, "args");
    if (!json_is_string(jop)) {
        answer(id, -ERR_INVAL, "\"op\" must be a string", NULL);
        return;
    }
    if (args && !json_is_object(args) && !json_is_null(args)) {
        answer(id, -ERR_INVAL, "\"args\" must be an object", NULL);
        return;
    }
    name = json_string_value(jop);
    FUZZ_CHECK(name != NULL && strlen(name) == json_string_length(jop));
    /* Accepted: the request keeps its own references, as struct req does. */
    rid = id ? json_incref(id) : json_null();
    rargs = json_is_object(args) ? json_incref(args) : json_object();
    FUZZ_CHECK(rargs != NULL);
    read_args(rargs);
    answer(rid, 0, NULL, rargs);
    answer(rid, -ERR_UNKNOWN_OP, "unknown op", NULL);
    json_decref(rid);
    json_decref(rargs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *msg = NULL;

    fuzz_init();
    if (ndjson_parse((const char *)data, size, &msg) != 0) {
        FUZZ_CHECK(msg == NULL);
        return 0;
    }
    FUZZ_CHECK(json_is_object(msg));
    shape_check(msg);
    round_trip(msg, size);
    json_decref(msg);
    return 0;
}
