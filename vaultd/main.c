/* SPDX-License-Identifier: Apache-2.0 */
/* custos-vaultd: command line, start-up checks, the loop, clean shutdown. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/log.h"
#include "custos/ndjson.h"
#include "custos_config.h"
#include "dispatch.h"
#include "gov_state.h"
#include "vaultd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: custos-vaultd [OPTIONS]\n"
            "\n"
            "The Custos vault daemon: keeps credentials encrypted in LMDB and serves them,\n"
            "audited, over a local socket (see docs/api.md). It starts sealed.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE     configuration file (default %s/vaultd.conf if present)\n"
            "  -d, --data-dir DIR    vault directory (overrides [vault] data_dir)\n"
            "  -s, --socket PATH     socket path (overrides [vault] socket)\n"
            "      --check-config    load the configuration, print it (secrets redacted), exit\n"
            "      --sample-config   print a commented sample configuration and exit\n"
            "      --config-docs     print the configuration reference as Markdown and exit\n"
            "  -v, --verbose         log at debug level\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n"
            "\n"
            "Signals: SIGTERM and SIGINT seal the vault and stop cleanly.\n"
            "Exit status: 0 after a clean stop, 1 on a start-up error (bad configuration,\n"
            "corrupt or newer-schema environment, socket in use), 2 on a usage error.\n",
            CUSTOS_SYSCONFDIR);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct vaultd *vd = h->data;

    log_info("signal %d: shutting down", signum);
    vaultd_stop(vd);
}

int vaultd_open(struct vaultd *vd, uv_loop_t *loop, struct vconf *conf)
{
    MDB_txn *txn = NULL;
    json_t *desc = NULL;
    int r;

    memset(vd, 0, sizeof(*vd));
    vd->loop = loop;
    vd->conf = conf;
    if ((r = store_open(conf->data_dir, conf->map_size, &vd->store)) != 0)
        return r;
    if (conf->sync_interval_ms && (r = store_set_nosync(vd->store, true)) != 0)
        return r;
    if ((r = store_txn_begin(vd->store, NULL, false, &txn)) != 0)
        return r;
    r = store_json_get(vd->store, txn, STORE_META, "kek", &desc);
    store_txn_abort(txn);
    if (r == 0) {
        if (!json_is_string(json_object_get(desc, "method"))) {
            json_decref(desc);
            log_err("the key descriptor in %s is damaged", conf->data_dir);
            return -ERR_CORRUPT;
        }
        vd->kek_desc = desc;
        vd->state = VAULT_SEALED;
    } else if (r == -ERR_NOT_FOUND) {
        vd->state = VAULT_UNINITIALIZED;
    } else {
        return r;
    }
    if ((r = agents_open(vd)) != 0)
        return r;
    writer_init(vd);
    server_init(vd);
    gov_timers_init(vd);
    uv_signal_init(loop, &vd->sig_term);
    uv_signal_init(loop, &vd->sig_int);
    vd->sig_term.data = vd->sig_int.data = vd;
    uv_signal_start(&vd->sig_term, on_signal, SIGTERM);
    uv_signal_start(&vd->sig_int, on_signal, SIGINT);
    return 0;
}

/* At shutdown, with the writer idle: a last audit entry and checkpoint, synchronously. */
static void audit_stop(struct vaultd *vd)
{
    struct req rq = {.uid = geteuid()};
    static const struct op stop_op = {"vault.stop", 0, 0, OP_EXCLUSIVE, NULL, NULL};
    MDB_txn *txn = NULL;

    snprintf(rq.principal, sizeof(rq.principal), "self");
    rq.op = &stop_op;
    if (store_txn_begin(vd->store, NULL, true, &txn) != 0)
        return;
    if (req_audit(vd, &rq, txn, NULL, NULL) != 0 || audit_checkpoint(vd->audit, txn) != 0) {
        store_txn_abort(txn);
        return;
    }
    if (store_txn_commit(txn) != 0)
        log_err("final audit entry not durable");
}

void vaultd_close(struct vaultd *vd)
{
    if (!vd->stopping || vd->closed || vd->listening || vd->n_conns || vd->writer.busy ||
        vd->backups_running)
        return;
    vd->closed = true;
    /* Requests queued behind the last batch: their clients are gone. */
    for (struct req *rq = vd->writer.head, *n; rq; rq = n) {
        n = rq->next;
        req_free(rq);
    }
    vd->writer.head = vd->writer.tail = NULL;
    if (vd->state == VAULT_UNSEALED && vd->store)
        audit_stop(vd);
    writer_close(vd);
    agents_close(vd);
    server_close(vd);
    gov_timers_close(vd);
    vaultd_wipe_keys(vd);
    json_decref(vd->kek_desc);
    vd->kek_desc = NULL;
    store_close(vd->store);
    vd->store = NULL;
    free(vd->restored_from);
    vd->restored_from = NULL;
    uv_close((uv_handle_t *)&vd->sig_term, NULL);
    uv_close((uv_handle_t *)&vd->sig_int, NULL);
    log_info("stopped; keys wiped");
}

