/* SPDX-License-Identifier: Apache-2.0 */
/* Authorization queries per second with 10 000 identities and 100 000 grants loaded. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "custos/secbuf.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static int conn_open(struct conn *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    c->len = 0;
    c->fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int send_line(struct conn *c, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    size_t n = strlen(s), off = 0;

    s[n] = '\n'; /* json_dumps allocated n+1 bytes */
    while (off < n + 1) {
        ssize_t w = write(c->fd, s + off, n + 1 - off);
        if (w <= 0) {
            free(s);
            return -1;
        }
        off += (size_t)w;
    }
    free(s);
    json_decref(msg);
    return 0;
}

/* Read one answer; returns it (new ref) or NULL. */
static json_t *recv_line(struct conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            json_t *j = json_loadb(c->buf, (size_t)(nl - c->buf), 0, NULL);
            size_t used = (size_t)(nl - c->buf) + 1;
            memmove(c->buf, nl + 1, c->len - used);
            c->len -= used;
            return j;
        }
        ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (r <= 0)
            return NULL;
        c->len += (size_t)r;
    }
}

/* Pipelined: send `n` requests built by `mk`, then read the answers; count errors. */
static unsigned pipeline(struct conn *c, unsigned n, json_t *(*mk)(unsigned i))
{
    unsigned errors = 0, window = 512;

    for (unsigned sent = 0, got = 0; got < n;) {
        while (sent < n && sent - got < window)
            if (send_line(c, mk(sent++)) != 0)
                return n;
        json_t *a = recv_line(c);
        if (!a)
            return n;
        if (!json_object_get(a, "result")) {
            if (errors < 3) {
                char *s = json_dumps(a, 0);
                fprintf(stderr, "bench_gov: %s\n", s);
                free(s);
            }
            errors++;
        }
        json_decref(a);
        got++;
    }
    return errors;
}

#define N_IDENT 10000u
#define N_ACCT 100u
#define GRANTS_PER 10u

static json_t *mk_account(unsigned i)
{
    char id[64];

    snprintf(id, sizeof(id), "root@host%03u", i);
    return json_pack("{s:i,s:s,s:{s:s,s:s}}", "id", (int)i, "op", "account.create", "args", "id",
                     id, "kind", "password");
}

static json_t *mk_target(unsigned i)
{
    char name[64];

    snprintf(name, sizeof(name), "host%03u", i);
    return json_pack("{s:i,s:s,s:{s:s,s:s}}", "id", (int)i, "op", "target.create", "args", "name",
                     name, "host", "127.0.0.1");
}

static json_t *mk_identity(unsigned i)
{
    char id[32], email[64];

    snprintf(id, sizeof(id), "user%05u", i);
    snprintf(email, sizeof(email), "user%05u@example.com", i);
    return json_pack("{s:i,s:s,s:{s:s,s:s,s:s,s:s}}", "id", (int)i, "op", "gov.identity.create",
                     "args", "id", id, "name", id, "email", email, "department", "ops");
}

static json_t *mk_grant(unsigned i)
{
    char as[32], acct[64];

    snprintf(as, sizeof(as), "user%05u", i / GRANTS_PER);
    snprintf(acct, sizeof(acct), "root@host%03u", (i * 7 + i / GRANTS_PER) % N_ACCT);
    return json_pack("{s:i,s:s,s:{s:s,s:s,s:i,s:s}}", "id", (int)i, "op", "gov.request.create",
                     "args", "as", as, "account", acct, "duration", 86400, "reason", "bench load");
}

static unsigned query_seed = 1;
static json_t *mk_authorize(unsigned i)
{
    char ident[32], acct[64];
    unsigned u = (i * 2654435761u + query_seed) % N_IDENT;

    snprintf(ident, sizeof(ident), "user%05u", u);
    snprintf(acct, sizeof(acct), "root@host%03u", (i * 13) % N_ACCT);
    return json_pack("{s:i,s:s,s:{s:s,s:s}}", "id", (int)i, "op", "gov.authorize", "args",
                     "identity", ident, "account", acct);
}

