/* SPDX-License-Identifier: Apache-2.0 */
/* Test-only launcher: applies what a systemd unit's sandbox can be without systemd, then execs. */
/*
 * tests/integration/sandbox.py reads a unit file and turns its [Service]
 * settings into the options below; this program only applies them, in the
 * order systemd does: mount namespace and file-system protections, resource
 * limits, umask, capability bounding set, groups and user, no_new_privs, then
 * the seccomp filters (the system-call allow list with SIGSYS for the rest,
 * and one filter per restriction, stacked as systemd stacks them), and exec.
 *
 *   sandbox_exec [OPTIONS] -- PROGRAM [ARGS...]
 *
 *   --uid N --gid N [--groups N,N...]   User=, Group=, SupplementaryGroups=
 *   --syscalls FILE      allowed system calls, one name a line (SystemCallFilter=)
 *   --families LIST      AF_UNIX,AF_INET,... (RestrictAddressFamilies=)
 *   --mdwe --lock-personality --restrict-namespaces --restrict-realtime
 *   --restrict-suid-sgid --no-new-privs --empty-capbset
 *   --umask OCTAL  --rlimit NAME=VALUE (core, nofile, memlock)
 *   --netns              PrivateNetwork= (a new, empty network namespace)
 *   --ro-root DIR        ProtectSystem=strict: DIR (normally /) read-only, recursively
 *   --tmpfs DIR[:MODE]   a fresh tmpfs (PrivateTmp=, or a mount point for --bind)
 *   --inaccessible DIR   an empty read-only tmpfs, mode 000 (ProtectHome=)
 *   --bind SRC:DST       SRC writable at DST (StateDirectory=, RuntimeDirectory=); SRC is
 *                        opened before any mount, so it may lie under a later --tmpfs
 *   --private-devices    /dev with null, zero, full, random, urandom only
 *   --proc-invisible DIR a new /proc with hidepid=invisible (ProtectProc=invisible)
 *   --proc-subset-pid    ... and subset=pid (ProcSubset=pid)
 *   --chroot DIR         run in DIR (the install test's root), after the mounts
 *   --setenv NAME=VALUE
 *
 * Exit status 127 when the sandbox cannot be set up; otherwise PROGRAM's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/mount.h>
#include <seccomp.h>

#define MAX_OPS 64
#define MAX_GROUPS 32
#define MAX_ENV 16

enum op_kind { OP_RO_ROOT, OP_TMPFS, OP_INACCESSIBLE, OP_BIND, OP_DEVICES, OP_PROC };

struct op {
    enum op_kind kind;
    char *dst;
    unsigned mode;
    char *src; /* OP_BIND */
    int srcfd; /* opened in the new namespace before any mount: a tmpfs may hide its path */
};

static struct op ops[MAX_OPS];
static int n_ops;
static bool proc_subset_pid;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    fputs("sandbox_exec: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", strerror(e));
    exit(127);
}

static void add_op(enum op_kind kind, const char *arg)
{
    struct op *o;
    char *colon;

    if (n_ops == MAX_OPS) {
        errno = E2BIG;
        die("too many mount options");
    }
    o = &ops[n_ops++];
    o->kind = kind;
    o->srcfd = -1;
    o->mode = 0755;
    if (!(o->dst = strdup(arg)))
        die("strdup");
    colon = strchr(o->dst, ':');
    if (kind == OP_BIND) {
        if (!colon) {
            errno = EINVAL;
            die("--bind %s: want SRC:DST", arg);
        }
        *colon = '\0';
        o->src = strdup(o->dst);
        memmove(o->dst, colon + 1, strlen(colon + 1) + 1);
    } else if (kind == OP_TMPFS && colon) {
        *colon = '\0';
        o->mode = (unsigned)strtoul(colon + 1, NULL, 8);
    }
}

static void mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            die("mkdir %s", buf);
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        die("mkdir %s", buf);
}

