/* test/unit/test_base64.c: placeholder until the unit tests for this area exist. */
int main(void);
int main(void) { return 77; }
