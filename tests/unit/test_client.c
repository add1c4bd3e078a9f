/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for client.c framing against a scripted server thread on a real Unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/client.h"
#include "custos/ndjson.h"

#define MAX_REQ 8

/* One fake server: accepts one connection and runs a script on it. */
struct srv {
    char dir[64];
    char path[96];
    int lfd;
    pthread_t th;
    void (*script)(struct srv *s, int fd);
    json_t *req[MAX_REQ]; /* requests the server read, in order */
    int n_req;
    int bad; /* the script saw something wrong (asserted in the main thread) */
};

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(struct srv *s, int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->bad = 1;
            return;
        }
        text += n;
        len -= (size_t)n;
    }
}

static void puts_fd(struct srv *s, int fd, const char *text)
{
    put(s, fd, text, strlen(text));
}

/* Read one request line (byte by byte, so nothing after it is consumed) and keep it. */
static json_t *get_req(struct srv *s, int fd)
{
    char line[4096];
    size_t n = 0;
    json_t *obj = NULL;

    for (;;) {
        char ch;
        ssize_t k = read(fd, &ch, 1);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || n + 1 >= sizeof(line)) {
            s->bad = 1;
            return NULL;
        }
        if (ch == '\n')
            break;
        line[n++] = ch;
    }
    if (ndjson_parse(line, n, &obj) != 0 || s->n_req >= MAX_REQ) {
        s->bad = 1;
        return NULL;
    }
    s->req[s->n_req++] = obj;
    return obj;
}

static long long req_id(json_t *req)
{
    return req ? (long long)json_integer_value(json_object_get(req, "id")) : -1;
}

/* Answer `req` with {"id":<its id>,"result":<result>}. */
static void answer(struct srv *s, int fd, json_t *req, const char *result)
{
    char line[512];

    snprintf(line, sizeof(line), "{\"id\":%lld,\"result\":%s}\n", req_id(req), result);
    puts_fd(s, fd, line);
}

/* Block until the client closes its end. */
static void wait_close(int fd)
{
    char tmp[256];

    while (read(fd, tmp, sizeof(tmp)) > 0 || errno == EINTR)
        ;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    int fd = accept(s->lfd, NULL, NULL);

    if (fd < 0) {
        s->bad = 1;
        return NULL;
    }
    s->script(s, fd);
    close(fd);
    return NULL;
}

static void srv_start(struct srv *s, void (*script)(struct srv *, int))
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    memset(s, 0, sizeof(*s));
    s->script = script;
    snprintf(s->dir, sizeof(s->dir), "/tmp/test_client.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/s.sock", s->dir);
    memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    assert_int_equal(pthread_join(s->th, NULL), 0);
    close(s->lfd);
    unlink(s->path);
    rmdir(s->dir);
    assert_int_equal(s->bad, 0);
}

static void srv_free(struct srv *s)
{
    for (int i = 0; i < s->n_req; i++)
        json_decref(s->req[i]);
}

/* ---- scripts ---------------------------------------------------------------------------- */

static void script_result(struct srv *s, int fd)
{
    json_t *req = get_req(s, fd);

    /* A stale answer and an event come first; the real answer arrives in pieces. */
    puts_fd(s, fd, "{\"id\":99,\"result\":{\"stale\":true}}\n");
    puts_fd(s, fd, "{\"event\":\"grant.revoked\",\"n\":1}\n");
    puts_fd(s, fd, "{\"id\":");
    msleep(20);
    if (req) {
        char tail[64];

        snprintf(tail, sizeof(tail), "%lld,\"res", req_id(req));
        puts_fd(s, fd, tail);
    }
    msleep(20);
    puts_fd(s, fd, "ult\":{\"state\":\"sealed\"}}\n");
    /* Second call: empty lines and CRLF, and events on both sides of the answer in one write. */
    req = get_req(s, fd);
    if (req) {
        char line[256];

        snprintf(line, sizeof(line),
                 "\n\r\n{\"event\":\"e2\"}\n{\"id\":%lld,\"result\":{\"ok\":1}}\r\n"
                 "{\"event\":\"e3\"}\n",
                 req_id(req));
        puts_fd(s, fd, line);
    }
    wait_close(fd);
}

