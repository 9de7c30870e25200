/* covshift: entry point (placeholder until the CLI table lands). */
#include <stdio.h>
int main(void) { puts("covshift"); return 0; }
