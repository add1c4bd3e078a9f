/* SPDX-License-Identifier: Apache-2.0 */
/* broker.conf key table: one table drives the parser, the sample and the docs. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bconf.h"
#include "custos/conf.h"
#include "custos/paths.h"

static const struct conf_section sections[] = {
    {.name = "broker", .doc = "The SSH front door: where admins connect, and its limits."},
    {.name = "log", .doc = "Logging to stderr, with journald priority prefixes."},
};

static const struct conf_key keys[] = {
    {.section = "broker",
     .key = "listen",
     .type = CONF_STRING,
     .def = "127.0.0.1",
     .doc = "Address to listen on (IPv4 or IPv6 literal).",
     .offset = offsetof(struct bconf, listen)},
    {.section = "broker",
     .key = "port",
     .type = CONF_UINT,
     .def = "2222",
     .doc = "TCP port admins connect to: ssh -p PORT ACCOUNT@TARGET@HOST.",
     .offset = offsetof(struct bconf, port),
     .min = 1,
     .max = 65535},
    {.section = "broker",
     .key = "host_key",
     .type = CONF_PATH,
     .def = CUSTOS_BROKER_HOST_KEY,
     .doc = "The broker's own ed25519 host key, in the unit's StateDirectory; created (0600) on "
            "first start when missing, refused when group or others have any access to it.",
     .offset = offsetof(struct bconf, host_key)},
    {.section = "broker",
     .key = "vault_socket",
     .type = CONF_PATH,
     .def = CUSTOS_SOCKET_PATH,
     .doc = "custos-vaultd's API socket; the broker's principal needs the broker, authorize and "
            "act_as scopes, and must not be the vault's own user.",
     .offset = offsetof(struct bconf, vault_socket)},
    {.section = "broker",
     .key = "name",
     .type = CONF_STRING,
     .def = "broker",
     .doc = "Name of this broker, recorded with each session (several brokers may share a vault).",
     .offset = offsetof(struct bconf, name)},
    {.section = "broker",
     .key = "loops",
     .type = CONF_UINT,
     .def = "0",
     .doc = "Event loops (threads), each serving its own connections; 0: one per core.",
     .offset = offsetof(struct bconf, loops),
     .min = 0,
     .max = 64},
    {.section = "broker",
     .key = "keepalive",
     .type = CONF_UINT,
     .def = "30",
     .doc = "Seconds between keep-alive probes on both legs of an idle session; 0: none.",
     .offset = offsetof(struct bconf, keepalive),
     .min = 0,
     .max = 3600},
    {.section = "broker",
     .key = "idle_timeout",
     .type = CONF_UINT,
     .def = "0",
     .doc = "End a session after this many seconds without data either way; 0: never.",
     .offset = offsetof(struct bconf, idle_timeout),
     .min = 0,
     .max = 604800},
    {.section = "broker",
     .key = "max_session",
     .type = CONF_UINT,
     .def = "0",
     .doc = "End any session after this many seconds, whatever its grant says; 0: no limit.",
     .offset = offsetof(struct bconf, max_session),
     .min = 0,
     .max = 2592000},
    {.section = "broker",
     .key = "expiry_warning",
     .type = CONF_UINT,
     .def = "300",
     .doc = "Seconds before a grant ends at which the admin sees a warning line.",
     .offset = offsetof(struct bconf, expiry_warning),
     .min = 0,
     .max = 86400},
    {.section = "broker",
     .key = "connect_timeout",
     .type = CONF_UINT,
     .def = "10",
     .doc = "Seconds to reach and log in to a target, and to get an answer from the vault.",
     .offset = offsetof(struct bconf, connect_timeout),
     .min = 1,
     .max = 300},
    {.section = "broker",
     .key = "auth_timeout",
     .type = CONF_UINT,
     .def = "60",
     .doc = "Seconds an admin has to complete the handshake and authenticate.",
     .offset = offsetof(struct bconf, auth_timeout),
     .min = 1,
     .max = 600},
    {.section = "broker",
     .key = "rekey_data",
     .type = CONF_U64,
     .def = "0",
     .doc = "Rekey both legs after this many bytes (tests use a small value); 0: libssh's "
            "default (1 GiB for chacha20).",
     .offset = offsetof(struct bconf, rekey_data),
     .min = 0,
     .max = 0},
    {.section = "log",
     .key = "level",
     .type = CONF_LOG_LEVEL,
     .def = "info",
     .doc = "Messages above this level are dropped.",
     .offset = offsetof(struct bconf, log_level)},
};

static const struct conf_schema schema = {sections, sizeof(sections) / sizeof(sections[0]), keys,
                                          sizeof(keys) / sizeof(keys[0])};

int bconf_load(const char *path, struct bconf **out, char *err, size_t errlen)
{
    struct bconf *c = calloc(1, sizeof(*c));
    int r;

    *out = NULL;
    if (!c)
        return -ERR_NOMEM;
    if ((r = conf_defaults(&schema, c, err, errlen)) != 0 ||
        (path && (r = conf_load_file(&schema, c, path, err, errlen)) != 0)) {
        bconf_free(c);
        return r;
    }
    *out = c;
    return 0;
}

void bconf_free(struct bconf *c)
{
    if (!c)
        return;
    conf_fini(&schema, c);
    free(c);
}

void bconf_print_sample(FILE *f)
{
    conf_print_sample(&schema, f);
}

void bconf_print_markdown(FILE *f)
{
    conf_print_markdown(&schema, f);
}

void bconf_print(const struct bconf *c, FILE *f)
{
    conf_print(&schema, c, f);
}
