/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replay without libFuzzer: runs LLVMFuzzerTestOneInput over every
 * regular file of the directories (or the files) named on the command line,
 * in name order, and prints TAP, one "ok N - path" per file.  A broken
 * invariant aborts, so the test fails on the file after the last "ok".
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define DRIVER_MAX_INPUT (16u << 20)

struct list {
    char **paths;
    size_t n, cap;
};

static int list_add(struct list *l, const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *p;

    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **tmp = realloc(l->paths, cap * sizeof(*tmp));

        if (!tmp)
            return -1;
        l->paths = tmp;
        l->cap = cap;
    }
    if (!(p = malloc(len)))
        return -1;
    if (dir[0])
        snprintf(p, len, "%s/%s", dir, name);
    else
        snprintf(p, len, "%s", name);
    l->paths[l->n++] = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir (not hidden), or dir itself if it is a file. */
static int collect(struct list *l, const char *arg)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    size_t first = l->n;

    if (stat(arg, &st) != 0) {
        printf("Bail out! %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode))
        return list_add(l, "", arg);
    if (!(d = opendir(arg))) {
        printf("Bail out! %s: %s\n", arg, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char *path;
        size_t len;
        int ok;

        if (e->d_name[0] == '.')
            continue;
        len = strlen(arg) + 1 + strlen(e->d_name) + 1;
        if (!(path = malloc(len))) {
            closedir(d);
            return -1;
        }
        snprintf(path, len, "%s/%s", arg, e->d_name);
        ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (ok && list_add(l, arg, e->d_name) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    qsort(l->paths + first, l->n - first, sizeof(*l->paths), cmp_str);
    return 0;
}

/* The whole file in a buffer of exactly its size (so an over-read is out of bounds). */
static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;
    int r = -1;

    if (!f)
        goto out;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || (size_t)size > DRIVER_MAX_INPUT ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out;
    if (!(data = malloc(size ? (size_t)size : 1)))
        goto out;
    if (size && fread(data, 1, (size_t)size, f) != (size_t)size)
        goto out;
    *out = data;
    *outlen = (size_t)size;
    data = NULL;
    r = 0;
out:
    free(data);
    if (f)
        fclose(f);
    return r;
}

int main(int argc, char **argv)
{
    struct list l = {0};
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (collect(&l, argv[i]) != 0) {
            failed = 1;
            goto out;
        }
    }
    if (l.n == 0) {
        printf("Bail out! no input files\n");
        failed = 1;
        goto out;
    }
    printf("1..%zu\n", l.n);
    fflush(stdout);
    for (size_t i = 0; i < l.n; i++) {
        uint8_t *data;
        size_t len;

        if (read_file(l.paths[i], &data, &len) != 0) {
            printf("not ok %zu - %s # cannot read\n", i + 1, l.paths[i]);
            failed = 1;
            continue;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        printf("ok %zu - %s\n", i + 1, l.paths[i]);
        fflush(stdout);
    }
out:
    for (size_t i = 0; i < l.n; i++)
        free(l.paths[i]);
    free(l.paths);
    return failed;
}
