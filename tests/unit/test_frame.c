/*
 * test_frame - the console's wire inside admind: a request's documents
 * are split on 0x03 and read for exactly one command item and at most
 * one token item; whatever is not a request as the console sends one
 * (too many or too large documents, bytes that are not UTF-8, nesting
 * deeper than a request needs, other items) is refused with a message
 * naming what is wrong; replies are one document ended by 0x03, byte for
 * byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../admind/frame.h"

#define REQ(items)	"{\"time\": 1.5, \"data\": [" items "]}\x03"
#define CMD(text)	"{\"type\": \"command\", \"data\": \"" text "\"}"
#define TOKEN(text)	"{\"type\": \"token\", \"data\": \"" text "\"}"

static int
parse(const char *text, struct frame_request *req, char *err)
{
	return frame_request_parse(text, strlen(text), req, err);
}

/* refused - the text is refused with exactly why */
static void
refused(const char *text, size_t len, const char *why)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(frame_request_parse(text, len, &req, err), -1);
	assert_string_equal(err, why);
	assert_null(req.command);
	assert_null(req.token);
}

static void
test_command_and_token_are_read(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(parse(REQ(CMD("check_status server") ", "
	    TOKEN("0123abcd")), &req, err), 0);
	assert_string_equal(req.command, "check_status server");
	assert_string_equal(req.token, "0123abcd");
	frame_request_free(&req);
}

static void
test_command_alone_has_no_token(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(parse(REQ(CMD("_cert_login a@b.org")), &req, err), 0);
	assert_string_equal(req.command, "_cert_login a@b.org");
	assert_null(req.token);
	frame_request_free(&req);
}

static void
test_items_may_come_in_two_documents(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(parse(REQ(CMD("taskname")) REQ(TOKEN("ab")), &req,
	    err), 0);
	assert_string_equal(req.command, "taskname");
	assert_string_equal(req.token, "ab");
	frame_request_free(&req);
}

static void
test_last_document_may_lack_its_end_byte(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(parse("{\"data\": [" CMD("pwd server") "]}", &req,
	    err), 0);
	assert_string_equal(req.command, "pwd server");
	frame_request_free(&req);
}

static void
test_request_without_command_is_refused(void **state)
{
	const char	*t = REQ(TOKEN("ab"));

	refused(t, strlen(t), "no command item");
}

static void
test_two_commands_are_refused(void **state)
{
	const char	*t = REQ(CMD("a") ", " CMD("b"));

	refused(t, strlen(t), "a request holds one command item");
}

static void
test_two_tokens_are_refused(void **state)
{
	const char	*t = REQ(CMD("a") ", " TOKEN("x") ", " TOKEN("y"));

	refused(t, strlen(t), "a request holds one token item");
}

static void
test_other_item_types_are_refused(void **state)
{
	const char	*t = REQ(CMD("a") ", {\"type\": \"string\", "
	    "\"data\": \"x\"}");

	refused(t, strlen(t), "document 1: a request holds command, "
	    "token and file items only");
}

static void
test_file_item_is_read(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];
	const char		*t = REQ(CMD("upload_folder m") ", {\"type\": "
	    "\"file\", \"data\": {\"name\": \"m\", \"format\": \"tar\", "
	    "\"content\": \"AAAA\"}}");
	const char		*zip = REQ(CMD("upload_folder m") ", {\"type\": "
	    "\"file\", \"data\": {\"name\": \"m\", \"format\": \"zip\", "
	    "\"content\": \"AAAA\"}}");

	assert_int_equal(frame_request_parse(t, strlen(t), &req, err), 0);
	assert_string_equal(req.file_name, "m");
	assert_string_equal(req.file_content, "AAAA");
	frame_request_free(&req);
	refused(zip, strlen(zip), "the file item's format is not tar");
}

static void
test_item_shape_is_checked(void **state)
{
	const char	*extra = REQ("{\"type\": \"command\", \"data\": \"a\", "
	    "\"x\": 1}");
	const char	*number = REQ("{\"type\": \"command\", \"data\": 5}");

	refused(extra, strlen(extra), "document 1: an item is not "
	    "{\"type\", \"data\"}");
	refused(number, strlen(number), "document 1: the command item's "
	    "data is not a string");
}

