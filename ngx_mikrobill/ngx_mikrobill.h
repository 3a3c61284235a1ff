/*
 * ngx_mikrobill: shared types of the MikroBill nginx module.
 *
 * The module serves the REST API inside nginx's event loop.  Everything that
 * waits (PostgreSQL, Redis, password hashing) is asynchronous; a request that
 * waits holds itself with r->main->count and is finalized by the callback.
 */

#ifndef _NGX_MIKROBILL_H_INCLUDED_
#define _NGX_MIKROBILL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>
#include <jansson.h>


#define NGX_MIKROBILL_VERSION  "0.1.0"


typedef struct ngx_mikrobill_pg_pool_s  ngx_mikrobill_pg_pool_t;
typedef struct ngx_mikrobill_redis_s    ngx_mikrobill_redis_t;
typedef struct ngx_mikrobill_fanout_s   ngx_mikrobill_fanout_t;


/* account roles; a route allows a mask of them */
#define NGX_MIKROBILL_ROLE_SUPERADMIN  0x01
#define NGX_MIKROBILL_ROLE_ADMIN       0x02
#define NGX_MIKROBILL_ROLE_TECHNICIAN  0x04
#define NGX_MIKROBILL_ROLE_USER        0x08
#define NGX_MIKROBILL_ROLE_ANY         0x0f


typedef struct {
    /* PostgreSQL */
    ngx_str_t                  pg_conninfo;
    const char                *pg_host;          /* PGHOST, or NULL */
    const char                *pg_hostaddr;      /* resolved, or NULL */
    ngx_uint_t                 pg_pool_size;     /* per nginx worker */
    ngx_msec_t                 pg_query_timeout;
    ngx_msec_t                 pg_connect_timeout;

    /* Redis */
    ngx_str_t                  redis_host;      /* as configured */
    ngx_str_t                  redis_addr;      /* numeric, NUL-terminated */
    ngx_int_t                  redis_port;
    ngx_msec_t                 redis_timeout;

    /* accounts */
    ngx_thread_pool_t         *hash_pool;
    ngx_uint_t                 password_iterations;
    time_t                     session_ttl;
    ngx_flag_t                 cookie_secure;   /* also on for TLS */
    ngx_uint_t                 login_max_failures;     /* per username */
    ngx_uint_t                 login_max_failures_addr; /* per address */
    time_t                     login_window;
    time_t                     login_lockout;
    ngx_msec_t                 login_delay;     /* added per failure */

    /* secrets at rest (router and PPPoE passwords) */
    ngx_str_t                  secret_key_file;
    u_char                     secret_key[32];
    ngx_flag_t                 has_secret_key;

    /* commands to the worker (ngx_mikrobill_command.c) */
    ngx_msec_t                 command_timeout;

    /* traffic monitors running at once, all workers (MAX_CONCURRENT_...) */
    ngx_int_t                  monitor_max;

    /* runtime state of this worker process */
    ngx_mikrobill_pg_pool_t   *pg;
    ngx_mikrobill_redis_t     *redis;
    ngx_mikrobill_fanout_t    *fanout;      /* pub/sub to WebSockets */
} ngx_mikrobill_main_conf_t;


typedef struct {
    ngx_flag_t                 api;         /* mikrobill_api */
    ngx_flag_t                 error_page;  /* mikrobill_error_page */
    ngx_flag_t                 websocket;   /* mikrobill_websocket */

    /* WebSocket (/ws) */
    ngx_array_t               *ws_origins;  /* of ngx_str_t, or NULL */
    size_t                     ws_max_message;
    size_t                     ws_send_limit;
    ngx_msec_t                 ws_ping_interval;
    ngx_msec_t                 ws_session_check;
} ngx_mikrobill_loc_conf_t;


/* the account a request runs as, filled by ngx_mikrobill_auth */
typedef struct {
    ngx_str_t                  id;          /* uuid text */
    ngx_str_t                  username;
    ngx_uint_t                 role;        /* one NGX_MIKROBILL_ROLE_* */
    ngx_str_t                  session_id;  /* token hash, hex */
    unsigned                   authenticated:1;
    unsigned                   via_cookie:1;
} ngx_mikrobill_user_t;


/* per-request context, one per API request */
typedef struct ngx_mikrobill_ctx_s  ngx_mikrobill_ctx_t;

struct ngx_mikrobill_ctx_s {
    ngx_http_request_t        *request;
    ngx_mikrobill_main_conf_t *mcf;
    json_t                    *body;        /* parsed body, or NULL */
    ngx_str_t                  path_id;     /* "{id}" of the matched route */
    ngx_mikrobill_user_t       user;
    ngx_str_t                  csrf_hash;   /* of the session, hex */
    void                      *data;        /* the handler's own state */
};


extern ngx_module_t  ngx_mikrobill_module;


ngx_mikrobill_main_conf_t *ngx_mikrobill_main_conf(void);

/* the first request header of that name (any case), NULL when none */
ngx_table_elt_t *ngx_mikrobill_header_in(ngx_http_request_t *r,
    const char *name);
/* add a response header; name is not copied, value not either */
ngx_int_t ngx_mikrobill_header_out(ngx_http_request_t *r, const char *name,
    u_char *value, size_t len);


#endif /* _NGX_MIKROBILL_H_INCLUDED_ */
