/* The deployment's privacy key in the state directory (privacy_key.h). */
#include "privacy_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent_state.h"
#include "err.h"
#include "log.h"

#define PRIVACY_KEY_FILE_CAP 128 /* 64 hex digits and a newline, with room */

int agent_privacy_key_load(const char *state_dir, unsigned char key[DA_PRIVACY_KEY_LEN])
{
    char path[4096], text[PRIVACY_KEY_FILE_CAP + 1];
    struct stat st;
    ssize_t n;
    int fd, w, r;

    if (state_dir == NULL || state_dir[0] == '\0')
        return DA_ERR_NOT_ENROLLED;
    w = snprintf(path, sizeof(path), "%s/%s", state_dir, AGENT_PRIVACY_KEY_FILE);
    if (w < 0 || (size_t)w >= sizeof(path))
        return DA_ERR_INVALID_ARG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? DA_ERR_NOT_ENROLLED : DA_ERR_PRIVACY_KEY;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        da_error_f("%s: must be a regular file of mode 0600", path);
        return DA_ERR_PRIVACY_KEY;
    }
    n = read(fd, text, sizeof(text));
    close(fd);
    if (n < 0 || n > PRIVACY_KEY_FILE_CAP) {
        OPENSSL_cleanse(text, sizeof(text));
        return DA_ERR_PRIVACY_KEY;
    }
    r = da_privacy_key_parse(text, (size_t)n, key);
    OPENSSL_cleanse(text, sizeof(text));
    if (r != 0) {
        da_error_f("%s: not 64 hex digits", path);
        return DA_ERR_PRIVACY_KEY;
    }
    return 0;
}

int agent_privacy_key_save(const char *state_dir, const char *hex)
{
    unsigned char key[DA_PRIVACY_KEY_LEN];
    int r = da_privacy_key_parse(hex, strlen(hex), key);

    OPENSSL_cleanse(key, sizeof(key));
    if (r != 0)
        return DA_ERR_SERVER_RESPONSE;
    return agent_state_replace(state_dir, AGENT_PRIVACY_KEY_FILE, hex, strlen(hex));
}