static void
test_document_shape_is_checked(void **state)
{
	const char	*key = "{\"data\": [], \"who\": 1}\x03";
	const char	*time = "{\"time\": \"now\", \"data\": []}\x03";
	const char	*data = "{\"time\": 1, \"data\": {}}\x03";
	const char	*list = "[1, 2]\x03";

	refused(key, strlen(key), "document 1: unknown key \"who\"");
	refused(time, strlen(time), "document 1: \"time\" is not a number");
	refused(data, strlen(data), "document 1: \"data\" is not a list");
	refused(list, strlen(list), "document 1 is not a JSON object");
}

static void
test_empty_input_is_refused(void **state)
{
	refused("", 0, "an empty transmission");
	refused("\x03\x03", 2, "document 1 is empty");
	refused(REQ(CMD("a")) "\x03", strlen(REQ(CMD("a"))) + 1,
	    "document 2 is empty");
}

static void
test_invalid_utf8_is_refused(void **state)
{
	/* An overlong '/', a UTF-16 surrogate, a lone continuation byte,
	 * a sequence cut short, and a code point past U+10FFFF. */
	static const char *const bad[] = {
		"{\"data\": [\xc0\xaf]}", "{\"data\": [\xed\xa0\x80]}",
		"{\"data\": [\x80]}", "{\"data\": [\xe2\x82]}",
		"{\"data\": [\xf4\x90\x80\x80]}"
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i], strlen(bad[i]), "document 1 is not UTF-8 text");
}

static void
test_valid_utf8_is_accepted(void **state)
{
	struct frame_request	 req;
	char			 err[FRAME_ERR_MAX];

	assert_int_equal(parse(REQ(CMD("grep server \xc3\xa9t\xc3\xa9 "
	    "\xf0\x9f\x98\x80.txt")), &req, err), 0);
	assert_string_equal(req.command, "grep server \xc3\xa9t\xc3\xa9 "
	    "\xf0\x9f\x98\x80.txt");
	frame_request_free(&req);
}

static void
test_nul_is_refused(void **state)
{
	const char	 raw[] = "{\"data\": [\0]}";
	const char	*escaped = REQ(CMD("cat server a\\u0000.txt"));

	refused(raw, sizeof(raw) - 1, "document 1 is not UTF-8 text");
	refused(escaped, strlen(escaped), "document 1 is not JSON: \\u0000 "
	    "is not allowed without JSON_ALLOW_NUL");
}

static void
test_depth_counts_brackets_outside_strings(void **state)
{
	const char	*t = "{\"a\": [{\"b\": \"[[[{\\\"\"}, []]}";

	assert_int_equal(frame_json_depth(t, strlen(t)), 3);
	assert_int_equal(frame_json_depth("1", 1), 0);
	assert_int_equal(frame_json_depth("[[]]]]][", 8), 2);
}

static void
test_deep_nesting_is_refused_before_parsing(void **state)
{
	char	 text[200000];
	size_t	 n = 0, i;

	n += snprintf(text, sizeof(text), "{\"data\": ");
	for (i = 0; i < 50000; i++)
		text[n++] = '[';
	for (i = 0; i < 50000; i++)
		text[n++] = ']';
	text[n++] = '}';
	refused(text, n, "document 1 is nested deeper than 8 levels");
}

static void
test_eight_levels_pass_the_depth_check(void **state)
{
	const char	*t = "{\"data\": [[[[[[[]]]]]]]}";

	assert_int_equal(frame_json_depth(t, strlen(t)), 8);
	refused(t, strlen(t), "document 1: an item is not "
	    "{\"type\", \"data\"}");
}

static void
test_too_many_documents_are_refused(void **state)
{
	char	 text[4096] = "";
	int	 i;

	for (i = 0; i < 9; i++)
		strcat(text, "{\"data\": []}\x03");
	refused(text, strlen(text), "more than 8 documents");
}

static void
test_large_document_is_refused(void **state)
{
	size_t	 n = FRAME_DOC_MAX + 1;
	char	*text;

	assert_non_null(text = malloc(n));
	memset(text, ' ', n);
	refused(text, n, "document 1 is longer than 1048576 bytes");
	free(text);
}

