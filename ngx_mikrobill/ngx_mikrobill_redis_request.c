/*
 * Redis commands bound to a request's lifetime (see the header).  Whichever
 * comes last, the reply or the request's cleanup, frees the state.
 */


#include "ngx_mikrobill_redis_request.h"


typedef struct {
    ngx_http_request_t              *request;    /* NULL once gone */
    ngx_http_cleanup_t              *cln;
    ngx_mikrobill_redis_handler_pt   handler;
    void                            *data;
} ngx_mikrobill_redis_request_t;


static void ngx_mikrobill_redis_request_cleanup(void *data);
static void ngx_mikrobill_redis_request_reply(void *data,
    redisReply *reply);


ngx_int_t
ngx_mikrobill_redis_request(ngx_http_request_t *r,
    ngx_mikrobill_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_http_cleanup_t             *cln;
    ngx_mikrobill_main_conf_t      *mcf;
    ngx_mikrobill_redis_request_t  *rq;

    mcf = ngx_http_get_module_main_conf(r, ngx_mikrobill_module);

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    rq = ngx_alloc(sizeof(ngx_mikrobill_redis_request_t),
                   r->connection->log);
    if (rq == NULL) {
        return NGX_ERROR;
    }

    rq->request = r;
    rq->cln = cln;
    rq->handler = handler;
    rq->data = data;

    if (ngx_mikrobill_redis_command(mcf->redis,
                                    ngx_mikrobill_redis_request_reply, rq,
                                    argc, argv, argvlen)
        != NGX_OK)
    {
        ngx_free(rq);
        return NGX_ERROR;
    }

    cln->handler = ngx_mikrobill_redis_request_cleanup;
    cln->data = rq;

    return NGX_OK;
}


static void
ngx_mikrobill_redis_request_cleanup(void *data)
{
    ngx_mikrobill_redis_request_t  *rq = data;

    /* the reply is still due: it frees */
    rq->request = NULL;
}


static void
ngx_mikrobill_redis_request_reply(void *data, redisReply *reply)
{
    ngx_mikrobill_redis_request_t  *rq = data;

    void                            *hdata;
    ngx_mikrobill_redis_handler_pt   handler;

    if (rq->request == NULL) {
        ngx_free(rq);
        return;
    }

    /* nginx skips a cleanup without handler: nothing points here after */
    rq->cln->handler = NULL;
    handler = rq->handler;
    hdata = rq->data;
    ngx_free(rq);

    handler(hdata, reply);
}
