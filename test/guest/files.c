/*
 * File system calls: open/read/write/lseek/pread/pwrite/readv/writev,
 * O_APPEND/O_EXCL/O_TRUNC/O_DIRECTORY, stat/fstat/lstat/fstatat/statx
 * (stable fields only), mkdir/rmdir/unlink/rename/renameat2/link/symlink/
 * readlink, getdents64 (sorted), dup/dup2/dup3/F_DUPFD, fcntl flags, pipes,
 * access, getcwd/chdir/fchdir, truncate/ftruncate, chmod, utimensat, *at
 * calls relative to a directory fd, stdio streams, and the errno of many
 * failing calls.
 *
 * Works inside a directory created under the current directory (named by
 * argv[1], default "files-test.dir") and removes it at the end.
 * Exits 1 if a known answer fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int failures;

static const char *ename(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "E?";
}

/* Print the outcome of a call returning an int/ssize_t: value or errno. */
static long show(const char *what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, ename(errno));
  else printf("%s: %ld\n", what, r);
  return r;
}

static void expect_errno(const char *what, long r, int want) {
  int e = errno;
  if (r >= 0) {
    printf("%s: unexpectedly succeeded (%ld)\n", what, r);
    failures++;
  } else {
    printf("%s: %s\n", what, ename(e));
    if (e != want) {
      printf("FAIL %s: want %s\n", what, ename(want));
      failures++;
    }
  }
}

static void expect_ok(const char *what, long r) {
  if (r < 0) {
    printf("FAIL %s: %s\n", what, ename(errno));
    failures++;
  }
}

static const char *ftype(mode_t m) {
  if (S_ISREG(m)) return "reg";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "lnk";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISCHR(m)) return "chr";
  if (S_ISSOCK(m)) return "sock";
  if (S_ISBLK(m)) return "blk";
  return "?";
}

static void show_stat(const char *what, const struct stat *st, int with_nlink) {
  printf("%s: type=%s perm=%04o", what, ftype(st->st_mode), (unsigned)(st->st_mode & 07777));
  if (!S_ISDIR(st->st_mode)) printf(" size=%lld", (long long)st->st_size);
  if (with_nlink) printf(" nlink=%lu", (unsigned long)st->st_nlink);
  printf("\n");
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  expect_ok(path, fd);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) failures++;
    close(fd);
  }
}

