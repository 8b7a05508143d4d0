/* Prints, one per line and once each, the API error codes the server can
 * answer with: the codes of the error table outside the agent-only ranges
 * (TPM access 200..299, collectors 500..599, agent transport 700..799), of
 * the software agents' and load generator's 800..819 the two the server
 * answers with, and 820 and beyond (the server's again). */
#include <stdio.h>
#include <string.h>

#include "err.h"

int main(void)
{
    const char *seen[1000];
    int n = 0, c, i;

    for (c = -1; c > -1000; c--) {
        const char *code = da_err_code(c);

        /* of 800..819 only the software agents' codes are the server's;
         * the rest are the load generator's own */
        if ((c <= -200 && c > -300) || (c <= -500 && c > -600) || (c <= -700 && c > -800) ||
            (c <= -800 && c > -820 &&
             !(c == DA_ERR_SOFTWARE_AGENTS_OFF || c == DA_ERR_SOFTWARE_AK)))
            continue;
        if (strcmp(da_strerror(c), "unknown error") == 0)
            continue;
        for (i = 0; i < n && strcmp(seen[i], code) != 0; i++)
            ;
        if (i < n)
            continue;
        seen[n++] = code;
        printf("%s\n", code);
    }
    return 0;
}
