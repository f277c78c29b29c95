/*
 * frame - the admin console's wire inside a transmission: UTF-8 JSON
 * documents {"time", "data": [items]}, each ended by the byte 0x03.
 *
 * netd cuts the transmission at 0x04 and hands admind the bytes before
 * it. This module splits them into documents, refuses anything that is
 * not a request as the console sends one (too many or too large
 * documents, bytes that are not UTF-8, JSON nested deeper than a request
 * ever is, unknown item types), and builds the reply documents. It does
 * not know what a command means, but for one thing: a file item (an
 * upload's archive) may make its document longer than any other.
 */
#ifndef ADMIND_FRAME_H
#define ADMIND_FRAME_H

#include <stddef.h>

#include <jansson.h>

#define FRAME_DOC_END		0x03
#define FRAME_DOCS_MAX		8	/* documents in one request */
#define FRAME_DOC_MAX		(1024 * 1024)	/* bytes of one document */
/* A request is {"data": [{"data": "..."}]}: three levels. */
#define FRAME_DEPTH_MAX		8
#define FRAME_ITEMS_MAX		16	/* items in one request */
#define FRAME_COMMAND_MAX	4096	/* bytes of a command line */
#define FRAME_TOKEN_MAX		128	/* bytes of a token item */
/* A document holding upload_folder's file item may be this long. */
#define FRAME_FILE_DOC_MAX	(64 * 1024 * 1024)
#define FRAME_FILE_NAME_MAX	255
#define FRAME_ERR_MAX		256

struct frame_request {
	char	*command;	/* the command item's text */
	char	*token;		/* the token item's, or NULL */
	char	*file_name;	/* a file item's {"name", "format": "tar", */
	char	*file_content;	/* "content": base64}, or NULL */
};

/*
 * Parse the bytes netd passed on. 0 with the request filled, or -1 with
 * why in err (nothing to free then).
 */
int	frame_request_parse(const void *, size_t, struct frame_request *,
	    char err[FRAME_ERR_MAX]);
void	frame_request_free(struct frame_request *);

/* A reply being built: items in the order they were added. */
struct frame_reply {
	json_t	*items;
	int	 failed;	/* an item could not be added: out of memory */
	int	 errors;	/* error items added */
};

void	frame_reply_init(struct frame_reply *);
void	frame_reply_free(struct frame_reply *);
/*
 * Text items. Text that is not valid UTF-8 (a file's bytes) has each
 * bad byte replaced by '?', so the reply is always valid JSON.
 */
void	frame_string(struct frame_reply *, const char *text);
void	frame_success(struct frame_reply *, const char *text);
void	frame_error(struct frame_reply *, const char *text);
void	frame_errorf(struct frame_reply *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	frame_token(struct frame_reply *, const char *token);
void	frame_shutdown(struct frame_reply *, const char *text);
/* Takes the reference: dict is an object, rows an array of arrays. */
void	frame_dict(struct frame_reply *, json_t *dict);
void	frame_table(struct frame_reply *, json_t *rows);
/* A UTF-8-safe JSON string for a table cell. */
json_t	*frame_text(const char *text);

/*
 * The reply's bytes: one document followed by 0x03, for netd to end
 * with 0x04. time is the wall clock. NULL when out of memory.
 */
char	*frame_reply_bytes(const struct frame_reply *, double time,
	    size_t *len);

/* 1 if len bytes are valid UTF-8 without NUL, else 0. */
int	frame_utf8_valid(const unsigned char *, size_t len);
/* The deepest nesting of arrays and objects in JSON text. */
size_t	frame_json_depth(const char *, size_t len);

#endif
