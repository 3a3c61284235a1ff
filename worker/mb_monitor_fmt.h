/*
 * The texts of customer traffic monitors (docs/monitor.md): the sample
 * message in the contract's key order, its flat form for XADD, the
 * events and their Indonesian messages.  Pure functions, no I/O, so that
 * t/unit/monitor_fmt_test.c checks every format byte for byte.
 */

#ifndef _MB_MONITOR_FMT_H_INCLUDED_
#define _MB_MONITOR_FMT_H_INCLUDED_


#include <stddef.h>
#include <time.h>


#define MB_MON_SAMPLE_NFIELDS  10


/* who is monitored: strings from the meta in mikrobill:monitors */
typedef struct {
    const char  *customer_id;
    const char  *customer_name;
    const char  *username;
    const char  *service_type;
    const char  *interface;
} mb_mon_who_t;


typedef struct {
    const char  *rx;                /* the router's digits, or "0" */
    const char  *tx;
    char         download[32];      /* from tx: what the customer gets */
    char         upload[32];        /* from rx */
    char         timestamp[24];
} mb_mon_sample_t;


/* bits per second as "5.23 Mbps" (from 1,000,000 up) or "850.00 Kbps" */
void mb_mon_speed(char *buf, size_t len, unsigned long long bps);

/* RFC 3339 UTC, seconds: "2025-12-28T23:15:00Z" */
void mb_mon_timestamp(char *buf, size_t len, time_t t);

/* "3", "0.05", "1.5": minutes for the idle message, no trailing zeros */
void mb_mon_minutes(char *buf, size_t len, unsigned seconds);

/*
 * rx and tx as RouterOS sent them (NULL when absent); a value that is not
 * plain digits counts as "0", so that the texts stay numbers.
 */
void mb_mon_sample_fill(mb_mon_sample_t *s, const char *rx, const char *tx,
    time_t now);

/* the sample JSON (malloc'd), NULL out of memory */
char *mb_mon_sample_json(const mb_mon_who_t *who, const mb_mon_sample_t *s);

/* name, value, ... in the JSON's order: 2 * MB_MON_SAMPLE_NFIELDS
 * pointers into who and s */
void mb_mon_sample_fields(const mb_mon_who_t *who, const mb_mon_sample_t *s,
    const char **argv);

/*
 * {"event": event, "customer_id", "customer_name", ...}: "interface" for
 * monitor_started, "reason" when reason is not NULL, "message" when it is
 * not NULL, then "timestamp".  malloc'd; NULL out of memory.
 */
char *mb_mon_event_json(const char *event, const mb_mon_who_t *who,
    const char *reason, const char *message, time_t now);

/*
 * The message of monitor_stopped for reason "stopped", "offline", "idle"
 * or "error" (detail: the error's text; idle_s: monitor_idle_s).
 */
void mb_mon_stop_message(char *buf, size_t len, const char *reason,
    const mb_mon_who_t *who, unsigned idle_s, const char *detail);


#define MB_MON_MSG_INTERRUPTED  "Koneksi ke router terputus, menyambung ulang"
#define MB_MON_MSG_RESUMED      "Monitor berjalan lagi"


#endif /* _MB_MONITOR_FMT_H_INCLUDED_ */
