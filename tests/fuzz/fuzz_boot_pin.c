/* Boot pins as an admin gives them (srv_boot_pin_parse, server/boot_pins.c):
 * the input is "DIGEST\nCOMPONENT". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "boot_pins.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256], out[7 + 64 + 1], again[7 + 64 + 1], *what;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    what = strchr(text, '\n');
    if (what != NULL)
        *what++ = '\0';
    if (srv_boot_pin_parse(text, what, out) != 0) {
        if (out[0] != '\0')
            abort();
        return 0;
    }
    /* the stored form is lower case and parses to itself */
    if (strlen(out) != 7 + 64 || srv_boot_pin_parse(out, what, again) != 0 ||
        strcmp(out, again) != 0)
        abort();
    for (size_t i = 7; i < 7 + 64; i++) {
        if (out[i] >= 'A' && out[i] <= 'F')
            abort();
    }
    return 0;
}
