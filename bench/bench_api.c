/* SPDX-License-Identifier: Apache-2.0 */
/* Socket API throughput of custos-vaultd against a bare AF_UNIX round trip, in one run. */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "custos/client.h"
#include "custos/ndjson.h"
#include "custos/secbuf.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The floor: a thread answering each request line with a line of the same size. */
static void *echo_thread(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

static double floor_rate(unsigned iters)
{
    static const char req[] =
        "{\"id\":1,\"op\":\"secret.get\",\"args\":{\"account\":\"root@web01\"}}\n";
    int sv[2];
    pthread_t t;
    char buf[4096];
    double t0;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    pthread_create(&t, NULL, echo_thread, &sv[1]);
    t0 = now();
    for (unsigned i = 0; i < iters; i++) {
        size_t got = 0;
        if (write(sv[0], req, sizeof(req) - 1) < 0)
            break;
        while (got < sizeof(req) - 1) {
            ssize_t n = read(sv[0], buf, sizeof(buf));
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    t0 = now() - t0;
    close(sv[0]);
    pthread_join(t, NULL);
    close(sv[1]);
    return iters / t0;
}

struct load {
    const char *sock;
    const char *op;
    json_t *args;
    unsigned iters;
    double secs;
    int err;
};

static void *load_thread(void *arg)
{
    struct load *l = arg;
    struct client *c = NULL;
    double t0;

    if ((l->err = client_connect(l->sock, 30000, &c)) != 0)
        return NULL;
    t0 = now();
    for (unsigned i = 0; i < l->iters; i++) {
        json_t *res = NULL;
        if ((l->err = client_call(c, l->op, l->args, &res, NULL)) != 0)
            break;
        json_decref(res);
    }
    l->secs = now() - t0;
    client_close(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Median of 5 runs of the floor: wake-ups on a shared VM are noisy. */
static double floor_median(unsigned iters)
{
    double v[5];

    for (unsigned i = 0; i < 5; i++)
        v[i] = floor_rate(iters);
    qsort(v, 5, sizeof(v[0]), cmp_double);
    return v[2];
}

/* Aggregate requests per second of `clients` connections doing `iters` calls each. */
static double api_rate(const char *sock, const char *op, json_t *args, unsigned clients,
                       unsigned iters)
{
    struct load l[8];
    pthread_t t[8];
    double t0 = now(), total;

    for (unsigned i = 0; i < clients; i++) {
        l[i] = (struct load){sock, op, args, iters, 0, 0};
        pthread_create(&t[i], NULL, load_thread, &l[i]);
    }
    for (unsigned i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    total = now() - t0;
    for (unsigned i = 0; i < clients; i++)
        if (l[i].err) {
            fprintf(stderr, "bench_api: %s failed: %s\n", op, err_str(l[i].err));
            return 0;
        }
    return clients * iters / total;
}

static int call(struct client *c, const char *op, json_t *args)
{
    json_t *res = NULL;
    char *msg = NULL;
    int r = client_call(c, op, args, &res, &msg);

    if (r != 0)
        fprintf(stderr, "bench_api: %s: %s\n", op, msg ? msg : err_str(r));
    free(msg);
    json_decref(res);
    json_decref(args);
    return r;
}

/* Start a vaultd with `extra` [vault] lines, set it up, measure, print, stop it. */
static int bench_vault(const char *vaultd, const char *extra, const char *label, unsigned iters,
                       double fl, bool unseal_default)
{
    char dir[] = "/tmp/custos-bench-XXXXXX", conf[256], sock[256], cmd[512];
    struct client *c = NULL;
    double get1, get2, get8, meta1, t0, unseal = 0;
    json_t *gargs = NULL, *targs = NULL;
    pid_t pid;
    FILE *f;
    int rc = 1;

    if (!mkdtemp(dir))
        return 1;
    snprintf(conf, sizeof(conf), "%s/vaultd.conf", dir);
    snprintf(sock, sizeof(sock), "%s/vaultd.sock", dir);
    f = fopen(conf, "w");
    fprintf(f, "[vault]\ndata_dir = %s/data\nsocket = %s\n%s%s[log]\nlevel = warn\n", dir, sock,
            extra, unseal_default ? "" : "argon2_ops = 1\nargon2_mem = 8M\n");
    fclose(f);
    pid = fork();
    if (pid == 0) {
        execl(vaultd, vaultd, "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && client_connect(sock, 1000, &c) != 0; i++)
        usleep(20000);
    if (!c)
        goto out;
    if (call(c, "vault.init",
             json_pack("{s:s,s:s}", "method", "passphrase", "passphrase", "bench passphrase")) != 0)
        goto out;
    t0 = now();
    if (call(c, "vault.unseal", json_pack("{s:s}", "passphrase", "bench passphrase")) != 0)
        goto out;
    unseal = now() - t0;
    if (call(c, "target.create", json_pack("{s:s,s:s}", "name", "web01", "host", "127.0.0.1")) ||
        call(c, "account.create", json_pack("{s:s,s:s}", "id", "root@web01", "kind", "password")) ||
        call(c, "secret.put",
             json_pack("{s:s,s:s}", "account", "root@web01", "value", "correct-horse-battery")))
        goto out;
    gargs = json_pack("{s:s}", "account", "root@web01");
    targs = json_pack("{s:s}", "name", "web01");
    {
        /* Interleave the floor with the vault runs and take medians of 3. */
        double m[3], g1[3], g2[3], g8[3], fls[3];
        for (unsigned i = 0; i < 3; i++) {
            fls[i] = floor_median(iters);
            m[i] = api_rate(sock, "target.get", targs, 1, iters * 2);
            g1[i] = api_rate(sock, "secret.get", gargs, 1, iters);
            g2[i] = api_rate(sock, "secret.get", gargs, 2, iters);
            g8[i] = api_rate(sock, "secret.get", gargs, 8, iters / 2);
        }
        qsort(fls, 3, sizeof(double), cmp_double);
        qsort(m, 3, sizeof(double), cmp_double);
        qsort(g1, 3, sizeof(double), cmp_double);
        qsort(g2, 3, sizeof(double), cmp_double);
        qsort(g8, 3, sizeof(double), cmp_double);
        fl = fls[1];
        meta1 = m[1];
        get1 = g1[1];
        get2 = g2[1];
        get8 = g8[1];
    }
    printf("[%s]  floor %.0f round trips/s (median)\n", label, fl);
    printf("api.target.get   1 client  %8.0f req/s  ratio %.2f  (metadata read, no audit)\n", meta1,
           meta1 / fl);
    printf("api.secret.get   1 client  %8.0f req/s  ratio %.3f  target>=0.5 %s\n", get1, get1 / fl,
           get1 / fl >= 0.5 ? "PASS" : "MISS");
    printf("api.secret.get   2 clients %8.0f req/s  ratio %.3f\n", get2, get2 / fl);
    printf("api.secret.get   8 clients %8.0f req/s  ratio %.3f\n", get8, get8 / fl);
    if (unseal_default)
        printf("vault.unseal     argon2id MODERATE  %.3f s\n", unseal);
    rc = 0;
out:
    json_decref(gargs);
    json_decref(targs);
    client_close(c);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_api: could not remove %s\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned iters = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
    double fl;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_api PATH/TO/custos-vaultd [ITERATIONS]\n");
        return 2;
    }
    if (secbuf_init() != 0)
        return 1;
    ndjson_use_wiping_allocator();
    fl = 0;
    rc = bench_vault(argv[1], "", "sync_interval_ms = 0 (default): every release fsynced", iters,
                     fl, true);
    rc |= bench_vault(argv[1], "sync_interval_ms = 10\n",
                      "sync_interval_ms = 10: releases reach the OS, fsync within 10 ms", iters, fl,
                      false);
    return rc;
}
