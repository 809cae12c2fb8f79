/* core/acme_base64.c: placeholder until implemented. */
