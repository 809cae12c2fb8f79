/* core/acme_http.c: placeholder until implemented. */
