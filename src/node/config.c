/* config.c: node configuration from defaults, an ssim file and flags (see config.h). */
#include "node/config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "io/io.h"

#define CONFIG_FILE_BYTES_MAX (1u << 20) /* a config file larger than this is refused */

/* Kinds of option value. */
enum option_kind {
    OPT_U32,      /* uint32_t within [min, max] */
    OPT_U64,      /* uint64_t within [min, max] */
    OPT_BYTES,    /* uint64_t within [min, max], with an optional K, M or G (powers of 1024) */
    OPT_BOOL,     /* true|false|1|0 */
    OPT_DIR,      /* a path, stored in data_dir */
    OPT_NAME,     /* a node name */
    OPT_ENDPOINT, /* host:port */
    OPT_KAFKA,    /* host:port or off */
    OPT_FSYNC,    /* always|interval|never */
};

struct option {
    const char *name; /* flag without "--", '-' between words */
    enum option_kind kind;
    size_t offset; /* of the field in struct node_config */
    uint64_t min, max;
};

#define MiB      (1024ull * 1024)
#define F(field) offsetof(struct node_config, field)

static const struct option options[] = {
    {"data", OPT_DIR, F(data_dir), 0, 0},
    {"name", OPT_NAME, F(name), 0, 0},
    {"listen", OPT_ENDPOINT, F(listen), 0, 0},
    {"kafka", OPT_KAFKA, F(kafka), 0, 0},
    {"gateways", OPT_U32, F(gateways), 1, NODE_GATEWAYS_MAX},
    {"commits", OPT_U32, F(commits), 1, NODE_COMMITS_MAX},
    {"fsync", OPT_FSYNC, F(fsync), 0, 0},
    {"fsync-us", OPT_U64, F(fsync_us), 1, 10000000},
    {"fsync-bytes", OPT_BYTES, F(fsync_bytes), 4096, 1024 * MiB},
    {"checkpoint-bytes", OPT_BYTES, F(checkpoint_bytes), 64 * 1024, 1024 * MiB},
    {"write-buffer-bytes", OPT_BYTES, F(write_buffer_bytes), 8 * 1024, 64 * MiB},
    {"auto-create", OPT_BOOL, F(auto_create), 0, 0},
    {"idempotence-window", OPT_U32, F(idempotence_window), 1, 16},
    {"producers-max", OPT_U32, F(producers_max), 1, 1u << 24},
    {"streams-max", OPT_U32, F(streams_max), 16, 1u << 26},
    {"paths-bytes", OPT_BYTES, F(paths_bytes), 4096, 4095 * MiB},
    {"frame-bytes-max", OPT_U32, F(frame_bytes_max), 4096, 16 * MiB}, /* the protocol's most */
    {"connections-max", OPT_U32, F(connections_max), 1, 1u << 20},
    {"inflight-max", OPT_U32, F(inflight_max), 1, 1u << 16},
    {"reads-max", OPT_U32, F(reads_max), 1, 1u << 16},
    {"gateway-reads-max", OPT_U32, F(gateway_reads_max), 1, 1u << 22},
    {"log-bytes", OPT_BYTES, F(log_bytes), 1 * MiB, 1024 * MiB},
    {"request-bytes", OPT_BYTES, F(request_bytes), 1 * MiB, 1024 * MiB},
    {"stop-timeout-ms", OPT_U64, F(stop_timeout_ms), 100, 600000},
    {"pin-cpu", OPT_U32, F(pin_cpu), 0, NODE_PIN_CPU_MAX},
};
enum { option_count = sizeof options / sizeof options[0] };

const char node_config_usage[] =
    "usage: strom node [--data DIR] [--listen HOST:PORT] [--gateways N] [--commits N]\n"
    "                  [--fsync always|interval|never] [--fsync-us US] [--fsync-bytes N]\n"
    "                  [--config FILE] [--kafka HOST:PORT|off] [--auto-create true|false]\n"
    "                  [--idempotence-window W] [--producers-max N] [--streams-max N]\n"
    "                  [--paths-bytes N] [--frame-bytes-max N] [--connections-max N]\n"
    "                  [--inflight-max N] [--reads-max N] [--gateway-reads-max N]\n"
    "                  [--log-bytes N] [--request-bytes N] [--checkpoint-bytes N]\n"
    "                  [--write-buffer-bytes N]\n"
    "                  [--name NAME] [--stop-timeout-ms MS] [--pin-cpu N]\n"
    "Runs a node until SIGTERM or SIGINT. docs/node.md describes every option.\n";