static void
test_long_command_is_refused(void **state)
{
	char	 text[FRAME_COMMAND_MAX + 64];
	int	 n;

	n = snprintf(text, sizeof(text), "{\"data\": [{\"type\": \"command\", "
	    "\"data\": \"");
	memset(text + n, 'x', FRAME_COMMAND_MAX + 1);
	strcpy(text + n + FRAME_COMMAND_MAX + 1, "\"}]}");
	refused(text, strlen(text), "the command item is longer than 4096 "
	    "bytes");
}

static void
test_reply_is_one_document_and_its_end_byte(void **state)
{
	struct frame_reply	 r;
	char			*bytes;
	size_t			 len;

	frame_reply_init(&r);
	frame_string(&r, "OK");
	frame_token(&r, "ab12");
	frame_table(&r, json_pack("[[s,s],[s,s]]", "site", "status",
	    "site-1", "ok"));
	frame_error(&r, "no");
	frame_dict(&r, json_pack("{s:i}", "accuracy", 1));
	assert_int_equal(r.errors, 1);
	assert_non_null(bytes = frame_reply_bytes(&r, 12.5, &len));
	assert_string_equal(bytes, "{\"time\":12.5,\"data\":["
	    "{\"type\":\"string\",\"data\":\"OK\"},"
	    "{\"type\":\"token\",\"data\":\"ab12\"},"
	    "{\"type\":\"table\",\"data\":{\"rows\":[[\"site\",\"status\"],"
	    "[\"site-1\",\"ok\"]]}},"
	    "{\"type\":\"error\",\"data\":\"no\"},"
	    "{\"type\":\"dict\",\"data\":{\"accuracy\":1}}]}\x03");
	assert_int_equal(len, strlen(bytes));
	free(bytes);
	frame_reply_free(&r);
}

static void
test_reply_text_is_made_valid_utf8(void **state)
{
	struct frame_reply	 r;
	char			*bytes;
	size_t			 len;

	frame_reply_init(&r);
	frame_string(&r, "a\xff" "b\xc3\xa9\xe2\x82");
	assert_non_null(bytes = frame_reply_bytes(&r, 0, &len));
	assert_string_equal(bytes, "{\"time\":0.0,\"data\":[{\"type\":"
	    "\"string\",\"data\":\"a?b\xc3\xa9??\"}]}\x03");
	free(bytes);
	frame_reply_free(&r);
}

static void
test_utf8_validity(void **state)
{
	assert_int_equal(frame_utf8_valid((const unsigned char *)"", 0), 1);
	assert_int_equal(frame_utf8_valid((const unsigned char *)
	    "\xf4\x8f\xbf\xbf", 4), 1);
	assert_int_equal(frame_utf8_valid((const unsigned char *)
	    "\xe0\x80\xaf", 3), 0);
	assert_int_equal(frame_utf8_valid((const unsigned char *)
	    "\xf8\x88\x80\x80\x80", 5), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_and_token_are_read),
		cmocka_unit_test(test_command_alone_has_no_token),
		cmocka_unit_test(test_items_may_come_in_two_documents),
		cmocka_unit_test(test_last_document_may_lack_its_end_byte),
		cmocka_unit_test(test_request_without_command_is_refused),
		cmocka_unit_test(test_two_commands_are_refused),
		cmocka_unit_test(test_two_tokens_are_refused),
		cmocka_unit_test(test_other_item_types_are_refused),
		cmocka_unit_test(test_file_item_is_read),
		cmocka_unit_test(test_item_shape_is_checked),
		cmocka_unit_test(test_document_shape_is_checked),
		cmocka_unit_test(test_empty_input_is_refused),
		cmocka_unit_test(test_invalid_utf8_is_refused),
		cmocka_unit_test(test_valid_utf8_is_accepted),
		cmocka_unit_test(test_nul_is_refused),
		cmocka_unit_test(test_depth_counts_brackets_outside_strings),
		cmocka_unit_test(test_deep_nesting_is_refused_before_parsing),
		cmocka_unit_test(test_eight_levels_pass_the_depth_check),
		cmocka_unit_test(test_too_many_documents_are_refused),
		cmocka_unit_test(test_large_document_is_refused),
		cmocka_unit_test(test_long_command_is_refused),
		cmocka_unit_test(test_reply_is_one_document_and_its_end_byte),
		cmocka_unit_test(test_reply_text_is_made_valid_utf8),
		cmocka_unit_test(test_utf8_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
