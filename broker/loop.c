/* SPDX-License-Identifier: Apache-2.0 */
/* One broker loop: listener, vault link, watchdog, and its thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "custos/client.h"
#include "custos/log.h"

static void on_accept(uv_poll_t *p, int status, int events)
{
    struct bloop *bl = p->data;

    (void)events;
    if (status < 0 || bl->stopping)
        return;
    for (unsigned n = 0; n < 64; n++) { /* bounded: other loops and sessions get their turn */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char addr[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        int fd = accept4(bl->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("loop=%u accept: %s", bl->index, strerror(errno));
            return;
        }
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
            port = ntohs(a->sin6_port);
        }
        bsess_accept(bl, fd, addr, port);
    }
}

static int listen_socket(const struct bconf *conf, int *out)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    int fd, one = 1;

    if (inet_pton(AF_INET, conf->listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)conf->port);
        sl = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, conf->listen, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)conf->port);
        sl = sizeof(struct sockaddr_in6);
    } else {
        log_err("[broker] listen = %s is not an IP address", conf->listen);
        return -ERR_CONFIG;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -ERR_IO;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        log_err("cannot listen on %s port %u: %s", conf->listen, conf->port, strerror(errno));
        close(fd);
        return -ERR_IO;
    }
    *out = fd;
    return 0;
}

static void on_vault_event(void *ctx, const char *type, json_t *data)
{
    bsess_on_event(ctx, type, data);
}

static void on_watchdog(uv_timer_t *t)
{
    bsess_watchdog(t->data);
}

static void on_stop(uv_async_t *a)
{
    struct bloop *bl = a->data;

    if (bl->stopping)
        return;
    bl->stopping = true;
    if (uv_is_active((uv_handle_t *)&bl->lpoll))
        uv_poll_stop(&bl->lpoll);
    uv_close((uv_handle_t *)&bl->lpoll, NULL);
    close(bl->lfd);
    bl->lfd = -1;
    bsess_close_all(bl, "the broker is stopping");
    uv_close((uv_handle_t *)&bl->watchdog, NULL);
    vlink_close(bl->vault);
    uv_close((uv_handle_t *)&bl->stop, NULL);
}

static void run(void *arg)
{
    struct bloop *bl = arg;

    uv_run(&bl->loop, UV_RUN_DEFAULT);
    /* Sessions close asynchronously; whatever is left runs to completion here. */
    uv_run(&bl->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&bl->loop) != 0)
        log_err("loop=%u: handles left open at exit", bl->index);
    ssh_bind_free(bl->bind);
    client_close(bl->sync_vault);
    bl->sync_vault = NULL;
}

int bloop_start(struct bloop *bl)
{
    const struct bconf *conf = bl->conf;
    int r;

    uv_loop_init(&bl->loop);
    if ((r = listen_socket(conf, &bl->lfd)) != 0)
        return r;
    bl->bind = ssh_bind_new();
    if (!bl->bind ||
        ssh_bind_options_set(bl->bind, SSH_BIND_OPTIONS_HOSTKEY, conf->host_key) != SSH_OK) {
        log_err("cannot use host key %s", conf->host_key);
        return -ERR_CONFIG;
    }
    {
        bool no = false;
        ssh_bind_options_set(bl->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
    }
    if ((r = vlink_open(&bl->loop, conf->vault_socket, conf->connect_timeout,
                        bl->index == 0 ? conf->name : NULL, on_vault_event, bl, &bl->vault)) != 0)
        return r;
    uv_poll_init(&bl->loop, &bl->lpoll, bl->lfd);
    bl->lpoll.data = bl;
    uv_poll_start(&bl->lpoll, UV_READABLE, on_accept);
    uv_timer_init(&bl->loop, &bl->watchdog);
    bl->watchdog.data = bl;
    uv_timer_start(&bl->watchdog, on_watchdog, 1000, 1000);
    uv_async_init(&bl->loop, &bl->stop, on_stop);
    bl->stop.data = bl;
    if (uv_thread_create(&bl->thread, run, bl) != 0)
        return -ERR_INTERNAL;
    return 0;
}

void bloop_request_stop(struct bloop *bl)
{
    uv_async_send(&bl->stop);
}