static void test_basic_io(void) {
  printf("== basic io\n");
  int fd = (int)show("open a.txt create", open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644));
  show("write", write(fd, "hello world\n", 12));
  show("lseek cur", lseek(fd, 0, SEEK_CUR));
  show("lseek set 6", lseek(fd, 6, SEEK_SET));
  char buf[64] = {0};
  show("read", read(fd, buf, sizeof buf - 1));
  printf("read data: %s", buf);
  show("read at eof", read(fd, buf, sizeof buf));
  show("lseek end -6", lseek(fd, -6, SEEK_END));
  show("lseek end +100", lseek(fd, 100, SEEK_END));
  show("write after hole", write(fd, "X", 1));
  struct stat st;
  fstat(fd, &st);
  show_stat("fstat with hole", &st, 1);
  show("pread hole", pread(fd, buf, 8, 20));
  int zeros = 1;
  for (int i = 0; i < 8; i++) zeros &= buf[i] == 0;
  printf("hole reads zeros: %d\n", zeros);
  show("pwrite", pwrite(fd, "HELLO", 5, 0));
  show("offset unchanged", lseek(fd, 0, SEEK_CUR));
  memset(buf, 0, sizeof buf);
  show("pread", pread(fd, buf, 12, 0));
  printf("pread data: %s", buf);
  expect_errno("lseek negative", lseek(fd, -1000, SEEK_SET), EINVAL);
  expect_errno("lseek bad whence", lseek(fd, 0, 42), EINVAL);
  show("ftruncate 0", ftruncate(fd, 0));
  show("lseek set 0", lseek(fd, 0, SEEK_SET));
  struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
  show("writev", writev(fd, iov, 3));
  lseek(fd, 0, SEEK_SET);
  char b1[2], b2[10] = {0};
  struct iovec riov[2] = {{b1, 2}, {b2, 9}};
  show("readv", readv(fd, riov, 2));
  printf("readv data: %.2s|%s\n", b1, b2);
  show("pwritev", pwritev(fd, iov, 3, 2));
  memset(buf, 0, sizeof buf);
  show("preadv", preadv(fd, riov, 2, 0));
  printf("preadv data: %.2s|%s\n", b1, b2);
  show("fsync", fsync(fd));
  show("fdatasync", fdatasync(fd));
  show("close", close(fd));
  expect_errno("close again", close(fd), EBADF);

  /* O_APPEND ignores the file offset for writes. */
  fd = open("a.txt", O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  show("append write", write(fd, "+tail", 5));
  show("append offset", lseek(fd, 0, SEEK_CUR));
  close(fd);
  fd = open("a.txt", O_RDONLY);
  memset(buf, 0, sizeof buf);
  show("read appended", read(fd, buf, sizeof buf - 1));
  printf("content: %s\n", buf);
  expect_errno("write to O_RDONLY", write(fd, "x", 1), EBADF);
  close(fd);
  fd = open("a.txt", O_WRONLY);
  expect_errno("read from O_WRONLY", read(fd, buf, 1), EBADF);
  close(fd);

  /* A larger transfer. */
  fd = open("big.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
  static unsigned char big[1 << 20];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (unsigned char)(i * 7 + (i >> 9));
  show("write 1MiB", write(fd, big, sizeof big));
  lseek(fd, 0, SEEK_SET);
  memset(big, 0, sizeof big);
  size_t got = 0;
  while (got < sizeof big) {
    ssize_t n = read(fd, big + got, 65536 + 13);
    if (n <= 0) break;
    got += (size_t)n;
  }
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof big; i++) sum = sum * 31 + big[i];
  printf("read back %zu bytes, checksum %08" PRIx32 "\n", got, sum);
  close(fd);
  unlink("big.bin");
}

