/* Boot pins: parsing, rendering and the admin command (boot_pins.h). */
#include "boot_pins.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "render.h"

static const char *const pin_components[] = {"shim", "bootloader", "kernel",
                                             "uki",  "driver",     "other"};

int srv_boot_pin_parse(const char *digest, const char *what, char out[7 + 64 + 1])
{
    static const char prefix[] = "sha256:";
    bool known = false;
    size_t i;

    out[0] = '\0';
    for (i = 0; what != NULL && i < sizeof(pin_components) / sizeof(pin_components[0]); i++)
        known = known || strcmp(what, pin_components[i]) == 0;
    if (!known || digest == NULL || strncmp(digest, prefix, sizeof(prefix) - 1) != 0 ||
        strlen(digest) != sizeof(prefix) - 1 + 64)
        return DA_ERR_BOOT_PIN_INVALID;
    memcpy(out, prefix, sizeof(prefix) - 1);
    for (i = 0; i < 64; i++) {
        char c = digest[sizeof(prefix) - 1 + i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            out[0] = '\0';
            return DA_ERR_BOOT_PIN_INVALID;
        }
        out[sizeof(prefix) - 1 + i] = c;
    }
    out[sizeof(prefix) - 1 + 64] = '\0';
    return 0;
}

int srv_boot_pin_render(const struct srv_boot_pin *p, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    char ts[32];

    *out = NULL;
    srv_time_rfc3339(p->created_at, ts);
    if (o == NULL || cJSON_AddStringToObject(o, "vendor", p->vendor) == NULL ||
        cJSON_AddStringToObject(o, "digest", p->digest) == NULL ||
        cJSON_AddStringToObject(o, "what", p->what) == NULL ||
        cJSON_AddStringToObject(o, "actor", p->actor) == NULL ||
        cJSON_AddStringToObject(o, "created_at", ts) == NULL) {
        cJSON_Delete(o);
        return DA_ERR_NOMEM;
    }
    *out = o;
    return 0;
}

static void pin_usage(void)
{
    fputs("usage: devattest-server boot-pin add --vendor NAME --digest sha256:HEX --what "
          "shim|bootloader|kernel|uki|driver|other\n"
          "       devattest-server boot-pin list [--vendor NAME]\n"
          "       devattest-server boot-pin remove --vendor NAME --digest sha256:HEX\n",
          stderr);
}

static int print_pin(const struct srv_boot_pin *p, void *arg)
{
    char ts[32];

    (void)arg;
    srv_time_rfc3339(p->created_at, ts);
    printf("%s\t%s\t%s\t%s\t%s\n", p->vendor, p->what, p->digest, ts, p->actor);
    return 0;
}

static int pin_list(struct srv_store *store, const char *vendor)
{
    struct srv_vendor v;
    int rc = 0;

    memset(&v, 0, sizeof(v));
    if (vendor != NULL) {
        rc = srv_store_vendor_find(store, vendor, &v);
        if (rc == DA_ERR_NOT_FOUND)
            rc = DA_ERR_VENDOR_UNKNOWN;
    }
    return rc == 0 ? srv_store_boot_pins_list(store, v.id, print_pin, NULL) : rc;
}

int srv_cli_boot_pin(const struct srv_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {{"vendor", required_argument, NULL, 'v'},
                                         {"digest", required_argument, NULL, 'd'},
                                         {"what", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    const char *vendor = NULL, *digest = NULL, *what = NULL, *verb;
    char norm[7 + 64 + 1];
    struct srv_store *store = NULL;
    int c, rc = 0;

    if (argc < 2) {
        pin_usage();
        return 2;
    }
    verb = argv[1];
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'v')
            vendor = optarg;
        else if (c == 'd')
            digest = optarg;
        else if (c == 'w')
            what = optarg;
        else {
            pin_usage();
            return 2;
        }
    }
    if (optind != argc ||
        !((strcmp(verb, "add") == 0 && vendor != NULL && digest != NULL && what != NULL) ||
          (strcmp(verb, "remove") == 0 && vendor != NULL && digest != NULL && what == NULL) ||
          (strcmp(verb, "list") == 0 && digest == NULL && what == NULL))) {
        pin_usage();
        return 2;
    }
    /* Bad input is refused before the store is opened: nothing changes. */
    if (digest != NULL)
        rc = srv_boot_pin_parse(digest, what != NULL ? what : "other", norm);
    if (rc == 0)
        rc = srv_store_open(srv_config_store(cfg), 1, cfg->stale_after_s, &store);
    if (rc == 0 && strcmp(verb, "add") == 0)
        rc = srv_store_boot_pin_add(store, vendor, norm, what, "cli");
    else if (rc == 0 && strcmp(verb, "remove") == 0)
        rc = srv_store_boot_pin_remove(store, vendor, norm);
    else if (rc == 0)
        rc = pin_list(store, vendor);
    if (rc == 0 && strcmp(verb, "list") != 0)
        rc = srv_store_audit(store, "cli",
                             strcmp(verb, "add") == 0 ? "boot_pin_added" : "boot_pin_removed",
                             vendor, "ok", norm);
    srv_store_close(store);
    if (rc != 0) {
        fprintf(stderr, "devattest-server: boot-pin %s: %s: %s\n", verb, da_err_code(rc),
                da_strerror(rc));
        return 1;
    }
    return 0;
}
