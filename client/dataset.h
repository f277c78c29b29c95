/*
 * dataset - a site's training table, read from a CSV file: one header
 * line, then rows of numbers, the last column the 0/1 label.
 *
 * The reader is strict and names the line of any fault: a field that is
 * not a finite number, a row with the wrong number of fields, a label
 * other than 0 or 1, a line longer than DATASET_LINE_MAX. It does not
 * scale, shuffle or split: the table is used as it is, in file order.
 */
#ifndef FL_DATASET_H
#define FL_DATASET_H

#include <stddef.h>
#include <stdio.h>

#define DATASET_ERR_MAX		256
#define DATASET_LINE_MAX	65536
#define DATASET_FIELDS_MAX	100000

struct dataset {
	size_t	 rows;
	size_t	 features;	/* columns minus the label */
	double	*x;		/* rows * features, row by row */
	double	*y;		/* rows labels, 0.0 or 1.0 */
};

/* Read a table from fp; name is used in messages only. */
int	dataset_read(FILE *fp, const char *name, struct dataset *,
	    char err[DATASET_ERR_MAX]);
int	dataset_load(const char *path, struct dataset *,
	    char err[DATASET_ERR_MAX]);
void	dataset_free(struct dataset *);

#endif
