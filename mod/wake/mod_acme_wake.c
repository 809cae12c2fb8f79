/* mod_acme_wake.c: mod_acme's activation watcher: a tiny program that httpd's root parent starts as the httpd User with the wake-up pipe as descriptor 0; it exits at the first byte, and the parent, which reaps it within a second, then checks the staged certificates itself. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char buf[64];
    ssize_t n;
    long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 0;

    /* restarts signal the process group; the parent stops this itself */
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    /* after a burst of wake-ups the parent asks for a pause first: a flood
     * of bytes costs it one check per pause */
    if (ms > 0 && ms <= 60000) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    do {
        n = read(0, buf, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : 1;
}
