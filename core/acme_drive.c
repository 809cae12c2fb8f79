/* core/acme_drive.c: placeholder until implemented. */
