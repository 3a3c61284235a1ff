/*
 * Unit tests of the traffic monitor texts (worker/mb_monitor_fmt.c): the
 * speeds, the timestamp, the sample JSON and its flat fields in the
 * contract's order (docs/monitor.md), the events and their messages.
 * Prints TAP for prove.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_monitor_fmt.h"

#include "tap.h"


/* 2025-12-28T23:15:00Z */
#define T0  ((time_t) 1766963700)


static void
is_str(const char *got, const char *want, const char *desc)
{
    int  good = got != NULL && strcmp(got, want) == 0;

    ok(good, desc);
    if (!good) {
        printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want);
    }
}


static void
test_speed(void)
{
    static const struct {
        unsigned long long  bps;
        const char         *want;
    } cases[] = {
        { 5234567, "5.23 Mbps" }, { 1234567, "1.23 Mbps" },
        { 850000, "850.00 Kbps" }, { 0, "0.00 Kbps" },
        { 1000000, "1.00 Mbps" }, { 999, "1.00 Kbps" }, { 1, "0.00 Kbps" },
        { 1000000000ULL, "1000.00 Mbps" }, { 12345, "12.35 Kbps" },
    };
    char    buf[32], desc[64];
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mb_mon_speed(buf, sizeof(buf), cases[i].bps);
        snprintf(desc, sizeof(desc), "speed %llu -> %s", cases[i].bps,
                 cases[i].want);
        is_str(buf, cases[i].want, desc);
    }
}


static void
test_time(void)
{
    char  buf[32];

    mb_mon_timestamp(buf, sizeof(buf), T0);
    is_str(buf, "2025-12-28T23:15:00Z", "timestamp: RFC 3339 UTC seconds");

    mb_mon_minutes(buf, sizeof(buf), 300);
    is_str(buf, "5", "300 s is 5 minutes");
    mb_mon_minutes(buf, sizeof(buf), 90);
    is_str(buf, "1.5", "90 s is 1.5 minutes");
    mb_mon_minutes(buf, sizeof(buf), 3);
    is_str(buf, "0.05", "3 s is 0.05 minutes");
}


static const mb_mon_who_t  who = {
    "123e4567-e89b-12d3-a456-426614174000", "Test Customer", "test-user",
    "pppoe", "<pppoe-test-user>"
};


static void
test_sample(void)
{
    mb_mon_sample_t   s;
    const char       *argv[2 * MB_MON_SAMPLE_NFIELDS];
    char             *json;

    mb_mon_sample_fill(&s, "5234567", "1234567", T0);
    json = mb_mon_sample_json(&who, &s);
    is_str(json,
           "{\"customer_id\":\"123e4567-e89b-12d3-a456-426614174000\","
           "\"customer_name\":\"Test Customer\",\"username\":\"test-user\","
           "\"service_type\":\"pppoe\",\"interface\":\"<pppoe-test-user>\","
           "\"rx_bits_per_second\":\"5234567\","
           "\"tx_bits_per_second\":\"1234567\","
           "\"download_speed\":\"1.23 Mbps\",\"upload_speed\":\"5.23 Mbps\","
           "\"timestamp\":\"2025-12-28T23:15:00Z\"}",
           "sample JSON: keys in order, download from tx, upload from rx");
    free(json);

    mb_mon_sample_fields(&who, &s, argv);
    is_str(argv[0], "customer_id", "flat: first field customer_id");
    is_str(argv[10], "rx_bits_per_second", "flat: rx field name");
    is_str(argv[11], "5234567", "flat: rx value unchanged");
    is_str(argv[15], "1.23 Mbps", "flat: download_speed from tx");
    is_str(argv[18], "timestamp", "flat: last field timestamp");
    is_str(argv[19], "2025-12-28T23:15:00Z", "flat: timestamp value");

    mb_mon_sample_fill(&s, NULL, "", T0);
    is_str(s.rx, "0", "a missing rx counts as 0");
    is_str(s.tx, "0", "an empty tx counts as 0");
    is_str(s.download, "0.00 Kbps", "and its speed is 0.00 Kbps");

    mb_mon_sample_fill(&s, "12x", "-5", T0);
    ok(strcmp(s.rx, "0") == 0 && strcmp(s.tx, "0") == 0,
       "values that are not digits count as 0");

    mb_mon_sample_fill(&s, "850000", "0", T0);
    is_str(s.upload, "850.00 Kbps", "upload 850000 -> 850.00 Kbps");
}


static void
test_events(void)
{
    mb_mon_who_t  odd = who;
    char         *json, msg[256];

    json = mb_mon_event_json("monitor_started", &who, NULL, NULL, T0);
    is_str(json,
           "{\"event\":\"monitor_started\","
           "\"customer_id\":\"123e4567-e89b-12d3-a456-426614174000\","
           "\"customer_name\":\"Test Customer\","
           "\"interface\":\"<pppoe-test-user>\","
           "\"timestamp\":\"2025-12-28T23:15:00Z\"}", "monitor_started");
    free(json);

    mb_mon_stop_message(msg, sizeof(msg), "offline", &who, 300, NULL);
    is_str(msg, "Pelanggan Test Customer offline: sesi PPPoE berakhir, "
           "monitor dihentikan", "offline message");
    json = mb_mon_event_json("monitor_stopped", &who, "offline", msg, T0);
    is_str(json,
           "{\"event\":\"monitor_stopped\","
           "\"customer_id\":\"123e4567-e89b-12d3-a456-426614174000\","
           "\"customer_name\":\"Test Customer\",\"reason\":\"offline\","
           "\"message\":\"Pelanggan Test Customer offline: sesi PPPoE "
           "berakhir, monitor dihentikan\","
           "\"timestamp\":\"2025-12-28T23:15:00Z\"}", "monitor_stopped");
    free(json);

    mb_mon_stop_message(msg, sizeof(msg), "stopped", &who, 300, NULL);
    is_str(msg, "Monitor dihentikan", "stopped message");
    mb_mon_stop_message(msg, sizeof(msg), "idle", &who, 300, NULL);
    is_str(msg, "Monitor dihentikan: tidak ada yang menonton selama 5 menit",
           "idle message");
    mb_mon_stop_message(msg, sizeof(msg), "error", &who, 300, "timeout");
    is_str(msg, "Monitor berhenti: timeout", "error message");

    json = mb_mon_event_json("monitor_interrupted", &who, NULL,
                             MB_MON_MSG_INTERRUPTED, T0);
    is_str(json,
           "{\"event\":\"monitor_interrupted\","
           "\"customer_id\":\"123e4567-e89b-12d3-a456-426614174000\","
           "\"customer_name\":\"Test Customer\","
           "\"message\":\"Koneksi ke router terputus, menyambung ulang\","
           "\"timestamp\":\"2025-12-28T23:15:00Z\"}",
           "monitor_interrupted");
    free(json);

    odd.customer_name = "Budi \"B\" \\ \xc3\xa9";
    json = mb_mon_event_json("monitor_resumed", &odd, NULL,
                             MB_MON_MSG_RESUMED, T0);
    ok(json != NULL && strstr(json, "\"customer_name\":\"Budi \\\"B\\\" "
                              "\\\\ \xc3\xa9\"") != NULL
       && strstr(json, "\"message\":\"Monitor berjalan lagi\"") != NULL,
       "names are JSON-escaped; monitor_resumed message");
    free(json);
}


int
main(void)
{
    test_speed();
    test_time();
    test_sample();
    test_events();

    printf("1..%d\n", test_no);
    return failed != 0;
}
