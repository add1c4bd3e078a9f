/* SPDX-License-Identifier: Apache-2.0 */
/* Per-session SSH agent sockets: vaultd signs for key accounts, the key never leaves it. */
#ifndef VAULTD_AGENT_H
#define VAULTD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "custos/buf.h"
#include "custos/err.h"
#include "custos/secbuf.h"

/* SSH agent protocol (draft-miller-ssh-agent), the subset served. */
#define AGENT_FAILURE 5u
#define AGENTC_REQUEST_IDENTITIES 11u
#define AGENT_IDENTITIES_ANSWER 12u
#define AGENTC_SIGN_REQUEST 13u
#define AGENT_SIGN_RESPONSE 14u

/* Longest agent message accepted (a userauth sign request is a few hundred bytes). */
#define AGENT_MSG_MAX 16384u
/* Signatures one socket gives (one login needs one; libssh may retry). */
#define AGENT_SIGNS_MAX 4u
/* Messages one connection may send before it is dropped. */
#define AGENT_MSGS_MAX 32u
/* An agent socket unused this long is removed. */
#define AGENT_IDLE_MS 60000u
/* "ssh-ed25519" public key blob: string type, string key (RFC 8709). */
#define AGENT_ED25519_BLOB_LEN (4u + 11u + 4u + 32u)

/* ---- Pure parts (agent_proto.c): no loop, no store; unit-tested. ---- */

/*
 * Parse an unencrypted OpenSSH private key ("-----BEGIN OPENSSH PRIVATE
 * KEY-----", openssh-key-v1) holding one ed25519 key.  On success *sk is a new
 * secbuf of crypto_sign_SECRETKEYBYTES (seed || public key, libsodium's
 * layout) owned by the caller, and pub holds the 32-byte public key; the seed
 * is checked to give that public key.  Errors: -ERR_PARSE (not such a key, or
 * malformed: every length is bounds-checked), -ERR_INVAL (a well-formed key of
 * another type, or encrypted: *why says which), -ERR_NOMEM.  *why (may be NULL)
 * gets a static message for people.  Temporaries are wiped.
 */
MUST_CHECK int agent_key_parse(const void *text, size_t len, struct secbuf **sk,
                               unsigned char pub[32], const char **why);

/* The "ssh-ed25519" public key blob of pub into out (AGENT_ED25519_BLOB_LEN bytes). */
void agent_pub_blob(const unsigned char pub[32], unsigned char out[AGENT_ED25519_BLOB_LEN]);

/*
 * Answer one agent message (type byte and body, without the length prefix)
 * for the key (sk, pub): REQUEST_IDENTITIES lists the key with `comment`;
 * SIGN_REQUEST for this key signs the data with Ed25519 (RFC 8709 signature
 * blob) if `may_sign`; anything else, malformed or for another key answers
 * FAILURE.  The answer, with its length prefix, is appended to out.  *signed_
 * is set true only when a signature was given.  Returns 0 or -ERR_TOO_LONG /
 * -ERR_NOMEM from out.
 */
MUST_CHECK int agent_msg_answer(const struct secbuf *sk, const unsigned char pub[32],
                                const char *comment, bool may_sign, const unsigned char *msg,
                                size_t len, struct buf *out, bool *signed_);

/* ---- Sockets (agent.c), served on vaultd's loop. ---- */

struct vaultd;
struct agent;

/*
 * The live agents of a vaultd.  The list is shared with writer threads
 * (agent_start, agent_session_closed) under `mu`; the loop adopts new agents
 * and closes the ones marked when `async` fires.
 */
struct agent_set {
    uv_mutex_t mu;
    uv_async_t async;
    struct agent *head;
    char dir[256]; /* the directory of the sockets (0711) */
    int dirfd;     /* open on dir: every change after mkdir goes through it */
    gid_t gid;     /* socket_group: the sockets' group when they cannot be the broker's */
    bool open;
};

/*
 * Create the agents directory "<directory of the API socket>/agents" (0711;
 * sockets left by a previous run are removed) and the loop handles.  Call once
 * from vaultd_open, on the loop thread.  -ERR_IO / -ERR_CONFIG with a log line.
 */
MUST_CHECK int agents_open(struct vaultd *vd);
/* At shutdown: close every agent (keys wiped, sockets removed), then the handles. */
void agents_close(struct vaultd *vd);

/*
 * Serve a new agent socket for broker session `session` on account `account`
 * with the private key `sk` (stolen, even on failure) and `pub`.  The socket
 * accepts one connection from `uid` only (checked by SO_PEERCRED).  Safe from a
 * writer thread: the socket is bound and listening when this returns, and the
 * loop starts serving it as soon as it wakes.  `principal` is audited with
 * each signature.  On success `path` (of `pathlen`) names the socket.
 */
MUST_CHECK int agent_start(struct vaultd *vd, const char *session, const char *account,
                           const char *principal, uid_t uid, struct secbuf *sk,
                           const unsigned char pub[32], char *path, size_t pathlen);

/* Session `session` ended: remove its agent, if any.  Safe from a writer thread. */
void agent_session_closed(struct vaultd *vd, const char *session);

#endif
