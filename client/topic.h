/*
 * topic - what a site answers to each admin request, by topic, as
 * doc/layout.md's table says: the request's JSON body in, the reply's
 * JSON body out, "_ok" or "_error". It makes no call to the server; a
 * shutdown or a restart is handed back to be done once the reply is
 * sent. train.deploy unpacks the MMAR into the workspace's mmar/NAME.
 * train.set_run_number, train.delete_run and validate are known and
 * refused: this site trains from its own table and keeps no run folders
 * or cross-site results.
 */
#ifndef FL_TOPIC_H
#define FL_TOPIC_H

#include <stddef.h>

#include <jansson.h>

#include "control.h"

#define TOPIC_BODY_MAX		65536
/* train.deploy's body: base64 of an archive of MMAR_ARCHIVE_MAX bytes. */
#define TOPIC_DEPLOY_MAX	(48 * 1024 * 1024)
#define TOPIC_NOTE_MAX		160

struct topic_site {
	const char	*site;
	const char	*workspace;	/* sys.shell's root, sys.info's too */
	int		 no_shell;	/* refuse every sys.shell */
	struct control	*control;
};

/* What to do once the reply is on its way. */
enum topic_after { TOPIC_NOTHING, TOPIC_RESTART, TOPIC_SHUTDOWN };

struct topic_answer {
	json_t			*body;	/* the reply's; NULL if out of memory */
	int			 ok;	/* "_ok", else "_error" */
	enum topic_after	 after;
	char			 note[TOPIC_NOTE_MAX];	/* for the log */
};

/* Answer topic (which may be any bytes) with body (len bytes, or none). */
void	topic_answer(const struct topic_site *, const char *topic,
	    const void *body, size_t len, struct topic_answer *);
/* An "_error" answer {"error": text}. */
void	topic_refuse(struct topic_answer *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	topic_answer_free(struct topic_answer *);

#endif
