/*
 * gen_main.c: strom-gen's command line.
 *
 *   strom-gen --out DIR schema/a.ssim schema/b.ssim ...
 *
 * Reads every schema file (all at once, since records may hold arrays of records from other
 * files), and writes DIR/<name>.h and DIR/<name>.c for each schema/<name>.ssim. Exit status 0, or
 * 1 with one "file:line:column: message" on stderr for the first error; nothing is written when
 * any schema has an error.
 *
 * A build tool, not role code: it uses stdio and the file system directly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/assert.h"
#include "gen.h"

/* The whole file at path into a malloc'd buffer; NULL with a message when it cannot. */
static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "strom-gen: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(GEN_SCHEMA_BYTES_MAX + 1);
    strom_assert(text != NULL);
    size_t len = fread(text, 1, GEN_SCHEMA_BYTES_MAX + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || len > GEN_SCHEMA_BYTES_MAX) {
        fprintf(stderr, "strom-gen: %s: %s\n", path,
                failed ? "read error" : "larger than the schema file limit");
        free(text);
        return NULL;
    }
    *len_out = len;
    return text;
}

static bool write_file(const char *dir, const char *stem, const char *ext,
                       const struct gen_out *o) {
    char path[GEN_PATH_BYTES_MAX + GEN_NAME_BYTES_MAX + 8];
    snprintf(path, sizeof path, "%s/%s.%s", dir, stem, ext);
    if (o->overflow) {
        fprintf(stderr, "strom-gen: %s: larger than %u bytes\n", path, GEN_OUTPUT_BYTES_MAX);
        return false;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "strom-gen: %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fwrite(o->buf, 1, o->len, f) == o->len;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "strom-gen: %s: write error\n", path);
    }
    /* Written anyway, so that the line can be seen; the run still fails. */
    size_t longest = gen_out_longest_line(o);
    if (ok && longest > 100) {
        fprintf(stderr, "strom-gen: %s: a line of %zu columns (limit 100): shorten the names\n",
                path, longest);
        ok = false;
    }
    return ok;
}

static int usage(void) {
    fprintf(stderr, "usage: strom-gen --out DIR SCHEMA.ssim...\n");
    return 2;
}

/* Loads and resolves every schema; false (after printing the error) on the first error. */
static bool load_all(struct gen *g, char **paths, int count) {
    for (int i = 0; i < count; i++) {
        size_t len;
        char *text = read_file(paths[i], &len);
        if (text == NULL) {
            return false;
        }
        strom_err e = gen_load(g, paths[i], text, len);
        free(text);
        if (e) {
            fprintf(stderr, "%s\n", g->error);
            return false;
        }
    }
    if (gen_resolve(g)) {
        fprintf(stderr, "%s\n", g->error);
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "--out") != 0) {
        return usage();
    }
    const char *dir = argv[2];
    struct gen *g = calloc(1, sizeof *g);
    char *buf = malloc(GEN_OUTPUT_BYTES_MAX);
    strom_assert(g != NULL && buf != NULL);
    int status = load_all(g, argv + 3, argc - 3) ? 0 : 1;
    if (status == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "strom-gen: %s: %s\n", dir, strerror(errno));
        status = 1;
    }
    for (uint32_t i = 0; i < g->file_count && status == 0; i++) {
        struct gen_out o;
        gen_out_init(&o, buf, GEN_OUTPUT_BYTES_MAX);
        gen_emit_h(g, (int)i, &o);
        bool ok = write_file(dir, g->files[i].stem, "h", &o);
        gen_out_init(&o, buf, GEN_OUTPUT_BYTES_MAX);
        gen_emit_c(g, (int)i, &o);
        ok = ok && write_file(dir, g->files[i].stem, "c", &o);
        status = ok ? 0 : 1;
    }
    free(buf);
    free(g);
    return status;
}
