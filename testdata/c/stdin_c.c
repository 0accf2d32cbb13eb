// stdin_c: reads stdin to the end with read(2), upper-cases ASCII letters to
// stdout, and reports the byte and line counts on stderr.
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	char buf[4096];
	long bytes = 0, lines = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0) {
			perror("read");
			return 1;
		}
		if (n == 0) {
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				lines++;
			}
			buf[i] = (char)toupper((unsigned char)buf[i]);
		}
		if (write(1, buf, (size_t)n) != n) {
			perror("write");
			return 1;
		}
		bytes += n;
	}
	fprintf(stderr, "stdin_c: %ld bytes %ld lines\n", bytes, lines);
	return 0;
}
