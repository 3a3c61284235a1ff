/*
 * ngx_mikrobill: directives, configuration, and the per-worker runtime
 * (PostgreSQL pool, Redis context, WebSocket fan-out) made in init_process.
 */


#include "ngx_mikrobill.h"
#include "ngx_mikrobill_pg.h"
#include "ngx_mikrobill_redis.h"
#include "ngx_mikrobill_resolve.h"
#include "ngx_mikrobill_router.h"
#include "ngx_mikrobill_password.h"
#include "ngx_mikrobill_secret.h"
#include "ngx_mikrobill_ws.h"
#include "ngx_mikrobill_fanout.h"


#define NGX_MIKROBILL_HASH_POOL        "mikrobill"
#define NGX_MIKROBILL_HASH_THREADS     "threads=32"
#define NGX_MIKROBILL_HASH_QUEUE       "max_queue=65536"


/* not declared in ngx_thread_pool.h; exported by the nginx binary */
extern ngx_module_t  ngx_thread_pool_module;


static void *ngx_mikrobill_create_main_conf(ngx_conf_t *cf);
static char *ngx_mikrobill_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_mikrobill_create_loc_conf(ngx_conf_t *cf);
static char *ngx_mikrobill_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_mikrobill_pg_conninfo(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mikrobill_redis_addr(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mikrobill_secret_key_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_mikrobill_hash_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_thread_pool_t *ngx_mikrobill_thread_pool(ngx_conf_t *cf,
    ngx_str_t *name);
static char *ngx_mikrobill_content(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_mikrobill_ws_origin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_mikrobill_init_process(ngx_cycle_t *cycle);
static void ngx_mikrobill_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_mikrobill_pool_size_bounds = {
    ngx_conf_check_num_bounds, 1, 1024
};

static ngx_conf_num_bounds_t  ngx_mikrobill_iterations_bounds = {
    ngx_conf_check_num_bounds, NGX_MIKROBILL_PASSWORD_MIN_ITER,
    NGX_MIKROBILL_PASSWORD_MAX_ITER
};

static ngx_conf_num_bounds_t  ngx_mikrobill_failures_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};

/* the content handlers of the three location directives (cmd->post) */
static ngx_http_handler_pt  ngx_mikrobill_api_content =
    ngx_mikrobill_api_handler;
static ngx_http_handler_pt  ngx_mikrobill_error_page_content =
    ngx_mikrobill_error_page_handler;
static ngx_http_handler_pt  ngx_mikrobill_websocket_content =
    ngx_mikrobill_ws_handler;


static ngx_command_t  ngx_mikrobill_commands[] = {

    { ngx_string("mikrobill_pg"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mikrobill_pg_conninfo,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, pg_conninfo),
      NULL },

    { ngx_string("mikrobill_pg_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, pg_pool_size),
      &ngx_mikrobill_pool_size_bounds },

    { ngx_string("mikrobill_pg_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, pg_query_timeout),
      NULL },

    { ngx_string("mikrobill_pg_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, pg_connect_timeout),
      NULL },

    { ngx_string("mikrobill_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mikrobill_redis_addr,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mikrobill_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, redis_timeout),
      NULL },

    { ngx_string("mikrobill_hash_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mikrobill_hash_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mikrobill_password_iterations"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, password_iterations),
      &ngx_mikrobill_iterations_bounds },

    { ngx_string("mikrobill_session_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, session_ttl),
      NULL },

    { ngx_string("mikrobill_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, cookie_secure),
      NULL },

    { ngx_string("mikrobill_login_max_failures"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, login_max_failures),
      &ngx_mikrobill_failures_bounds },

    { ngx_string("mikrobill_login_max_failures_addr"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, login_max_failures_addr),
      &ngx_mikrobill_failures_bounds },

    { ngx_string("mikrobill_login_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, login_window),
      NULL },

    { ngx_string("mikrobill_login_lockout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, login_lockout),
      NULL },

    { ngx_string("mikrobill_login_delay"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, login_delay),
      NULL },

    { ngx_string("mikrobill_secret_key_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_mikrobill_secret_key_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mikrobill_command_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, command_timeout),
      NULL },

    { ngx_string("mikrobill_monitor_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_mikrobill_main_conf_t, monitor_max),
      NULL },

    { ngx_string("mikrobill_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_mikrobill_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, api),
      &ngx_mikrobill_api_content },

    { ngx_string("mikrobill_error_page"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_mikrobill_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, error_page),
      &ngx_mikrobill_error_page_content },

    { ngx_string("mikrobill_websocket"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_mikrobill_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, websocket),
      &ngx_mikrobill_websocket_content },

    { ngx_string("mikrobill_ws_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_mikrobill_ws_origin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("mikrobill_ws_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, ws_max_message),
      NULL },

    { ngx_string("mikrobill_ws_send_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, ws_send_limit),
      NULL },

    { ngx_string("mikrobill_ws_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, ws_ping_interval),
      NULL },

    { ngx_string("mikrobill_ws_session_check"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_mikrobill_loc_conf_t, ws_session_check),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_mikrobill_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_mikrobill_create_main_conf,        /* create main configuration */
    ngx_mikrobill_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_mikrobill_create_loc_conf,         /* create location configuration */
    ngx_mikrobill_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_mikrobill_module = {
    NGX_MODULE_V1,
    &ngx_mikrobill_module_ctx,             /* module context */
    ngx_mikrobill_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_mikrobill_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_mikrobill_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_mikrobill_main_conf_t *
ngx_mikrobill_main_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_mikrobill_module);
}


static void *
ngx_mikrobill_create_main_conf(ngx_conf_t *cf)
{
    ngx_mikrobill_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_mikrobill_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->pg_conninfo = { 0, NULL };
     *     mcf->pg_host = NULL;
     *     mcf->pg_hostaddr = NULL;
     *     mcf->redis_host = { 0, NULL };
     *     mcf->redis_addr = { 0, NULL };
     *     mcf->hash_pool = NULL;
     *     mcf->pg = NULL;
     *     mcf->redis = NULL;
     */

    mcf->pg_pool_size = NGX_CONF_UNSET_UINT;
    mcf->pg_query_timeout = NGX_CONF_UNSET_MSEC;
    mcf->pg_connect_timeout = NGX_CONF_UNSET_MSEC;
    mcf->redis_port = NGX_CONF_UNSET;
    mcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    mcf->password_iterations = NGX_CONF_UNSET_UINT;
    mcf->session_ttl = NGX_CONF_UNSET;
    mcf->cookie_secure = NGX_CONF_UNSET;
    mcf->login_max_failures = NGX_CONF_UNSET_UINT;
    mcf->login_max_failures_addr = NGX_CONF_UNSET_UINT;
    mcf->login_window = NGX_CONF_UNSET;
    mcf->login_lockout = NGX_CONF_UNSET;
    mcf->login_delay = NGX_CONF_UNSET_MSEC;
    mcf->command_timeout = NGX_CONF_UNSET_MSEC;
    mcf->monitor_max = NGX_CONF_UNSET;

    return mcf;
}


static char *
ngx_mikrobill_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_mikrobill_main_conf_t *mcf = conf;

    ngx_str_t  name = ngx_string(NGX_MIKROBILL_HASH_POOL);

    ngx_conf_init_uint_value(mcf->pg_pool_size, 8);
    ngx_conf_init_msec_value(mcf->pg_query_timeout, 5000);
    ngx_conf_init_msec_value(mcf->pg_connect_timeout, 3000);

    if (mcf->redis_host.data == NULL) {
        ngx_str_set(&mcf->redis_host, "127.0.0.1");
        mcf->redis_addr = mcf->redis_host;
    }

    ngx_conf_init_value(mcf->redis_port, 6379);
    ngx_conf_init_msec_value(mcf->redis_timeout, 2000);

    ngx_conf_init_uint_value(mcf->password_iterations,
                             NGX_MIKROBILL_PASSWORD_ITERATIONS);
    ngx_conf_init_value(mcf->session_ttl, 12 * 60 * 60);
    ngx_conf_init_value(mcf->cookie_secure, 0);
    ngx_conf_init_uint_value(mcf->login_max_failures, 5);
    ngx_conf_init_uint_value(mcf->login_max_failures_addr, 20);
    ngx_conf_init_value(mcf->login_window, 15 * 60);
    ngx_conf_init_value(mcf->login_lockout, 15 * 60);
    ngx_conf_init_msec_value(mcf->login_delay, 250);
    ngx_conf_init_msec_value(mcf->command_timeout, 12000);
    ngx_conf_init_value(mcf->monitor_max, 50);

    /* hashing must always have a pool: take or create "mikrobill" */

    if (mcf->hash_pool == NULL) {
        mcf->hash_pool = ngx_mikrobill_thread_pool(cf, &name);
        if (mcf->hash_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_mikrobill_create_loc_conf(ngx_conf_t *cf)
{
    ngx_mikrobill_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_mikrobill_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    lcf->api = NGX_CONF_UNSET;
    lcf->error_page = NGX_CONF_UNSET;
    lcf->websocket = NGX_CONF_UNSET;
    lcf->ws_origins = NGX_CONF_UNSET_PTR;
    lcf->ws_max_message = NGX_CONF_UNSET_SIZE;
    lcf->ws_send_limit = NGX_CONF_UNSET_SIZE;
    lcf->ws_ping_interval = NGX_CONF_UNSET_MSEC;
    lcf->ws_session_check = NGX_CONF_UNSET_MSEC;

    return lcf;
}


static char *
ngx_mikrobill_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_mikrobill_loc_conf_t *prev = parent;
    ngx_mikrobill_loc_conf_t *conf = child;

    /* content handlers are per location; the flags are not inherited */

    ngx_conf_init_value(conf->api, 0);
    ngx_conf_init_value(conf->error_page, 0);
    ngx_conf_init_value(conf->websocket, 0);

    /* the WebSocket settings are inherited */

    ngx_conf_merge_ptr_value(conf->ws_origins, prev->ws_origins, NULL);
    ngx_conf_merge_size_value(conf->ws_max_message, prev->ws_max_message,
                              4096);
    ngx_conf_merge_size_value(conf->ws_send_limit, prev->ws_send_limit,
                              256 * 1024);
    ngx_conf_merge_msec_value(conf->ws_ping_interval, prev->ws_ping_interval,
                              30000);
    ngx_conf_merge_msec_value(conf->ws_session_check, prev->ws_session_check,
                              60000);

    if (conf->ws_max_message == 0 || conf->ws_send_limit == 0
        || conf->ws_ping_interval == 0 || conf->ws_session_check == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "mikrobill_ws_max_message, mikrobill_ws_send_limit,"
                           " mikrobill_ws_ping_interval and"
                           " mikrobill_ws_session_check must not be 0");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* host names in the connection string are resolved now, not per connect */

static char *
ngx_mikrobill_pg_conninfo(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mikrobill_main_conf_t *mcf = conf;

    char  *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (mcf->pg_conninfo.len > 0
        && ngx_mikrobill_resolve_pg(cf, mcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * "host:port"; the host is kept NUL-terminated, and a name is resolved
 * now into redis_addr, which hiredis connects to
 */

static char *
ngx_mikrobill_redis_addr(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mikrobill_main_conf_t *mcf = conf;

    u_char     *colon, *host;
    size_t      len;
    ngx_int_t   port;
    ngx_str_t  *value;

    if (mcf->redis_host.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    colon = ngx_strlchr(value[1].data, value[1].data + value[1].len, ':');
    len = colon ? (size_t) (colon - value[1].data) : value[1].len;

    if (len == 0) {
        return "has an empty host";
    }

    port = 6379;

    if (colon) {
        port = ngx_atoi(colon + 1, value[1].data + value[1].len - colon - 1);
        if (port < 1 || port > 65535) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid port in \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    host = ngx_pnalloc(cf->pool, len + 1);
    if (host == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(host, value[1].data, len);
    host[len] = '\0';

    mcf->redis_host.data = host;
    mcf->redis_host.len = len;
    mcf->redis_port = port;

    if (ngx_mikrobill_resolve_redis(cf, mcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the key is read now: a missing or unsafe key file stops the start */

static char *
ngx_mikrobill_secret_key_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_mikrobill_main_conf_t *mcf = conf;

    char        err[256];
    ngx_str_t  *value, path;

    if (mcf->secret_key_file.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    err[0] = '\0';

    if (ngx_mikrobill_secret_key_load((const char *) path.data,
                                      mcf->secret_key, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot load the secret key file \"%V\": %s",
                           &path, err);
        return NGX_CONF_ERROR;
    }

    mcf->secret_key_file = path;
    mcf->has_secret_key = 1;

    return NGX_CONF_OK;
}


static char *
ngx_mikrobill_hash_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_mikrobill_main_conf_t *mcf = conf;

    ngx_str_t  *value;

    if (mcf->hash_pool != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    mcf->hash_pool = ngx_mikrobill_thread_pool(cf, &value[1]);
    if (mcf->hash_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A pool declared by "thread_pool" before this point is used as it is.
 * An undeclared one is declared here with nginx's defaults by running the
 * "thread_pool" directive itself, since ngx_thread_pool_add() alone leaves
 * it without threads and ngx_thread_pool_init_conf() would then reject it.
 * A "thread_pool" of the same name after the http block is therefore a
 * duplicate: declare it before http {}.
 */

static ngx_thread_pool_t *
ngx_mikrobill_thread_pool(ngx_conf_t *cf, ngx_str_t *name)
{
    char           *rv;
    ngx_str_t      *arg;
    ngx_array_t     args, *saved;
    ngx_command_t  *cmd;

    if (ngx_thread_pool_get(cf->cycle, name) != NULL) {
        return ngx_thread_pool_add(cf, name);
    }

    for (cmd = ngx_thread_pool_module.commands; cmd->name.len; cmd++) {
        if (ngx_strcmp(cmd->name.data, "thread_pool") == 0) {
            break;
        }
    }

    if (cmd->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no \"thread_pool\" directive in this nginx");
        return NULL;
    }

    if (ngx_array_init(&args, cf->temp_pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    arg = ngx_array_push_n(&args, 4);
    if (arg == NULL) {
        return NULL;
    }

    ngx_str_set(&arg[0], "thread_pool");
    arg[1] = *name;
    ngx_str_set(&arg[2], NGX_MIKROBILL_HASH_THREADS);
    ngx_str_set(&arg[3], NGX_MIKROBILL_HASH_QUEUE);

    saved = cf->args;
    cf->args = &args;

    rv = cmd->set(cf, cmd,
                  ngx_get_conf(cf->cycle->conf_ctx, ngx_thread_pool_module));

    cf->args = saved;

    if (rv != NGX_CONF_OK) {
        return NULL;
    }

    return ngx_thread_pool_get(cf->cycle, name);
}


/*
 * mikrobill_api, mikrobill_error_page, mikrobill_websocket: each sets its
 * flag (cmd->offset) and the location's content handler (cmd->post), so a
 * location takes only one of them.
 */

static char *
ngx_mikrobill_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mikrobill_loc_conf_t *lcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->api != NGX_CONF_UNSET || lcf->error_page != NGX_CONF_UNSET
        || lcf->websocket != NGX_CONF_UNSET)
    {
        return "is duplicate";
    }

    *(ngx_flag_t *) ((char *) conf + cmd->offset) = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = *(ngx_http_handler_pt *) cmd->post;

    return NGX_CONF_OK;
}


/* "mikrobill_ws_origin https://a.example http://b.example ..." */

static char *
ngx_mikrobill_ws_origin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_mikrobill_loc_conf_t *lcf = conf;

    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (lcf->ws_origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    lcf->ws_origins = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                       sizeof(ngx_str_t));
    if (lcf->ws_origins == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        origin = ngx_array_push(lcf->ws_origins);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_mikrobill_init_process(ngx_cycle_t *cycle)
{
    ngx_mikrobill_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mikrobill_module);

    if (mcf == NULL || mcf->pg_conninfo.len == 0) {
        return NGX_OK;
    }

    /* both drivers rely on edge-triggered notifications */

    if (!(ngx_event_flags & NGX_USE_CLEAR_EVENT)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "mikrobill needs the epoll or kqueue event method");
        return NGX_ERROR;
    }

    mcf->pg = ngx_mikrobill_pg_pool_create(cycle, mcf);
    if (mcf->pg == NULL) {
        return NGX_ERROR;
    }

    mcf->redis = ngx_mikrobill_redis_create(cycle, mcf);
    if (mcf->redis == NULL) {
        return NGX_ERROR;
    }

    /* its own Redis connection, in subscribe mode, for the WebSockets */
    mcf->fanout = ngx_mikrobill_fanout_create(cycle, mcf);
    if (mcf->fanout == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_mikrobill_exit_process(ngx_cycle_t *cycle)
{
    ngx_mikrobill_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_mikrobill_module);

    if (mcf == NULL) {
        return;
    }

    if (mcf->fanout) {
        ngx_mikrobill_fanout_destroy(mcf->fanout);
        mcf->fanout = NULL;
    }

    if (mcf->redis) {
        ngx_mikrobill_redis_destroy(mcf->redis);
        mcf->redis = NULL;
    }

    if (mcf->pg) {
        ngx_mikrobill_pg_pool_destroy(mcf->pg);
        mcf->pg = NULL;
    }
}
