/*
 * One HTTPS POST through libcurl. TLS is verified (the system store, or
 * oauth2_ca_file; tls_ca_file is for the smarthost only), only https is
 * allowed, redirects are not followed (a token request must not be replayed
 * to another host), and the proxy variables (https_proxy, no_proxy) are left
 * to libcurl, which honours them when no proxy is set here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "o2.h"
#include "util.h"

void o2_wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void o2_form_add(char **form, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, 0), *next;

	if (enc == NULL) {
		fprintf(stderr, "nullrelay-oauth2: out of memory\n");
		exit(O2_EXIT_TEMP);
	}
	next = xasprintf("%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name, enc);
	explicit_bzero(enc, strlen(enc));
	curl_free(enc);
	o2_wipe(*form);
	*form = next;
}

char *o2_urldecode(const char *s, size_t n)
{
	char *plus = xstrndup(s, n), *dec, *out;
	size_t i;
	int len = 0;

	/* Form encoding: '+' is a space (curl_easy_unescape leaves it). */
	for (i = 0; plus[i] != '\0'; i++)
		if (plus[i] == '+')
			plus[i] = ' ';
	dec = curl_easy_unescape(NULL, plus, 0, &len);
	o2_wipe(plus);
	if (dec == NULL)
		return NULL;
	out = xstrndup(dec, (size_t)len);
	explicit_bzero(dec, (size_t)len);
	curl_free(dec);
	return out;
}

struct sink {
	struct o2_http *r;
	bool overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	struct o2_http *r = k->r;
	size_t len = size * n;
	char *grown;

	if (r->len + len > O2_BODY_MAX) {
		k->overflow = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	/* Grow by copying, so that no stale copy of a token stays in freed memory. */
	grown = xmalloc(r->len + len + 1);
	if (r->len > 0)
		memcpy(grown, r->body, r->len);
	memcpy(grown + r->len, p, len);
	grown[r->len + len] = '\0';
	if (r->body != NULL) {
		explicit_bzero(r->body, r->len);
		free(r->body);
	}
	r->body = grown;
	r->len += len;
	return len;
}

int o2_http_post(const struct o2 *o, const char *url, const char *form,
    struct o2_http *r, char *err, size_t errlen)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	struct sink k = { r, false };
	CURLcode rc;
	CURL *h;

	memset(r, 0, sizeof(*r));
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		return -1;
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nullrelay-oauth2");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->c->oauth2_ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->c->oauth2_ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->http_timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		if (k.overflow)
			snprintf(err, errlen, "%s answered more than %d bytes", url, O2_BODY_MAX);
		else
			snprintf(err, errlen, "%s: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
		o2_http_free(r);
		return -1;
	}
	if (r->body == NULL)
		r->body = xstrdup("");
	return 0;
}

void o2_http_free(struct o2_http *r)
{
	if (r->body != NULL) {
		explicit_bzero(r->body, r->len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}
