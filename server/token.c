#include "token.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "digest.h"
#include "encoding.h"
#include "err.h"

int srv_token_new(const char *prefix, char out[SRV_TOKEN_SIZE], unsigned char hash[SRV_HASH_LEN])
{
    unsigned char raw[32];
    int rc;

    if (strlen(prefix) != 4)
        return DA_ERR_INVALID_ARG;
    if (RAND_priv_bytes(raw, sizeof(raw)) != 1)
        return DA_ERR_CRYPTO;
    memcpy(out, prefix, 4);
    rc = da_hex_encode_to(raw, sizeof(raw), out + 4, SRV_TOKEN_SIZE - 4);
    OPENSSL_cleanse(raw, sizeof(raw));
    if (rc == 0)
        rc = da_sha256(out, strlen(out), hash);
    return rc;
}

int srv_random_id(char out[SRV_ID_HEX])
{
    unsigned char raw[16];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return DA_ERR_CRYPTO;
    return da_hex_encode_to(raw, sizeof(raw), out, SRV_ID_HEX);
}

int srv_time_ordered_id(char out[SRV_ID_HEX])
{
    unsigned char raw[16];
    struct timespec ts;
    uint64_t ms;
    int i;

    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (i = 5; i >= 0; i--) {
        raw[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    if (RAND_bytes(raw + 6, 10) != 1)
        return DA_ERR_CRYPTO;
    return da_hex_encode_to(raw, sizeof(raw), out, SRV_ID_HEX);
}

int srv_role_parse(const char *name, enum srv_role *out)
{
    *out = SRV_ROLE_NONE;
    if (strcmp(name, "admin") == 0)
        *out = SRV_ROLE_ADMIN;
    else if (strcmp(name, "auditor") == 0)
        *out = SRV_ROLE_AUDITOR;
    else if (strcmp(name, "vendor") == 0)
        *out = SRV_ROLE_VENDOR;
    else
        return DA_ERR_INVALID_ARG;
    return 0;
}

const char *srv_role_name(enum srv_role role)
{
    switch (role) {
    case SRV_ROLE_ADMIN:
        return "admin";
    case SRV_ROLE_AUDITOR:
        return "auditor";
    case SRV_ROLE_VENDOR:
        return "vendor";
    default:
        return "none";
    }
}

int srv_duration_parse(const char *text, long *seconds)
{
    char *end = NULL;
    long n, mult = 1;

    *seconds = 0;
    if (text[0] < '0' || text[0] > '9')
        return DA_ERR_INVALID_ARG;
    errno = 0;
    n = strtol(text, &end, 10);
    if (errno != 0)
        return DA_ERR_INVALID_ARG;
    if (strcmp(end, "d") == 0)
        mult = 86400;
    else if (strcmp(end, "h") == 0)
        mult = 3600;
    else if (strcmp(end, "m") == 0)
        mult = 60;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return DA_ERR_INVALID_ARG;
    if (n < 1 || n > 366L * 86400 / mult)
        return DA_ERR_INVALID_ARG;
    *seconds = n * mult;
    return 0;
}