static void test_client_call_result(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL, *ev = NULL, *args = json_pack("{s:i}", "x", 1);
    char *msg = (char *)"untouched";

    srv_start(&s, script_result);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    assert_int_equal(client_call(c, "vault.status", NULL, &res, &msg), 0);
    assert_null(msg);
    assert_string_equal(json_string_value(json_object_get(res, "state")), "sealed");
    json_decref(res);
    assert_int_equal(client_call(c, "target.get", args, &res, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "ok")), 1);
    json_decref(res);
    /* Events come back in arrival order, then there are none. */
    assert_int_equal(client_next_event(c, 0, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "grant.revoked");
    json_decref(ev);
    assert_int_equal(client_next_event(c, 0, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "e2");
    json_decref(ev);
    assert_int_equal(client_next_event(c, 0, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "e3");
    json_decref(ev);
    assert_int_equal(client_next_event(c, 0, &ev), -ERR_TIMEOUT);
    assert_null(ev);
    client_close(c);
    srv_stop(&s);

    /* What went over the wire: incrementing integer ids, op, args ({} when NULL). */
    assert_int_equal(s.n_req, 2);
    assert_int_equal(req_id(s.req[0]), 1);
    assert_string_equal(json_string_value(json_object_get(s.req[0], "op")), "vault.status");
    assert_true(json_is_object(json_object_get(s.req[0], "args")));
    assert_int_equal(json_object_size(json_object_get(s.req[0], "args")), 0);
    assert_int_equal(req_id(s.req[1]), 2);
    assert_true(json_equal(json_object_get(s.req[1], "args"), args));
    assert_int_equal(args->refcount, 1); /* borrowed, not kept */
    json_decref(args);
    srv_free(&s);
}

static void script_errors(struct srv *s, int fd)
{
    char line[256];
    json_t *req;

    req = get_req(s, fd);
    snprintf(line, sizeof(line),
             "{\"id\":%lld,\"error\":{\"code\":\"not_found\",\"message\":\"account not found\"}}\n",
             req_id(req));
    puts_fd(s, fd, line);
    req = get_req(s, fd);
    snprintf(line, sizeof(line), "{\"id\":%lld,\"error\":{\"code\":\"from_the_future\"}}\n",
             req_id(req));
    puts_fd(s, fd, line);
    req = get_req(s, fd);
    snprintf(line, sizeof(line), "{\"id\":%lld,\"error\":{\"code\":\"ok\"}}\n", req_id(req));
    puts_fd(s, fd, line);
    /* The server could not read our id: an id-less error answers the call in flight. */
    get_req(s, fd);
    puts_fd(s, fd,
            "{\"id\":null,\"error\":{\"code\":\"too_long\",\"message\":\"line too long\"}}\n");
    /* Neither result nor error. */
    req = get_req(s, fd);
    snprintf(line, sizeof(line), "{\"id\":%lld}\n", req_id(req));
    puts_fd(s, fd, line);
    req = get_req(s, fd);
    snprintf(line, sizeof(line), "{\"id\":%lld,\"error\":{\"code\":\"sealed\"}}\n", req_id(req));
    puts_fd(s, fd, line);
    wait_close(fd);
}

static void test_client_error_answers(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = (json_t *)1;
    char *msg = NULL;

    srv_start(&s, script_errors);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    assert_int_equal(client_call(c, "account.get", NULL, &res, &msg), -ERR_NOT_FOUND);
    assert_null(res);
    assert_string_equal(msg, "account not found");
    free(msg);
    assert_int_equal(client_call(c, "x", NULL, &res, &msg), -ERR_INTERNAL);
    assert_string_equal(msg, "internal error"); /* no message: the code's own */
    free(msg);
    assert_int_equal(client_call(c, "x", NULL, &res, &msg), -ERR_INTERNAL);
    free(msg);
    assert_int_equal(client_call(c, "x", NULL, &res, &msg), -ERR_TOO_LONG);
    assert_string_equal(msg, "line too long");
    free(msg);
    assert_int_equal(client_call(c, "x", NULL, &res, &msg), -ERR_PARSE);
    assert_null(msg);
    assert_int_equal(client_call(c, "x", NULL, &res, NULL), -ERR_SEALED);
    assert_null(res);
    client_close(c);
    srv_stop(&s);
    srv_free(&s);
}

static void script_late(struct srv *s, int fd)
{
    json_t *first = get_req(s, fd), *second;

    /* Say nothing until the client has given up and sent its next request. */
    second = get_req(s, fd);
    answer(s, fd, first, "{\"late\":true}");
    answer(s, fd, second, "{\"second\":true}");
    wait_close(fd);
}

static void test_client_timeout(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL;
    int64_t t0;

    srv_start(&s, script_late);
    assert_int_equal(client_connect(s.path, 200, &c), 0);
    t0 = now_ms();
    assert_int_equal(client_call(c, "slow", NULL, &res, NULL), -ERR_TIMEOUT);
    assert_true(now_ms() - t0 >= 190);
    assert_true(now_ms() - t0 < 3000);
    assert_null(res);
    /* Still usable: the late answer is dropped, the next one matched by id. */
    assert_int_equal(client_call(c, "fast", NULL, &res, NULL), 0);
    assert_true(json_is_true(json_object_get(res, "second")));
    json_decref(res);
    client_close(c);
    srv_stop(&s);
    srv_free(&s);
}

static void script_close_mid_line(struct srv *s, int fd)
{
    get_req(s, fd);
    puts_fd(s, fd, "{\"event\":\"before\"}\n{\"id\":1,\"resu");
}

static void test_client_peer_closes_mid_line(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL, *ev = NULL;

    srv_start(&s, script_close_mid_line);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    assert_int_equal(client_call(c, "x", NULL, &res, NULL), -ERR_CLOSED);
    assert_null(res);
    srv_stop(&s);
    /* Broken for good, though an event read before the close is still delivered. */
    assert_int_equal(client_call(c, "x", NULL, &res, NULL), -ERR_CLOSED);
    assert_int_equal(client_next_event(c, 1000, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "before");
    json_decref(ev);
    assert_int_equal(client_next_event(c, 1000, &ev), -ERR_CLOSED);
    client_close(c);
    srv_free(&s);
}

static void script_garbage(struct srv *s, int fd)
{
    json_t *req = get_req(s, fd);

    puts_fd(s, fd, "this is not json\n");
    req = get_req(s, fd);
    puts_fd(s, fd, "[1,2,3]\n");
    req = get_req(s, fd);
    puts_fd(s, fd, "{\"neither\":1}\n");
    req = get_req(s, fd);
    answer(s, fd, req, "{\"fine\":true}");
    wait_close(fd);
}

static void test_client_garbage_lines(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL;

    srv_start(&s, script_garbage);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    assert_int_equal(client_call(c, "a", NULL, &res, NULL), -ERR_PARSE);
    assert_int_equal(client_call(c, "b", NULL, &res, NULL), -ERR_PARSE);
    assert_int_equal(client_call(c, "c", NULL, &res, NULL), -ERR_PARSE);
    assert_int_equal(client_call(c, "d", NULL, &res, NULL), 0);
    assert_true(json_is_true(json_object_get(res, "fine")));
    json_decref(res);
    client_close(c);
    srv_stop(&s);
    srv_free(&s);
}

static void script_huge(struct srv *s, int fd)
{
    size_t n = NDJSON_LINE_HARD_MAX + 1;
    char *big = malloc(n + 1);
    json_t *req = get_req(s, fd), *second;

    if (!big) {
        s->bad = 1;
        return;
    }
    memset(big, 'x', n);
    big[n] = '\n';
    put(s, fd, big, n + 1); /* one byte past the hard maximum */
    free(big);
    /* The real answer only once the client gave up on it, so the order is fixed. */
    second = get_req(s, fd);
    answer(s, fd, req, "{\"stale\":true}");
    answer(s, fd, second, "{\"after\":true}");
    wait_close(fd);
}

static void test_client_over_long_answer(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL;

    srv_start(&s, script_huge);
    assert_int_equal(client_connect(s.path, 10000, &c), 0);
    assert_int_equal(client_call(c, "a", NULL, &res, NULL), -ERR_PARSE);
    assert_int_equal(client_call(c, "b", NULL, &res, NULL), 0);
    assert_true(json_is_true(json_object_get(res, "after")));
    json_decref(res);
    client_close(c);
    srv_stop(&s);
    srv_free(&s);
}

static void script_one_answer(struct srv *s, int fd)
{
    json_t *req = get_req(s, fd);

    answer(s, fd, req, "{\"n\":1}");
    wait_close(fd);
}

static void test_client_request_too_long(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *res = NULL, *args, *bad_args;
    char *big = malloc(NDJSON_LINE_HARD_MAX + 1);

    assert_non_null(big);
    memset(big, 'v', NDJSON_LINE_HARD_MAX);
    big[NDJSON_LINE_HARD_MAX] = '\0';
    args = json_pack("{s:s}", "value", big);
    free(big);
    assert_non_null(args);
    srv_start(&s, script_one_answer);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    /* Refused before anything is sent; the connection stays in step. */
    assert_int_equal(client_call(c, "secret.put", args, &res, NULL), -ERR_TOO_LONG);
    assert_int_equal(client_call(c, "secret.put", NULL, &res, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "n")), 1);
    json_decref(res);
    /* Bad arguments. */
    assert_int_equal(client_call(c, NULL, NULL, &res, NULL), -ERR_INVAL);
    bad_args = json_integer(3);
    assert_int_equal(client_call(c, "x", bad_args, &res, NULL), -ERR_INVAL);
    json_decref(bad_args);
    assert_int_equal(client_call(c, "bad\xff", NULL, &res, NULL), -ERR_INVAL);
    client_close(c);
    srv_stop(&s);
    assert_int_equal(s.n_req, 1);
    srv_free(&s);
    json_decref(args);
}

static void script_event_later(struct srv *s, int fd)
{
    msleep(50);
    puts_fd(s, fd, "{\"event\":\"identity.left\",\"who\":\"bob\"}\n");
    wait_close(fd);
}

static void test_client_wait_event(void **state)
{
    struct srv s;
    struct client *c = NULL;
    json_t *ev = NULL;

    srv_start(&s, script_event_later);
    assert_int_equal(client_connect(s.path, 5000, &c), 0);
    assert_int_equal(client_next_event(c, 5000, &ev), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "who")), "bob");
    json_decref(ev);
    client_close(c);
    srv_stop(&s);
}