void node_config_defaults(struct node_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "./strom-data");
    snprintf(c->name, sizeof c->name, "strom");
    c->listen = (struct node_endpoint){.enabled = true, .port = 7420};
    snprintf(c->listen.host, sizeof c->listen.host, "127.0.0.1");
    c->kafka = (struct node_endpoint){.enabled = true, .port = 9092};
    snprintf(c->kafka.host, sizeof c->kafka.host, "127.0.0.1");
    c->gateways = 1;
    c->commits = 1;
    c->fsync = NODE_FSYNC_ALWAYS;
    c->fsync_us = 1000;
    c->fsync_bytes = 1 * MiB;
    c->checkpoint_bytes = 8 * MiB;
    c->write_buffer_bytes = 1 * MiB; /* the store's STORE_WRITE_BUFFER_BYTES_DEFAULT */
    c->auto_create = true;
    c->idempotence_window = 5;
    c->producers_max = 65536;
    c->streams_max = 1u << 20;
    c->paths_bytes = 64 * MiB;
    c->frame_bytes_max = 16 * MiB;
    c->connections_max = 1024;
    c->inflight_max = 1024;
    c->reads_max = 4096;
    c->gateway_reads_max = 1u << 18;
    c->log_bytes = 256 * MiB;
    c->request_bytes = 128 * MiB;
    c->stop_timeout_ms = 5000;
    c->pin_cpu = NODE_PIN_CPU_OFF;
}

static strom_err fail(char *msg, size_t msg_bytes, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_bytes, fmt, ap);
    va_end(ap);
    return STROM_ERR_INVALID_ARGUMENT;
}

const char *node_fsync_name(enum node_fsync f) {
    switch (f) {
    case NODE_FSYNC_ALWAYS:
        return "always";
    case NODE_FSYNC_INTERVAL:
        return "interval";
    case NODE_FSYNC_NEVER:
        return "never";
    }
    return "unknown";
}

/* A decimal number of len bytes (no sign, no spaces); false when it is not one. */
static bool parse_u64(const char *s, size_t len, uint64_t *out) {
    uint64_t v = 0;
    if (len == 0 || len > 20) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* A number, with a K/M/G suffix when allowed. */
static bool parse_number(const char *s, size_t len, bool suffix, uint64_t *out) {
    uint64_t scale = 1;
    char last = len > 0 ? s[len - 1] : 0;
    if (suffix &&
        (last == 'K' || last == 'k' || last == 'M' || last == 'm' || last == 'G' || last == 'g')) {
        scale = last == 'K' || last == 'k' ? 1024u : last == 'M' || last == 'm' ? MiB : 1024 * MiB;
        len--;
    }
    uint64_t v = 0;
    if (!parse_u64(s, len, &v) || v > UINT64_MAX / scale) {
        return false;
    }
    *out = v * scale;
    return true;
}

strom_err node_endpoint_parse(const char *text, bool allow_off, struct node_endpoint *e) {
    size_t len = strlen(text);
    if (allow_off && strcmp(text, "off") == 0) {
        memset(e, 0, sizeof *e);
        return STROM_OK;
    }
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    const char *host = text;
    size_t host_len = (size_t)(colon - text);
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host += 1;
        host_len -= 2;
    }
    uint64_t port = 0;
    if (host_len == 0 || host_len >= NODE_HOST_BYTES_MAX ||
        !parse_u64(colon + 1, len - (size_t)(colon + 1 - text), &port) || port > 65535) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    memset(e, 0, sizeof *e);
    e->enabled = true;
    memcpy(e->host, host, host_len);
    e->port = (uint16_t)port;
    return STROM_OK;
}