static void set_rdonly(const char *path, bool rdonly, bool recursive)
{
    struct mount_attr attr = {0};

    if (rdonly)
        attr.attr_set = MOUNT_ATTR_RDONLY;
    else
        attr.attr_clr = MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr,
                sizeof(attr)) != 0)
        die("mount_setattr %s", path);
}

static void private_devices(const char *dev)
{
    static const char *const nodes[] = {"null", "zero", "full", "random", "urandom"};
    char src[PATH_MAX], dst[PATH_MAX];

    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") != 0)
        die("mount tmpfs %s", dev);
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        int fd;

        snprintf(src, sizeof(src), "/proc/self/root/dev/%s", nodes[i]);
        snprintf(dst, sizeof(dst), "%s/%s", dev, nodes[i]);
        if ((fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666)) < 0)
            die("create %s", dst);
        close(fd);
        /* The host's node, reached through the process root (the old /dev is covered). */
        if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
            die("bind %s", dst);
    }
    snprintf(dst, sizeof(dst), "%s/fd", dev);
    if (symlink("/proc/self/fd", dst) != 0)
        die("symlink %s", dst);
}

static void apply_mounts(void)
{
    char src[64];

    for (int i = 0; i < n_ops; i++)
        if (ops[i].kind == OP_BIND &&
            (ops[i].srcfd = open(ops[i].src, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            die("open %s", ops[i].src);

    for (int i = 0; i < n_ops; i++) {
        struct op *o = &ops[i];

        switch (o->kind) {
        case OP_RO_ROOT:
            if (mount(o->dst, o->dst, NULL, MS_BIND | MS_REC, NULL) != 0)
                die("bind %s", o->dst);
            set_rdonly(o->dst, true, true);
            break;
        case OP_TMPFS: {
            char opt[32];

            mkdir_p(o->dst, 0755);
            snprintf(opt, sizeof(opt), "mode=%04o", o->mode);
            if (mount("tmpfs", o->dst, "tmpfs", MS_NOSUID | MS_NODEV, opt) != 0)
                die("mount tmpfs %s", o->dst);
            break;
        }
        case OP_INACCESSIBLE:
            if (access(o->dst, F_OK) != 0)
                break; /* as systemd: nothing to hide */
            if (mount("tmpfs", o->dst, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                      "mode=0000") != 0)
                die("mount inaccessible %s", o->dst);
            break;
        case OP_BIND:
            mkdir_p(o->dst, 0755);
            snprintf(src, sizeof(src), "/proc/self/fd/%d", o->srcfd);
            if (mount(src, o->dst, NULL, MS_BIND, NULL) != 0)
                die("bind %s", o->dst);
            set_rdonly(o->dst, false, false);
            close(o->srcfd);
            break;
        case OP_DEVICES:
            private_devices(o->dst);
            break;
        case OP_PROC:
            if (mount("proc", o->dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      proc_subset_pid ? "hidepid=invisible,subset=pid" : "hidepid=invisible") != 0)
                die("mount proc %s", o->dst);
            break;
        }
    }
}

/* ---- seccomp ---------------------------------------------------------------------------- */

static void rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                 const struct scmp_arg_cmp *cmp)
{
    int nr = seccomp_syscall_resolve_name(name);

    if (nr == __NR_SCMP_ERROR)
        return; /* not on this architecture */
    if (seccomp_rule_add_array(ctx, action, nr, n, cmp) != 0) {
        errno = EINVAL;
        die("seccomp rule for %s", name);
    }
}

static void load(scmp_filter_ctx ctx, const char *what)
{
    int r = seccomp_load(ctx);

    if (r != 0) {
        errno = -r;
        die("seccomp_load %s", what);
    }
    seccomp_release(ctx);
}

static scmp_filter_ctx new_filter(uint32_t def)
{
    scmp_filter_ctx ctx = seccomp_init(def);

    if (!ctx) {
        errno = ENOMEM;
        die("seccomp_init");
    }
    /* no_new_privs is set by us, explicitly, when the unit asks for it. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    return ctx;
}

/* SystemCallFilter=: what is not listed kills the process with SIGSYS, as systemd does. */
static void allow_list(FILE *f)
{
    /* systemd always allows these, whatever the list says (seccomp-util.c). */
    static const char *const always[] = {"execve",     "exit",         "exit_group",
                                         "getrlimit",  "rt_sigreturn", "sigreturn",
                                         "arch_prctl", "brk",          "futex"};
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_KILL_PROCESS);
    char line[128];

    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n \t")] = '\0';
        if (line[0] && line[0] != '#')
            rule(ctx, SCMP_ACT_ALLOW, line, 0, NULL);
    }
    fclose(f);
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        rule(ctx, SCMP_ACT_ALLOW, always[i], 0, NULL);
    load(ctx, "SystemCallFilter");
}

static int family_of(const char *name)
{
    static const struct {
        const char *name;
        int af;
    } fams[] = {{"AF_UNIX", AF_UNIX},
                {"AF_INET", AF_INET},
                {"AF_INET6", AF_INET6},
                {"AF_NETLINK", AF_NETLINK},
                {"AF_PACKET", AF_PACKET}};

    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
        if (strcmp(fams[i].name, name) == 0)
            return fams[i].af;
    errno = EINVAL;
    die("unknown address family %s", name);
}

/* RestrictAddressFamilies=: socket() of another family fails with EAFNOSUPPORT. */
static void families(char *list)
{
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);
    bool allowed[AF_MAX] = {false};
    char *save = NULL;

    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        allowed[family_of(t)] = true;
    for (int af = 0; af < AF_MAX; af++) {
        if (!allowed[af]) {
            struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af);

            rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &c);
        }
    }
    {
        struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_GE, (scmp_datum_t)AF_MAX);

        rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, &c);
    }
    load(ctx, "RestrictAddressFamilies");
}

