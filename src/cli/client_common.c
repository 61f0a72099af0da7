/* client_common.c: helpers of the client subcommands (see client_common.h). */
#include "cli/client_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hint for the errors a person can do something about; "" for the others. */
static const char *cli_hint(strom_err err) {
    switch (err) {
    case STROM_ERR_NOT_CONNECTED:
    case STROM_ERR_CLOSED:
        return "; is a node running there? start one with 'strom node' or pass --server HOST:PORT";
    case STROM_ERR_TIMEOUT:
        return "; the node did not answer in time: check that it is running and not overloaded";
    case STROM_ERR_INVALID_PATH:
        return "; a path is '/' then segments of [A-Za-z0-9._-] (not . or ..) separated by '/', "
               "at most 255 bytes, and not under /sys/ (the node's own)";
    case STROM_ERR_NO_STREAM:
        return "; create it with 'strom create PATH' or list streams with 'strom streams'";
    case STROM_ERR_UNSUPPORTED_VERSION:
        return "; this strom and the node speak different protocol versions: use the same build";
    case STROM_ERR_TOO_LARGE:
        return "; make the message or batch smaller (the node's frame limit is in its config)";
    case STROM_ERR_NO_SPACE:
        return "; the node's disk is full: free space on it";
    case STROM_ERR_LIMIT:
        return "; a limit of the node was reached (connections, requests, reads, streams): try "
               "again later or raise it in the node's config (docs/node.md, Limits)";
    case STROM_ERR_UNSUPPORTED:
        return "; a single node takes --ack 1 only, and /sys/ streams cannot be appended to";
    case STROM_ERR_SEQUENCE_TOO_OLD:
        return "; the node no longer remembers this retried batch: check whether it is in the "
               "stream before sending it again";
    default:
        return "";
    }
}

void cli_report(const char *cmd, const char *what, strom_err err) {
    fprintf(stderr, "strom %s: %s: %s (%s)%s\n", cmd, what, strom_strerror(err), strom_errname(err),
            cli_hint(err));
}

strom_client *cli_client_open(const char *cmd, const char *server) {
    struct strom_options opt;
    strom_options_init(&opt);
    if (server != NULL) {
        opt.server = server;
    }
    opt.client_name = "strom-cli";
    strom_client *c = NULL;
    strom_err err = strom_open(&opt, &c);
    if (err == STROM_ERR_INVALID_ARGUMENT) {
        fprintf(stderr,
                "strom %s: bad --server '%s': give HOST:PORT with a numeric host or "
                "localhost, for example 127.0.0.1:7420\n",
                cmd, opt.server);
        return NULL;
    }
    if (err == STROM_ERR_PROTOCOL || err == STROM_ERR_CLOSED) {
        /* something listens there, but it is no strom node (or not its native port) */
        fprintf(stderr,
                "strom %s: %s did not answer as a strom node: %s (%s); pass the --server "
                "HOST:PORT of the node's native protocol (its --listen, 7420 by default; not its "
                "--kafka port)\n",
                cmd, opt.server, strom_strerror(err), strom_errname(err));
        return NULL;
    }
    if (err == STROM_ERR_TIMEOUT) {
        /* the connection or the hello answer took longer than connect_timeout_ns */
        fprintf(stderr,
                "strom %s: no strom node answered at %s in %llu ms: %s (%s); check that a node "
                "runs there and is not overloaded, and that --server names its native port\n",
                cmd, opt.server, (unsigned long long)(opt.connect_timeout_ns / 1000000),
                strom_strerror(err), strom_errname(err));
        return NULL;
    }
    if (err) {
        char what[320];
        snprintf(what, sizeof what, "cannot connect to %s", opt.server);
        cli_report(cmd, what, err);
        return NULL;
    }
    return c;
}

bool cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "strom %s: %s wants a number (0 to 18446744073709551615), not '%s'\n", cmd,
                option, text);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_ack(const char *cmd, const char *text, uint32_t *out) {
    uint64_t v = 0;
    if (!cli_parse_u64(cmd, "--ack", text, &v)) {
        return false;
    }
    if (v < 1 || v > 255) {
        fprintf(stderr,
                "strom %s: --ack is the number of nodes that hold a message (1 on a "
                "single node), not %s\n",
                cmd, text);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool cli_check_path(const char *cmd, const char *path) {
    if (strom_path_check(path, strlen(path)) == STROM_OK) {
        return true;
    }
    fprintf(stderr,
            "strom %s: '%s' is not a stream path: a path is '/' then segments of "
            "[A-Za-z0-9._-] (not . or ..) separated by '/', at most 255 bytes (for example "
            "/air/Dongsi)\n",
            cmd, path);
    return false;
}
