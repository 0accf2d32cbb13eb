// hello_c: printf from C (wasi-libc), then each argument and each
// environment variable in the order the runtime passed them.
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
	printf("hello from C\n");
	printf("argc=%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		printf("arg[%d]=%s\n", i, argv[i]);
	}
	for (char **e = environ; *e != NULL; e++) {
		printf("env %s\n", *e);
	}
	return 0;
}
