/*
 * cli.h: the subcommands of the strom command. Each takes (argc, argv) with argv[0] the
 * subcommand's name and returns the process exit code: 0 on success, 1 on an operating error
 * (said on stderr), 2 on a usage error.
 */
#ifndef STROM_CLI_CLI_H
#define STROM_CLI_CLI_H

#define STROM_VERSION "0.1.0"

struct cli_command {
    const char *name;    /* the word after `strom` */
    const char *summary; /* one line for `strom help` */
    int (*run)(int argc, char **argv);
};

int cli_version(int argc, char **argv);
int cli_help(int argc, char **argv);
int cli_node(int argc, char **argv);

/* Client subcommands (src/cli/append.c, read.c, streams.c, demo.c). */
int cli_append(int argc, char **argv);
int cli_read(int argc, char **argv);
int cli_streams(int argc, char **argv);
int cli_create(int argc, char **argv);
int cli_stat(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Storage tools (src/cli/dump.c). */
int cli_dump(int argc, char **argv);

#endif
