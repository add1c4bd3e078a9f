/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking NDJSON client of the vaultd socket: one request in flight, events queued aside. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "custos/client.h"
#include "custos/log.h"
#include "custos/ndjson.h"

#define CLIENT_TIMEOUT_DEFAULT_MS 30000
#define CLIENT_READ_CHUNK 65536
/* Unread events past this mean the caller never drains them: fail rather than drop one. */
#define CLIENT_EVENT_QUEUE_MAX 4096u
/* Poll interval while the listener's backlog is full (connect answers EAGAIN). */
#define CLIENT_BACKLOG_RETRY_MS 10

struct client {
    int fd;
    int timeout_ms; /* < 0: no timeout */
    json_int_t next_id;
    bool broken; /* the stream is unusable: every later call answers -ERR_CLOSED */
    struct ndjson_reader rd;
    json_t *events; /* array of queued events, oldest first */
    char rbuf[CLIENT_READ_CHUNK];
};

/* What the line callback is looking for during one call. */
struct wait_ctx {
    struct client *c;
    json_int_t id;  /* answer awaited; 0 while only events are wanted */
    json_t *answer; /* the matching answer, new reference */
    int err;        /* first malformed line seen (-ERR_PARSE) */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Absolute deadline, or -1 for none. */
static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left;

    if (deadline < 0)
        return -1;
    left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Wait until fd is ready for `events` (retrying on EINTR); *revents is what poll saw. */
static int wait_fd(int fd, short events, int64_t deadline, short *revents)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, remaining_ms(deadline));

        if (n > 0) {
            if (p.revents & POLLNVAL)
                return -ERR_INTERNAL;
            *revents = p.revents;
            return 0;
        }
        if (n == 0)
            return -ERR_TIMEOUT;
        if (errno != EINTR) {
            log_debug("poll failed errno=%d", errno);
            return -ERR_IO;
        }
    }
}

static int on_line(void *ctx, const char *line, size_t len, int err)
{
    struct wait_ctx *w = ctx;
    struct client *c = w->c;
    json_t *msg = NULL, *id;
    int r = 0;

    if (err != 0) {
        log_warn("line from server over limit max=%zu", c->rd.max_line);
        goto bad;
    }
    if (ndjson_parse(line, len, &msg) != 0) {
        log_warn("unparsable line from server len=%zu", len);
        goto bad;
    }
    if (json_object_get(msg, "event")) {
        if (json_array_size(c->events) >= CLIENT_EVENT_QUEUE_MAX) {
            log_err("event queue full max=%u", CLIENT_EVENT_QUEUE_MAX);
            r = -ERR_FULL;
        } else if (json_array_append(c->events, msg) != 0) {
            r = -ERR_NOMEM;
        }
        goto out;
    }
    if (!(id = json_object_get(msg, "id"))) {
        log_warn("line from server is neither answer nor event len=%zu", len);
        goto bad;
    }
    /*
     * One request is in flight at a time, so an error answer without an id
     * (the server could not read ours, e.g. too long) is the answer to it.
     */
    if (w->id != 0 && !w->answer &&
        ((json_is_integer(id) && json_integer_value(id) == w->id) ||
         (json_is_null(id) && json_object_get(msg, "error")))) {
        w->answer = msg;
        msg = NULL;
        goto out;
    }
    /* The late answer to a call that timed out. */
    log_debug("dropping stale answer");
    goto out;
bad:
    if (w->err == 0)
        w->err = -ERR_PARSE;
out:
    json_decref(msg);
    return r;
}

/* One non-blocking read, fed to the line reader. */
static int pump(struct client *c, struct wait_ctx *w)
{
    ssize_t n;
    int r;

    do {
        n = read(c->fd, c->rbuf, sizeof(c->rbuf));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno == ECONNRESET)
            return -ERR_CLOSED;
        log_debug("read failed errno=%d", errno);
        return -ERR_IO;
    }
    if (n == 0) {
        log_debug("server closed partial_line=%d", ndjson_reader_has_partial(&c->rd));
        return -ERR_CLOSED;
    }
    r = ndjson_reader_feed(&c->rd, c->rbuf, (size_t)n, on_line, w);
    /* Answers carry released secrets. */
    sodium_memzero(c->rbuf, (size_t)n);
    return r;
}