static void test_open_errors(void) {
  printf("== open errors\n");
  expect_errno("O_EXCL existing", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  expect_errno("missing", open("missing.txt", O_RDONLY), ENOENT);
  expect_errno("missing dir component", open("nodir/x", O_RDONLY), ENOENT);
  expect_errno("file as dir", open("a.txt/x", O_RDONLY), ENOTDIR);
  mkdir("d", 0755);
  expect_errno("dir for writing", open("d", O_WRONLY), EISDIR);
  expect_errno("O_DIRECTORY on file", open("a.txt", O_RDONLY | O_DIRECTORY), ENOTDIR);
  int fd = open("d", O_RDONLY | O_DIRECTORY);
  printf("O_DIRECTORY on dir ok: %d\n", fd >= 0);
  char c;
  expect_errno("read on dir", read(fd, &c, 1), EISDIR);
  close(fd);
  char longname[NAME_MAX + 20];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  expect_errno("name too long", open(longname, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
  expect_errno("empty path", open("", O_RDONLY), ENOENT);
  expect_errno("bad fd read", read(12345, &c, 1), EBADF);
  expect_errno("negative fd", close(-1), EBADF);
  symlink("loop2", "loop1");
  symlink("loop1", "loop2");
  expect_errno("symlink loop", open("loop1", O_RDONLY), ELOOP);
  expect_errno("O_NOFOLLOW on symlink", open("loop1", O_RDONLY | O_NOFOLLOW), ELOOP);
  unlink("loop1");
  unlink("loop2");
  rmdir("d");
  fd = open("a.txt", O_RDONLY | O_CLOEXEC);
  printf("O_CLOEXEC sets FD_CLOEXEC: %d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC);
  close(fd);
}

static void test_stat(void) {
  printf("== stat\n");
  struct stat st;
  write_file("s.txt", "0123456789");
  chmod("s.txt", 0640);
  stat("s.txt", &st);
  show_stat("stat s.txt", &st, 1);
  show("link", link("s.txt", "s2.txt"));
  stat("s.txt", &st);
  show_stat("after link", &st, 1);
  struct stat st2;
  stat("s2.txt", &st2);
  printf("same inode: %d\n", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
  expect_errno("link existing", link("s.txt", "s2.txt"), EEXIST);
  show("symlink", symlink("s.txt", "s.lnk"));
  stat("s.lnk", &st);
  show_stat("stat via symlink", &st, 0);
  lstat("s.lnk", &st);
  show_stat("lstat symlink", &st, 0);
  fstatat(AT_FDCWD, "s.lnk", &st, AT_SYMLINK_NOFOLLOW);
  show_stat("fstatat nofollow", &st, 0);
  mkdir("sd", 0750);
  stat("sd", &st);
  show_stat("stat dir", &st, 0);
  expect_errno("stat missing", stat("nothing", &st), ENOENT);
  expect_errno("stat through file", stat("s.txt/x", &st), ENOTDIR);
  expect_errno("fstat bad fd", fstat(999, &st), EBADF);
  show("fchmod", ({
         int fd = open("s.txt", O_RDONLY);
         int r = fchmod(fd, 0604);
         close(fd);
         r;
       }));
  stat("s.txt", &st);
  show_stat("after fchmod", &st, 0);
  fchmodat(AT_FDCWD, "s.txt", 0755, 0);
  stat("s.txt", &st);
  show_stat("after fchmodat", &st, 0);
  int fd = open("s.txt", O_RDONLY);
  fstat(fd, &st);
  show_stat("fstat", &st, 1);
  close(fd);

  struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 987654321}};
  show("utimensat", utimensat(AT_FDCWD, "s.txt", ts, 0));
  stat("s.txt", &st);
  printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
  utimensat(AT_FDCWD, "s.txt", omit, 0);
  stat("s.txt", &st);
  printf("after UTIME_OMIT: atime %lld mtime %lld\n", (long long)st.st_atim.tv_sec,
         (long long)st.st_mtim.tv_sec);

  struct statx stx;
  memset(&stx, 0, sizeof stx);
  long r = syscall(SYS_statx, AT_FDCWD, "s.txt", 0, STATX_BASIC_STATS, &stx);
  show("statx", r);
  printf("statx: type=%s perm=%04o size=%llu nlink=%u mtime=%lld\n", ftype(stx.stx_mode),
         stx.stx_mode & 07777, (unsigned long long)stx.stx_size, stx.stx_nlink,
         (long long)stx.stx_mtime.tv_sec);
  r = syscall(SYS_statx, AT_FDCWD, "s.lnk", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx);
  printf("statx symlink: type=%s size=%llu\n", ftype(stx.stx_mode),
         (unsigned long long)stx.stx_size);
  expect_errno("statx missing",
               syscall(SYS_statx, AT_FDCWD, "nothing", 0, STATX_BASIC_STATS, &stx), ENOENT);
  unlink("s.lnk");
  unlink("s2.txt");
  unlink("s.txt");
  rmdir("sd");
}

static void test_dirs(void) {
  printf("== directories\n");
  show("mkdir", mkdir("dir1", 0755));
  expect_errno("mkdir existing", mkdir("dir1", 0755), EEXIST);
  expect_errno("mkdir missing parent", mkdir("nope/sub", 0755), ENOENT);
  write_file("dir1/f", "x");
  expect_errno("rmdir non-empty", rmdir("dir1"), ENOTEMPTY);
  expect_errno("rmdir file", rmdir("dir1/f"), ENOTDIR);
  expect_errno("unlink dir", unlink("dir1"), EISDIR);
  expect_errno("unlink missing", unlink("dir1/nothing"), ENOENT);
  expect_errno("rmdir missing", rmdir("nothing"), ENOENT);
  expect_errno("rmdir dot", rmdir("dir1/."), EINVAL);
  show("rename file", rename("dir1/f", "dir1/g"));
  expect_errno("old name gone", access("dir1/f", F_OK), ENOENT);
  write_file("dir1/h", "hh");
  show("rename over file", rename("dir1/g", "dir1/h"));
  struct stat st;
  stat("dir1/h", &st);
  printf("replaced size: %lld\n", (long long)st.st_size);
  mkdir("dir2", 0755);
  write_file("dir2/x", "");
  expect_errno("rename dir over non-empty dir", rename("dir1", "dir2"), ENOTEMPTY);
  expect_errno("rename file over dir", rename("dir1/h", "dir2"), EISDIR);
  expect_errno("rename dir over file", rename("dir2", "dir1/h"), ENOTDIR);
  expect_errno("rename missing", rename("nothing", "x"), ENOENT);
  expect_errno("rename into itself", rename("dir1", "dir1/sub"), EINVAL);
  expect_errno("renameat2 noreplace",
               syscall(SYS_renameat2, AT_FDCWD, "dir1/h", AT_FDCWD, "dir2/x", 1 /* NOREPLACE */),
               EEXIST);
  show("renameat2 exchange",
       syscall(SYS_renameat2, AT_FDCWD, "dir1/h", AT_FDCWD, "dir2/x", 2 /* EXCHANGE */));
  stat("dir2/x", &st);
  printf("exchanged size: %lld\n", (long long)st.st_size);
  unlink("dir2/x");
  rmdir("dir2");
  show("rename dir", rename("dir1", "dir3"));

  /* Symlinks and readlink. */
  char buf[256];
  show("symlink", symlink("dir3/h", "ln"));
  ssize_t n = readlink("ln", buf, sizeof buf);
  show("readlink", n);
  printf("target: %.*s\n", (int)(n > 0 ? n : 0), buf);
  n = readlink("ln", buf, 3);
  printf("readlink short buffer: %zd %.3s\n", n, buf);
  expect_errno("readlink regular", readlink("dir3/h", buf, sizeof buf), EINVAL);
  expect_errno("readlink missing", readlink("nothing", buf, sizeof buf), ENOENT);
  expect_errno("symlink existing", symlink("x", "ln"), EEXIST);
  show("dangling symlink", symlink("no-such-target", "dangling"));
  struct stat lst;
  expect_errno("stat dangling", stat("dangling", &lst), ENOENT);
  show("lstat dangling", lstat("dangling", &lst));

  /* getdents64 with a small buffer so several calls are needed. */
  mkdir("list", 0755);
  for (int i = 0; i < 40; i++) {
    char name[64];
    snprintf(name, sizeof name, "list/entry-%02d-%s", i, i % 3 == 0 ? "with-a-longer-name" : "x");
    if (i % 5 == 0) mkdir(name, 0755);
    else write_file(name, "");
  }
  symlink("entry-01-x", "list/zz-link");
  int dfd = open("list", O_RDONLY | O_DIRECTORY);
  char names[64][80];
  int count = 0, calls = 0;
  char dbuf[256] __attribute__((aligned(8)));
  for (;;) {
    long got = syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf);
    if (got <= 0) {
      if (got < 0) printf("getdents64 error %s\n", ename(errno));
      break;
    }
    calls++;
    for (long off = 0; off < got;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (void *)(dbuf + off);
      if (count < 64) {
        const char *t = d->type == DT_DIR ? "d" : d->type == DT_REG ? "f" : d->type == DT_LNK ? "l" : "?";
        snprintf(names[count++], sizeof names[0], "%s %s", d->name, t);
      }
      off += d->reclen;
    }
  }
  qsort(names, (size_t)count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
  printf("getdents64: %d entries, more than one call: %d\n", count, calls > 1);
  for (int i = 0; i < count; i++) printf("  %s\n", names[i]);
  /* Rewind and read again. */
  lseek(dfd, 0, SEEK_SET);
  int again = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf);
    if (got <= 0) break;
    for (long off = 0; off < got; off += ((unsigned short *)(dbuf + off + 16))[0]) again++;
  }
  printf("after rewind: %d entries\n", again);
  expect_errno("getdents64 on file", ({
                 int f = open("dir3/h", O_RDONLY);
                 long r = syscall(SYS_getdents64, f, dbuf, sizeof dbuf);
                 int e = errno;
                 close(f);
                 errno = e;
                 r;
               }),
               ENOTDIR);
  close(dfd);

  /* opendir/readdir as well. */
  DIR *dir = opendir("list");
  int rd = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) rd++;
  closedir(dir);
  printf("readdir: %d entries\n", rd);

  for (int i = 0; i < 40; i++) {
    char name[64];
    snprintf(name, sizeof name, "list/entry-%02d-%s", i, i % 3 == 0 ? "with-a-longer-name" : "x");
    if (i % 5 == 0) rmdir(name);
    else unlink(name);
  }
  unlink("list/zz-link");
  show("rmdir list", rmdir("list"));
  unlink("ln");
  unlink("dangling");
  unlink("dir3/h");
  show("rmdir dir3", rmdir("dir3"));
}

