/*
 * dataset - the site's CSV table, read strictly and in file order.
 *
 * Lines are read into a fixed buffer, so a file without newlines cannot
 * make the reader allocate without bound; rows grow the table by
 * doubling. Empty lines are skipped, a trailing carriage return is
 * dropped, spaces around a field are allowed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

struct dataset_reader {
	const char	*name;
	char		*line;
	size_t		 lineno;
	size_t		 columns;
	size_t		 cap;		/* rows the arrays can hold */
	char		*err;
};

static int
dataset_error(struct dataset_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* dataset_error - "NAME line N: reason" into the caller's buffer */
static int
dataset_error(struct dataset_reader *r, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(r->err, DATASET_ERR_MAX, "%s line %zu: ", r->name,
	    r->lineno);
	if (n < 0 || n >= DATASET_ERR_MAX)
		return -1;
	va_start(ap, fmt);
	vsnprintf(r->err + n, DATASET_ERR_MAX - n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * dataset_read_line - one line without its end of line into r->line.
 * Returns 1 with a line, 0 at the end of the file, -1 on error.
 */
static int
dataset_read_line(struct dataset_reader *r, FILE *fp)
{
	size_t	 len = 0;
	int	 c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0')
			return dataset_error(r, "contains a NUL byte");
		if (len == DATASET_LINE_MAX)
			return dataset_error(r, "longer than %d bytes",
			    DATASET_LINE_MAX);
		r->line[len++] = c;
	}
	if (c == EOF && ferror(fp))
		return dataset_error(r, "%s", strerror(errno));
	if (c == EOF && len == 0)
		return 0;
	if (len > 0 && r->line[len - 1] == '\r')
		len--;
	r->line[len] = '\0';
	return 1;
}

/* dataset_next_line - the next non-empty line, as dataset_read_line */
static int
dataset_next_line(struct dataset_reader *r, FILE *fp)
{
	int	 got;

	do {
		r->lineno++;
		got = dataset_read_line(r, fp);
	} while (got == 1 && r->line[0] == '\0');
	return got;
}

/* dataset_count_fields - comma-separated fields in a line */
static size_t
dataset_count_fields(const char *line)
{
	size_t	 n = 1;

	for (; *line != '\0'; line++)
		if (*line == ',')
			n++;
	return n;
}

/* dataset_parse_field - one finite number, nothing else but spaces */
static int
dataset_parse_field(struct dataset_reader *r, char *field, size_t col,
    double *out)
{
	char	*end;

	while (*field == ' ' || *field == '\t')
		field++;
	if (*field == '\0')
		return dataset_error(r, "field %zu is empty", col);
	errno = 0;
	*out = strtod(field, &end);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == field || *end != '\0')
		return dataset_error(r, "field %zu is not a number: \"%.40s\"",
		    col, field);
	if (!isfinite(*out))
		return dataset_error(r, "field %zu is not finite: \"%.40s\"",
		    col, field);
	return 0;
}

/* dataset_grow - make room for one more row */
static int
dataset_grow(struct dataset_reader *r, struct dataset *ds)
{
	double	*x, *y;
	size_t	 cap;

	if (ds->rows < r->cap)
		return 0;
	cap = r->cap == 0 ? 256 : r->cap * 2;
	if (cap < r->cap || ds->features > SIZE_MAX / sizeof(double) / cap)
		return dataset_error(r, "table too large");
	if ((x = realloc(ds->x, cap * ds->features * sizeof(double))) == NULL)
		return dataset_error(r, "%s", strerror(errno));
	ds->x = x;
	if ((y = realloc(ds->y, cap * sizeof(double))) == NULL)
		return dataset_error(r, "%s", strerror(errno));
	ds->y = y;
	r->cap = cap;
	return 0;
}

/* dataset_parse_row - split the current line into the next row */
static int
dataset_parse_row(struct dataset_reader *r, struct dataset *ds)
{
	char	*field, *rest;
	double	*x, label;
	size_t	 col, n;

	if ((n = dataset_count_fields(r->line)) != r->columns)
		return dataset_error(r, "%zu fields, the header has %zu", n,
		    r->columns);
	if (dataset_grow(r, ds) == -1)
		return -1;

	x = ds->x + ds->rows * ds->features;
	rest = r->line;
	for (col = 1; col <= r->columns; col++) {
		field = strsep(&rest, ",");
		if (dataset_parse_field(r, field, col, col < r->columns ?
		    &x[col - 1] : &label) == -1)
			return -1;
	}
	if (label != 0.0 && label != 1.0)
		return dataset_error(r, "the label (last field) is not 0 or 1");
	ds->y[ds->rows++] = label;
	return 0;
}

int
dataset_read(FILE *fp, const char *name, struct dataset *ds,
    char err[DATASET_ERR_MAX])
{
	struct dataset_reader	 r;
	int			 got;

	memset(ds, 0, sizeof(*ds));
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.err = err;
	if ((r.line = malloc(DATASET_LINE_MAX + 1)) == NULL) {
		snprintf(err, DATASET_ERR_MAX, "%s: %s", name,
		    strerror(errno));
		return -1;
	}

	if ((got = dataset_next_line(&r, fp)) == 0) {
		snprintf(err, DATASET_ERR_MAX, "%s: no header line", name);
		goto fail;
	}
	if (got == -1)
		goto fail;
	r.columns = dataset_count_fields(r.line);
	if (r.columns < 2 || r.columns > DATASET_FIELDS_MAX) {
		dataset_error(&r, "the header has %zu columns, want 2 to %d "
		    "(features, then the label)", r.columns,
		    DATASET_FIELDS_MAX);
		goto fail;
	}
	ds->features = r.columns - 1;

	while ((got = dataset_next_line(&r, fp)) == 1)
		if (dataset_parse_row(&r, ds) == -1)
			goto fail;
	if (got == -1)
		goto fail;
	if (ds->rows == 0) {
		snprintf(err, DATASET_ERR_MAX, "%s: no rows after the header",
		    name);
		goto fail;
	}
	free(r.line);
	return 0;

 fail:
	free(r.line);
	dataset_free(ds);
	return -1;
}

int
dataset_load(const char *path, struct dataset *ds, char err[DATASET_ERR_MAX])
{
	FILE	*fp;
	int	 rc;

	memset(ds, 0, sizeof(*ds));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, DATASET_ERR_MAX, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = dataset_read(fp, path, ds, err);
	fclose(fp);
	return rc;
}

void
dataset_free(struct dataset *ds)
{
	if (ds == NULL)
		return;
	free(ds->x);
	free(ds->y);
	memset(ds, 0, sizeof(*ds));
}
