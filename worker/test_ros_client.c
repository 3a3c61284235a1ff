/*
 * ros-client-check: the worker's RouterOS client against a live simulator
 * at every word-length encoding boundary, both ways over the wire.  A
 * secret is added whose "=comment=..." word is exactly N bytes long, then
 * printed back (the !re carries a word of the same length) and removed.
 * Prints TAP; t/ros_client.t runs it.
 *
 *   ros-client-check HOST PORT USER PASSWORD
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_log.h"
#include "mb_ros_client.h"
#include "test_ros_tool.h"


#define CHECK_PREFIX  "=comment="


static const unsigned  check_lens[] = {
    0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000
};

#define CHECK_N  (sizeof(check_lens) / sizeof(check_lens[0]))


typedef struct {
    uv_loop_t        *loop;
    mb_ros_client_t  *client;
    size_t            i;             /* the boundary being checked */
    int               step;          /* 0 add, 1 print, 2 remove */
    char             *word;          /* "=comment=xxxx", check_lens[i] */
    char              name[32];
    char              id[32];
    int               got;           /* print: the comment matched */
    int               test_no;
    int               failed;
} check_t;


static void check_next(check_t *k);


static void
ok(check_t *k, int cond, const char *what)
{
    printf("%sok %d - %s\n", cond ? "" : "not ", ++k->test_no, what);
    k->failed += !cond;
}


static void
check_done(check_t *k)
{
    mb_ros_client_close(k->client);
    free(k->word);
    k->word = NULL;
}


static void
check_on_event(mb_ros_cmd_t *cmd, const mb_ros_event_t *ev, void *data)
{
    check_t      *k = data;
    const char   *v;
    char          what[96];
    unsigned      len = check_lens[k->i];

    (void) cmd;

    if (ev->type == MB_ROS_EV_RE && k->step == 1) {
        v = mb_ros_attr(ev->s, "comment");
        k->got = v != NULL && strlen(v) == len - strlen(CHECK_PREFIX)
                 && strcmp(v, k->word + strlen(CHECK_PREFIX)) == 0;
        return;
    }

    if (ev->type != MB_ROS_EV_DONE) {
        snprintf(what, sizeof(what), "word of 0x%X bytes: step %d failed: %s",
                 len, k->step, ev->message ? ev->message : "?");
        ok(k, 0, what);
        check_done(k);
        return;
    }

    if (k->step == 0) {
        v = mb_ros_attr(ev->s, "ret");
        snprintf(k->id, sizeof(k->id), "%s", v ? v : "");
        snprintf(what, sizeof(what), "add with a word of 0x%X bytes", len);
        ok(k, v != NULL, what);

    } else if (k->step == 1) {
        snprintf(what, sizeof(what), "a word of 0x%X bytes read back intact",
                 len);
        ok(k, k->got, what);
    }

    if (++k->step == 3) {
        k->step = 0;
        k->i++;
    }

    check_next(k);
}


static void
check_send(check_t *k, const char *w0, const char *w1, const char *w2,
    const char *w3)
{
    const char *const    words[] = { w0, w1, w2, w3, NULL };
    static mb_ros_opts_t  opts = { 0, 20000 };

    if (mb_ros_send(k->client, words, &opts, check_on_event, k) == NULL) {
        ok(k, 0, "send");
        check_done(k);
    }
}


static void
check_next(check_t *k)
{
    char      name[48], id[48], query[48];
    unsigned  len;

    if (k->i == CHECK_N) {
        check_done(k);
        return;
    }

    len = check_lens[k->i];
    snprintf(k->name, sizeof(k->name), "bound-%x", len);
    snprintf(name, sizeof(name), "=name=%s", k->name);

    switch (k->step) {
    case 0:
        free(k->word);
        k->word = malloc(len + 1);
        memcpy(k->word, CHECK_PREFIX, strlen(CHECK_PREFIX));
        for (unsigned j = strlen(CHECK_PREFIX); j < len; j++) {
            k->word[j] = (char) ('a' + j % 26);
        }
        k->word[len] = '\0';
        check_send(k, "/ppp/secret/add", name, "=password=x", k->word);
        break;
    case 1:
        snprintf(query, sizeof(query), "?name=%s", k->name);
        check_send(k, "/ppp/secret/print", query, "=.proplist=comment",
                   NULL);
        break;
    default:
        snprintf(id, sizeof(id), "=.id=%s", k->id);
        check_send(k, "/ppp/secret/remove", id, NULL, NULL);
    }
}


static void
check_on_state(mb_ros_client_t *c, mb_ros_state_e state, mb_ros_err_e err,
    const char *reason, void *data)
{
    (void) c;
    (void) data;

    if (state == MB_ROS_DOWN) {
        printf("# connection: %s: %s\n", mb_ros_err_name(err),
               reason ? reason : "");
    }
}


int
main(int argc, char **argv)
{
    mb_ros_client_conf_t  cc;
    check_t               k;
    uv_loop_t             loop;

    if (argc != 5) {
        fprintf(stderr, "usage: ros-client-check HOST PORT USER PASSWORD\n");
        return 2;
    }

    test_ros_tool_init(&loop, &cc, argv);
    memset(&k, 0, sizeof(k));

    printf("1..%zu\n", CHECK_N * 2);
    k.loop = &loop;
    k.client = mb_ros_client_create(&loop, &cc, check_on_state, &k);
    if (k.client == NULL) {
        printf("Bail out! cannot create the client\n");
        return 1;
    }

    check_next(&k);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(k.word);

    return k.failed || k.test_no != (int) (CHECK_N * 2) ? 1 : 0;
}
