/*
 * Value checks for router operations and the routers table.
 */

#include "mb_valid.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int
mb_valid_text0(const char *s, unsigned max)
{
    size_t  len;

    if (s == NULL || (len = strlen(s)) > max) {
        return 0;
    }

    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
mb_valid_text(const char *s, unsigned max)
{
    return s != NULL && *s != '\0' && mb_valid_text0(s, max);
}


int
mb_valid_name(const char *s, unsigned max)
{
    size_t  len;

    if (!mb_valid_text(s, max)) {
        return 0;
    }

    len = strlen(s);
    return s[0] != ' ' && s[len - 1] != ' ';
}


static int
mb_valid_ip(const char *s)
{
    unsigned char  buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}


/* RFC 1123 labels: letters, digits, '-', not at a label's ends */
static int
mb_valid_dns(const char *s)
{
    size_t  label = 0, len = strlen(s);

    if (len == 0 || len > 253) {
        return 0;
    }

    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0 || s[-1] == '-') {
                return 0;
            }
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char) *s) && *s != '-' && *s != '_') {
            return 0;
        }
        if (label == 0 && *s == '-') {
            return 0;
        }
        if (++label > 63) {
            return 0;
        }
    }

    return label > 0 || len > 1;
}


int
mb_valid_host(const char *s)
{
    return s != NULL && (mb_valid_ip(s) || mb_valid_dns(s));
}


int
mb_valid_ros_id(const char *s)
{
    size_t  n;

    if (s == NULL || s[0] != '*') {
        return 0;
    }

    n = strspn(s + 1, "0123456789abcdefABCDEF");
    return n >= 1 && n <= 8 && s[1 + n] == '\0';
}


static int
mb_valid_prefix(const char *s, int v6)
{
    char  *end;
    long   n;

    if (!isdigit((unsigned char) *s) || strlen(s) > 3) {
        return 0;
    }

    n = strtol(s, &end, 10);
    return *end == '\0' && n >= 0 && n <= (v6 ? 128 : 32);
}


int
mb_valid_address(const char *s)
{
    char         buf[100];
    char        *sep;
    const char  *colon;

    if (s == NULL || strlen(s) >= sizeof(buf)) {
        return 0;
    }

    strcpy(buf, s);
    colon = strchr(buf, ':');

    if ((sep = strchr(buf, '/')) != NULL) {
        *sep = '\0';
        return mb_valid_ip(buf) && mb_valid_prefix(sep + 1, colon != NULL);
    }

    if (colon == NULL && (sep = strchr(buf, '-')) != NULL) {
        *sep = '\0';
        return mb_valid_ip(buf) && mb_valid_ip(sep + 1)
               && strchr(sep + 1, ':') == NULL;
    }

    return mb_valid_ip(buf);
}


/* "1w2d3h4m5s" with at least one unit, or "[Nd ]HH:MM:SS" */
int
mb_valid_duration(const char *s)
{
    const char  *p = s;
    unsigned     h, m, sec;
    int          n = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 32) {
        return 0;
    }

    if (strchr(s, ':') != NULL) {
        return sscanf(s, "%2u:%2u:%2u%n", &h, &m, &sec, &n) == 3
               && (size_t) n == strlen(s) && m < 60 && sec < 60;
    }

    while (*p) {
        if (!isdigit((unsigned char) *p)) {
            return 0;
        }
        p += strspn(p, "0123456789");
        if (*p == '\0' || strchr("wdhms", *p) == NULL) {
            /* "ms" is a unit too: "500ms" */
            return 0;
        }
        p += (p[0] == 'm' && p[1] == 's') ? 2 : 1;
    }

    return 1;
}


int
mb_valid_uuid(const char *s)
{
    static const int  dash[] = { 8, 13, 18, 23 };
    size_t            i, d = 0;

    if (s == NULL || strlen(s) != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (d < 4 && (int) i == dash[d]) {
            if (s[i] != '-') {
                return 0;
            }
            d++;
        } else if (!isxdigit((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}
