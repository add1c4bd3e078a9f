/* SPDX-License-Identifier: Apache-2.0 */
/* Entry point of custos, the command-line front end of the vault for admins and scripts. */
#include <signal.h>
#include <stdio.h>

#include "custos/log.h"
#include "custos/ndjson.h"

#include "cli.h"

int main(int argc, char **argv)
{
    enum cli_exit status = CLI_EXIT_FAIL;
    struct cli cli;
    int sig;

    cli_init(&cli);
    log_set_ident("custos");
    log_set_level(LOG_LVL_ERR);
    /* Passphrases and secret values pass through this process: keep them out of core files. */
    if (secbuf_init() != 0 || secbuf_harden_process() != 0) {
        fprintf(stderr, "custos: cannot initialise libsodium or harden the process\n");
        goto out;
    }
    ndjson_use_wiping_allocator();
    status = cli_main(&cli, argc - 1, argv + 1);
out:
    cli_fini(&cli);
    if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
        status = CLI_EXIT_FAIL;
    sig = prompt_signal_caught();
    if (sig) {
        /* Secrets are wiped and the terminal restored: now end the way the user asked. */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return (int)status;
}
