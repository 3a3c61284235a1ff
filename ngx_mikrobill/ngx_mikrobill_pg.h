/*
 * PostgreSQL in the event loop: a per-worker pool of libpq connections driven
 * by nginx events, with lazily prepared statements and query timeouts.
 */

#ifndef _NGX_MIKROBILL_PG_H_INCLUDED_
#define _NGX_MIKROBILL_PG_H_INCLUDED_


#include "ngx_mikrobill.h"
#include <libpq-fe.h>


/*
 * A statement is declared once, statically, by the file that uses it; the
 * pool prepares it on each connection the first time it runs there.
 * The name must be unique across the module.
 */
typedef struct {
    const char                *name;
    const char                *sql;
    int                        nparams;
} ngx_mikrobill_pg_stmt_t;


/*
 * rc NGX_OK: res is the statement's result (PGRES_TUPLES_OK,
 * PGRES_COMMAND_OK, or PGRES_FATAL_ERROR for an SQL error such as a unique
 * violation: see ngx_mikrobill_pg_sqlstate()).  res is valid only during the
 * callback.
 * rc NGX_ERROR: the database is unavailable (cannot connect, connection lost,
 * timed out); res is NULL.
 */
typedef void (*ngx_mikrobill_pg_handler_pt)(void *data, PGresult *res,
    ngx_int_t rc);


ngx_mikrobill_pg_pool_t *ngx_mikrobill_pg_pool_create(ngx_cycle_t *cycle,
    ngx_mikrobill_main_conf_t *mcf);
void ngx_mikrobill_pg_pool_destroy(ngx_mikrobill_pg_pool_t *pool);

/*
 * Run a prepared statement.  values are NUL-terminated text parameters (NULL
 * for SQL NULL), copied before return.  The handler is always called exactly
 * once, never before this function returns.  Returns NGX_OK or NGX_ERROR
 * (out of memory; handler not called).
 */
ngx_int_t ngx_mikrobill_pg_exec(ngx_mikrobill_pg_pool_t *pool,
    const ngx_mikrobill_pg_stmt_t *stmt, const char *const *values,
    ngx_mikrobill_pg_handler_pt handler, void *data);

/* "23505" etc. for an error result, "" otherwise */
const char *ngx_mikrobill_pg_sqlstate(PGresult *res);


#endif /* _NGX_MIKROBILL_PG_H_INCLUDED_ */