/* Write all of p, reading (and queueing) whatever the server sends meanwhile. */
static int send_all(struct client *c, struct wait_ctx *w, const char *p, size_t n, int64_t deadline)
{
    int r = 0;
    short rev;

    while (n > 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);

        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((r = wait_fd(c->fd, POLLOUT | POLLIN, deadline, &rev)) != 0)
                goto out;
            if ((rev & (POLLIN | POLLHUP | POLLERR)) && (r = pump(c, w)) != 0)
                goto out;
            continue;
        }
        if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            r = -ERR_CLOSED;
            goto out;
        }
        log_debug("send failed errno=%d", errno);
        r = -ERR_IO;
        goto out;
    }
out:
    return r;
}

/* Wait for readable data and feed it; -ERR_TIMEOUT at the deadline. */
static int receive(struct client *c, struct wait_ctx *w, int64_t deadline)
{
    short rev;
    int r;

    if ((r = wait_fd(c->fd, POLLIN, deadline, &rev)) != 0)
        return r;
    return pump(c, w);
}

/* After a failure, decide whether the stream is still in step. */
static int fail(struct client *c, int r)
{
    if (r != -ERR_TIMEOUT && r != -ERR_PARSE)
        c->broken = true;
    return r;
}

static int connect_errno(int e, const char *path)
{
    log_debug("connect failed path=%s errno=%d", path, e);
    if (e == EACCES || e == EPERM)
        return -ERR_DENIED;
    return -ERR_CONN;
}

static int connect_path(int fd, const char *path, int64_t deadline)
{
    struct sockaddr_un sun;
    int r = 0, soerr = 0;
    socklen_t sl = sizeof(soerr);
    short rev;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
            goto out;
        if (errno == EAGAIN) {
            /* Backlog full: a Unix socket does not queue us, so try again. */
            if (remaining_ms(deadline) == 0) {
                r = -ERR_TIMEOUT;
                goto out;
            }
            poll(NULL, 0, CLIENT_BACKLOG_RETRY_MS);
            continue;
        }
        if (errno != EINPROGRESS && errno != EINTR) {
            r = connect_errno(errno, path);
            goto out;
        }
        break;
    }
    /* In progress (or interrupted, which also completes asynchronously). */
    if ((r = wait_fd(fd, POLLOUT, deadline, &rev)) != 0)
        goto out;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        r = connect_errno(errno, path);
        goto out;
    }
    if (soerr != 0)
        r = connect_errno(soerr, path);
out:
    return r;
}

int client_connect(const char *path, int timeout_ms, struct client **out)
{
    int r = -ERR_INVAL;
    struct client *c = NULL;

    *out = NULL;
    if (!path)
        path = secure_getenv("CUSTOS_SOCKET");
    if (!path || !*path)
        path = CLIENT_DEFAULT_SOCKET;
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        log_err("socket path too long len=%zu", strlen(path));
        goto out;
    }
    r = -ERR_NOMEM;
    if (!(c = calloc(1, sizeof(*c))))
        goto out;
    c->fd = -1;
    c->timeout_ms = timeout_ms == 0 ? CLIENT_TIMEOUT_DEFAULT_MS : timeout_ms;
    ndjson_reader_init(&c->rd, NDJSON_LINE_HARD_MAX);
    if (!(c->events = json_array()))
        goto out;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        log_err("socket failed errno=%d", errno);
        r = -ERR_IO;
        goto out;
    }
    if ((r = connect_path(c->fd, path, deadline_after(c->timeout_ms))) != 0)
        goto out;
    *out = c;
    c = NULL;
out:
    client_close(c);
    return r;
}

void client_close(struct client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    ndjson_reader_fini(&c->rd);
    json_decref(c->events);
    free(c);
}

