/*
 * JSON responses and errors.  Every API answer, failures included, is JSON;
 * an error is {"error": code, "message": text}.
 */

#ifndef _NGX_MIKROBILL_JSON_H_INCLUDED_
#define _NGX_MIKROBILL_JSON_H_INCLUDED_


#include "ngx_mikrobill.h"


/*
 * Send json (a reference is stolen) with the status and finalize the
 * request.  After this call the request must not be touched.
 */
void ngx_mikrobill_respond(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json);

/*
 * Send data, already JSON text living at least as long as the request
 * (its pool), and finalize the request.
 */
void ngx_mikrobill_respond_raw(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len);

/*
 * json (a reference is stolen; NULL is an error) as text with jansson's
 * flags, in memory freed with pool.  NGX_ERROR when out of memory.
 */
ngx_int_t ngx_mikrobill_json_dump(ngx_pool_t *pool, json_t *json,
    size_t flags, ngx_str_t *out);

/* send {"error": code, "message": message} and finalize the request */
void ngx_mikrobill_respond_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message);

/* the error code used for a status when no better one exists */
const char *ngx_mikrobill_error_code(ngx_uint_t status);

/* the body parsed as JSON; NULL with message set when it is not an object */
json_t *ngx_mikrobill_json_parse_body(ngx_http_request_t *r,
    const char **message);

/* a NUL-terminated copy of s in the request pool */
char *ngx_mikrobill_pstrdup0(ngx_pool_t *pool, ngx_str_t *s);

/* jansson string from a PGresult field; json null for SQL NULL */
json_t *ngx_mikrobill_json_from_field(void *res, int row, int col);


#endif /* _NGX_MIKROBILL_JSON_H_INCLUDED_ */
