/*
 * mikrobill-worker: picks the subcommand.  main() lives alone in this file
 * so that the unit tests can link every other worker source.
 */

#include <stdio.h>
#include <string.h>

#include "mb_cli.h"


typedef int (*mb_subcommand_pt)(int argc, char **argv);


static const struct {
    const char        *name;
    mb_subcommand_pt   run;
} mb_subcommands[] = {
    { "run", mb_worker_run },
    { "migrate", mb_worker_migrate },
    { "create-admin", mb_worker_create_admin },
    { "router-add", mb_worker_router_add },
    { "router-list", mb_worker_router_list },
    { "router-del", mb_worker_router_del },
    { "gen-key", mb_worker_gen_key },
};


int
main(int argc, char **argv)
{
    size_t  i;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0
                     || strcmp(argv[1], "-h") == 0))
    {
        mb_cli_usage(stdout);
        return MB_EXIT_OK;
    }

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("mikrobill-worker %s\n", MB_WORKER_VERSION);
        return MB_EXIT_OK;
    }

    /* no subcommand name: "run", with all arguments as its options */
    if (argc < 2 || argv[1][0] == '-') {
        return mb_worker_run(argc, argv);
    }

    for (i = 0; i < sizeof(mb_subcommands) / sizeof(mb_subcommands[0]); i++)
    {
        if (strcmp(argv[1], mb_subcommands[i].name) == 0) {
            return mb_subcommands[i].run(argc - 1, argv + 1);
        }
    }

    fprintf(stderr, "mikrobill-worker: unknown subcommand \"%s\"\n", argv[1]);
    mb_cli_usage(stderr);

    return MB_EXIT_ERROR;
}