/* MemoryDenyWriteExecute=: no mapping both writable and executable, no mprotect to exec. */
static void mdwe(void)
{
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);
    struct scmp_arg_cmp wx =
        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC | PROT_WRITE);
    struct scmp_arg_cmp x = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
    struct scmp_arg_cmp shm = SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC);

    rule(ctx, SCMP_ACT_ERRNO(EPERM), "mmap", 1, &wx);
    rule(ctx, SCMP_ACT_ERRNO(EPERM), "mprotect", 1, &x);
    rule(ctx, SCMP_ACT_ERRNO(EPERM), "pkey_mprotect", 1, &x);
    rule(ctx, SCMP_ACT_ERRNO(EPERM), "shmat", 1, &shm);
    load(ctx, "MemoryDenyWriteExecute");
}

/* LockPersonality=: only the current personality is accepted (as systemd: no query either). */
static void lock_personality(void)
{
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);
    struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_NE, PER_LINUX);

    rule(ctx, SCMP_ACT_ERRNO(EPERM), "personality", 1, &c);
    load(ctx, "LockPersonality");
}

/* RestrictNamespaces=yes: no new namespace; clone3 looks absent, so libc falls back to clone. */
static void restrict_namespaces(void)
{
    const scmp_datum_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                            CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);

    for (int bit = 0; bit < 64; bit++) {
        scmp_datum_t flag = (scmp_datum_t)1 << bit;
        struct scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);

        if (!(ns & flag))
            continue;
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, &c);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &c);
    }
    rule(ctx, SCMP_ACT_ERRNO(EPERM), "setns", 0, NULL);
    rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
    load(ctx, "RestrictNamespaces");
}

