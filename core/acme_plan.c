/* core/acme_plan.c: placeholder until implemented. */
