/*
 * main.c: the strom command. Dispatches on the first argument to a subcommand; each subcommand
 * lives in its own file of src/cli/ and is listed in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
    {"version", "print the version", cli_version},
    {"help", "list the subcommands", cli_help},
    {"append", "append messages to a stream (arguments or stdin lines)", cli_append},
    {"read", "print the messages of a stream, or follow it", cli_read},
    {"streams", "list the streams of a node", cli_streams},
    {"create", "create a stream", cli_create},
    {"stat", "print a node's counters", cli_stat},
    {"dump", "print every record of a store file (--verify: check it)", cli_dump},
    {"node", "run a node: supervisor, sequencer, gateways, commits", cli_node},
    {"demo", "replay the Beijing air-quality data into a node and check it", cli_demo},
};

enum { command_count = sizeof commands / sizeof commands[0] };

int cli_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("strom.version  version:%s\n", STROM_VERSION);
    return 0;
}

int cli_help(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("usage: strom COMMAND [ARGS...]\n\ncommands:\n");
    for (int i = 0; i < command_count; i++) {
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        cli_help(argc, argv);
        return 2;
    }
    for (int i = 0; i < command_count; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "strom: unknown command '%s'; 'strom help' lists them\n", argv[1]);
    return 2;
}
