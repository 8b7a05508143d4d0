#include "csv.h"

#include <string.h>

bool srv_csv_formula_like(const char *text)
{
    return text[0] != '\0' && strchr("=+-@\t\r", text[0]) != NULL;
}

int srv_csv_field(struct da_buf *b, const char *text, bool first)
{
    bool formula = srv_csv_formula_like(text);
    bool quote = formula || strpbrk(text, ",\"\r\n") != NULL;
    int rc = first ? 0 : da_buf_append_byte(b, ',');

    if (rc == 0 && quote)
        rc = da_buf_append_byte(b, '"');
    if (rc == 0 && formula)
        rc = da_buf_append_byte(b, '\'');
    while (rc == 0 && *text != '\0') {
        size_t run = strcspn(text, "\"");

        rc = da_buf_append(b, text, run);
        text += run;
        if (rc == 0 && *text == '"') {
            rc = da_buf_append(b, "\"\"", 2);
            text++;
        }
    }
    if (rc == 0 && quote)
        rc = da_buf_append_byte(b, '"');
    return rc;
}

int srv_csv_end_row(struct da_buf *b)
{
    return da_buf_append(b, "\r\n", 2);
}
