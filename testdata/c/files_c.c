// files_c: a file-heavy C program under the directory given as argv[1]:
// stdio (fopen/fwrite/fread/fseek/ftell), directories (mkdir, opendir,
// readdir, rmdir), rename, unlink, stat, symlink/readlink, link and the
// errnos of common mistakes. One deterministic line per check; exit 1 on
// any failure.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
static char root[1024];

static const char *p(const char *name) {
	static char buf[4][1200];
	static int next;
	char *out = buf[next++ % 4];
	snprintf(out, sizeof buf[0], "%s/%s", root, name);
	return out;
}

static void check(const char *name, int ok) {
	if (ok) {
		printf("%s: ok\n", name);
	} else {
		failures++;
		printf("%s: FAIL errno=%d (%s)\n", name, errno, strerror(errno));
	}
}

static void check_errno(const char *name, int rc, int want) {
	if (rc == -1 && errno == want) {
		printf("%s: ok\n", name);
	} else {
		failures++;
		printf("%s: FAIL rc=%d errno=%d, want %d\n", name, rc, errno, want);
	}
}

static int cmp(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void stdio_files(void) {
	FILE *f = fopen(p("a.txt"), "w");
	check("fopen w", f != NULL);
	if (!f) return;
	const char *text = "line one\nline two\n";
	check("fwrite", fwrite(text, 1, strlen(text), f) == strlen(text));
	check("fclose", fclose(f) == 0);

	f = fopen(p("a.txt"), "r+");
	check("fopen r+", f != NULL);
	if (!f) return;
	char buf[64] = {0};
	check("fread all", fread(buf, 1, sizeof buf - 1, f) == strlen(text) && strcmp(buf, text) == 0);
	check("fseek SEEK_SET", fseek(f, 5, SEEK_SET) == 0 && ftell(f) == 5);
	check("fwrite at 5", fwrite("ONE", 1, 3, f) == 3);
	check("fseek SEEK_END", fseek(f, 0, SEEK_END) == 0 && ftell(f) == (long)strlen(text));
	check("fseek SEEK_CUR", fseek(f, -4, SEEK_CUR) == 0 && ftell(f) == (long)strlen(text) - 4);
	memset(buf, 0, sizeof buf);
	check("fread tail", fread(buf, 1, sizeof buf - 1, f) == 4 && strcmp(buf, "two\n") == 0);
	rewind(f);
	memset(buf, 0, sizeof buf);
	check("fgets after rewind", fgets(buf, sizeof buf, f) != NULL && strcmp(buf, "line ONE\n") == 0);
	check("fclose r+", fclose(f) == 0);

	f = fopen(p("a.txt"), "a");
	check("fopen a", f != NULL);
	if (f) {
		fputs("line three\n", f);
		fclose(f);
	}
	struct stat st;
	check("stat size after append", stat(p("a.txt"), &st) == 0 && st.st_size == (off_t)strlen(text) + 11);
	check("S_ISREG", S_ISREG(st.st_mode));

	int fd = open(p("a.txt"), O_RDONLY);
	check("open O_RDONLY", fd >= 0);
	char c[4] = {0};
	check("pread", pread(fd, c, 3, 5) == 3 && memcmp(c, "ONE", 3) == 0);
	check("lseek unaffected by pread", lseek(fd, 0, SEEK_CUR) == 0);
	check("close", close(fd) == 0);

	check("truncate", truncate(p("a.txt"), 4) == 0 && stat(p("a.txt"), &st) == 0 && st.st_size == 4);
}

static void directories(void) {
	check("mkdir", mkdir(p("d"), 0755) == 0);
	check_errno("mkdir existing", mkdir(p("d"), 0755), EEXIST);
	const int n = 300;
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "d/e%03d", i);
		FILE *f = fopen(p(name), "w");
		if (!f) {
			check("create entries", 0);
			return;
		}
		fprintf(f, "%d", i);
		fclose(f);
	}
	printf("create %d entries: ok\n", n);

	DIR *dir = opendir(p("d"));
	check("opendir", dir != NULL);
	if (!dir) return;
	char **names = calloc((size_t)n + 8, sizeof *names);
	int count = 0, dots = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			dots++;
			continue;
		}
		if (count < n + 8) names[count] = strdup(e->d_name);
		count++;
	}
	closedir(dir);
	printf("readdir dot entries: %d\n", dots);
	int ok = count == n;
	if (ok) {
		qsort(names, (size_t)n, sizeof *names, cmp);
		for (int i = 0; i < n && ok; i++) {
			char want[16];
			snprintf(want, sizeof want, "e%03d", i);
			ok = strcmp(names[i], want) == 0;
		}
	}
	printf("readdir %d entries: %s\n", count, ok ? "ok" : "FAIL");
	if (!ok) failures++;
	for (int i = 0; i < count && i < n + 8; i++) free(names[i]);
	free(names);

	check_errno("rmdir non-empty", rmdir(p("d")), ENOTEMPTY);
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "d/e%03d", i);
		if (unlink(p(name)) != 0) {
			check("unlink entries", 0);
			return;
		}
	}
	check("rmdir emptied", rmdir(p("d")) == 0);
	struct stat st;
	check_errno("stat removed dir", stat(p("d"), &st), ENOENT);
}

static void renames_links(void) {
	FILE *f = fopen(p("r1"), "w");
	if (f) {
		fputs("moved", f);
		fclose(f);
	}
	check("rename", rename(p("r1"), p("r2")) == 0);
	struct stat st;
	check_errno("old name gone", stat(p("r1"), &st), ENOENT);
	check("new name present", stat(p("r2"), &st) == 0 && st.st_size == 5);

	check("symlink", symlink("r2", p("sym")) == 0);
	char buf[64] = {0};
	ssize_t n = readlink(p("sym"), buf, sizeof buf - 1);
	check("readlink", n == 2 && strcmp(buf, "r2") == 0);
	check("lstat symlink", lstat(p("sym"), &st) == 0 && S_ISLNK(st.st_mode));
	check("stat through symlink", stat(p("sym"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 5);

	check("link", link(p("r2"), p("hard")) == 0);
	struct stat a, b;
	check("link shares inode", stat(p("r2"), &a) == 0 && stat(p("hard"), &b) == 0 &&
	                               a.st_ino == b.st_ino && a.st_nlink == 2);
	check("unlink", unlink(p("r2")) == 0);
	check("link survives", stat(p("hard"), &st) == 0 && st.st_nlink == 1);
	check_errno("stat dangling symlink", stat(p("sym"), &st), ENOENT);
	check_errno("open missing", open(p("missing"), O_RDONLY), ENOENT);
	check_errno("O_EXCL on existing", open(p("hard"), O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	check_errno("opendir on file", open(p("hard"), O_RDONLY | O_DIRECTORY), ENOTDIR);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: files_c DIR\n");
		return 64;
	}
	snprintf(root, sizeof root, "%s/files_c", argv[1]);
	if (mkdir(root, 0755) != 0) {
		printf("mkdir root: FAIL errno=%d\n", errno);
		return 1;
	}
	stdio_files();
	directories();
	renames_links();
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