/* RestrictRealtime=: no SCHED_FIFO, SCHED_RR or SCHED_DEADLINE. */
static void restrict_realtime(void)
{
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);
    struct scmp_arg_cmp c[3] = {SCMP_A1(SCMP_CMP_EQ, SCHED_FIFO), SCMP_A1(SCMP_CMP_EQ, SCHED_RR),
                                SCMP_A1(SCMP_CMP_EQ, 6 /* SCHED_DEADLINE */)};

    for (int i = 0; i < 3; i++)
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "sched_setscheduler", 1, &c[i]);
    rule(ctx, SCMP_ACT_ERRNO(EPERM), "sched_setattr", 0, NULL);
    load(ctx, "RestrictRealtime");
}

/* RestrictSUIDSGID=: no set-user/group-ID bit, on files or directories. */
static void restrict_suid_sgid(void)
{
    scmp_filter_ctx ctx = new_filter(SCMP_ACT_ALLOW);
    const scmp_datum_t bits[2] = {S_ISUID, S_ISGID};

    for (int i = 0; i < 2; i++) {
        struct scmp_arg_cmp a1 = SCMP_A1(SCMP_CMP_MASKED_EQ, bits[i], bits[i]);
        struct scmp_arg_cmp a2 = SCMP_A2(SCMP_CMP_MASKED_EQ, bits[i], bits[i]);

        rule(ctx, SCMP_ACT_ERRNO(EPERM), "chmod", 1, &a1);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "fchmod", 1, &a1);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "fchmodat", 1, &a2);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "mkdir", 1, &a1);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "mkdirat", 1, &a2);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "mknod", 1, &a1);
        rule(ctx, SCMP_ACT_ERRNO(EPERM), "creat", 1, &a1);
    }
    load(ctx, "RestrictSUIDSGID");
}

/* ---- main ------------------------------------------------------------------------------- */

static int rlimit_of(const char *name)
{
    if (strcmp(name, "core") == 0)
        return RLIMIT_CORE;
    if (strcmp(name, "nofile") == 0)
        return RLIMIT_NOFILE;
    if (strcmp(name, "memlock") == 0)
        return RLIMIT_MEMLOCK;
    errno = EINVAL;
    die("unknown rlimit %s", name);
}

