/*
 * fladmin_local - the commands the console answers itself, as Clara's
 * console did: bye, help, lpwd, info, and upload_folder, which packs a
 * folder (mmar_pack) and sends it next to its command.
 *
 * A command joins by one entry in local_table: its name, usage, a line
 * of help, and a function that gets the line's words. Any first word
 * not in the table goes to the server as typed.
 */
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fladmin.h"
#include "mmar.h"

#define LOCAL_ARGS_MAX	32
#define LOCAL_SPACE	" \t\r\n"

static enum local_result local_bye(struct fladmin_session *, int, char **);
static enum local_result local_help(struct fladmin_session *, int, char **);
static enum local_result local_info(struct fladmin_session *, int, char **);
static enum local_result local_lpwd(struct fladmin_session *, int, char **);
static enum local_result local_upload(struct fladmin_session *, int,
		    char **);

static const struct local_command local_table[] = {
	{ "bye", "bye", "leave the console", local_bye },
	{ "help", "help", "these commands, then the server's", local_help },
	{ "info", "info", "the server and the user this console speaks as",
	    local_info },
	{ "lpwd", "lpwd", "the console's local working folder", local_lpwd },
	{ "upload_folder", "upload_folder DIR", "send the MMAR folder DIR to "
	    "the server's transfer/ as its base name", local_upload },
	{ NULL, NULL, NULL, NULL }
};

const struct local_command *
local_commands(void)
{
	return local_table;
}

const struct local_command *
local_find(const char *line)
{
	const struct local_command	*c;
	size_t				 n;

	line += strspn(line, LOCAL_SPACE);
	n = strcspn(line, LOCAL_SPACE);
	for (c = local_table; c->name != NULL; c++)
		if (strlen(c->name) == n && strncmp(c->name, line, n) == 0)
			return c;
	return NULL;
}

enum local_result
local_run(struct fladmin_session *s, const struct local_command *c,
    const char *line)
{
	enum local_result	 result;
	char			*argv[LOCAL_ARGS_MAX + 1];
	char			*copy, *word, *last;
	int			 argc = 0;

	if ((copy = strdup(line)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", c->name);
		return LOCAL_FAILED;
	}
	for (word = strtok_r(copy, LOCAL_SPACE, &last); word != NULL;
	    word = strtok_r(NULL, LOCAL_SPACE, &last)) {
		if (argc == LOCAL_ARGS_MAX) {
			fprintf(stderr, "%s: more than %d words\n", c->name,
			    LOCAL_ARGS_MAX);
			free(copy);
			return LOCAL_FAILED;
		}
		argv[argc++] = word;
	}
	argv[argc] = NULL;
	result = c->run(s, argc, argv);
	free(copy);
	return result;
}

/* local_no_args - 1 (after saying so) if a command got words it takes none */
static int
local_no_args(int argc, char **argv)
{
	if (argc <= 1)
		return 0;
	fprintf(stderr, "usage: %s\n", argv[0]);
	return 1;
}

static enum local_result
local_bye(struct fladmin_session *s, int argc, char **argv)
{
	return local_no_args(argc, argv) ? LOCAL_FAILED : LOCAL_BYE;
}

/* local_help_table - the client-side commands as a table */
static int
local_help_table(void)
{
	const struct local_command	*c;
	json_t				*rows;
	int				 rc;

	rows = json_pack("[[s, s]]", "client-side command", "description");
	for (c = local_table; rows != NULL && c->name != NULL; c++)
		if (json_array_append_new(rows, json_pack("[s, s]", c->usage,
		    c->help)) == -1) {
			json_decref(rows);
			rows = NULL;
		}
	rc = rows != NULL ? table_print(rows, stdout) : -1;
	json_decref(rows);
	return rc;
}

static enum local_result
local_help(struct fladmin_session *s, int argc, char **argv)
{
	struct fladmin_reply	 r;
	char			 err[FLADMIN_ERR_MAX];
	int			 failed;

	if (local_no_args(argc, argv))
		return LOCAL_FAILED;
	if (local_help_table() == -1) {
		fprintf(stderr, "help: out of memory\n");
		return LOCAL_FAILED;
	}
	printf("\n");
	fflush(stdout);
	if (session_command(s, "_commands", &r, err) == -1) {
		fprintf(stderr, "help: the server's commands: %s\n", err);
		return LOCAL_FAILED;
	}
	failed = reply_print(&r, stdout);
	reply_free(&r);
	return failed ? LOCAL_FAILED : LOCAL_OK;
}

static enum local_result
local_info(struct fladmin_session *s, int argc, char **argv)
{
	const struct fladmin_kit	*k = s->kit;

	if (local_no_args(argc, argv))
		return LOCAL_FAILED;
	printf("server: %s port %d\n", k->host, k->port);
	printf("project: %s\n", k->project[0] != '\0' ? k->project : "-");
	printf("user: %s\n", s->login_user != NULL ? s->login_user : k->user);
	printf("login: %s\n", s->login_user != NULL ? "password" :
	    "certificate");
	printf("certificate: %s (CN %s)\n", k->cert, k->user);
	printf("session: %s\n", s->token != NULL ? "open" : "none");
	fflush(stdout);
	return LOCAL_OK;
}

static enum local_result
local_lpwd(struct fladmin_session *s, int argc, char **argv)
{
	char	 cwd[PATH_MAX];

	if (local_no_args(argc, argv))
		return LOCAL_FAILED;
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		perror("lpwd");
		return LOCAL_FAILED;
	}
	printf("%s\n", cwd);
	fflush(stdout);
	return LOCAL_OK;
}

