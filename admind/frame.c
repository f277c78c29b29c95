/*
 * frame - splitting a console transmission into documents, reading the
 * request they hold, and building the reply.
 *
 * Every check runs before jansson sees a byte: the document count and
 * size, UTF-8 (jansson would refuse it too, but with a message about a
 * byte offset an operator cannot use), and the nesting depth, because
 * jansson recurses up to 2048 levels and a request never needs more
 * than three.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* frame_fail - record why the request is refused */
static int
frame_fail(char err[FRAME_ERR_MAX], const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, FRAME_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* frame_utf8_char - the length of the valid sequence at p, or 0 */
static size_t
frame_utf8_char(const unsigned char *p, size_t left)
{
	unsigned int	 c = p[0], cp;
	size_t		 n, i;

	if (c < 0x80)
		return c == 0 ? 0 : 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, and beyond Unicode. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
frame_utf8_valid(const unsigned char *p, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((n = frame_utf8_char(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t
frame_json_depth(const char *text, size_t len)
{
	size_t	 i, depth = 0, deepest = 0;
	int	 in_string = 0, escaped = 0;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (text[i] == '\\')
				escaped = 1;
			else if (text[i] == '"')
				in_string = 0;
			continue;
		}
		switch (text[i]) {
		case '"':
			in_string = 1;
			break;
		case '[':
		case '{':
			if (++depth > deepest)
				deepest = depth;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return deepest;
}

/* frame_file - a file item: {"name", "format": "tar", "content"} */
static int
frame_file(json_t *data, size_t doc, struct frame_request *req,
    char err[FRAME_ERR_MAX])
{
	json_t		*name, *format, *content;

	if (req->file_name != NULL)
		return frame_fail(err, "a request holds one file item");
	if (!json_is_object(data) || json_object_size(data) != 3 ||
	    !json_is_string(name = json_object_get(data, "name")) ||
	    !json_is_string(format = json_object_get(data, "format")) ||
	    !json_is_string(content = json_object_get(data, "content")))
		return frame_fail(err, "document %zu: the file item's data is "
		    "not {\"name\", \"format\", \"content\"}", doc);
	if (strcmp(json_string_value(format), "tar") != 0)
		return frame_fail(err, "the file item's format is not tar");
	if (json_string_length(name) == 0 ||
	    json_string_length(name) > FRAME_FILE_NAME_MAX)
		return frame_fail(err, "the file item's name is empty or "
		    "longer than %d bytes", FRAME_FILE_NAME_MAX);
	if ((req->file_name = strdup(json_string_value(name))) == NULL ||
	    (req->file_content = strdup(json_string_value(content))) == NULL)
		return frame_fail(err, "out of memory");
	return 0;
}

/* frame_item - take one request item: a command, a token or a file */
static int
frame_item(json_t *item, size_t doc, struct frame_request *req,
    char err[FRAME_ERR_MAX])
{
	json_t		*data;
	const char	*type;
	char		**slot;
	size_t		 max;

	if (!json_is_object(item) || json_object_size(item) != 2 ||
	    !json_is_string(json_object_get(item, "type")) ||
	    (data = json_object_get(item, "data")) == NULL)
		return frame_fail(err, "document %zu: an item is not "
		    "{\"type\", \"data\"}", doc);
	type = json_string_value(json_object_get(item, "type"));
	if (strcmp(type, "file") == 0)
		return frame_file(data, doc, req, err);
	if (strcmp(type, "command") == 0)
		slot = &req->command, max = FRAME_COMMAND_MAX;
	else if (strcmp(type, "token") == 0)
		slot = &req->token, max = FRAME_TOKEN_MAX;
	else
		return frame_fail(err, "document %zu: a request holds command, "
		    "token and file items only", doc);
	if (*slot != NULL)
		return frame_fail(err, "a request holds one %s item", type);
	if (!json_is_string(data))
		return frame_fail(err, "document %zu: the %s item's data is "
		    "not a string", doc, type);
	if (json_string_length(data) > max)
		return frame_fail(err, "the %s item is longer than %zu bytes",
		    type, max);
	if ((*slot = strdup(json_string_value(data))) == NULL)
		return frame_fail(err, "out of memory");
	return 0;
}

/* frame_document - the items of one document */
static int
frame_document(json_t *doc, size_t n, size_t *nitems,
    struct frame_request *req, char err[FRAME_ERR_MAX])
{
	json_t		*value, *items;
	const char	*key;
	size_t		 i;

	if (!json_is_object(doc))
		return frame_fail(err, "document %zu is not a JSON object", n);
	json_object_foreach(doc, key, value)
		if (strcmp(key, "time") != 0 && strcmp(key, "data") != 0)
			return frame_fail(err, "document %zu: unknown key "
			    "\"%.32s\"", n, key);
	if ((value = json_object_get(doc, "time")) != NULL &&
	    !json_is_number(value))
		return frame_fail(err, "document %zu: \"time\" is not a "
		    "number", n);
	if (!json_is_array(items = json_object_get(doc, "data")))
		return frame_fail(err, "document %zu: \"data\" is not a list",
		    n);
	if ((*nitems += json_array_size(items)) > FRAME_ITEMS_MAX)
		return frame_fail(err, "more than %d items", FRAME_ITEMS_MAX);
	json_array_foreach(items, i, value)
		if (frame_item(value, n, req, err) == -1)
			return -1;
	return 0;
}

/* frame_load - one document's bytes, checked, then parsed */
static int
frame_load(const char *text, size_t len, size_t n, size_t *nitems,
    struct frame_request *req, char err[FRAME_ERR_MAX])
{
	json_error_t	 error;
	json_t		*doc;
	int		 rc, had_file = req->file_name != NULL;

	if (len == 0)
		return frame_fail(err, "document %zu is empty", n);
	if (len > FRAME_FILE_DOC_MAX || (len > FRAME_DOC_MAX && had_file))
		return frame_fail(err, "document %zu is longer than %d bytes",
		    n, FRAME_DOC_MAX);
	if (!frame_utf8_valid((const unsigned char *)text, len))
		return frame_fail(err, "document %zu is not UTF-8 text", n);
	if (frame_json_depth(text, len) > FRAME_DEPTH_MAX)
		return frame_fail(err, "document %zu is nested deeper than %d "
		    "levels", n, FRAME_DEPTH_MAX);
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &error)) == NULL) {
		if (len > FRAME_DOC_MAX)
			return frame_fail(err, "document %zu is longer than "
			    "%d bytes", n, FRAME_DOC_MAX);
		return frame_fail(err, "document %zu is not JSON: %s", n,
		    error.text);
	}
	rc = frame_document(doc, n, nitems, req, err);
	json_decref(doc);
	/* Only the document that brings the file may be that long. */
	if (rc == 0 && len > FRAME_DOC_MAX && (had_file ||
	    req->file_name == NULL))
		return frame_fail(err, "document %zu is longer than %d bytes",
		    n, FRAME_DOC_MAX);
	return rc;
}

int
frame_request_parse(const void *buf, size_t len, struct frame_request *req,
    char err[FRAME_ERR_MAX])
{
	const char	*p = buf, *end = p + len, *stop;
	size_t		 n = 0, nitems = 0;

	memset(req, 0, sizeof(*req));
	if (len == 0)
		return frame_fail(err, "an empty transmission");
	while (p < end) {
		if ((stop = memchr(p, FRAME_DOC_END, end - p)) == NULL)
			stop = end;
		if (++n > FRAME_DOCS_MAX) {
			frame_fail(err, "more than %d documents",
			    FRAME_DOCS_MAX);
			goto fail;
		}
		if (frame_load(p, stop - p, n, &nitems, req, err) == -1)
			goto fail;
		p = stop + 1;
	}
	if (req->command == NULL) {
		frame_fail(err, "no command item");
		goto fail;
	}
	return 0;

fail:
	frame_request_free(req);
	return -1;
}

void
frame_request_free(struct frame_request *req)
{
	free(req->command);
	free(req->file_name);
	free(req->file_content);
	if (req->token != NULL) {
		explicit_bzero(req->token, strlen(req->token));
		free(req->token);
	}
	memset(req, 0, sizeof(*req));
}

void
frame_reply_init(struct frame_reply *r)
{
	memset(r, 0, sizeof(*r));
	if ((r->items = json_array()) == NULL)
		r->failed = 1;
}

void
frame_reply_free(struct frame_reply *r)
{
	json_decref(r->items);
	memset(r, 0, sizeof(*r));
}

json_t *
frame_text(const char *text)
{
	const unsigned char	*p = (const unsigned char *)text;
	size_t			 len = strlen(text), i = 0, n;
	json_t			*s;
	char			*copy;

	if (frame_utf8_valid(p, len))
		return json_stringn(text, len);
	if ((copy = strdup(text)) == NULL)
		return NULL;
	while (i < len) {
		if ((n = frame_utf8_char(p + i, len - i)) == 0) {
			copy[i++] = '?';
			continue;
		}
		i += n;
	}
	s = json_stringn(copy, len);
	free(copy);
	return s;
}

/* frame_add - one item of type with data; takes data's reference */
static void
frame_add(struct frame_reply *r, const char *type, json_t *data)
{
	json_t	*item;

	if (data == NULL || r->items == NULL) {
		json_decref(data);
		r->failed = 1;
		return;
	}
	if ((item = json_pack("{s:s, s:o}", "type", type, "data",
	    data)) == NULL || json_array_append_new(r->items, item) == -1)
		r->failed = 1;
	if (strcmp(type, "error") == 0)
		r->errors++;
}

void
frame_string(struct frame_reply *r, const char *text)
{
	frame_add(r, "string", frame_text(text));
}

void
frame_success(struct frame_reply *r, const char *text)
{
	frame_add(r, "success", frame_text(text));
}

void
frame_error(struct frame_reply *r, const char *text)
{
	frame_add(r, "error", frame_text(text));
}

void
frame_errorf(struct frame_reply *r, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	frame_error(r, text);
}

void
frame_token(struct frame_reply *r, const char *token)
{
	frame_add(r, "token", json_string(token));
}

void
frame_shutdown(struct frame_reply *r, const char *text)
{
	frame_add(r, "shutdown", frame_text(text));
}

void
frame_dict(struct frame_reply *r, json_t *dict)
{
	if (!json_is_object(dict)) {
		json_decref(dict);
		r->failed = 1;
		return;
	}
	frame_add(r, "dict", dict);
}

void
frame_table(struct frame_reply *r, json_t *rows)
{
	if (!json_is_array(rows)) {
		json_decref(rows);
		r->failed = 1;
		return;
	}
	frame_add(r, "table", json_pack("{s:o}", "rows", rows));
}

char *
frame_reply_bytes(const struct frame_reply *r, double time, size_t *len)
{
	json_t	*doc;
	char	*text, *grown;
	size_t	 n;

	if (r->failed) {
		static const char oom[] = "{\"time\": 0, \"data\": [{\"type\": "
		    "\"error\", \"data\": \"admind is out of memory\"}]}";

		if ((text = malloc(sizeof(oom) + 1)) == NULL)
			return NULL;
		memcpy(text, oom, sizeof(oom) - 1);
		n = sizeof(oom) - 1;
		goto end;
	}
	if ((doc = json_pack("{s:f, s:O}", "time", time, "data",
	    r->items)) == NULL)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((grown = realloc(text, n + 2)) == NULL) {
		free(text);
		return NULL;
	}
	text = grown;
end:
	text[n] = FRAME_DOC_END;
	text[n + 1] = '\0';
	*len = n + 1;
	return text;
}
