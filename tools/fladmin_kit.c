/*
 * fladmin_kit - read the admin's startup kit.
 *
 * fed_admin.json, as tools/flprovision writes it:
 *   {"admin": {"name": EMAIL, "project": PROJECT, "host": HOST,
 *    "port": PORT, "client_key": ..., "client_cert": ...,
 *    "ca_cert": ..., ...}}
 * File names are relative to the kit's folder. The user is the
 * certificate's CN, never the "name" setting: the server checks the
 * name a login claims against the certificate it was presented. A
 * private key that group or others may read is refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fladmin.h"
#include "log.h"

#define KIT_CONFIG	"fed_admin.json"
#define KIT_HOST_MAX	253

/* kit_path - name resolved against the kit's folder */
static char *
kit_path(const char *folder, const char *name)
{
	char	*path;

	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&path, "%s/%s", folder, name) == -1)
		return NULL;
	return path;
}

/* kit_string - a string member, def when absent, NULL when wrong */
static const char *
kit_string(json_t *admin, const char *key, const char *def,
    char err[FLADMIN_ERR_MAX])
{
	json_t	*v;

	if ((v = json_object_get(admin, key)) == NULL) {
		if (def == NULL)
			snprintf(err, FLADMIN_ERR_MAX, "%s: admin.%s is "
			    "missing", KIT_CONFIG, key);
		return def;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: admin.%s must be a "
		    "non-empty string", KIT_CONFIG, key);
		return NULL;
	}
	return json_string_value(v);
}

/* kit_address - where the admin port is */
static int
kit_address(json_t *admin, struct fladmin_kit *k, char err[FLADMIN_ERR_MAX])
{
	const char	*host;
	json_t		*port;

	if ((host = kit_string(admin, "host", NULL, err)) == NULL)
		return -1;
	if (strlen(host) > KIT_HOST_MAX || strpbrk(host, " \t\r\n/") != NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: admin.host is not a host "
		    "name or address", KIT_CONFIG);
		return -1;
	}
	port = json_object_get(admin, "port");
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: admin.port must be an "
		    "integer from 1 to 65535", KIT_CONFIG);
		return -1;
	}
	if ((k->host = strdup(host)) == NULL)
		return -1;
	k->port = (int)json_integer_value(port);
	return 0;
}

/* kit_files - the certificate, key and root CA that the kit names */
static int
kit_files(json_t *admin, struct fladmin_kit *k, char err[FLADMIN_ERR_MAX])
{
	const char	*cert, *key, *ca;
	struct stat	 st;

	if ((cert = kit_string(admin, "client_cert", "client.crt",
	    err)) == NULL ||
	    (key = kit_string(admin, "client_key", "client.key", err)) ==
	    NULL ||
	    (ca = kit_string(admin, "ca_cert", "rootCA.pem", err)) == NULL)
		return -1;
	if ((k->cert = kit_path(k->folder, cert)) == NULL ||
	    (k->key = kit_path(k->folder, key)) == NULL ||
	    (k->ca = kit_path(k->folder, ca)) == NULL)
		return -1;
	if (stat(k->key, &st) == -1) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: %s", k->key,
		    strerror(errno));
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: private key is accessible "
		    "by group or others (mode %03o); chmod 600 it", k->key,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* kit_cert_cn - the CN of the certificate file at path */
static char *
kit_cert_cn(const char *path, char err[FLADMIN_ERR_MAX])
{
	FILE		*f;
	X509		*x;
	X509_NAME	*name;
	unsigned char	*utf8 = NULL;
	char		*cn = NULL;
	int		 i, n;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: not a PEM certificate",
		    path);
		return NULL;
	}
	name = X509_get_subject_name(x);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0 ||
	    (n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, i)))) <= 0 ||
	    memchr(utf8, '\0', (size_t)n) != NULL)
		snprintf(err, FLADMIN_ERR_MAX, "%s: the certificate has no "
		    "usable common name", path);
	else if ((cn = strndup((char *)utf8, (size_t)n)) == NULL)
		snprintf(err, FLADMIN_ERR_MAX, "%s", strerror(errno));
	OPENSSL_free(utf8);
	X509_free(x);
	return cn;
}

int
kit_load(const char *folder, struct fladmin_kit *k,
    char err[FLADMIN_ERR_MAX])
{
	json_error_t	 jerr;
	json_t		*root, *admin;
	const char	*project;
	char		*path;
	int		 rc = -1;

	memset(k, 0, sizeof(*k));
	/* Every other failure says more; only allocations leave this. */
	snprintf(err, FLADMIN_ERR_MAX, "out of memory");
	if ((k->folder = strdup(folder)) == NULL ||
	    (path = kit_path(folder, KIT_CONFIG)) == NULL) {
		kit_free(k);
		return -1;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: %s", path, jerr.text);
		free(path);
		kit_free(k);
		return -1;
	}
	free(path);

	if (!json_is_object(admin = json_object_get(root, "admin"))) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: \"admin\" must be an "
		    "object", KIT_CONFIG);
		goto done;
	}
	if ((project = kit_string(admin, "project", "", err)) == NULL ||
	    (k->project = strdup(project)) == NULL ||
	    kit_address(admin, k, err) == -1 ||
	    kit_files(admin, k, err) == -1 ||
	    (k->user = kit_cert_cn(k->cert, err)) == NULL)
		goto done;
	rc = 0;

 done:
	json_decref(root);
	if (rc == -1)
		kit_free(k);
	return rc;
}

void
kit_free(struct fladmin_kit *k)
{
	free(k->folder);
	free(k->user);
	free(k->project);
	free(k->host);
	free(k->cert);
	free(k->key);
	free(k->ca);
	memset(k, 0, sizeof(*k));
}
