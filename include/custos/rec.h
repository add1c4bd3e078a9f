/* SPDX-License-Identifier: Apache-2.0 */
/* Session recordings (docs/recording-format.md): writer, reader and verifier on buffers. */
#ifndef CUSTOS_REC_H
#define CUSTOS_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/buf.h"
#include "custos/err.h"

/*
 * Nothing here touches a file descriptor, a clock or an event loop: the
 * caller passes times in and writes (or reads) the bytes.  So the writer can
 * run on any thread (one writer is used by one thread at a time), the
 * verifier can be fed a file in pieces, and every parser can be fuzzed.
 *
 * Times: `started_us` is UTC µs since the epoch; every other time is an
 * offset in µs since started_us.  Offsets given to the writer never go
 * backwards (a smaller one is taken as the last one seen).
 */

#define REC_MAGIC                                                                                  \
    "\x89"                                                                                         \
    "CREC\r\n\x1a"
#define REC_MAGIC_LEN 8
#define REC_VERSION 1
#define REC_FRAME_HDR 8
#define REC_FRAME_MAX (16u << 20) /* largest frame body */
#define REC_EVENT_MAX (1u << 20)  /* largest event the writer takes (OUT is split instead) */
#define REC_KEY_LEN 32            /* Ed25519 public key */
#define REC_SIG_LEN 64            /* Ed25519 signature */
#define REC_SECKEY_LEN 64         /* Ed25519 secret key (libsodium layout: seed || pk) */
#define REC_HASH_LEN 32           /* BLAKE2b-256 */
#define REC_TRAILER_LEN (REC_FRAME_HDR + 24)

enum rec_frame_type {
    REC_F_HEADER = 1,
    REC_F_CHUNK = 2,
    REC_F_CHECKPOINT = 3,
    REC_F_INDEX = 4,
    REC_F_TRAILER = 5,
};

/* Event types; docs/recording-format.md, "Events".  0x80-0xff are skippable extensions. */
enum rec_ev {
    REC_OUT = 0x01,
    REC_ERR = 0x02,
    REC_IN = 0x03,
    REC_IN_MASKED = 0x04,
    REC_RESIZE = 0x05,
    REC_EXEC = 0x06,
    REC_SUBSYSTEM = 0x07,
    REC_SHELL = 0x08,
    REC_EXIT = 0x09,
    REC_SIGNAL = 0x0a,
    REC_XFER = 0x0b,
    REC_MARKER = 0x0c,
    REC_KEYFRAME = 0x0d,
    REC_COMMAND = 0x0e,
    REC_XFER_DATA = 0x0f,
};
#define REC_EV_LAST_KNOWN REC_XFER_DATA
#define REC_EV_EXT_FIRST 0x80

/* How a COMMAND came about (the "how" of the event's JSON and of the index). */
enum rec_how {
    REC_HOW_TYPED = 1,     /* a line typed at a shell, rebuilt by the broker's line editor */
    REC_HOW_EXEC = 2,      /* an exec request */
    REC_HOW_SUBSYSTEM = 3, /* a subsystem request */
    REC_HOW_SCRIPT = 4,    /* a line of a script on stdin (no pty) */
};

/* Chunk flags. */
#define REC_CHUNK_KEYFRAME 0x01 /* first event is a KEYFRAME */
#define REC_CHUNK_SYNC 0x02     /* a seek point: listed in the INDEX */

/* ---- what the header says ------------------------------------------------ */

/*
 * Header fields (docs/recording-format.md, "HEADER").  For the writer the
 * strings are borrowed for the call; NULL writes JSON null (session, identity,
 * account, target and kind are required).  From the reader they are owned by
 * the struct rec_info that holds them.
 */
struct rec_meta {
    const char *session;
    const char *identity;
    const char *account;
    const char *target;
    const char *grant;
    const char *kind; /* "shell", "exec", "subsystem", "forward" */
    const char *term;
    const char *broker;
    uint64_t started_us;
    unsigned cols, rows;
    bool mask_unechoed;
    unsigned char rec_key[REC_KEY_LEN];
    unsigned char vault_key[REC_KEY_LEN];
    unsigned char vault_sig[REC_SIG_LEN];
};