int main(int argc, char **argv)
{
    const char *chroot_dir = NULL;
    FILE *syscalls = NULL;
    char *fams = NULL, *env[MAX_ENV];
    gid_t groups[MAX_GROUPS];
    long uid = -1, gid = -1;
    int n_groups = 0, n_env = 0, i;
    bool do_mdwe = false, lockpers = false, rns = false, rrt = false, rsuid = false, nnp = false;
    bool capbset = false, netns = false;
    long umask_v = -1;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

#define TAKES(opt) (strcmp(a, opt) == 0 && v && ++i)
        if (TAKES("--uid"))
            uid = strtol(v, NULL, 10);
        else if (TAKES("--gid"))
            gid = strtol(v, NULL, 10);
        else if (TAKES("--groups")) {
            char *copy = strdup(v), *save = NULL;

            for (char *t = strtok_r(copy, ",", &save); t && n_groups < MAX_GROUPS;
                 t = strtok_r(NULL, ",", &save))
                groups[n_groups++] = (gid_t)strtoul(t, NULL, 10);
            free(copy);
        } else if (TAKES("--syscalls")) {
            /* Read now: a --tmpfs on /tmp would hide it. */
            if (!(syscalls = fopen(v, "re")))
                die("open %s", v);
        } else if (TAKES("--families"))
            fams = strdup(v);
        else if (TAKES("--umask"))
            umask_v = strtol(v, NULL, 8);
        else if (TAKES("--rlimit")) {
            char *copy = strdup(v), *eq = strchr(copy, '=');
            struct rlimit rl;

            if (!eq) {
                errno = EINVAL;
                die("--rlimit %s", v);
            }
            *eq = '\0';
            rl.rlim_cur = rl.rlim_max = strtoull(eq + 1, NULL, 10);
            if (setrlimit(rlimit_of(copy), &rl) != 0) {
                struct rlimit cur;

                /* A raise beyond this machine's hard limit (no CAP_SYS_RESOURCE in a
                 * container): run with the hard limit, which is stricter, and say so. */
                if (errno != EPERM || getrlimit(rlimit_of(copy), &cur) != 0 ||
                    cur.rlim_max >= rl.rlim_max)
                    die("setrlimit %s", v);
                fprintf(stderr, "sandbox_exec: %s: kept the hard limit %llu\n", v,
                        (unsigned long long)cur.rlim_max);
                cur.rlim_cur = cur.rlim_max;
                if (setrlimit(rlimit_of(copy), &cur) != 0)
                    die("setrlimit %s", v);
            }
            free(copy);
        } else if (TAKES("--ro-root"))
            add_op(OP_RO_ROOT, v);
        else if (TAKES("--tmpfs"))
            add_op(OP_TMPFS, v);
        else if (TAKES("--inaccessible"))
            add_op(OP_INACCESSIBLE, v);
        else if (TAKES("--bind"))
            add_op(OP_BIND, v);
        else if (TAKES("--private-devices"))
            add_op(OP_DEVICES, v);
        else if (TAKES("--proc-invisible"))
            add_op(OP_PROC, v);
        else if (TAKES("--chroot"))
            chroot_dir = v;
        else if (TAKES("--setenv")) {
            if (n_env < MAX_ENV)
                env[n_env++] = strdup(v);
        } else if (strcmp(a, "--mdwe") == 0)
            do_mdwe = true;
        else if (strcmp(a, "--lock-personality") == 0)
            lockpers = true;
        else if (strcmp(a, "--restrict-namespaces") == 0)
            rns = true;
        else if (strcmp(a, "--restrict-realtime") == 0)
            rrt = true;
        else if (strcmp(a, "--restrict-suid-sgid") == 0)
            rsuid = true;
        else if (strcmp(a, "--no-new-privs") == 0)
            nnp = true;
        else if (strcmp(a, "--empty-capbset") == 0)
            capbset = true;
        else if (strcmp(a, "--netns") == 0)
            netns = true;
        else if (strcmp(a, "--proc-subset-pid") == 0)
            proc_subset_pid = true;
        else {
            errno = EINVAL;
            die("unknown or incomplete option %s", a);
        }
#undef TAKES
    }
    if (i + 1 >= argc || uid < 0 || gid < 0) {
        errno = EINVAL;
        die("usage: sandbox_exec --uid N --gid N [OPTIONS] -- PROGRAM [ARGS...]");
    }
    if (n_ops || netns) {
        if (unshare(CLONE_NEWNS | (netns ? CLONE_NEWNET : 0)) != 0)
            die("unshare");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            die("make / private");
        apply_mounts();
    }
    if (chroot_dir && (chroot(chroot_dir) != 0 || chdir("/") != 0))
        die("chroot %s", chroot_dir);
    for (int e = 0; e < n_env; e++)
        if (putenv(env[e]) != 0)
            die("putenv");
    if (umask_v >= 0)
        umask((mode_t)umask_v);
    if (capbset) {
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                die("drop capability %d from the bounding set", cap);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
            die("clear ambient capabilities");
    }
    if (setgroups((size_t)n_groups, groups) != 0 ||
        setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0 ||
        setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
        die("setgroups/setgid/setuid to %ld:%ld", uid, gid);
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die("no_new_privs");
    /* Restrictions first, the allow list last: every later call is checked by all of them. */
    if (fams)
        families(fams);
    if (do_mdwe)
        mdwe();
    if (lockpers)
        lock_personality();
    if (rns)
        restrict_namespaces();
    if (rrt)
        restrict_realtime();
    if (rsuid)
        restrict_suid_sgid();
    if (syscalls)
        allow_list(syscalls);
    execv(argv[i + 1], argv + i + 1);
    die("exec %s", argv[i + 1]);
}