/* Sets option o of c from the value text (len bytes, not NUL-terminated). */
static strom_err option_set(struct node_config *c, const struct option *o, const char *value,
                            size_t len, char *msg, size_t msg_bytes) {
    char buf[NODE_DIR_BYTES_MAX];
    if (len >= sizeof buf || memchr(value, 0, len) != NULL) {
        return fail(msg, msg_bytes, "--%s: value too long", o->name);
    }
    memcpy(buf, value, len);
    buf[len] = 0;
    char *field = (char *)c + o->offset;
    uint64_t v = 0;
    switch (o->kind) {
    case OPT_U32:
    case OPT_U64:
    case OPT_BYTES:
        if (!parse_number(buf, len, strstr(o->name, "bytes") != NULL, &v) || v < o->min ||
            v > o->max) {
            return fail(msg, msg_bytes, "--%s: '%s' is not a number in [%llu, %llu]", o->name, buf,
                        (unsigned long long)o->min, (unsigned long long)o->max);
        }
        if (o->kind == OPT_U32) {
            *(uint32_t *)(void *)field = (uint32_t)v;
        } else {
            *(uint64_t *)(void *)field = v;
        }
        return STROM_OK;
    case OPT_BOOL:
        if (strcmp(buf, "true") != 0 && strcmp(buf, "false") != 0 && strcmp(buf, "1") != 0 &&
            strcmp(buf, "0") != 0) {
            return fail(msg, msg_bytes, "--%s: '%s' is not true or false", o->name, buf);
        }
        *(bool *)(void *)field = buf[0] == 't' || buf[0] == '1';
        return STROM_OK;
    case OPT_DIR:
    case OPT_NAME: {
        size_t room = o->kind == OPT_DIR ? NODE_DIR_BYTES_MAX : NODE_NAME_BYTES_MAX;
        if (len == 0 || len >= room) {
            return fail(msg, msg_bytes, "--%s: must be 1 to %zu bytes", o->name, room - 1);
        }
        memcpy(field, buf, len + 1);
        return STROM_OK;
    }
    case OPT_ENDPOINT:
    case OPT_KAFKA:
        if (node_endpoint_parse(buf, o->kind == OPT_KAFKA, (struct node_endpoint *)field)) {
            return fail(msg, msg_bytes, "--%s: '%s' is not HOST:PORT%s", o->name, buf,
                        o->kind == OPT_KAFKA ? " or off" : "");
        }
        return STROM_OK;
    case OPT_FSYNC: {
        enum node_fsync f = strcmp(buf, "always") == 0     ? NODE_FSYNC_ALWAYS
                            : strcmp(buf, "interval") == 0 ? NODE_FSYNC_INTERVAL
                            : strcmp(buf, "never") == 0    ? NODE_FSYNC_NEVER
                                                           : 0;
        if (f == 0) {
            return fail(msg, msg_bytes, "--fsync: '%s' is not always, interval or never", buf);
        }
        c->fsync = f;
        return STROM_OK;
    }
    }
    strom_unreachable();
}

/* The option named name (len bytes); with underscores, as the file writes it, when file. */
static const struct option *option_find(const char *name, size_t len, bool file) {
    for (int i = 0; i < option_count; i++) {
        const char *n = options[i].name;
        if (strlen(n) != len) {
            continue;
        }
        bool same = true;
        for (size_t k = 0; k < len && same; k++) {
            char want = file && n[k] == '-' ? '_' : n[k];
            same = name[k] == want;
        }
        if (same) {
            return &options[i];
        }
    }
    return NULL;
}

strom_err node_config_from_text(struct node_config *c, const char *text, size_t len, char *msg,
                                size_t msg_bytes) {
    static struct strom_ssim_record rec; /* large; config is read once at start */
    char scratch[NODE_DIR_BYTES_MAX * 2];
    struct strom_ssim_reader r;
    strom_ssim_reader_init(&r, text, len);
    struct strom_ssim_error e = {0};
    strom_err err;
    while ((err = strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &e)) == STROM_OK) {
        if (!strom_ssim_is(&rec, "strom.node")) {
            snprintf(msg, msg_bytes, "config line %u: unknown record type (want strom.node)",
                     rec.line);
            return STROM_ERR_PARSE;
        }
        for (uint32_t i = 0; i < rec.field_count; i++) {
            const struct strom_ssim_field *f = &rec.fields[i];
            const struct option *o = option_find(f->key, f->key_len, true);
            if (o == NULL) {
                snprintf(msg, msg_bytes, "config line %u: unknown key '%.*s'", rec.line,
                         (int)f->key_len, f->key);
                return STROM_ERR_PARSE;
            }
            char inner[NODE_ERROR_BYTES_MAX];
            if (option_set(c, o, f->value, f->value_len, inner, sizeof inner)) {
                snprintf(msg, msg_bytes, "config line %u: %s", rec.line, inner);
                return STROM_ERR_PARSE;
            }
        }
    }
    if (err != STROM_ERR_END) {
        char where[128];
        strom_ssim_error_format(&e, where, sizeof where);
        snprintf(msg, msg_bytes, "config: %s", where);
        return err;
    }
    return STROM_OK;
}