/* Writer limits; rec_limits_default() fills the documented defaults. */
struct rec_limits {
    size_t chunk_bytes;         /* close a chunk at this many event bytes (64 KiB) */
    unsigned chunk_ms;          /* ... or when its first event is this old (1000 ms) */
    unsigned checkpoint_chunks; /* a checkpoint every N chunks (16) */
    unsigned checkpoint_ms;     /* ... or every N ms of session time with new data (1000 ms) */
    size_t keyframe_bytes;      /* a keyframe after this much output (256 KiB); 0: none */
    unsigned keyframe_ms;       /* ... or this long (10000 ms) since the last one */
    unsigned coalesce_ms;       /* OUT events closer than this are merged (10 ms) */
    int zstd_level;             /* 0 stores chunks uncompressed; default 3 */
};
void rec_limits_default(struct rec_limits *l);

/* The message vaultd signs to vouch for a session's recording key. */
#define REC_KEY_SIG_CONTEXT "custos-rec-key-v1"
/*
 * Build that message: "custos-rec-key-v1" 0x00 session 0x00 key.  Appends to
 * `out` (a bounded buf of the caller's).  -ERR_INVAL for an empty session id.
 */
MUST_CHECK int rec_key_message(const char *session, const unsigned char key[REC_KEY_LEN],
                               struct buf *out);

/* ---- writer -------------------------------------------------------------- */

struct rec_writer;

/*
 * Start a recording: writes the magic and the HEADER into the writer's output.
 * `sk` is the session's Ed25519 secret key; it is copied into locked memory
 * and wiped at rec_writer_close() or rec_writer_free() — the caller wipes its
 * own copy.  `lim` NULL means the defaults.  Keyframes are made only when
 * m->cols and m->rows are non-zero (a pty).  *out owned by the caller.
 * Errors: -ERR_INVAL (missing field, bad limits), -ERR_NOMEM, -ERR_CRYPTO.
 */
MUST_CHECK int rec_writer_new(const struct rec_meta *m, const struct rec_limits *lim,
                              const unsigned char sk[REC_SECKEY_LEN], struct rec_writer **out);
/* Wipe the key and free; NULL is fine. */
void rec_writer_free(struct rec_writer *w);

/*
 * Record one event at offset t_us.  For OUT and ERR the data may be of any
 * length (it is split over chunks); for the others at most REC_EVENT_MAX.
 * Typed helpers below build the payload of the structured types.
 * After an error the writer is unusable (every call fails with -ERR_STATE).
 */
MUST_CHECK int rec_writer_event(struct rec_writer *w, enum rec_ev type, uint64_t t_us,
                                const void *data, size_t len);
MUST_CHECK int rec_writer_masked(struct rec_writer *w, uint64_t t_us, uint64_t nbytes);
MUST_CHECK int rec_writer_resize(struct rec_writer *w, uint64_t t_us, unsigned cols, unsigned rows);
MUST_CHECK int rec_writer_exit(struct rec_writer *w, uint64_t t_us, uint64_t status);
MUST_CHECK int rec_writer_signal(struct rec_writer *w, uint64_t t_us, const char *name, bool core);
/* A marker: {"kind":kind,"text":text}; text may be NULL. */
MUST_CHECK int rec_writer_marker(struct rec_writer *w, uint64_t t_us, const char *kind,
                                 const char *text);
/* A command (also listed in the index): {"line":…,"how":…,"decision":…}; decision may be NULL. */
MUST_CHECK int rec_writer_command(struct rec_writer *w, uint64_t t_us, enum rec_how how,
                                  const char *line, const char *decision);

/*
 * Time passes: close the open chunk if it is chunk_ms old, make a checkpoint if
 * checkpoint_ms passed since the last one and there is new data.  Call it at
 * least every chunk_ms while the session lives.  wall_us is UTC µs.
 */
MUST_CHECK int rec_writer_tick(struct rec_writer *w, uint64_t t_us, uint64_t wall_us);
/* Close the open chunk (if any) and make a checkpoint now, if anything is new since the last one.
 */
MUST_CHECK int rec_writer_checkpoint(struct rec_writer *w, uint64_t t_us, uint64_t wall_us);
/*
 * End the recording: close the chunk, write the INDEX, the final checkpoint
 * and the TRAILER, wipe the key.  Only rec_writer_output() and the getters
 * work afterwards.
 */
MUST_CHECK int rec_writer_close(struct rec_writer *w, uint64_t t_us, uint64_t wall_us);

/*
 * The bytes made so far and not yet taken: the caller appends them to the
 * file, then buf_consume()s what it wrote (or buf_reset()s).  Borrowed; valid
 * until the next call on the writer.
 */
struct buf *rec_writer_output(struct rec_writer *w);

