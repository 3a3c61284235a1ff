/*
 * The start shared by the RouterOS client tools built from worker/test_*.c
 * (ros-client-check, ros-fetch-bench): HOST PORT USER PASSWORD as their
 * first arguments, one connection without reconnects (a drop ends the
 * run), warnings only in the log so that their own output stays readable.
 */

#ifndef MB_TEST_ROS_TOOL_H
#define MB_TEST_ROS_TOOL_H

#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_ros_client.h"


/* argv[1..4] into cc (its strings stay argv's); loop initialised */
static void
test_ros_tool_init(uv_loop_t *loop, mb_ros_client_conf_t *cc, char **argv)
{
    mb_log_set_level(MB_LOG_WARN);
    uv_loop_init(loop);
    memset(cc, 0, sizeof(*cc));
    cc->host = argv[1];
    cc->port = (unsigned) atoi(argv[2]);
    cc->username = argv[3];
    cc->password = argv[4];
    cc->no_reconnect = 1;
}


#endif /* MB_TEST_ROS_TOOL_H */