/* [vault] auto_unseal: the same path as a vault.unseal request, from nobody's connection. */
static void auto_unseal(struct vaultd *vd)
{
    struct req *rq = calloc(1, sizeof(*rq));

    if (!rq)
        return;
    rq->op = dispatch_find("vault.unseal");
    rq->id = json_null();
    rq->args = json_pack("{s:b}", "keyfile", 1);
    rq->uid = geteuid();
    snprintf(rq->principal, sizeof(rq->principal), "auto-unseal");
    dispatch_req(vd, rq);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"data-dir", required_argument, NULL, 'd'},
        {"socket", required_argument, NULL, 's'}, {"check-config", no_argument, NULL, 1},
        {"sample-config", no_argument, NULL, 2},  {"config-docs", no_argument, NULL, 3},
        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *config = NULL, *data_dir = NULL, *socket_path = NULL;
    char errbuf[512] = "", defconf[512];
    bool check = false, verbose = false;
    struct vconf *conf = NULL;
    struct vaultd vd;
    uv_loop_t loop;
    int c, r;

    log_set_ident("custos-vaultd");
    while ((c = getopt_long(argc, argv, "c:d:s:vhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 's':
            socket_path = optarg;
            break;
        case 1:
            check = true;
            break;
        case 2:
            vconf_print_sample(stdout);
            return 0;
        case 3:
            vconf_print_markdown(stdout);
            return 0;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("custos-vaultd %s\n", CUSTOS_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "custos-vaultd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (secbuf_init() != 0 || secbuf_harden_process() != 0) {
        fprintf(stderr, "custos-vaultd: cannot initialise libsodium or harden the process\n");
        return 1;
    }
    ndjson_use_wiping_allocator();
    signal(SIGPIPE, SIG_IGN);
    snprintf(defconf, sizeof(defconf), "%s/vaultd.conf", CUSTOS_SYSCONFDIR);
    if (!config && access(defconf, R_OK) == 0)
        config = defconf;
    if (vconf_load(config, &conf, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "custos-vaultd: %s\n", errbuf);
        return 1;
    }
    if ((data_dir && vconf_set_data_dir(conf, data_dir, errbuf, sizeof(errbuf)) != 0) ||
        vconf_check(conf, errbuf, sizeof(errbuf)) != 0) {
        fprintf(stderr, "custos-vaultd: %s\n", errbuf);
        vconf_free(conf);
        return 1;
    }
    if (socket_path) {
        free(conf->socket_path);
        conf->socket_path = strdup(socket_path);
    }
    log_set_level(verbose ? LOG_LVL_DEBUG : (enum log_level)conf->log_level);
    if (check) {
        vconf_print(conf, stdout);
        vconf_free(conf);
        return 0;
    }
    uv_loop_init(&loop);
    if ((r = vaultd_open(&vd, &loop, conf)) != 0) {
        if (r == -ERR_SCHEMA)
            fprintf(stderr,
                    "custos-vaultd: %s was written by a newer Custos (schema above %u); "
                    "refusing to start\n",
                    conf->data_dir, STORE_SCHEMA);
        else if (r == -ERR_CORRUPT)
            fprintf(stderr,
                    "custos-vaultd: the environment in %s is corrupt; restore a backup "
                    "(custos vault restore) into an empty directory\n",
                    conf->data_dir);
        else if (r == -ERR_DENIED)
            fprintf(stderr,
                    "custos-vaultd: refusing %s: its owner or mode lets others in (see the "
                    "log above)\n",
                    conf->data_dir);
        else
            fprintf(stderr, "custos-vaultd: cannot open %s: %s\n", conf->data_dir, err_str(r));
        store_close(vd.store);
        json_decref(vd.kek_desc);
        vconf_free(conf);
        uv_loop_close(&loop);
        return 1;
    }
    if ((r = vaultd_listen(&vd)) != 0) {
        fprintf(stderr, "custos-vaultd: cannot listen on %s: %s\n", conf->socket_path, err_str(r));
        vd.exit_code = 1;
        vaultd_stop(&vd);
    } else {
        log_info("ready socket=%s state=%s data_dir=%s", conf->socket_path,
                 vaultd_state_name(vd.state), conf->data_dir);
        if (conf->auto_unseal && vd.state == VAULT_SEALED)
            auto_unseal(&vd);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    r = vd.exit_code;
    if (uv_loop_close(&loop) != 0) {
        log_err("handles left open at exit");
        r = 1;
    }
    vconf_free(conf);
    return r;
}
