/*
 * Command handlers by message type.  A new command is one handler file and
 * one line here.
 */

#include <string.h>

#include "mb_job.h"


void mb_cmd_ping(mb_job_t *job);
void mb_cmd_router_test(mb_job_t *job);
void mb_cmd_router_exec(mb_job_t *job);
void mb_cmd_sync_now(mb_job_t *job);
void mb_cmd_monitor_start(mb_job_t *job);
void mb_cmd_monitor_stop(mb_job_t *job);


static const struct {
    const char     *type;
    mb_handler_pt   handler;
} mb_handlers[] = {
    { "ping", mb_cmd_ping },
    { "router.test", mb_cmd_router_test },
    { "router.exec", mb_cmd_router_exec },
    { "sync.now", mb_cmd_sync_now },
    { "monitor.start", mb_cmd_monitor_start },
    { "monitor.stop", mb_cmd_monitor_stop },
};


mb_handler_pt
mb_handler_find(const char *type)
{
    size_t  i;

    for (i = 0; i < sizeof(mb_handlers) / sizeof(mb_handlers[0]); i++) {
        if (strcmp(type, mb_handlers[i].type) == 0) {
            return mb_handlers[i].handler;
        }
    }

    return NULL;
}
