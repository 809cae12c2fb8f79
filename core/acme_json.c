/* core/acme_json.c: placeholder until implemented. */