/* Turn an answer object into the call's result (and, if asked, the whole error object). */
static int take_answer(json_t *ans, json_t **result, char **errmsg, json_t **error)
{
    json_t *res = json_object_get(ans, "result");
    json_t *e = json_object_get(ans, "error");
    json_t *code, *msg;
    int r;

    if (res && !e) {
        *result = json_incref(res);
        return 0;
    }
    if (res || !json_is_object(e) || !json_is_string(code = json_object_get(e, "code")))
        return -ERR_PARSE;
    r = err_from_name(json_string_value(code));
    if (r == 0) /* "ok" is not an error code */
        r = -ERR_INTERNAL;
    if (error)
        *error = json_incref(e);
    if (errmsg) {
        msg = json_object_get(e, "message");
        if (!(*errmsg = strdup(json_is_string(msg) ? json_string_value(msg) : err_str(r))))
            return -ERR_NOMEM;
    }
    return r;
}

static int call(struct client *c, const char *op, json_t *args, json_t **result, char **errmsg,
                json_t **error)
{
    int r = -ERR_INVAL;
    json_t *req = NULL;
    char *line = NULL;
    size_t need = 0;
    int64_t deadline;
    struct wait_ctx w = {.c = c};

    *result = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (error)
        *error = NULL;
    if (!c || !op || (args && !json_is_object(args)))
        goto out;
    if (c->broken) {
        r = -ERR_CLOSED;
        goto out;
    }
    deadline = deadline_after(c->timeout_ms);
    w.id = ++c->next_id;
    r = -ERR_NOMEM;
    if (!(req = json_object()) || json_object_set_new(req, "id", json_integer(w.id)) != 0)
        goto out;
    r = -ERR_INVAL; /* json_string refuses invalid UTF-8 */
    if (json_object_set_new(req, "op", json_string(op)) != 0)
        goto out;
    if (json_object_set_new(req, "args", args ? json_incref(args) : json_object()) != 0)
        goto out;
    /* Size first, so an oversized request is refused before anything is allocated. */
    need = json_dumpb(req, NULL, 0, JSON_COMPACT);
    if (need == 0)
        goto out;
    r = -ERR_TOO_LONG;
    if (need > NDJSON_LINE_HARD_MAX)
        goto out;
    r = -ERR_NOMEM;
    /* Exact size, no realloc: the request may carry a secret and is wiped below. */
    if (!(line = malloc(need + 1)))
        goto out;
    if (json_dumpb(req, line, need, JSON_COMPACT) != need) {
        r = -ERR_INTERNAL;
        goto out;
    }
    line[need] = '\n';
    if ((r = send_all(c, &w, line, need + 1, deadline)) != 0) {
        /* Half a request on the wire: the stream is out of step. */
        c->broken = true;
        goto out;
    }
    while (!w.answer) {
        if (w.err) {
            r = fail(c, w.err);
            goto out;
        }
        if ((r = receive(c, &w, deadline)) != 0) {
            r = fail(c, r);
            goto out;
        }
    }
    r = take_answer(w.answer, result, errmsg, error);
out:
    if (line) {
        sodium_memzero(line, need + 1);
        free(line);
    }
    json_decref(req);
    json_decref(w.answer);
    return r;
}

int client_call(struct client *c, const char *op, json_t *args, json_t **result, char **errmsg)
{
    return call(c, op, args, result, errmsg, NULL);
}

int client_call_ex(struct client *c, const char *op, json_t *args, json_t **result, json_t **error)
{
    return call(c, op, args, result, NULL, error);
}

int client_next_event(struct client *c, int timeout_ms, json_t **event)
{
    int r = 0;
    int64_t deadline = deadline_after(timeout_ms);
    struct wait_ctx w = {.c = c};

    *event = NULL;
    for (;;) {
        if (json_array_size(c->events) > 0) {
            *event = json_incref(json_array_get(c->events, 0));
            if (json_array_remove(c->events, 0) != 0) {
                json_decref(*event);
                *event = NULL;
                r = -ERR_INTERNAL;
            }
            goto out;
        }
        if (w.err) {
            r = fail(c, w.err);
            goto out;
        }
        if (c->broken) {
            r = -ERR_CLOSED;
            goto out;
        }
        if ((r = receive(c, &w, deadline)) != 0) {
            r = fail(c, r);
            goto out;
        }
    }
out:
    return r;
}
