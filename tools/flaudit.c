/*
 * flaudit - check or read an admind audit trail, offline.
 *
 *	flaudit verify -k audit.pub [-H SEQ:CHAIN ...] audit.log
 *	flaudit show audit.log
 *
 * verify checks every record against the public key the auditor pinned
 * when the trail began (not the audit.pub beside the trail, which whoever
 * rewrote the trail could have replaced) and against the heads admind
 * published in its log ("audit: seq SEQ chain CHAIN"). It prints one
 * line and exits 0 when the trail is whole, 1 when it is not, 2 when it
 * could not check. show prints the records as a table and checks
 * nothing. doc/audit.md is the design.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "audit_verify.h"

#define FLAUDIT_HEADS_MAX	64
#define FLAUDIT_CELL_MAX	40	/* characters shown of a cell */

enum flaudit_column {
	FLAUDIT_SEQ,
	FLAUDIT_TIME,
	FLAUDIT_USER,
	FLAUDIT_COMMAND,
	FLAUDIT_SITES,
	FLAUDIT_DECISION,
	FLAUDIT_OUTCOME,
	FLAUDIT_EVENT,
	FLAUDIT_NCOLUMNS
};

static const char *const flaudit_titles[FLAUDIT_NCOLUMNS] = {
	"SEQ", "TIME", "USER", "COMMAND", "SITES", "DECISION", "OUTCOME",
	"EVENT"
};

struct flaudit_row {
	char	*cells[FLAUDIT_NCOLUMNS];
};

static void
usage(void)
{
	fprintf(stderr, "usage: flaudit verify -k PUBKEY [-H SEQ:CHAIN] "
	    "TRAIL\n       flaudit show TRAIL\n");
	exit(2);
}

static int
flaudit_open(const char *path)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "flaudit: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static int
flaudit_verify(int argc, char *argv[])
{
	struct audit_head	 heads[FLAUDIT_HEADS_MAX];
	struct audit_verdict	 v;
	EVP_PKEY		*key = NULL;
	const char		*keypath = NULL;
	char			 err[512];
	size_t			 nheads = 0;
	int			 ch, fd, rc;

	while ((ch = getopt(argc, argv, "H:k:")) != -1) {
		switch (ch) {
		case 'H':
			if (nheads == FLAUDIT_HEADS_MAX ||
			    audit_verify_parse_head(optarg,
			    &heads[nheads]) == -1) {
				fprintf(stderr, "flaudit: -H %s: not SEQ:CHAIN "
				    "(at most %d of them)\n", optarg,
				    FLAUDIT_HEADS_MAX);
				exit(2);
			}
			nheads++;
			break;
		case 'k':
			keypath = optarg;
			break;
		default:
			usage();
		}
	}
	if (keypath == NULL || optind != argc - 1)
		usage();
	if ((key = audit_verify_load_key(keypath, err, sizeof(err))) == NULL) {
		fprintf(stderr, "flaudit: %s\n", err);
		exit(2);
	}
	fd = flaudit_open(argv[optind]);
	rc = audit_verify_fd(fd, key, heads, nheads, &v);
	close(fd);
	EVP_PKEY_free(key);
	if (rc == 0) {
		printf("audit trail OK: %lld records, head %lld %s\n",
		    v.av_records, v.av_head.ah_seq, v.av_head.ah_chain);
		return 0;
	}
	printf("audit trail BROKEN at record %lld (line %lld): %s\n",
	    v.av_seq, v.av_line, v.av_reason);
	return v.av_break == AUDIT_UNREADABLE ? 2 : 1;
}

