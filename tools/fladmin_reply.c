/*
 * fladmin_reply - the server's answer: its documents' items, and how the
 * console shows them.
 *
 * string and success items are lines, error items lines that start with
 * "Error: " and make the command count as failed, dict items "key:
 * value" lines, table items aligned columns (fladmin_table.c). A token
 * item is never shown. Text from the server goes to a terminal, so its
 * control characters are shown as '?', except newlines and tabs in
 * plain text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fladmin.h"

/* Error texts that mean "log in again": admind's for an idle session
 * and for one it forgot in a restart, Clara's "session_inactive", and
 * other plain words for the same. */
static const char *const reply_expired_words[] = {
	"session_inactive", "session expired", "session has expired",
	"session timed out", "session is unknown", "unknown session",
	"not logged in", NULL
};

/* reply_document - append one document's items to r->items */
static int
reply_document(const char *text, size_t len, struct fladmin_reply *r,
    char err[FLADMIN_ERR_MAX])
{
	json_error_t	 jerr;
	json_t		*doc, *data, *item;
	size_t		 i;
	int		 rc = -1;

	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "the answer is not JSON: %s",
		    jerr.text);
		return -1;
	}
	if (!json_is_array(data = json_object_get(doc, "data"))) {
		snprintf(err, FLADMIN_ERR_MAX, "the answer has no \"data\" "
		    "list");
		goto done;
	}
	json_array_foreach(data, i, item) {
		if (!json_is_string(json_object_get(item, "type"))) {
			snprintf(err, FLADMIN_ERR_MAX, "item %zu of the answer "
			    "has no \"type\"", i);
			goto done;
		}
		if (json_array_append(r->items, item) == -1) {
			snprintf(err, FLADMIN_ERR_MAX, "out of memory");
			goto done;
		}
	}
	rc = 0;

 done:
	json_decref(doc);
	return rc;
}

/* reply_blank - 1 if the bytes are only white space */
static int
reply_blank(const char *p, size_t len)
{
	for (; len > 0; p++, len--)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

int
reply_parse(const char *bytes, size_t len, struct fladmin_reply *r,
    char err[FLADMIN_ERR_MAX])
{
	const char	*p = bytes, *end = bytes + len, *sep;
	size_t		 n;

	if ((r->items = json_array()) == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
		return -1;
	}
	while (p < end) {
		sep = memchr(p, FLADMIN_DOC_END, (size_t)(end - p));
		n = sep != NULL ? (size_t)(sep - p) : (size_t)(end - p);
		if (!reply_blank(p, n) &&
		    reply_document(p, n, r, err) == -1) {
			reply_free(r);
			return -1;
		}
		p += n + (sep != NULL);
	}
	if (json_array_size(r->items) == 0) {
		snprintf(err, FLADMIN_ERR_MAX, "the answer holds no item");
		reply_free(r);
		return -1;
	}
	return 0;
}

void
reply_free(struct fladmin_reply *r)
{
	json_decref(r->items);
	r->items = NULL;
}

json_t *
reply_find(const struct fladmin_reply *r, const char *type)
{
	json_t	*item;
	size_t	 i;

	json_array_foreach(r->items, i, item)
		if (strcmp(json_string_value(json_object_get(item, "type")),
		    type) == 0)
			return item;
	return NULL;
}

int
reply_failed(const struct fladmin_reply *r)
{
	return reply_find(r, "error") != NULL;
}

int
reply_shutdown(const struct fladmin_reply *r)
{
	return reply_find(r, "shutdown") != NULL;
}

/* reply_says_expired - 1 if text says the session is gone */
static int
reply_says_expired(const char *text)
{
	size_t	 i, n, w;

	for (i = 0; reply_expired_words[i] != NULL; i++) {
		w = strlen(reply_expired_words[i]);
		for (n = 0; text[n] != '\0'; n++)
			if (strncasecmp(text + n, reply_expired_words[i],
			    w) == 0)
				return 1;
	}
	return 0;
}

int
reply_session_expired(const struct fladmin_reply *r)
{
	json_t		*item;
	const char	*text;
	size_t		 i;

	json_array_foreach(r->items, i, item) {
		text = json_string_value(json_object_get(item, "data"));
		if (strcmp(json_string_value(json_object_get(item, "type")),
		    "error") == 0 && text != NULL && reply_says_expired(text))
			return 1;
	}
	return 0;
}

void
reply_print_text(FILE *out, const char *text, const char *keep)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if ((*p < 0x20 && (keep == NULL || strchr(keep, *p) == NULL)) ||
		    *p == 0x7f)
			fputc('?', out);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputs("??", out);	/* C1 controls */
			p++;
		} else
			fputc(*p, out);
	}
}

/* reply_print_json - a value that is not text, as compact JSON */
static void
reply_print_json(FILE *out, json_t *v)
{
	char	*text;

	if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		return;
	reply_print_text(out, text, NULL);
	free(text);
}

/* reply_print_value - text as it is, anything else as JSON */
static void
reply_print_value(FILE *out, json_t *v, const char *keep)
{
	if (json_is_string(v))
		reply_print_text(out, json_string_value(v), keep);
	else
		reply_print_json(out, v);
}

/* reply_print_dict - "key: value" lines */
static void
reply_print_dict(FILE *out, json_t *data)
{
	const char	*key;
	json_t		*v;

	if (!json_is_object(data)) {
		reply_print_json(out, data);
		fputc('\n', out);
		return;
	}
	json_object_foreach(data, key, v) {
		reply_print_text(out, key, NULL);
		fputs(": ", out);
		reply_print_value(out, v, NULL);
		fputc('\n', out);
	}
}

/* reply_print_prefix - what a line of this type starts with */
static void
reply_print_prefix(FILE *out, const char *type)
{
	if (strcmp(type, "string") == 0 || strcmp(type, "success") == 0)
		return;
	if (strcmp(type, "error") == 0)
		fputs("Error: ", out);
	else if (strcmp(type, "shutdown") == 0)
		fputs("Server shutting down: ", out);
	else if (strcmp(type, "table") == 0)
		fputs("(malformed table) ", out);
	else {
		fputs("(", out);
		reply_print_text(out, type, NULL);
		fputs(") ", out);
	}
}

/* reply_ends_in_newline - 1 if text ends its last line itself */
static int
reply_ends_in_newline(const char *text)
{
	size_t	 n = strlen(text);

	return n > 0 && text[n - 1] == '\n';
}

/* reply_print_item - one item; 1 if it is an error */
static int
reply_print_item(FILE *out, json_t *item)
{
	const char	*type;
	json_t		*data;

	type = json_string_value(json_object_get(item, "type"));
	data = json_object_get(item, "data");
	if (strcmp(type, "token") == 0 || strcmp(type, "command") == 0)
		return 0;
	if (strcmp(type, "dict") == 0) {
		reply_print_dict(out, data);
		return 0;
	}
	if (strcmp(type, "table") == 0 &&
	    table_print(json_object_get(data, "rows"), out) == 0)
		return 0;

	reply_print_prefix(out, type);
	if (data != NULL)
		reply_print_value(out, data, "\n\t");
	/* A file's text (cat, ls) ends in a newline of its own. */
	if (!json_is_string(data) || !reply_ends_in_newline(
	    json_string_value(data)))
		fputc('\n', out);
	return strcmp(type, "error") == 0;
}

int
reply_print(const struct fladmin_reply *r, FILE *out)
{
	json_t	*item;
	size_t	 i;
	int	 failed = 0;

	json_array_foreach(r->items, i, item)
		failed |= reply_print_item(out, item);
	fflush(out);
	return failed;
}
