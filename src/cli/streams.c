/*
 * streams.c: the small client subcommands.
 *   strom streams [--server HOST:PORT] [--prefix P]   one strom.stream ssim line per stream,
 *                                                     the node's /sys/cmd first
 *   strom create PATH [--server HOST:PORT]            strom.create  stream:  id:  created:
 *   strom stat [--server HOST:PORT]                   the node's counters as ssim
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ssim.h"
#include "cli/cli.h"
#include "cli/client_common.h"

enum {
    STAT_TEXT_BYTES_MAX = 1024 * 1024 + 1, /* the protocol's stat text limit, and a NUL */
    STREAM_LINE_BYTES_MAX = 2048           /* one strom.stream line: a path escapes to < 1 KiB */
};

/* Parses [--server S] [--prefix P] and the positional arguments (want of them). Returns -1 to go
 * on, else an exit code. */
static int small_options(const char *cmd, int argc, char **argv, int want, const char **server,
                         const char **prefix) {
    static const struct option options[] = {{"server", required_argument, NULL, 's'},
                                            {"prefix", required_argument, NULL, 'p'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 's') {
            *server = optarg;
        } else if (opt == 'p' && prefix != NULL) {
            *prefix = optarg;
        } else {
            fprintf(stderr, "usage: strom %s%s [--server HOST:PORT]%s\n", cmd, want ? " PATH" : "",
                    prefix ? " [--prefix P]" : "");
            return opt == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != want) {
        fprintf(stderr, "usage: strom %s%s [--server HOST:PORT]%s\n", cmd, want ? " PATH" : "",
                prefix ? " [--prefix P]" : "");
        return CLI_EXIT_USAGE;
    }
    return -1;
}

static void streams_print(void *arg, const struct strom_stream_info *s) {
    char *line = arg;
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, line, STREAM_LINE_BYTES_MAX);
    strom_ssim_write_type(&w, "strom.stream");
    strom_ssim_write_str(&w, "path", s->path);
    strom_ssim_write_u64(&w, "id", s->stream_id);
    strom_ssim_write_u64(&w, "first", s->first);
    strom_ssim_write_u64(&w, "next", s->next);
    strom_ssim_write_u64(&w, "durable", s->durable);
    strom_ssim_write_u64(&w, "bytes", s->bytes);
    if (strom_ssim_writer_end(&w) == STROM_OK) {
        fwrite(line, 1, w.bytes_used, stdout);
    }
}

/* The node's own streams in text (its stat), as strom.stat.stream lines: the ones list never gives
 * (/sys/cmd, id 0). Prints those whose path starts with prefix; a node without them prints none. */
static void streams_print_node_own(const char *text, size_t len, const char *prefix, char *line) {
    struct strom_ssim_record *rec = malloc(sizeof *rec);
    if (rec == NULL) {
        return; /* the list still runs (and says NO_MEMORY if it lacks memory too) */
    }
    struct strom_ssim_reader r;
    strom_ssim_reader_init(&r, text, len);
    char scratch[STREAM_LINE_BYTES_MAX];
    size_t prefix_len = strlen(prefix);
    strom_err err;
    while ((err = strom_ssim_reader_next(&r, rec, scratch, sizeof scratch, NULL)) !=
           STROM_ERR_END) {
        const char *path = NULL;
        uint32_t path_len = 0;
        struct strom_stream_info s = {0};
        if (err != STROM_OK || !strom_ssim_is(rec, "strom.stat.stream") ||
            strom_ssim_get_str(rec, "path", &path, &path_len, NULL) != STROM_OK ||
            path_len > STROM_PATH_BYTES_MAX || path_len < prefix_len ||
            memcmp(path, prefix, prefix_len) != 0 ||
            strom_ssim_get_u64(rec, "id", &s.stream_id, NULL) != STROM_OK ||
            strom_ssim_get_u64(rec, "first", &s.first, NULL) != STROM_OK ||
            strom_ssim_get_u64(rec, "next", &s.next, NULL) != STROM_OK ||
            strom_ssim_get_u64(rec, "durable", &s.durable, NULL) != STROM_OK ||
            strom_ssim_get_u64(rec, "bytes", &s.bytes, NULL) != STROM_OK) {
            continue; /* another line of the stat, or one this strom does not know */
        }
        char path_z[STROM_PATH_BYTES_MAX + 1];
        memcpy(path_z, path, path_len);
        path_z[path_len] = '\0';
        s.path = path_z;
        streams_print(line, &s);
    }
    free(rec);
}

int cli_streams(int argc, char **argv) {
    const char *server = NULL;
    const char *prefix = "";
    int code = small_options("streams", argc, argv, 0, &server, &prefix);
    if (code >= 0) {
        return code;
    }
    strom_client *c = cli_client_open("streams", server);
    if (c == NULL) {
        return CLI_EXIT_ERROR;
    }
    char line[STREAM_LINE_BYTES_MAX];
    /* /sys/cmd first (list starts after its id 0): its figures come with the node's stat. */
    char *text = malloc(STAT_TEXT_BYTES_MAX);
    size_t len = 0;
    strom_err err =
        text == NULL ? STROM_ERR_NO_MEMORY : strom_stat(c, text, STAT_TEXT_BYTES_MAX, &len);
    if (err == STROM_OK) {
        streams_print_node_own(text, len, prefix, line);
        err = strom_list(c, prefix, streams_print, line);
    }
    free(text);
    if (err) {
        cli_report("streams", "listing the streams failed", err);
    }
    strom_close(c);
    return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cli_create(int argc, char **argv) {
    const char *server = NULL;
    int code = small_options("create", argc, argv, 1, &server, NULL);
    if (code >= 0) {
        return code;
    }
    const char *path = argv[optind];
    if (!cli_check_path("create", path)) {
        return CLI_EXIT_USAGE;
    }
    strom_client *c = cli_client_open("create", server);
    if (c == NULL) {
        return CLI_EXIT_ERROR;
    }
    uint64_t id = 0;
    bool created = false;
    strom_err err = strom_create(c, path, &id, &created);
    if (err) {
        char what[300];
        snprintf(what, sizeof what, "creating %s failed", path);
        cli_report("create", what, err);
    } else {
        printf("strom.create  stream:%s  id:%llu  created:%s\n", path, (unsigned long long)id,
               created ? "true" : "false");
    }
    strom_close(c);
    return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cli_stat(int argc, char **argv) {
    const char *server = NULL;
    int code = small_options("stat", argc, argv, 0, &server, NULL);
    if (code >= 0) {
        return code;
    }
    strom_client *c = cli_client_open("stat", server);
    if (c == NULL) {
        return CLI_EXIT_ERROR;
    }
    char *text = malloc(STAT_TEXT_BYTES_MAX);
    size_t len = 0;
    strom_err err =
        text == NULL ? STROM_ERR_NO_MEMORY : strom_stat(c, text, STAT_TEXT_BYTES_MAX, &len);
    if (err) {
        cli_report("stat", "reading the node's counters failed", err);
    } else {
        fwrite(text, 1, len, stdout);
        if (len > 0 && text[len - 1] != '\n') {
            putchar('\n');
        }
    }
    free(text);
    strom_close(c);
    return err ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