static void test_fds(void) {
  printf("== descriptors\n");
  int fd = open("a.txt", O_RDONLY);
  printf("open gives fd %d\n", fd);
  int d1 = dup(fd);
  printf("dup gives lowest: %d\n", d1);
  show("dup2 same fd", dup2(fd, fd));
  show("dup2 to 10", dup2(fd, 10));
  int other = open("a.txt", O_RDONLY);
  show("dup2 over open fd", dup2(fd, other));
  show("dup3 cloexec", dup3(fd, 11, O_CLOEXEC));
  show("F_GETFD of dup3", fcntl(11, F_GETFD));
  show("F_GETFD of dup2", fcntl(10, F_GETFD));
  expect_errno("dup3 same fd", dup3(fd, fd, 0), EINVAL);
  expect_errno("dup3 bad flags", dup3(fd, 12, 0x1234), EINVAL);
  expect_errno("dup bad fd", dup(777), EBADF);
  expect_errno("dup2 bad fd", dup2(777, 20), EBADF);
  show("F_DUPFD 100", fcntl(fd, F_DUPFD, 100));
  show("F_DUPFD 100 again", fcntl(fd, F_DUPFD, 100));
  show("F_DUPFD_CLOEXEC 50", fcntl(fd, F_DUPFD_CLOEXEC, 50));
  show("F_GETFD 50", fcntl(50, F_GETFD));
  show("F_SETFD", fcntl(fd, F_SETFD, FD_CLOEXEC));
  show("F_GETFD", fcntl(fd, F_GETFD));
  /* Shared offsets between dups. */
  lseek(fd, 3, SEEK_SET);
  printf("dup shares offset: %ld\n", (long)lseek(d1, 0, SEEK_CUR));
  int wfd = open("a.txt", O_WRONLY | O_APPEND);
  int fl = fcntl(wfd, F_GETFL);
  printf("F_GETFL accmode=%d append=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND),
         !!(fl & O_NONBLOCK));
  fcntl(wfd, F_SETFL, (fl & ~O_APPEND) | O_NONBLOCK);
  fl = fcntl(wfd, F_GETFL);
  printf("after F_SETFL accmode=%d append=%d nonblock=%d\n", fl & O_ACCMODE, !!(fl & O_APPEND),
         !!(fl & O_NONBLOCK));
  expect_errno("fcntl bad fd", fcntl(555, F_GETFL), EBADF);
  for (int f = 3; f < 128; f++) close(f);
  printf("after closing, open gives fd %d\n", fd = open("a.txt", O_RDONLY));
  close(fd);
}

