/*
 * crosssite - the site's part in cross-site validation, once the server
 * has said that training is over: submit the best local model with the
 * site's own metrics on it, then ask for each model the site has not
 * validated yet (the server's global model, the other sites' best local
 * models), validate it on the site's own table exactly as training
 * evaluates (logreg_evaluate: accuracy and log-loss) and send the
 * metrics, until the server has no more.
 *
 * A server that does not take part (cross-site validation off, or an
 * older server without the calls) ends the phase at once: the site then
 * quits as it did before there was one. It does not register or sleep
 * on its own: it says so, and the site's loop acts.
 */
#ifndef FL_CROSSSITE_H
#define FL_CROSSSITE_H

#include "bestmodel.h"
#include "dataset.h"
#include "session.h"

enum crosssite_next {
	CROSSSITE_AGAIN,	/* call crosssite_step again */
	CROSSSITE_DONE,		/* every model validated, or none given */
	CROSSSITE_REAUTH,	/* the token was refused in rpc */
	CROSSSITE_FAILED	/* logged */
};

struct crosssite {
	int		 offered;	/* our best model was sent, or not */
	int		 validated;	/* models validated and reported */
	int		 skipped;	/* models our table cannot take */
	const char	*rpc;		/* the call that met a refused token */
};

void	crosssite_init(struct crosssite *);
/* One call to the server and what follows it; may wait poll seconds. */
enum crosssite_next crosssite_step(struct crosssite *, struct session *,
	    const struct dataset *, const struct bestmodel *, int poll);

#endif
