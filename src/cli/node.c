/*
 * node.c: `strom node`, a node in the foreground until SIGTERM or SIGINT (src/node/supervisor.h).
 * Exit code: 0 after a clean stop, 1 when the node could not start or stop cleanly, 2 on a usage
 * error.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/io.h"
#include "node/config.h"
#include "node/supervisor.h"

int cli_node(int argc, char **argv) {
    static struct node_config config; /* large: the data directory path */
    struct io io;
    io_linux_init(&io);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(node_config_usage, stdout);
            return 0;
        }
    }
    node_config_defaults(&config);
    char msg[NODE_ERROR_BYTES_MAX];
    strom_err err = node_config_from_args(&config, &io, argc, argv, msg, sizeof msg);
    if (!err) {
        err = node_config_check(&config, msg, sizeof msg);
    }
    if (err) {
        fprintf(stderr, "strom node: %s\n%s", msg, node_config_usage);
        return 2;
    }
    fflush(stdout);
    fflush(stderr);
    return supervisor_run(&io, &config);
}