/* flaudit_clean - no control character of a hostile file reaches a tty */
static char *
flaudit_clean(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static char *
flaudit_join(const json_t *list, const char *sep)
{
	const json_t	*item;
	size_t		 i, len = 1;
	char		*out;

	json_array_foreach(list, i, item)
		len += strlen(json_string_value(item)) + strlen(sep);
	if ((out = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(list, i, item) {
		if (i > 0)
			strcat(out, sep);
		strcat(out, json_string_value(item));
	}
	return out;
}

/* flaudit_pair - "a" or "a: b" when b says something */
static char *
flaudit_pair(const char *a, const char *b)
{
	char	*out;

	if (b == NULL || b[0] == '\0')
		return strdup(a);
	if (asprintf(&out, "%s: %s", a, b) == -1)
		return NULL;
	return out;
}

static char *
flaudit_command(const json_t *record)
{
	char	*args, *out;

	if ((args = flaudit_join(json_object_get(record, "args"), " ")) ==
	    NULL)
		return NULL;
	if (asprintf(&out, "%s%s%s", json_string_value(json_object_get(record,
	    "command")), args[0] != '\0' ? " " : "", args) == -1)
		out = NULL;
	free(args);
	return out;
}

/* flaudit_cells - a record's row; the shape was checked by the caller */
static void
flaudit_cells(const json_t *r, struct flaudit_row *row)
{
	char	**c = row->cells;

#define S(key)	json_string_value(json_object_get(r, key))
	if (asprintf(&c[FLAUDIT_SEQ], "%lld",
	    (long long)json_integer_value(json_object_get(r, "seq"))) == -1)
		c[FLAUDIT_SEQ] = NULL;
	c[FLAUDIT_TIME] = strdup(S("time"));
	c[FLAUDIT_USER] = strdup(S("user"));
	c[FLAUDIT_COMMAND] = flaudit_command(r);
	c[FLAUDIT_SITES] = flaudit_join(json_object_get(r, "sites"), ",");
	c[FLAUDIT_DECISION] = flaudit_pair(S("decision"), S("reason"));
	c[FLAUDIT_OUTCOME] = flaudit_pair(S("outcome"), S("result"));
	c[FLAUDIT_EVENT] = strdup(S("event"));
#undef S
}

/* flaudit_row - a line as a row; a line that is no record says so */
static int
flaudit_row(const char *line, size_t len, long long lineno,
    struct flaudit_row *row)
{
	static const char *const keys[] = { "time", "user", "command",
	    "decision", "reason", "outcome", "result", "event" };
	json_t	*r;
	size_t	 i;
	int	 ok;

	memset(row, 0, sizeof(*row));
	r = json_loadb(line, len, 0, NULL);
	ok = json_is_object(r) && json_is_integer(json_object_get(r, "seq"));
	for (i = 0; ok && i < sizeof(keys) / sizeof(keys[0]); i++)
		ok = json_is_string(json_object_get(r, keys[i]));
	ok = ok && json_is_array(json_object_get(r, "args")) &&
	    json_is_array(json_object_get(r, "sites"));
	for (i = 0; ok && i < json_array_size(json_object_get(r, "args"));
	    i++)
		ok = json_is_string(json_array_get(json_object_get(r, "args"),
		    i));
	for (i = 0; ok && i < json_array_size(json_object_get(r, "sites"));
	    i++)
		ok = json_is_string(json_array_get(json_object_get(r, "sites"),
		    i));
	if (ok)
		flaudit_cells(r, row);
	else if (asprintf(&row->cells[FLAUDIT_COMMAND], "line %lld: not a "
	    "record", lineno) == -1)
		row->cells[FLAUDIT_COMMAND] = NULL;
	json_decref(r);
	for (i = 0; i < FLAUDIT_NCOLUMNS; i++) {
		if (row->cells[i] == NULL && (row->cells[i] = strdup(ok ? "" :
		    "?")) == NULL)
			return -1;
		flaudit_clean(row->cells[i]);
	}
	return 0;
}

/* flaudit_width - characters, not bytes, so that UTF-8 names align */
static size_t
flaudit_width(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* flaudit_cut - at most FLAUDIT_CELL_MAX characters, the last one "~" */
static void
flaudit_cut(char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) == 0x80)
			continue;
		if (++n == FLAUDIT_CELL_MAX && flaudit_width(s) > 1) {
			s[0] = '~';
			s[1] = '\0';
			return;
		}
	}
}

static void
flaudit_print(const char *const *cells, const size_t *widths)
{
	size_t	 i, pad;

	for (i = 0; i < FLAUDIT_NCOLUMNS; i++) {
		fputs(cells[i], stdout);
		if (i + 1 == FLAUDIT_NCOLUMNS)
			break;
		for (pad = flaudit_width(cells[i]); pad < widths[i] + 2; pad++)
			putchar(' ');
	}
	putchar('\n');
}

static int
flaudit_show(int argc, char *argv[])
{
	struct flaudit_row	*rows = NULL, *grown;
	size_t			 nrows = 0, widths[FLAUDIT_NCOLUMNS], i, j;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 len;
	FILE			*f;

	if (argc != 2)
		usage();
	if ((f = fdopen(flaudit_open(argv[1]), "r")) == NULL)
		return 2;
	while ((len = getline(&line, &cap, f)) != -1) {
		if ((grown = reallocarray(rows, nrows + 1,
		    sizeof(*rows))) == NULL)
			return 2;
		rows = grown;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (flaudit_row(line, (size_t)len, (long long)nrows + 1,
		    &rows[nrows]) == -1)
			return 2;
		nrows++;
	}
	free(line);
	fclose(f);

	for (j = 0; j < FLAUDIT_NCOLUMNS; j++)
		widths[j] = strlen(flaudit_titles[j]);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < FLAUDIT_NCOLUMNS; j++) {
			flaudit_cut(rows[i].cells[j]);
			if (flaudit_width(rows[i].cells[j]) > widths[j])
				widths[j] = flaudit_width(rows[i].cells[j]);
		}
	}
	flaudit_print(flaudit_titles, widths);
	for (i = 0; i < nrows; i++) {
		flaudit_print((const char *const *)rows[i].cells, widths);
		for (j = 0; j < FLAUDIT_NCOLUMNS; j++)
			free(rows[i].cells[j]);
	}
	free(rows);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "verify") == 0)
		return flaudit_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return flaudit_show(argc - 1, argv + 1);
	usage();
}