static json_t *mk_status(unsigned i)
{
    return json_pack("{s:i,s:s}", "id", (int)i, "op", "vault.status");
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/custos-bench-gov-XXXXXX", conf[256], sock[256], cmd[512];
    struct conn c;
    double t0, load, auth, floor_rate;
    unsigned iters = argc > 2 ? (unsigned)atoi(argv[2]) : 20000, errs;
    pid_t pid;
    FILE *f;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_gov PATH/TO/custos-vaultd [QUERIES]\n");
        return 2;
    }
    if (!mkdtemp(dir))
        return 1;
    snprintf(conf, sizeof(conf), "%s/vaultd.conf", dir);
    snprintf(sock, sizeof(sock), "%s/vaultd.sock", dir);
    f = fopen(conf, "w");
    fprintf(f,
            "[vault]\ndata_dir = %s/data\nsocket = %s\nargon2_ops = 1\nargon2_mem = 8M\n"
            "map_size = 4G\n[log]\nlevel = warn\n",
            dir, sock);
    fclose(f);
    pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (conn_open(&c, sock) == 0)
            break;
        close(c.fd);
        c.fd = -1;
        usleep(20000);
    }
    if (c.fd < 0)
        goto out;
    send_line(&c, json_pack("{s:i,s:s,s:{s:s,s:s}}", "id", 0, "op", "vault.init", "args", "method",
                            "passphrase", "passphrase", "bench"));
    json_decref(recv_line(&c));
    send_line(&c, json_pack("{s:i,s:s,s:{s:s}}", "id", 0, "op", "vault.unseal", "args",
                            "passphrase", "bench"));
    json_decref(recv_line(&c));
    send_line(&c, json_loads("{\"id\":0,\"op\":\"gov.role.create\",\"args\":{\"name\":\"ops\","
                             "\"kind\":\"requestable\",\"entitlements\":[{\"account\":\"root@*\","
                             "\"max_duration\":86400,\"approval\":{\"by\":\"none\"}}]}}",
                             0, NULL));
    json_decref(recv_line(&c));
    send_line(&c, json_loads("{\"id\":0,\"op\":\"gov.rule.create\",\"args\":{\"name\":\"all-ops\","
                             "\"match\":{\"department\":\"ops\"},\"roles\":[\"ops\"]}}",
                             0, NULL));
    json_decref(recv_line(&c));
    t0 = now();
    errs = pipeline(&c, N_ACCT, mk_target) + pipeline(&c, N_ACCT, mk_account) +
           pipeline(&c, N_IDENT, mk_identity) + pipeline(&c, N_IDENT * GRANTS_PER, mk_grant);
    load = now() - t0;
    if (errs) {
        fprintf(stderr, "bench_gov: %u load errors\n", errs);
        goto out;
    }
    printf("gov.load  %u identities, %u accounts, %u grants in %.1f s (%.0f writes/s, pipelined)\n",
           N_IDENT, N_ACCT, N_IDENT * GRANTS_PER, load,
           (N_IDENT + 2 * N_ACCT + N_IDENT * GRANTS_PER) / load);
    t0 = now();
    errs = pipeline(&c, iters, mk_status);
    floor_rate = iters / (now() - t0);
    t0 = now();
    errs += pipeline(&c, iters, mk_authorize);
    auth = iters / (now() - t0);
    printf("gov.authorize  pipelined, 1 connection: %.0f queries/s (%.1f us each); "
           "vault.status on the same connection: %.0f/s; ratio %.2f\n",
           auth, 1e6 / auth, floor_rate, auth / floor_rate);
    /* Again with one SoD rule in force: every query then collects the identity's holdings. */
    send_line(&c, json_loads("{\"id\":0,\"op\":\"gov.sod.create\",\"args\":{\"name\":"
                             "\"audit-vs-root\",\"a\":\"role:auditor\",\"b\":\"account:root@*\","
                             "\"severity\":\"high\",\"owner\":\"user00000\"}}",
                             0, NULL));
    json_decref(recv_line(&c));
    query_seed = 7;
    t0 = now();
    errs += pipeline(&c, iters, mk_authorize);
    auth = iters / (now() - t0);
    printf("gov.authorize  with one SoD rule: %.0f queries/s (%.1f us each); ratio %.2f\n", auth,
           1e6 / auth, auth / floor_rate);
    rc = errs ? 1 : 0;
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_gov: could not remove %s\n", dir);
    return rc;
}