/*
 * The screen as recorded so far (a pty session): the bytes that paint it on
 * a reset terminal of cols x rows, appended to out — for someone who starts
 * watching a live session.  Coalesced output is recorded first (so a chunk
 * may end here).  -ERR_NOT_FOUND without a pty, -ERR_TOO_LONG (out's bound).
 */
MUST_CHECK int rec_writer_screen(struct rec_writer *w, unsigned *cols, unsigned *rows,
                                 struct buf *out);

/* Counters, for session.close and the metrics. */
struct rec_stats {
    uint64_t chunks, checkpoints, events, in_bytes, out_bytes;
    uint64_t file_bytes; /* bytes produced, magic included */
    uint64_t raw_bytes;  /* event bytes before compression */
    uint64_t keyframes;
};
void rec_writer_stats(const struct rec_writer *w, struct rec_stats *st);

/*
 * The body of the last checkpoint made (the final one after close), for
 * session.close and the logs.  Borrowed; valid until the next call.  NULL
 * before the first checkpoint.
 */
const unsigned char *rec_writer_last_checkpoint(const struct rec_writer *w, size_t *len);

/* ---- reader -------------------------------------------------------------- */

/* One frame inside a buffer (borrowed pointers into it). */
struct rec_frame {
    uint8_t type;
    const unsigned char *body;
    uint32_t len;
    const unsigned char *raw; /* the whole frame: header and body */
    size_t raw_len;
};

/*
 * How many bytes the frame starting at p needs in all: REC_FRAME_HDR while
 * fewer than that are there, else header + body.  -ERR_CORRUPT for a frame
 * header that is not valid (unknown type, flags or reserved bits set), and
 * -ERR_TOO_LONG for a body over REC_FRAME_MAX.
 */
MUST_CHECK int rec_frame_size(const void *p, size_t n, size_t *size);
/* Parse a frame that is all there (n >= its size). Same errors, plus -ERR_INVAL if n is short. */
MUST_CHECK int rec_frame_parse(const void *p, size_t n, struct rec_frame *f);

/* A parsed header; strings in meta are owned by it. */
struct rec_info {
    struct rec_meta meta;
    unsigned version;
    char *codec;
    struct rec_limits limits;
    void *json_; /* internal: the parsed object the strings live in */
};
/* Parse a HEADER frame. *out owned by the caller (rec_info_free). -ERR_PARSE, -ERR_SCHEMA. */
MUST_CHECK int rec_header_parse(const struct rec_frame *f, struct rec_info **out);
void rec_info_free(struct rec_info *info);

struct rec_chunk {
    uint64_t seq, t_first_us, t_last_us;
    uint32_t n_events, raw_len;
    uint8_t codec, flags;
    const unsigned char *prev; /* REC_HASH_LEN bytes, borrowed from the frame */
    const unsigned char *payload;
    size_t payload_len;
};
/* Parse a CHUNK frame's fixed fields (no decompression). -ERR_PARSE on a bad layout. */
MUST_CHECK int rec_chunk_parse(const struct rec_frame *f, struct rec_chunk *c);
/*
 * The same from only the first REC_CHUNK_HEAD bytes of a CHUNK frame (its
 * header and fixed fields), for walking a file without reading payloads:
 * prev points into p, payload is NULL, payload_len what the frame holds.
 */
#define REC_CHUNK_HEAD (REC_FRAME_HDR + 68)
MUST_CHECK int rec_chunk_head(const void *p, size_t n, struct rec_chunk *c);

/* One event, as handed to a callback; data borrowed for the call. */
struct rec_event {
    uint8_t type;
    uint64_t t_us; /* offset since started_us */
    const unsigned char *data;
    size_t len;
};
/* Return 0 to go on, > 0 to stop early (returned as is), < 0 an error (returned as is). */
typedef int (*rec_event_cb)(void *ctx, const struct rec_event *ev);

/*
 * Decompress a chunk into `scratch` (reset first; its bound must allow
 * raw_len) and call cb for each event in order, extension types included.
 * Checks what the verifier checks of a chunk's contents: the codec yields
 * exactly raw_len bytes, n_events events parse, varints are canonical, types
 * below 0x80 are known, times add up to t_last_us.  -ERR_CORRUPT otherwise.
 */
MUST_CHECK int rec_chunk_events(const struct rec_chunk *c, struct buf *scratch, rec_event_cb cb,
                                void *ctx);