static void script_nothing(struct srv *s, int fd)
{
    wait_close(fd);
}

static void test_client_connect(void **state)
{
    struct srv s;
    struct client *c = (struct client *)1;
    char longpath[200];

    assert_int_equal(client_connect("/nonexistent/dir/vaultd.sock", 1000, &c), -ERR_CONN);
    assert_null(c);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_int_equal(client_connect(longpath, 1000, &c), -ERR_INVAL);
    assert_null(c);
    /* A socket file nobody listens on. */
    {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        char dir[] = "/tmp/test_client.XXXXXX";
        int fd;

        assert_non_null(mkdtemp(dir));
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dead.sock", dir);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        close(fd);
        assert_int_equal(client_connect(sun.sun_path, 1000, &c), -ERR_CONN);
        unlink(sun.sun_path);
        rmdir(dir);
    }
    /* NULL path: $CUSTOS_SOCKET. */
    srv_start(&s, script_nothing);
    assert_int_equal(setenv("CUSTOS_SOCKET", s.path, 1), 0);
    assert_int_equal(client_connect(NULL, 0, &c), 0);
    unsetenv("CUSTOS_SOCKET");
    client_close(c);
    client_close(NULL);
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_call_result),
        cmocka_unit_test(test_client_error_answers),
        cmocka_unit_test(test_client_timeout),
        cmocka_unit_test(test_client_peer_closes_mid_line),
        cmocka_unit_test(test_client_garbage_lines),
        cmocka_unit_test(test_client_over_long_answer),
        cmocka_unit_test(test_client_request_too_long),
        cmocka_unit_test(test_client_wait_event),
        cmocka_unit_test(test_client_connect),
    };

    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