/* Reads the file at path and applies it over c. */
static strom_err config_file(struct node_config *c, struct io *io, const char *path, char *msg,
                             size_t msg_bytes) {
    int fd = -1;
    strom_err err = io_file_open(io, path, IO_OPEN_READ, &fd);
    if (err) {
        snprintf(msg, msg_bytes, "--config %s: %s", path, strom_strerror(err));
        return err;
    }
    uint64_t size = 0;
    char *text = NULL;
    size_t got = 0;
    err = io_file_size(io, fd, &size);
    if (!err && size > CONFIG_FILE_BYTES_MAX) {
        err = STROM_ERR_TOO_LARGE;
    }
    if (!err) {
        text = malloc(size + 1); /* start-up only */
        err =
            text == NULL ? STROM_ERR_NO_MEMORY : io_file_pread(io, fd, text, (size_t)size, 0, &got);
    }
    io_file_close(io, fd);
    if (err) {
        snprintf(msg, msg_bytes, "--config %s: %s", path, strom_strerror(err));
    } else {
        err = node_config_from_text(c, text, got, msg, msg_bytes);
    }
    free(text);
    return err;
}

strom_err node_config_from_args(struct node_config *c, struct io *io, int argc, char **argv,
                                char *msg, size_t msg_bytes) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                return fail(msg, msg_bytes, "--config needs a FILE");
            }
            strom_err err = config_file(c, io, argv[i + 1], msg, msg_bytes);
            if (err) {
                return err;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t name_len = eq ? (size_t)(eq - a) - 2 : strlen(a) - 2;
        if (strncmp(a, "--", 2) != 0 || strlen(a) < 3) {
            return fail(msg, msg_bytes, "unexpected argument '%s'", a);
        }
        bool is_config = name_len == 6 && strncmp(a + 2, "config", 6) == 0;
        const struct option *o = is_config ? NULL : option_find(a + 2, name_len, false);
        if (!is_config && o == NULL) {
            return fail(msg, msg_bytes, "unknown option '%s'", a);
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (value == NULL) {
            return fail(msg, msg_bytes, "%s needs a value", a);
        }
        i += eq ? 0 : 1;
        if (o != NULL) {
            strom_err err = option_set(c, o, value, strlen(value), msg, msg_bytes);
            if (err) {
                return err;
            }
        }
    }
    return STROM_OK;
}

static uint64_t round_pow2(uint64_t v) {
    uint64_t p = 1;
    while (p < v) {
        p *= 2;
    }
    return p;
}

strom_err node_config_check(struct node_config *c, char *msg, size_t msg_bytes) {
    c->log_bytes = round_pow2(c->log_bytes);
    c->request_bytes = round_pow2(c->request_bytes);
    /* A ring entry is at most a quarter of its ring (src/ring/), and holds a whole frame. */
    uint64_t entry_max = (uint64_t)c->frame_bytes_max + 512; /* + request header and path */
    if (c->log_bytes / 4 < entry_max || c->request_bytes / 4 < entry_max) {
        return fail(msg, msg_bytes,
                    "--log-bytes and --request-bytes must be at least 4 x (--frame-bytes-max "
                    "+ 512) = %llu",
                    (unsigned long long)(4 * entry_max));
    }
    if (c->kafka.enabled && c->listen.port == c->kafka.port &&
        strcmp(c->listen.host, c->kafka.host) == 0) {
        return fail(msg, msg_bytes, "--kafka and --listen must differ");
    }
    if (c->paths_bytes > UINT32_MAX) {
        return fail(msg, msg_bytes, "--paths-bytes must be below 4 GiB");
    }
    strom_assert(c->gateways >= 1 && c->gateways <= NODE_GATEWAYS_MAX);
    strom_assert(c->commits >= 1 && c->commits <= NODE_COMMITS_MAX);
    return STROM_OK;
}
