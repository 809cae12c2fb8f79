/* test/unit/test_key.c: placeholder until the unit tests for this area exist. */
int main(void);
int main(void) { return 77; }