static void test_pipes(void) {
  printf("== pipes\n");
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  show("pipe", pipe(p));
  printf("pipe fds: %d %d\n", p[0], p[1]);
  show("write", write(p[1], "through the pipe", 16));
  char buf[64] = {0};
  show("read", read(p[0], buf, 7));
  printf("got: %s\n", buf);
  struct stat st;
  fstat(p[0], &st);
  printf("fstat pipe: %s\n", ftype(st.st_mode));
  expect_errno("lseek pipe", lseek(p[0], 0, SEEK_SET), ESPIPE);
  expect_errno("pread pipe", pread(p[0], buf, 1, 0), ESPIPE);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  memset(buf, 0, sizeof buf);
  show("read rest", read(p[0], buf, sizeof buf));
  printf("got: %s\n", buf);
  expect_errno("nonblocking empty read", read(p[0], buf, 1), EAGAIN);
  close(p[1]);
  show("read at eof", read(p[0], buf, 1));
  close(p[0]);
  show("pipe2", pipe2(p, O_CLOEXEC | O_NONBLOCK));
  printf("pipe2 cloexec=%d nonblock=%d\n", fcntl(p[0], F_GETFD) == FD_CLOEXEC,
         !!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
  close(p[0]);
  expect_errno("write without reader", write(p[1], "x", 1), EPIPE);
  close(p[1]);
  /* Fill a pipe in non-blocking mode: partial write then EAGAIN. */
  pipe2(p, O_NONBLOCK);
  static char chunk[4096];
  long total = 0;
  for (;;) {
    ssize_t n = write(p[1], chunk, sizeof chunk);
    if (n < 0) {
      printf("full pipe: %s, capacity is a multiple of 4096: %d\n", ename(errno),
             total > 0 && total % 4096 == 0);
      break;
    }
    total += n;
    if (total > (1 << 24)) break;
  }
  close(p[0]);
  close(p[1]);
  signal(SIGPIPE, SIG_DFL);
}

static void test_access_cwd(const char *dirname) {
  printf("== access, cwd\n");
  show("access F_OK", access("a.txt", F_OK));
  show("access R_OK", access("a.txt", R_OK));
  expect_errno("access missing", access("missing", F_OK), ENOENT);
  expect_errno("access bad mode", access("a.txt", 0x100), EINVAL);
  write_file("exe", "");
  chmod("exe", 0755);
  show("access X_OK", access("exe", X_OK));
  show("faccessat", faccessat(AT_FDCWD, "exe", X_OK, 0));
  unlink("exe");

  char cwd[PATH_MAX], cwd2[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) printf("getcwd failed %s\n", ename(errno));
  size_t dl = strlen(dirname), cl = strlen(cwd);
  printf("getcwd ends with dir: %d absolute: %d\n",
         cl > dl && strcmp(cwd + cl - dl, dirname) == 0 && cwd[cl - dl - 1] == '/', cwd[0] == '/');
  char tiny[2];
  errno = 0;
  printf("getcwd small buffer: %s %s\n", getcwd(tiny, sizeof tiny) ? "ok" : "NULL", ename(errno));
  long r = syscall(SYS_getcwd, cwd2, sizeof cwd2);
  printf("raw getcwd returns length+1: %d\n", r == (long)cl + 1);
  mkdir("sub", 0755);
  show("chdir sub", chdir("sub"));
  getcwd(cwd2, sizeof cwd2);
  printf("cwd is dir/sub: %d\n", strncmp(cwd2, cwd, cl) == 0 && strcmp(cwd2 + cl, "/sub") == 0);
  write_file("inner", "in");
  show("chdir ..", chdir(".."));
  show("access sub/inner", access("sub/inner", F_OK));
  expect_errno("chdir file", chdir("a.txt"), ENOTDIR);
  expect_errno("chdir missing", chdir("missing"), ENOENT);
  int dfd = open("sub", O_RDONLY | O_DIRECTORY);
  show("fchdir", fchdir(dfd));
  show("access inner", access("inner", F_OK));
  show("fchdir back", chdir(".."));

  /* *at calls relative to a directory descriptor. */
  int fd = openat(dfd, "at-file", O_CREAT | O_WRONLY, 0600);
  show("openat", fd >= 0 ? 0 : -1);
  show("write", write(fd, "at!", 3));
  close(fd);
  show("mkdirat", mkdirat(dfd, "at-dir", 0700));
  show("symlinkat", symlinkat("at-file", dfd, "at-link"));
  char buf[64];
  ssize_t n = readlinkat(dfd, "at-link", buf, sizeof buf);
  printf("readlinkat: %.*s\n", (int)(n > 0 ? n : 0), buf);
  show("linkat", linkat(dfd, "at-file", dfd, "at-hard", 0));
  show("renameat", renameat(dfd, "at-hard", AT_FDCWD, "sub/at-hard2"));
  struct stat st;
  show("fstatat", fstatat(dfd, "at-hard2", &st, 0));
  printf("at-hard2 size=%lld nlink=%lu\n", (long long)st.st_size, (unsigned long)st.st_nlink);
  show("fstatat AT_EMPTY_PATH", fstatat(dfd, "", &st, AT_EMPTY_PATH));
  printf("dir fd type: %s\n", ftype(st.st_mode));
  expect_errno("unlinkat dir without flag", unlinkat(dfd, "at-dir", 0), EISDIR);
  show("unlinkat AT_REMOVEDIR", unlinkat(dfd, "at-dir", AT_REMOVEDIR));
  unlinkat(dfd, "at-link", 0);
  unlinkat(dfd, "at-hard2", 0);
  unlinkat(dfd, "at-file", 0);
  unlinkat(dfd, "inner", 0);
  expect_errno("openat on file fd", openat(open("a.txt", O_RDONLY), "x", O_RDONLY), ENOTDIR);
  close(dfd);
  show("rmdir sub", rmdir("sub"));
}

static void test_truncate(void) {
  printf("== truncate\n");
  write_file("t.txt", "0123456789");
  struct stat st;
  show("truncate grow", truncate("t.txt", 100));
  stat("t.txt", &st);
  printf("size %lld\n", (long long)st.st_size);
  show("truncate shrink", truncate("t.txt", 4));
  stat("t.txt", &st);
  printf("size %lld\n", (long long)st.st_size);
  int fd = open("t.txt", O_RDWR);
  show("ftruncate", ftruncate(fd, 2));
  char buf[16] = {0};
  show("read", read(fd, buf, sizeof buf));
  printf("content: %s\n", buf);
  expect_errno("ftruncate negative", ftruncate(fd, -1), EINVAL);
  close(fd);
  fd = open("t.txt", O_RDONLY);
  expect_errno("ftruncate read-only fd", ftruncate(fd, 0), EINVAL);
  close(fd);
  expect_errno("truncate missing", truncate("missing", 0), ENOENT);
  mkdir("tdir", 0755);
  expect_errno("truncate dir", truncate("tdir", 0), EISDIR);
  rmdir("tdir");
  unlink("t.txt");
}

static void test_stdio(void) {
  printf("== stdio\n");
  FILE *f = fopen("stdio.txt", "w+");
  for (int i = 0; i < 100; i++) fprintf(f, "line %d %s\n", i, i % 2 ? "odd" : "even");
  printf("ftell after writes: %ld\n", ftell(f));
  rewind(f);
  char line[64];
  int lines = 0;
  long sum = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    sum += (long)strlen(line);
  }
  printf("lines %d bytes %ld\n", lines, sum);
  fseek(f, -9, SEEK_END);
  if (fgets(line, sizeof line, f)) printf("tail: %s", line);
  fclose(f);
  f = fopen("missing/x", "r");
  printf("fopen missing: %s %s\n", f ? "ok" : "NULL", ename(errno));
  unlink("stdio.txt");
  f = fopen("/dev/null", "r+");
  printf("/dev/null: write %zu read %zu\n", fwrite("abc", 1, 3, f), fread(line, 1, 3, f));
  fclose(f);
}

int main(int argc, char **argv) {
  const char *dirname = argc > 1 ? argv[1] : "files-test.dir";
  umask(022);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (mkdir(dirname, 0755) != 0) {
    printf("cannot create work dir: %s\n", ename(errno));
    return 2;
  }
  if (chdir(dirname) != 0) return 2;
  test_basic_io();
  test_open_errors();
  test_stat();
  test_dirs();
  test_fds();
  test_pipes();
  test_access_cwd(dirname);
  test_truncate();
  test_stdio();
  unlink("a.txt");
  if (chdir("..") != 0) failures++;
  show("rmdir work dir", rmdir(dirname));
  struct stat st;
  printf("work dir removed: %d\n", stat(dirname, &st) != 0 && errno == ENOENT);
  printf("files: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
