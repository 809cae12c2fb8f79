/* core/acme_file.c: placeholder until implemented. */
