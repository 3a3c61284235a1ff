/*
 * Router rows: comparing them, and turning one into client settings with
 * its password opened from the sealed column.
 */

#include "mb_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ngx_mikrobill_secret.h"


void
mb_router_conf_free(mb_router_conf_t *conf)
{
    if (conf->password_enc != NULL) {
        OPENSSL_cleanse(conf->password_enc, strlen(conf->password_enc));
    }

    free(conf->id);
    free(conf->name);
    free(conf->host);
    free(conf->username);
    free(conf->password_enc);
    free(conf->tls_ca_file);
    free(conf->updated_at);
    memset(conf, 0, sizeof(*conf));
}


static int
mb_str_differs(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a != b;
    }

    return strcmp(a, b) != 0;
}


int
mb_router_conf_differs(const mb_router_conf_t *a, const mb_router_conf_t *b)
{
    return mb_str_differs(a->name, b->name)
           || mb_str_differs(a->host, b->host)
           || a->port != b->port
           || mb_str_differs(a->username, b->username)
           || mb_str_differs(a->password_enc, b->password_enc)
           || a->tls != b->tls
           || a->tls_verify != b->tls_verify
           || mb_str_differs(a->tls_ca_file, b->tls_ca_file)
           || a->tls_anon_dh != b->tls_anon_dh;
}


void
mb_router_client_fill(const mb_router_conf_t *conf, const char *pw,
    mb_ros_client_conf_t *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->host = conf->host;
    cc->port = conf->port;
    cc->username = conf->username;
    cc->password = pw;
    cc->tls = conf->tls;
    cc->tls_ca_file = conf->tls_verify ? conf->tls_ca_file : NULL;
    cc->tls_anon_dh = conf->tls_anon_dh;
    cc->name = conf->name;
}


int
mb_router_client_conf(const mb_router_conf_t *conf,
    const unsigned char *key, char *pw, size_t pwlen,
    mb_ros_client_conf_t *cc, char *err, size_t errlen)
{
    size_t  len;

    if (key == NULL) {
        snprintf(err, errlen, "no secret key to open the stored password");
        return -1;
    }

    if (ngx_mikrobill_secret_open(key, NGX_MIKROBILL_SECRET_ROUTER_PASSWORD,
                                  conf->password_enc, (unsigned char *) pw,
                                  pwlen, &len) != 0)
    {
        snprintf(err, errlen, "the stored password cannot be decrypted "
                 "with this secret key");
        return -1;
    }

    mb_router_client_fill(conf, pw, cc);

    return 0;
}


const char *
mb_router_err_code(mb_ros_err_e err)
{
    switch (err) {
    case MB_ROS_E_UNREACHABLE: return "unreachable";
    case MB_ROS_E_REFUSED:     return "refused";
    case MB_ROS_E_TIMEOUT:     return "timeout";
    case MB_ROS_E_TLS:         return "tls";
    case MB_ROS_E_LOGIN:       return "login_failed";
    case MB_ROS_E_PROTOCOL:    return "protocol";
    case MB_ROS_E_LOST:        return "connection_lost";
    case MB_ROS_E_FATAL:       return "fatal";
    case MB_ROS_E_CLOSED:      return "unavailable";
    default:                   return "internal";
    }
}
