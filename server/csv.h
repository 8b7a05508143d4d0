/* CSV for spreadsheets (RFC 4180), written into a capped buffer.
 *
 * A field that contains a comma, a double quote, CR or LF is put between
 * double quotes with every double quote in it doubled. A field that starts
 * with one of the characters a spreadsheet reads as the start of a formula
 * (= + - @ TAB CR) gets a single quote in front and is always quoted, so
 * that it is shown as text and never evaluated (the OWASP guidance on CSV
 * injection). Rows end in CRLF. docs/internals/csv.md. */
#ifndef SRV_CSV_H
#define SRV_CSV_H

#include <stdbool.h>

#include "buf.h"

/* Append text as one field; first says whether it starts the row (no
 * separator before it). Errors of da_buf_append. */
int srv_csv_field(struct da_buf *b, const char *text, bool first);
/* End the row. */
int srv_csv_end_row(struct da_buf *b);
/* Whether a spreadsheet could read text as a formula (it gets the quote). */
bool srv_csv_formula_like(const char *text);

#endif
