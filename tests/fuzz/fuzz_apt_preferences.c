/* apt preferences (pins) and their use on a small package database. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "deb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char status[] = "Package: a\nStatus: install ok installed\nArchitecture: amd64\n"
                                 "Version: 1.0\n";
    static const char list[] = "Package: a\nVersion: 2.0\nArchitecture: amd64\n";
    struct col_release rel;
    struct col_list_match m = {"deb.example.org", &rel, "main", "amd64"};
    struct col_pins *pins = col_pins_new();
    struct col_pkgdb *db = NULL;
    struct col_patch_facts f;

    if (pins == NULL)
        return 0;
    memset(&rel, 0, sizeof(rel));
    memcpy(rel.suite, "stable", 7);
    if (col_pins_parse(pins, (const char *)data, size) == 0 &&
        col_pkgdb_from_status(status, strlen(status), &db) == 0) {
        col_pkgdb_set_pins(db, pins);
        if (col_pkgdb_add_list_stanza(db, list, strlen(list), col_pins_list_priority(pins, &m, 500),
                                      0, &m) == 0 &&
            col_pkgdb_facts(db, &f) == 0)
            col_patch_facts_free(&f);
        col_pkgdb_free(db);
    }
    col_pins_free(pins);
    return 0;
}