/* local_folder_name - DIR's base name, as the server will check it */
static int
local_folder_name(const char *dir, char name[NAME_MAX + 1])
{
	char	 copy[PATH_MAX];
	size_t	 len;

	if (snprintf(copy, sizeof(copy), "%s", dir) >= (int)sizeof(copy))
		return -1;
	snprintf(name, NAME_MAX + 1, "%s", basename(copy));
	len = strlen(name);
	if (len == 0 || name[0] == '.' || strstr(name, "..") != NULL ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != len)
		return -1;
	return 0;
}

/* local_file_item - {"type": "file", "data": {name, format, content}} */
static json_t *
local_file_item(const char *name, const void *archive, size_t len)
{
	json_t	*item;
	char	*b64;

	if ((b64 = mmar_base64(archive, len)) == NULL)
		return NULL;
	item = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "file", "data",
	    "name", name, "format", "tar", "content", b64);
	free(b64);
	return item;
}

static enum local_result
local_upload(struct fladmin_session *s, int argc, char **argv)
{
	struct fladmin_reply	 r;
	char			 name[NAME_MAX + 1], line[NAME_MAX + 32];
	char			 err[FLADMIN_ERR_MAX];
	json_t			*item;
	void			*archive;
	size_t			 len;
	int			 rc;

	if (argc != 2) {
		fprintf(stderr, "usage: upload_folder DIR\n");
		return LOCAL_FAILED;
	}
	if (local_folder_name(argv[1], name) == -1) {
		fprintf(stderr, "upload_folder: the folder's name must be of "
		    "[A-Za-z0-9._-], not start with \".\", without \"..\"\n");
		return LOCAL_FAILED;
	}
	if (mmar_pack(argv[1], MMAR_ARCHIVE_MAX, &archive, &len, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "upload_folder: %s\n", err);
		return LOCAL_FAILED;
	}
	item = local_file_item(name, archive, len);
	free(archive);
	if (item == NULL) {
		fprintf(stderr, "upload_folder: out of memory\n");
		return LOCAL_FAILED;
	}
	snprintf(line, sizeof(line), "upload_folder %s", name);
	rc = session_command_item(s, line, item, &r, err);
	json_decref(item);
	if (rc == -1) {
		fprintf(stderr, "upload_folder: %s\n", err);
		return LOCAL_FAILED;
	}
	rc = reply_print(&r, stdout);
	reply_free(&r);
	return rc ? LOCAL_FAILED : LOCAL_OK;
}
