/*
 * RouterOS API login sentences: the plain form (6.43+) and the MD5
 * challenge-response step that older routers ask for with !done =ret=.
 */

#ifndef _MB_ROS_LOGIN_H_INCLUDED_
#define _MB_ROS_LOGIN_H_INCLUDED_


#include "mb_ros_codec.h"


/* "/login =name=U =password=P"; -1 out of memory */
int mb_ros_login_plain(mb_ros_buf_t *b, const char *user,
    const char *password);

/*
 * "/login =name=U =response=00<hex(MD5(0x00 + password + challenge))>"
 * for the hex challenge of =ret=; -1 bad challenge or out of memory.
 */
int mb_ros_login_md5(mb_ros_buf_t *b, const char *user,
    const char *password, const char *challenge_hex);

/* the "00..." response alone (35 bytes with the NUL); -1 bad challenge */
int mb_ros_login_md5_response(const char *password,
    const char *challenge_hex, char out[35]);


#endif /* _MB_ROS_LOGIN_H_INCLUDED_ */
