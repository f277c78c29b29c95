/*
 * fladmin_table - a table item as aligned columns for a terminal.
 *
 * The first row is the header, underlined with dashes; each column is
 * as wide as its widest cell, columns are two spaces apart, and no line
 * ends in spaces. A cell that is not a string is shown as JSON, null as
 * nothing. Control characters in cells become '?': they would break the
 * columns, or worse, drive the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fladmin.h"

#define TABLE_GAP	"  "

struct table {
	char	***cells;	/* [row][column], every row ncols wide */
	size_t	  nrows;
	size_t	  ncols;
	size_t	 *width;	/* per column, in characters */
};

/* table_width - characters in UTF-8 text, not bytes */
static size_t
table_width(const char *text)
{
	size_t	 n = 0;

	/* XXX: a character of double width (CJK) counts as one column. */
	for (; *text != '\0'; text++)
		if (((unsigned char)*text & 0xc0) != 0x80)
			n++;
	return n;
}

/* table_clean - text with control characters replaced by '?' */
static char *
table_clean(char *text)
{
	unsigned char	*p;

	if (text == NULL)
		return NULL;
	for (p = (unsigned char *)text; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';	/* C1 controls */
	}
	return text;
}

/* table_cell - a cell's text, NULL when out of memory */
static char *
table_cell(json_t *cell)
{
	if (cell == NULL || json_is_null(cell))
		return strdup("");
	if (json_is_string(cell))
		return table_clean(strdup(json_string_value(cell)));
	return json_dumps(cell, JSON_ENCODE_ANY | JSON_COMPACT);
}

static void
table_free(struct table *t)
{
	size_t	 r, c;

	for (r = 0; t->cells != NULL && r < t->nrows; r++) {
		for (c = 0; t->cells[r] != NULL && c < t->ncols; c++)
			free(t->cells[r][c]);
		free(t->cells[r]);
	}
	free(t->cells);
	free(t->width);
}

/* table_fill - every cell's text and every column's width */
static int
table_fill(struct table *t, json_t *rows)
{
	json_t	*row;
	size_t	 r, c, w;

	if ((t->cells = calloc(t->nrows, sizeof(*t->cells))) == NULL ||
	    (t->width = calloc(t->ncols, sizeof(*t->width))) == NULL)
		return -1;
	json_array_foreach(rows, r, row) {
		if ((t->cells[r] = calloc(t->ncols, sizeof(char *))) == NULL)
			return -1;
		for (c = 0; c < t->ncols; c++) {
			t->cells[r][c] = table_cell(json_array_get(row, c));
			if (t->cells[r][c] == NULL)
				return -1;
			if ((w = table_width(t->cells[r][c])) > t->width[c])
				t->width[c] = w;
		}
	}
	return 0;
}

/* table_line - one row, padded to the columns up to its last cell */
static void
table_line(const struct table *t, char **cells, FILE *out)
{
	size_t	 c, pad, last = 0;

	for (c = 0; c < t->ncols; c++)
		if (cells[c][0] != '\0')
			last = c;
	for (c = 0; c <= last; c++) {
		fputs(cells[c], out);
		if (c == last)
			break;
		for (pad = table_width(cells[c]); pad < t->width[c]; pad++)
			fputc(' ', out);
		fputs(TABLE_GAP, out);
	}
	fputc('\n', out);
}

/* table_rule - the dashes under the header */
static void
table_rule(const struct table *t, FILE *out)
{
	size_t	 c, i;

	for (c = 0; c < t->ncols; c++) {
		for (i = 0; i < t->width[c]; i++)
			fputc('-', out);
		if (c + 1 < t->ncols)
			fputs(TABLE_GAP, out);
	}
	fputc('\n', out);
}

int
table_print(json_t *rows, FILE *out)
{
	struct table	 t;
	json_t		*row;
	size_t		 r;

	if (!json_is_array(rows))
		return -1;
	memset(&t, 0, sizeof(t));
	t.nrows = json_array_size(rows);
	json_array_foreach(rows, r, row) {
		if (!json_is_array(row))
			return -1;
		if (json_array_size(row) > t.ncols)
			t.ncols = json_array_size(row);
	}
	if (t.nrows == 0 || t.ncols == 0)
		return 0;
	if (table_fill(&t, rows) == -1) {
		table_free(&t);
		return -1;
	}

	table_line(&t, t.cells[0], out);
	table_rule(&t, out);
	for (r = 1; r < t.nrows; r++)
		table_line(&t, t.cells[r], out);
	table_free(&t);
	return 0;
}
