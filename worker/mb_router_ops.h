/*
 * The typed operations of router.exec: each op's arguments are checked
 * and turned into API words here, before any router is touched, so that a
 * bad request is refused by whichever worker reads it first.
 */

#ifndef _MB_ROUTER_OPS_H_INCLUDED_
#define _MB_ROUTER_OPS_H_INCLUDED_


#include <stddef.h>

#include <jansson.h>


typedef struct {
    char    **v;                    /* NULL-terminated */
    size_t    n;
    size_t    cap;
} mb_strv_t;


typedef enum {
    MB_ROP_PRINT,                   /* words; answer: items */
    MB_ROP_ADD,                     /* words; answer: the new id */
    MB_ROP_BY_ID                    /* words + "=.id=" per id; answer:
                                       how many */
} mb_rop_kind_e;


typedef struct {
    mb_rop_kind_e   kind;
    mb_strv_t       words;          /* the command */
    mb_strv_t       lookup;         /* BY_ID by name: the print finding
                                       the ids; empty when id given */
    char           *id;             /* BY_ID with an explicit id */
    int             need_one;       /* BY_ID: a name must match (set) */
} mb_rop_plan_t;


/* NULL on success; else why the arguments are refused (bad_request) */
const char *mb_rop_plan(const char *op, json_t *payload,
    mb_rop_plan_t *plan);
void mb_rop_plan_free(mb_rop_plan_t *plan);

/* appends a formatted word; 0 or -1 out of memory */
int mb_strv_pushf(mb_strv_t *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mb_strv_free(mb_strv_t *sv);


#endif /* _MB_ROUTER_OPS_H_INCLUDED_ */
