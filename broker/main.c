/* SPDX-License-Identifier: Apache-2.0 */
/* custos-broker: command line, host key, one loop per core, clean stop on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "custos/log.h"
#include "custos/ndjson.h"
#include "custos/secbuf.h"
#include "custos_config.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: custos-broker [OPTIONS]\n"
            "\n"
            "The Custos SSH broker: admins connect with plain OpenSSH,\n"
            "  ssh -p 2222 ACCOUNT@TARGET@BROKER [command]\n"
            "authenticate with their own key, and reach the target account with the vaulted\n"
            "credential, which they never see. Every session is authorized by custos-vaultd\n"
            "against a live grant and ends when the grant does.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE     configuration file (default %s/broker.conf if present)\n"
            "      --check-config    load the configuration, print it, exit\n"
            "      --sample-config   print a commented sample configuration and exit\n"
            "      --config-docs     print the configuration reference as Markdown and exit\n"
            "  -v, --verbose         log at debug level\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n"
            "\n"
            "Signals: SIGTERM and SIGINT end every session with a message and stop.\n"
            "Exit status: 0 after a clean stop, 1 on a start-up error, 2 on a usage error.\n",
            CUSTOS_SYSCONFDIR);
}

/*
 * The broker's own host key: created once (ed25519, 0600), then reused.  An
 * existing key that is not a regular file of this user without group or other
 * access is refused, as OpenSSH refuses such a private key: whoever could read
 * it can impersonate the broker to every admin.
 */
static int host_key_ensure(const char *path)
{
    ssh_key key = NULL;
    struct stat st;
    mode_t old;
    int fd, r = 0;

    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) >= 0) {
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            (st.st_mode & 077)) {
            log_err("host key %s: must be a file of uid %u with mode 0600 or stricter "
                    "(it is uid %u, mode %04o); refusing it",
                    path, (unsigned)geteuid(), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
            r = -ERR_DENIED;
        }
        close(fd);
        return r;
    }
    if (errno != ENOENT) {
        log_err("host key %s: %s", path, strerror(errno));
        return -ERR_IO;
    }
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
        return -ERR_CRYPTO;
    old = umask(077); /* no loop thread runs yet */
    if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) != SSH_OK) {
        log_err("cannot write host key %s (is its directory the unit's StateDirectory?)", path);
        r = -ERR_IO;
    } else {
        log_info("created host key %s", path);
    }
    umask(old);
    ssh_key_free(key);
    return r;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 1},
        {"sample-config", no_argument, NULL, 2},  {"config-docs", no_argument, NULL, 3},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *config = NULL;
    char errbuf[512] = "", defconf[512];
    bool check = false, verbose = false;
    struct bconf *conf = NULL;
    struct bloop *loops = NULL;
    unsigned n = 0, started = 0;
    sigset_t set;
    int c, sig, rc = 1;

    log_set_ident("custos-broker");
    while ((c = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 1:
            check = true;
            break;
        case 2:
            bconf_print_sample(stdout);
            return 0;
        case 3:
            bconf_print_markdown(stdout);
            return 0;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("custos-broker %s\n", CUSTOS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "custos-broker: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    snprintf(defconf, sizeof(defconf), "%s/broker.conf", CUSTOS_SYSCONFDIR);
    if (!config && access(defconf, R_OK) == 0)
        config = defconf;
    if (bconf_load(config, &conf, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "custos-broker: %s\n", errbuf);
        return 1;
    }
    if (check) {
        bconf_print(conf, stdout);
        bconf_free(conf);
        return 0;
    }
    if (!conf->host_key || !*conf->host_key || !conf->vault_socket || !*conf->vault_socket) {
        fprintf(stderr, "custos-broker: [broker] host_key and vault_socket must not be empty\n");
        goto out;
    }
    log_set_level(verbose ? LOG_LVL_DEBUG : (enum log_level)conf->log_level);
    if (secbuf_init() != 0 || secbuf_harden_process() != 0)
        goto out;
    ndjson_use_wiping_allocator();
    signal(SIGPIPE, SIG_IGN);
    /* Signals go to this thread only (sigwait below); loops never see them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (ssh_init() != SSH_OK || host_key_ensure(conf->host_key) != 0)
        goto out;
    n = conf->loops ? conf->loops : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (n == 0 || n > 64)
        n = 1;
    loops = calloc(n, sizeof(*loops));
    if (!loops)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        loops[i].index = i;
        loops[i].conf = conf;
        loops[i].lfd = -1;
        if (bloop_start(&loops[i]) != 0) {
            fprintf(stderr, "custos-broker: cannot start (see the log above)\n");
            goto stop;
        }
        started++;
    }
    log_info("ready listen=%s port=%u loops=%u vault=%s name=%s", conf->listen, conf->port, n,
             conf->vault_socket, conf->name);
    if (sigwait(&set, &sig) == 0)
        log_info("signal %d: ending every session and stopping", sig);
    rc = 0;
stop:
    for (unsigned i = 0; i < started; i++)
        bloop_request_stop(&loops[i]);
    for (unsigned i = 0; i < started; i++)
        uv_thread_join(&loops[i].thread);
    ssh_finalize();
out:
    free(loops);
    bconf_free(conf);
    return rc;
}
