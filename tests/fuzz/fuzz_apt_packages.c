/* apt Packages list stanzas fed against a small installed database. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_target.h"
#include "deb.h"

static const char status[] = "Package: a\nStatus: install ok installed\nArchitecture: amd64\n"
                             "Version: 1.0\n\nPackage: b\nStatus: install ok installed\n"
                             "Architecture: all\nVersion: 1:2.0-1\n\nPackage: dpkg\n"
                             "Status: install ok installed\nArchitecture: amd64\nVersion: 1.21\n";

struct feed {
    struct col_pkgdb *db;
    int n;
};

static int feed_stanza(const char *p, size_t n, void *arg)
{
    struct feed *f = arg;

    f->n++;
    return col_pkgdb_add_list_stanza(f->db, p, n, f->n % 2 ? 500 : 100, f->n % 3 == 0, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed f = {NULL, 0};
    struct col_patch_facts facts;

    if (col_pkgdb_from_status(status, strlen(status), &f.db) != 0)
        return 0;
    (void)col_deb822_each((const char *)data, size, feed_stanza, &f);
    if (col_pkgdb_facts(f.db, &facts) == 0)
        col_patch_facts_free(&facts);
    col_pkgdb_free(f.db);
    return 0;
}
