/* core/acme_store_file.c: placeholder until implemented. */
