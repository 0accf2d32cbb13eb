// trap_c: prints a line, then executes the wasm `unreachable` instruction
// through a few named frames, so the runtime reports a real trap with a
// stack trace.
#include <stdio.h>

__attribute__((noinline)) static void crash_here(void) {
	__builtin_trap();
}

__attribute__((noinline)) static void call_crash(int depth) {
	if (depth > 0) {
		call_crash(depth - 1);
		fprintf(stderr, "not reached\n");
	}
	crash_here();
}

int main(void) {
	printf("about to trap\n");
	fflush(stdout);
	call_crash(2);
	return 0;
}
