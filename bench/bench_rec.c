/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cost of the recording writer (common/rec) on its own: CPU per MB of output
 * (text from real commands, zeros, random), bytes per keystroke with its own
 * µs time, and the file's size against gzip -6 of the same output stream,
 * measured in the same run.  The relay around it is measured in
 * bench_broker.py; this is the format's own share.
 *
 * Usage: bench_rec [MB of text output, default 50]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "custos/rec.h"
#include "custos/secbuf.h"

#define KEYS 2000

static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Output of real commands, repeated up to `want` bytes (the workload of issue 13). */
static size_t workload(char **out, size_t want)
{
    static const char *const cmds[] = {
        "find /usr -ls 2>/dev/null | head -c 30000000",
        "for p in ls bash ssh sshd tar grep sed; do MANWIDTH=100 man -P cat $p 2>/dev/null; done",
        "top -b -n 20 -d 0.05 2>/dev/null",
        "dmesg 2>/dev/null || cat /var/log/*.log 2>/dev/null | head -c 2000000",
    };
    struct buf b;
    char tmp[65536];

    buf_init(&b, want + sizeof(tmp));
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        FILE *p = popen(cmds[i], "r");
        size_t n;
        if (!p)
            continue;
        while ((n = fread(tmp, 1, sizeof(tmp), p)) > 0 && b.len < want)
            if (buf_append(&b, tmp, n) != 0)
                break;
        pclose(p);
    }
    if (b.len == 0)
        return 0;
    /* \n -> \r\n as a pty's ONLCR does, repeated up to the size wanted */
    {
        struct buf t;
        buf_init(&t, 2 * want + 16);
        while (t.len < want)
            for (size_t i = 0; i < b.len && t.len < want; i++) {
                if (b.data[i] == '\n' && buf_append(&t, "\r", 1) != 0)
                    break;
                if (buf_append(&t, &b.data[i], 1) != 0)
                    break;
            }
        buf_fini(&b);
        *out = t.data;
        return t.len;
    }
}

static size_t gzip6(const char *data, size_t n)
{
    char path[] = "/tmp/bench_rec.XXXXXX", cmd[128];
    int fd = mkstemp(path);
    FILE *f, *p;
    size_t total = 0, k;
    char tmp[65536];

    if (fd < 0 || !(f = fdopen(fd, "wb")))
        return 0;
    fwrite(data, 1, n, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "gzip -6 -c %s", path);
    if ((p = popen(cmd, "r"))) {
        while ((k = fread(tmp, 1, sizeof(tmp), p)) > 0)
            total += k;
        pclose(p);
    }
    remove(path);
    return total;
}

struct run {
    double cpu;
    size_t file;
    struct rec_stats st;
};

/* Record `n` bytes of output in 4 KiB reads, 100 µs apart, after KEYS echoed keystrokes. */
static int record(const char *out, size_t n, bool keys, bool pty, struct run *res)
{
    unsigned char pk[32], sk[64];
    struct rec_meta m = {0};
    struct rec_writer *w;
    uint64_t t = 0;
    double c0;
    size_t file = 0;

    crypto_sign_keypair(pk, sk);
    m.session = "s-1";
    m.identity = "alice";
    m.account = "root@web01";
    m.target = "web01";
    m.kind = "shell";
    m.cols = pty ? 200 : 0;
    m.rows = pty ? 50 : 0;
    m.term = "xterm-256color";
    memcpy(m.rec_key, pk, 32);
    c0 = cpu_s();
    if (rec_writer_new(&m, NULL, sk, &w) != 0)
        return 1;
    if (keys)
        for (int i = 0; i < KEYS; i++) {
            char c = "systemctl status sshd && journalctl -u sshd | grep -i fail "[i % 60];
            t += 1000; /* 1 ms apart, as the anchors' workload types */
            if (rec_writer_event(w, REC_IN, t, &c, 1) != 0 ||
                rec_writer_event(w, REC_OUT, t + 300, &c, 1) != 0)
                return 1;
            if (i % 100 == 0 && rec_writer_tick(w, t, t) != 0)
                return 1;
            file += rec_writer_output(w)->len;
            buf_reset(rec_writer_output(w));
        }
    for (size_t off = 0; off < n; off += 4096) {
        size_t k = n - off < 4096 ? n - off : 4096;
        t += 100;
        if (rec_writer_event(w, REC_OUT, t, out + off, k) != 0)
            return 1;
        if (off % (1u << 20) == 0 && rec_writer_tick(w, t, t) != 0)
            return 1;
        file += rec_writer_output(w)->len;
        buf_reset(rec_writer_output(w));
    }
    if (rec_writer_close(w, t + 1, t + 1) != 0)
        return 1;
    file += rec_writer_output(w)->len;
    rec_writer_stats(w, &res->st);
    rec_writer_free(w);
    res->cpu = cpu_s() - c0;
    res->file = file;
    return 0;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 50, n;
    /* "pty" as a second argument runs only the pty text case (for profilers) */
    bool only_pty = argc > 2 && strcmp(argv[2], "pty") == 0;
    char *text = NULL;
    unsigned char *zeros, *noise;
    struct run keys, txt, txt_nopty, zero, rnd;
    size_t gz;

    if (secbuf_init() != 0 || mb == 0 || mb > 1024)
        return 2;
    if ((n = workload(&text, mb << 20)) == 0) {
        fprintf(stderr, "bench_rec: no workload output\n");
        return 1;
    }
    zeros = calloc(1, n);
    noise = malloc(n);
    if (!zeros || !noise)
        return 1;
    memset(zeros, 0, n); /* touch every page now, so no page fault is counted below */
    randombytes_buf(noise, n);
    if (only_pty)
        return record(text, n, false, true, &txt) != 0;
    gz = gzip6(text, n);
    if (record(text, 0, true, true, &keys) || record(text, n, false, true, &txt) ||
        record(text, n, false, false, &txt_nopty) ||
        record((char *)zeros, n, false, false, &zero) ||
        record((char *)noise, n, false, false, &rnd))
        return 1;
    printf("workload: %zu bytes of output (find -ls, man, top -b, dmesg; CRLF), %d keystrokes\n", n,
           KEYS);
    printf("keystrokes: %.1f B per keystroke with its echo, each with its own time\n",
           (double)keys.file / KEYS);
    printf("text, pty (keyframes): %.2f ms CPU per MB; file %zu B = %.3f of gzip -6 (%zu B); "
           "%llu keyframes, %llu checkpoints\n",
           txt.cpu * 1e3 / ((double)n / 1e6), txt.file, (double)txt.file / (double)gz, gz,
           (unsigned long long)txt.st.keyframes, (unsigned long long)txt.st.checkpoints);
    printf("text, no pty (no keyframes): %.2f ms CPU per MB; file %zu B\n",
           txt_nopty.cpu * 1e3 / ((double)n / 1e6), txt_nopty.file);
    printf("zeros, exec: %.2f ms CPU per MB; file %zu B\n", zero.cpu * 1e3 / ((double)n / 1e6),
           zero.file);
    printf("random, exec: %.2f ms CPU per MB; file %zu B = %.3f of the output\n",
           rnd.cpu * 1e3 / ((double)n / 1e6), rnd.file, (double)rnd.file / (double)n);
    free(text);
    free(zeros);
    free(noise);
    return 0;
}
