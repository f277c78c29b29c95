/*
 * fladmin - the admin console: an operator's commands to the server's
 * admin port (netd), over TLS with the admin's certificate, in the
 * framing of Clara's admin protocol.
 *
 * One TLS connection per command. The session token lives in memory
 * only; so does the password of a password login, kept to log in again
 * when the server says the session expired. Neither is ever printed,
 * logged or written to the history file.
 */
#ifndef FL_FLADMIN_H
#define FL_FLADMIN_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

#define FLADMIN_ERR_MAX		512
/* The largest answer fladmin reads, before the end-of-transmission byte. */
#define FLADMIN_REPLY_MAX	((size_t)64 * 1024 * 1024)
#define FLADMIN_DOC_END		0x03	/* ends each JSON document */
#define FLADMIN_ALL_END		0x04	/* ends a transmission */

/* fladmin_kit.c: the admin's startup kit. */
struct fladmin_kit {
	char	*folder;
	char	*user;		/* CN of client.crt, an email */
	char	*project;
	char	*host;		/* the admin port's host */
	int	 port;
	char	*cert;		/* resolved against the folder */
	char	*key;
	char	*ca;
};

int	kit_load(const char *folder, struct fladmin_kit *,
	    char err[FLADMIN_ERR_MAX]);
void	kit_free(struct fladmin_kit *);

/* fladmin_wire.c: one transmission each way over one TLS connection. */
SSL_CTX	*wire_context(const struct fladmin_kit *,
	    char err[FLADMIN_ERR_MAX]);
/*
 * A transmission of one document holding a command, maybe a token, and
 * maybe an extra item (upload_folder's file item; not taken).
 */
char	*wire_request(const char *command, const char *token, json_t *extra,
	    size_t *len, char err[FLADMIN_ERR_MAX]);
/* Sends request, returns the answer's bytes before the end byte. */
char	*wire_exchange(SSL_CTX *, const struct fladmin_kit *,
	    const char *request, size_t reqlen, size_t *len,
	    char err[FLADMIN_ERR_MAX]);

/* fladmin_reply.c: the items of an answer, and how they are shown. */
struct fladmin_reply {
	json_t	*items;		/* all documents' items */
};

int	reply_parse(const char *bytes, size_t len, struct fladmin_reply *,
	    char err[FLADMIN_ERR_MAX]);
void	reply_free(struct fladmin_reply *);
/* 1 if an item is an error. */
int	reply_failed(const struct fladmin_reply *);
/* The first item of type, or NULL. */
json_t	*reply_find(const struct fladmin_reply *, const char *type);
/* 1 if an error item says the session expired or is unknown. */
int	reply_session_expired(const struct fladmin_reply *);
/* 1 if the server said it shuts down. */
int	reply_shutdown(const struct fladmin_reply *);
/* Prints every item but tokens; returns 1 if one was an error. */
int	reply_print(const struct fladmin_reply *, FILE *);
/* Text for a terminal: control characters other than keep become '?'. */
void	reply_print_text(FILE *, const char *text, const char *keep);

/* fladmin_table.c: a table item as aligned columns. */
int	table_print(json_t *rows, FILE *);

/* fladmin_session.c: login, commands, and logging in again. */
struct fladmin_session {
	const struct fladmin_kit *kit;
	SSL_CTX		*ssl;
	char		*login_user;	/* NULL: certificate login */
	char		*password;	/* in memory only */
	char		*token;		/* in memory only */
	char		**commands;	/* names the server lists */
	size_t		 ncommands;
};

int	session_init(struct fladmin_session *, const struct fladmin_kit *,
	    const char *login_user, char err[FLADMIN_ERR_MAX]);
void	session_free(struct fladmin_session *);
int	session_login(struct fladmin_session *, char err[FLADMIN_ERR_MAX]);
/* Runs one server command; 0 with the answer in reply, -1 and err. */
int	session_command(struct fladmin_session *, const char *line,
	    struct fladmin_reply *, char err[FLADMIN_ERR_MAX]);
/* The same with an extra item sent next to the command (not taken). */
int	session_command_item(struct fladmin_session *, const char *line,
	    json_t *item, struct fladmin_reply *, char err[FLADMIN_ERR_MAX]);
/* Fills commands from the server's _commands answer. */
int	session_list_commands(struct fladmin_session *,
	    char err[FLADMIN_ERR_MAX]);

/* fladmin_local.c: commands the console answers itself. */
enum local_result { LOCAL_OK, LOCAL_FAILED, LOCAL_BYE };

struct local_command {
	const char	*name;
	const char	*usage;
	const char	*help;
	enum local_result (*run)(struct fladmin_session *, int argc,
	    char **argv);
};

/* The entry for a command line's first word, or NULL. */
const struct local_command *local_find(const char *line);
enum local_result local_run(struct fladmin_session *,
	    const struct local_command *, const char *line);
/* The table, ended by an entry with a NULL name. */
const struct local_command *local_commands(void);

/* fladmin_cli.c: the interactive prompt, history and completion. */
struct fladmin_cli;

struct fladmin_cli *cli_open(const char *progname,
	    const struct fladmin_session *);
/* The next line without its newline, NULL at end of input. */
const char *cli_read(struct fladmin_cli *);
/* Adds line to the history and saves it, unless it holds a password. */
void	cli_remember(struct fladmin_cli *, const char *line);
void	cli_close(struct fladmin_cli *);

#endif