/* Decode structured payloads. -ERR_CORRUPT when the bytes do not fit the type. */
MUST_CHECK int rec_event_resize(const struct rec_event *ev, unsigned *cols, unsigned *rows);
MUST_CHECK int rec_event_uint(const struct rec_event *ev, uint64_t *v); /* EXIT, IN_MASKED */
/* KEYFRAME: size, and the paint bytes (borrowed from ev). */
MUST_CHECK int rec_event_keyframe(const struct rec_event *ev, unsigned *cols, unsigned *rows,
                                  const unsigned char **paint, size_t *paint_len);

struct rec_checkpoint {
    uint64_t chunks, t_us, wall_us, in_bytes, out_bytes, events, offset;
    unsigned char head[REC_HASH_LEN];
    bool final;
    uint32_t mac_epoch;
    unsigned char mac[REC_HASH_LEN];
    char session[128];
    unsigned char sig[REC_SIG_LEN];
    size_t signed_len; /* body bytes covered by sig */
};
/* Parse a CHECKPOINT body. -ERR_PARSE on a bad layout or a session id over 127 bytes. */
MUST_CHECK int rec_checkpoint_parse(const void *body, size_t len, struct rec_checkpoint *ck);
/* Check a CHECKPOINT body's signature under key: 0 or -ERR_TAMPERED (-ERR_PARSE if malformed). */
MUST_CHECK int rec_checkpoint_verify(const void *body, size_t len,
                                     const unsigned char key[REC_KEY_LEN]);

/* The INDEX: seek points and commands. */
struct rec_index_entry {
    uint64_t offset, t_first_us;
    uint8_t flags;
};
struct rec_index_cmd {
    uint64_t t_us;
    uint8_t how;
    const char *line; /* NUL-terminated, owned by the index */
};
struct rec_index {
    size_t n_chunks, n_commands;
    struct rec_index_entry *chunks;
    struct rec_index_cmd *commands;
    char *text_; /* internal: the command lines */
};
/* Parse an INDEX body. *out owned by the caller (rec_index_free). -ERR_PARSE, -ERR_NOMEM. */
MUST_CHECK int rec_index_parse(const void *body, size_t len, struct rec_index **out);
void rec_index_free(struct rec_index *ix);

/* Parse a TRAILER body (24 bytes). -ERR_PARSE when it is not one. */
MUST_CHECK int rec_trailer_parse(const struct rec_frame *f, uint64_t *index_offset,
                                 uint64_t *final_offset);

/* ---- verifier ------------------------------------------------------------ */

enum rec_verdict_kind {
    REC_V_OK = 0,
    REC_V_INCOMPLETE = 1, /* intact up to the last checkpoint; no final one */
    REC_V_MODIFIED = 2,   /* a frame fails a check */
    REC_V_WRONG_KEY = 3,  /* the vault did not sign this recording key for this session */
};
/* "OK", "INCOMPLETE", "MODIFIED", "WRONG KEY". */
const char *rec_verdict_name(enum rec_verdict_kind k);

struct rec_verdict {
    enum rec_verdict_kind kind;
    bool key_checked;    /* vault_sig was checked against a trusted key */
    char why[256];       /* one sentence for people (MODIFIED / WRONG KEY / INCOMPLETE) */
    uint64_t bad_offset; /* MODIFIED: file offset of the first bad frame */
    uint64_t bad_t_us;   /* MODIFIED: time offset near it (the last good time) */
    /* What is sealed: the last valid checkpoint (chunks 0 if none). */
    struct rec_checkpoint last;
    bool have_last;
    uint64_t tail_bytes; /* INCOMPLETE: bytes after the last checkpoint */
    uint64_t tail_us;    /* INCOMPLETE: time span of chunks after it */
    uint64_t file_bytes; /* bytes fed */
    char session[128];   /* from the header, "" if none parsed */
};

struct rec_verifier;
/*
 * vault_key: the vault's recording-signing public key the caller trusts, or
 * NULL (then vault_sig is not checked and key_checked stays false).
 */
MUST_CHECK int rec_verifier_new(const unsigned char *vault_key, struct rec_verifier **out);
void rec_verifier_free(struct rec_verifier *v);
/*
 * Feed the next bytes of the file.  Holds at most one frame.  Never fails on
 * bad data (the verdict says it); only -ERR_NOMEM.
 */
MUST_CHECK int rec_verifier_feed(struct rec_verifier *v, const void *p, size_t n);
/* The verdict for what was fed.  Call once, at the end. */
void rec_verifier_finish(struct rec_verifier *v, struct rec_verdict *out);

#endif
