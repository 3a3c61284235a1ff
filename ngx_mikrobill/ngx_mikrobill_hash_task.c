/*
 * Password hashing on the nginx thread pool.  PBKDF2 with 600000 rounds
 * costs a few hundred milliseconds of CPU: run in the event loop it would
 * stall every connection of the worker.
 *
 * The task memory comes from the request pool (ngx_thread_task_alloc), but
 * the thread only ever reads and writes the task's own context; the request
 * is marked blocked so that it cannot be freed while the thread runs.
 */

#include "ngx_mikrobill.h"
#include "ngx_mikrobill_auth.h"
#include "ngx_mikrobill_password.h"

#include <openssl/crypto.h>


typedef struct {
    ngx_http_request_t          *request;
    ngx_mikrobill_hash_done_pt   done;
    void                        *data;
    unsigned                     iterations;
    unsigned                     verify:1;
    int                          result;      /* of the password function */
    char                         encoded[NGX_MIKROBILL_PASSWORD_HASH_LEN];
    size_t                       len;
    char                         password[];  /* len bytes and a NUL */
} ngx_mikrobill_hash_ctx_t;


static ngx_int_t ngx_mikrobill_hash_post(ngx_http_request_t *r,
    const char *password, const char *encoded,
    ngx_mikrobill_hash_done_pt done, void *data);
static void ngx_mikrobill_hash_thread(void *data, ngx_log_t *log);
static void ngx_mikrobill_hash_event(ngx_event_t *ev);


ngx_int_t
ngx_mikrobill_hash_password(ngx_http_request_t *r, const char *password,
    ngx_mikrobill_hash_done_pt done, void *data)
{
    return ngx_mikrobill_hash_post(r, password, NULL, done, data);
}


ngx_int_t
ngx_mikrobill_verify_password(ngx_http_request_t *r, const char *password,
    const char *encoded, ngx_mikrobill_hash_done_pt done, void *data)
{
    return ngx_mikrobill_hash_post(r, password, encoded, done, data);
}


static ngx_int_t
ngx_mikrobill_hash_post(ngx_http_request_t *r, const char *password,
    const char *encoded, ngx_mikrobill_hash_done_pt done, void *data)
{
    size_t                      len;
    ngx_thread_task_t          *task;
    ngx_mikrobill_hash_ctx_t   *hc;
    ngx_mikrobill_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_mikrobill_module);

    if (mcf->hash_pool == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "mikrobill: no thread pool for password hashing");
        return NGX_ERROR;
    }

    if (encoded != NULL
        && ngx_strlen(encoded) >= NGX_MIKROBILL_PASSWORD_HASH_LEN)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "mikrobill: stored password hash too long");
        return NGX_ERROR;
    }

    len = ngx_strlen(password);

    task = ngx_thread_task_alloc(r->pool,
                                 sizeof(ngx_mikrobill_hash_ctx_t) + len + 1);
    if (task == NULL) {
        return NGX_ERROR;
    }

    hc = task->ctx;
    hc->request = r;
    hc->done = done;
    hc->data = data;
    hc->iterations = (unsigned) mcf->password_iterations;
    hc->len = len;
    ngx_memcpy(hc->password, password, len + 1);

    if (encoded != NULL) {
        hc->verify = 1;
        ngx_cpystrn((u_char *) hc->encoded, (u_char *) encoded,
                    sizeof(hc->encoded));
    }

    task->handler = ngx_mikrobill_hash_thread;
    task->event.handler = ngx_mikrobill_hash_event;
    task->event.data = hc;

    if (ngx_thread_task_post(mcf->hash_pool, task) != NGX_OK) {
        OPENSSL_cleanse(hc->password, len);
        return NGX_ERROR;
    }

    /* keeps ngx_http_terminate_request() from freeing the task memory */
    r->main->blocked++;

    return NGX_OK;
}


/* runs in a pool thread: touches nothing but its own context */
static void
ngx_mikrobill_hash_thread(void *data, ngx_log_t *log)
{
    ngx_mikrobill_hash_ctx_t  *hc = data;

    if (hc->verify) {
        hc->result = ngx_mikrobill_password_verify(hc->password, hc->len,
                                                   hc->encoded);

    } else {
        hc->result = ngx_mikrobill_password_hash(hc->password, hc->len,
                                                 hc->iterations, hc->encoded,
                                                 sizeof(hc->encoded));
    }

    OPENSSL_cleanse(hc->password, hc->len);
}


/* back in the event loop */
static void
ngx_mikrobill_hash_event(ngx_event_t *ev)
{
    ngx_int_t                  rc;
    ngx_connection_t          *c;
    ngx_http_request_t        *r;
    ngx_mikrobill_hash_ctx_t  *hc;

    hc = ev->data;
    r = hc->request;
    c = r->connection;

    r->main->blocked--;

    if (hc->verify) {
        rc = hc->result == 1 ? NGX_OK
             : hc->result == 0 ? NGX_DECLINED : NGX_ERROR;

        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "mikrobill: malformed stored password hash");
        }

    } else {
        rc = hc->result == 0 ? NGX_OK : NGX_ERROR;

        if (rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "mikrobill: password hashing failed "
                          "(iterations %ui)", (ngx_uint_t) hc->iterations);
        }
    }

    hc->done(hc->data, rc, (rc == NGX_OK && !hc->verify) ? hc->encoded : NULL);

    ngx_http_run_posted_requests(c);
}
