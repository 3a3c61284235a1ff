/*
 * Monitor texts.  jansson builds the JSON so that any customer name is
 * escaped correctly; objects keep their insertion order, which is the
 * contract's key order.
 */

#include "mb_monitor_fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>


#define MB_MON_DUMP  (JSON_COMPACT | JSON_PRESERVE_ORDER)


void
mb_mon_speed(char *buf, size_t len, unsigned long long bps)
{
    if (bps >= 1000000ULL) {
        snprintf(buf, len, "%.2f Mbps", (double) bps / 1e6);
    } else {
        snprintf(buf, len, "%.2f Kbps", (double) bps / 1e3);
    }
}


void
mb_mon_timestamp(char *buf, size_t len, time_t t)
{
    struct tm  tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


void
mb_mon_minutes(char *buf, size_t len, unsigned seconds)
{
    size_t  n;

    if (seconds % 60 == 0) {
        snprintf(buf, len, "%u", seconds / 60);
        return;
    }

    /* a short test timeout still reads as a number of minutes */
    snprintf(buf, len, "%.2f", seconds / 60.0);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0') {
        buf[--n] = '\0';
    }
    if (n > 0 && buf[n - 1] == '.') {
        buf[--n] = '\0';
    }
}


/* RouterOS numbers are plain digits; anything else is not passed on */
static const char *
mb_mon_digits(const char *v)
{
    size_t  i;

    if (v == NULL || v[0] == '\0') {
        return "0";
    }

    for (i = 0; v[i] != '\0'; i++) {
        if (v[i] < '0' || v[i] > '9' || i >= 19) {
            return "0";
        }
    }

    return v;
}


void
mb_mon_sample_fill(mb_mon_sample_t *s, const char *rx, const char *tx,
    time_t now)
{
    s->rx = mb_mon_digits(rx);
    s->tx = mb_mon_digits(tx);
    /* <pppoe-USER> is the server end: its tx is the customer's download */
    mb_mon_speed(s->download, sizeof(s->download), strtoull(s->tx, NULL, 10));
    mb_mon_speed(s->upload, sizeof(s->upload), strtoull(s->rx, NULL, 10));
    mb_mon_timestamp(s->timestamp, sizeof(s->timestamp), now);
}


void
mb_mon_sample_fields(const mb_mon_who_t *who, const mb_mon_sample_t *s,
    const char **argv)
{
    const char  *v[2 * MB_MON_SAMPLE_NFIELDS] = {
        "customer_id", who->customer_id,
        "customer_name", who->customer_name,
        "username", who->username,
        "service_type", who->service_type,
        "interface", who->interface,
        "rx_bits_per_second", s->rx,
        "tx_bits_per_second", s->tx,
        "download_speed", s->download,
        "upload_speed", s->upload,
        "timestamp", s->timestamp,
    };

    memcpy(argv, v, sizeof(v));
}


/* json_string() refuses bad UTF-8: an empty text rather than no message */
static json_t *
mb_mon_str(const char *v)
{
    json_t  *j = json_string(v != NULL ? v : "");

    return j != NULL ? j : json_string("");
}


char *
mb_mon_sample_json(const mb_mon_who_t *who, const mb_mon_sample_t *s)
{
    const char  *argv[2 * MB_MON_SAMPLE_NFIELDS];
    json_t      *j = json_object();
    char        *text;
    size_t       i;

    if (j == NULL) {
        return NULL;
    }

    mb_mon_sample_fields(who, s, argv);
    for (i = 0; i < 2 * MB_MON_SAMPLE_NFIELDS; i += 2) {
        json_object_set_new(j, argv[i], mb_mon_str(argv[i + 1]));
    }

    text = json_dumps(j, MB_MON_DUMP);
    json_decref(j);

    return text;
}


char *
mb_mon_event_json(const char *event, const mb_mon_who_t *who,
    const char *reason, const char *message, time_t now)
{
    json_t  *j = json_object();
    char    *text, ts[24];

    if (j == NULL) {
        return NULL;
    }

    mb_mon_timestamp(ts, sizeof(ts), now);

    json_object_set_new(j, "event", mb_mon_str(event));
    json_object_set_new(j, "customer_id", mb_mon_str(who->customer_id));
    json_object_set_new(j, "customer_name", mb_mon_str(who->customer_name));
    if (strcmp(event, "monitor_started") == 0) {
        json_object_set_new(j, "interface", mb_mon_str(who->interface));
    }
    if (reason != NULL) {
        json_object_set_new(j, "reason", mb_mon_str(reason));
    }
    if (message != NULL) {
        json_object_set_new(j, "message", mb_mon_str(message));
    }
    json_object_set_new(j, "timestamp", mb_mon_str(ts));

    text = json_dumps(j, MB_MON_DUMP);
    json_decref(j);

    return text;
}


void
mb_mon_stop_message(char *buf, size_t len, const char *reason,
    const mb_mon_who_t *who, unsigned idle_s, const char *detail)
{
    char  min[32];

    if (strcmp(reason, "stopped") == 0) {
        snprintf(buf, len, "Monitor dihentikan");

    } else if (strcmp(reason, "offline") == 0) {
        snprintf(buf, len, "Pelanggan %s offline: sesi PPPoE berakhir, "
                 "monitor dihentikan", who->customer_name);

    } else if (strcmp(reason, "idle") == 0) {
        mb_mon_minutes(min, sizeof(min), idle_s);
        snprintf(buf, len, "Monitor dihentikan: tidak ada yang menonton "
                 "selama %s menit", min);

    } else {
        snprintf(buf, len, "Monitor berhenti: %s",
                 detail != NULL ? detail : "unknown error");
    }
}
