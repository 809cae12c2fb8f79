/* tools/acmectl.c: placeholder until acmectl exists. */
#include <stdio.h>
int main(void);
int main(void) { fputs("acmectl: not yet implemented\n", stderr); return 1; }
