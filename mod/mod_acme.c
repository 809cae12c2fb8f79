/* mod/mod_acme.c: placeholder module definition until the httpd layer exists. */
#include <httpd.h>
#include <http_config.h>

module AP_MODULE_DECLARE_DATA acme_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, NULL
};
