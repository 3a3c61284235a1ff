/*
 * Login sentences.  MD5 goes through EVP: OpenSSL 3 deprecates MD5().
 */

#include "mb_ros_login.h"

#include <string.h>

#include <openssl/evp.h>


/* the challenge is 16 bytes in practice; allow some room */
#define MB_ROS_CHALLENGE_MAX  64


int
mb_ros_login_plain(mb_ros_buf_t *b, const char *user, const char *password)
{
    if (mb_ros_buf_word(b, "/login", 6) != 0
        || mb_ros_buf_attr(b, "=", "name", user) != 0
        || mb_ros_buf_attr(b, "=", "password", password) != 0
        || mb_ros_buf_end(b) != 0)
    {
        return -1;
    }
    return 0;
}


static int
mb_ros_hex_val(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


int
mb_ros_login_md5_response(const char *password, const char *challenge_hex,
    char out[35])
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      chal[MB_ROS_CHALLENGE_MAX], md[EVP_MAX_MD_SIZE];
    size_t             n, i;
    unsigned           mdlen;
    int                hi, lo, rc;
    EVP_MD_CTX        *ctx;

    n = strlen(challenge_hex);
    if (n == 0 || n % 2 || n / 2 > sizeof(chal)) {
        return -1;
    }
    for (i = 0; i < n / 2; i++) {
        hi = mb_ros_hex_val((unsigned char) challenge_hex[2 * i]);
        lo = mb_ros_hex_val((unsigned char) challenge_hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        chal[i] = (unsigned char) (hi << 4 | lo);
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }
    rc = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1
         && EVP_DigestUpdate(ctx, "", 1) == 1
         && EVP_DigestUpdate(ctx, password, strlen(password)) == 1
         && EVP_DigestUpdate(ctx, chal, n / 2) == 1
         && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16;
    EVP_MD_CTX_free(ctx);
    if (!rc) {
        return -1;
    }

    out[0] = '0';
    out[1] = '0';
    for (i = 0; i < 16; i++) {
        out[2 + 2 * i] = hex[md[i] >> 4];
        out[3 + 2 * i] = hex[md[i] & 0xF];
    }
    out[34] = '\0';
    return 0;
}


int
mb_ros_login_md5(mb_ros_buf_t *b, const char *user, const char *password,
    const char *challenge_hex)
{
    char  resp[35];

    if (mb_ros_login_md5_response(password, challenge_hex, resp) != 0
        || mb_ros_buf_word(b, "/login", 6) != 0
        || mb_ros_buf_attr(b, "=", "name", user) != 0
        || mb_ros_buf_attr(b, "=", "response", resp) != 0
        || mb_ros_buf_end(b) != 0)
    {
        return -1;
    }
    return 0;
}
