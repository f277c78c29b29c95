/*
 * fuzz_admin_frame - what admind makes of the bytes netd hands it from
 * the admin port: the transmission split into documents and read as a
 * request (frame_request_parse), its command line split into words,
 * looked up in the console's table and its arguments checked against the
 * command's shape (cmdline_split, cmdline_find, cmdline_args).
 *
 * The first byte of an input picks how far the rest goes: odd, it is a
 * whole transmission; even, it is a command line given straight to the
 * command-line parser, which JSON would rarely let the fuzzer reach.
 * Either way the bytes are also put in a reply as text, which must come
 * out as one valid JSON document followed by 0x03.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../admind/admind.h"
#include "../../admind/cmdline.h"
#include "../../admind/frame.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static volatile size_t	 fuzz_frame_sink;

/* fuzz_frame_command - a command line as the console reads one */
static void
fuzz_frame_command(const char *line)
{
	const struct command	*cmd;
	struct cmdline		 cl;
	struct cmd_args		 args;
	char			 err[CMDLINE_ERR_MAX];
	int			 i;

	if (cmdline_split(line, &cl, err) == 0) {
		if (cl.argc < 1 || cl.argc > CMDLINE_WORDS_MAX ||
		    cl.argv[cl.argc] != NULL)
			abort();
		for (i = 0; i <= cl.argc; i++)
			fuzz_frame_sink += strlen(cmdline_rest(line, i));
		for (i = 0; i < cl.argc; i++)
			fuzz_frame_sink += cmdline_site_name(cl.argv[i]);
		if ((cmd = cmdline_find(commands_table, commands_count,
		    cl.argv[0], err)) != NULL)
			(void)cmdline_args(cmd, &cl, &args, err);
	}
	cmdline_free(&cl);
}

/* fuzz_frame_reply - the bytes as a text item: valid JSON, then 0x03 */
static void
fuzz_frame_reply(const char *text)
{
	struct frame_reply	 r;
	json_error_t		 jerr;
	json_t			*doc;
	char			*out;
	size_t			 len;

	frame_reply_init(&r);
	frame_string(&r, text);
	frame_error(&r, text);
	if ((out = frame_reply_bytes(&r, 1.0, &len)) == NULL)
		abort();
	if (len == 0 || out[len - 1] != FRAME_DOC_END)
		abort();
	if ((doc = json_loadb(out, len - 1, 0, &jerr)) == NULL)
		abort();
	json_decref(doc);
	free(out);
	frame_reply_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX], *text;

	if (size == 0 || size > 2 * FRAME_DOC_MAX)
		return 0;
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	if (data[0] & 1) {
		fuzz_frame_sink += frame_utf8_valid(data + 1, size - 1);
		fuzz_frame_sink += frame_json_depth(text, size - 1);
		if (frame_request_parse(data + 1, size - 1, &req, err) == 0) {
			if (req.command == NULL)
				abort();
			fuzz_frame_command(req.command);
			frame_request_free(&req);
		}
	} else
		fuzz_frame_command(text);
	fuzz_frame_reply(text);
	free(text);
	return 0;
}
