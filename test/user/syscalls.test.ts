/**
 * The file-system, time and information system calls.
 *
 * Part one checks the host helpers they stand on (lseek and F_SETFL through
 * WASI, FIFO-backed pipes, directories in kernel order, made-up /proc
 * files) directly.  Part two compiles small focused C programs (kept here,
 * built into .cache/syscall-tests/<hash>/) and runs each under qemu-riscv64
 * and under tsemu-riscv64: stdout, stderr and the exit status must match.
 * Programs that inspect files do so in a fixture directory that both runs
 * share; programs that create files do it in a fresh directory of their own.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HostFdControl } from "../../src/host/fdctl.js";
import { makePipe } from "../../src/host/pipe.js";
import { readDirectory, DT_DIR, DT_LNK, DT_REG } from "../../src/host/dir.js";
import { makeMemFile } from "../../src/host/memfile.js";
import * as tty from "../../src/host/tty.js";
import { repoRoot, which } from "../util/env.js";

const CC = process.env.RISCV_CC ?? "riscv64-linux-gnu-gcc";
const QEMU = process.env.QEMU_CMD ?? "qemu-riscv64";
const SYSROOT = "/usr/riscv64-linux-gnu";
const RUN_TIMEOUT_MS = 60_000;

const ROOT = repoRoot(import.meta.url);
const CLI = path.join(ROOT, "dist", "src", "cli", "tsemu-riscv64.js");

function tmpdir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// ---------------------------------------------------------------------------
// Part one: host helpers

describe("host helpers", () => {
  let dir = "";
  before(() => { dir = tmpdir("tsemu-sys-unit-"); });
  after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

  test("HostFdControl moves the host file position (lseek)", () => {
    const file = path.join(dir, "seek");
    fs.writeFileSync(file, "0123456789");
    const fd = fs.openSync(file, "r");
    try {
      const c = HostFdControl.open(fd);
      assert.ok(c !== undefined, "WASI unavailable");
      assert.equal(c.seek(4n, 0), 4n);
      const b = Buffer.alloc(3);
      fs.readSync(fd, b, 0, 3, null);
      assert.equal(b.toString(), "456");
      assert.equal(c.seek(0n, 1), 7n);
      assert.equal(c.seek(-2n, 2), 8n);
      fs.readSync(fd, b, 0, 2, null);
      assert.equal(b.subarray(0, 2).toString(), "89");
      assert.equal(c.seek(-20n, 0), -22); // EINVAL
    } finally {
      fs.closeSync(fd);
    }
  });

  test("HostFdControl sets O_APPEND on the host descriptor (F_SETFL)", () => {
    const file = path.join(dir, "append");
    fs.writeFileSync(file, "abc");
    const fd = fs.openSync(file, "r+");
    try {
      const c = HostFdControl.open(fd);
      assert.ok(c !== undefined);
      assert.equal(c.setFlags(1), 0);
      fs.writeSync(fd, "XY", null);
      assert.equal(fs.readFileSync(file, "utf8"), "abcXY");
    } finally {
      fs.closeSync(fd);
    }
  });

  test("pipes: data, EOF, ESPIPE, non-blocking EAGAIN", () => {
    const [r, w] = makePipe(false);
    try {
      assert.ok(fs.fstatSync(r).isFIFO());
      fs.writeSync(w, "ping");
      const b = Buffer.alloc(16);
      assert.equal(fs.readSync(r, b, 0, 16, null), 4);
      assert.equal(HostFdControl.open(r)?.seek(0n, 1), -29);
      fs.closeSync(w);
      assert.equal(fs.readSync(r, b, 0, 16, null), 0);
    } finally {
      fs.closeSync(r);
    }
    const [nr, nw] = makePipe(true);
    try {
      assert.throws(() => fs.readSync(nr, Buffer.alloc(1), 0, 1, null), { code: "EAGAIN" });
    } finally {
      fs.closeSync(nr);
      fs.closeSync(nw);
    }
  });

  test("directories are read in the kernel's order with . and ..", () => {
    const d = path.join(dir, "list");
    fs.mkdirSync(d);
    for (const n of ["b", "a", "c", "longer name"]) fs.writeFileSync(path.join(d, n), "");
    fs.mkdirSync(path.join(d, "sub"));
    fs.symlinkSync("a", path.join(d, "ln"));
    const fd = fs.openSync(d, "r");
    try {
      const entries = readDirectory(fd);
      const names = entries.map((e) => Buffer.from(e.name).toString());
      assert.deepEqual([...names].sort(), [".", "..", "a", "b", "c", "ln", "longer name", "sub"]);
      const type = (n: string): number | undefined => entries.find((e) => Buffer.from(e.name).toString() === n)?.type;
      assert.equal(type("a"), DT_REG);
      assert.equal(type("sub"), DT_DIR);
      assert.equal(type("ln"), DT_LNK);
      assert.equal(entries.find((e) => Buffer.from(e.name).toString() === ".")?.ino, fs.statSync(d, { bigint: true }).ino);
      // The names other than the dots come in the order the kernel gives them.
      const dir2 = fs.opendirSync(d);
      const raw: string[] = [];
      for (let e = dir2.readSync(); e !== null; e = dir2.readSync()) raw.push(e.name);
      dir2.closeSync();
      assert.deepEqual(names.filter((n) => n !== "." && n !== ".."), raw);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("made-up /proc files are read-only with the given contents", () => {
    const fd = makeMemFile(new TextEncoder().encode("a\0b\0"));
    try {
      const b = Buffer.alloc(8);
      assert.equal(fs.readSync(fd, b, 0, 8, null), 4);
      assert.equal(b.subarray(0, 4).toString("latin1"), "a\0b\0");
      assert.throws(() => fs.writeSync(fd, "x"), { code: "EBADF" });
    } finally {
      fs.closeSync(fd);
    }
  });

  test("a regular file is not a terminal", () => {
    const fd = fs.openSync(path.join(dir, "append"), "r");
    try {
      assert.equal(tty.isatty(fd), false);
    } finally {
      fs.closeSync(fd);
    }
  });
});

// ---------------------------------------------------------------------------
// Part two: guest programs, tsemu against QEMU

const PRELUDE = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <termios.h>
#define CHECK(expr) do { errno = 0; long r_ = (long)(expr); \
  printf("%-50s = %ld %s\n", #expr, r_, r_ < 0 ? strerrorname_np(errno) : ""); } while (0)
`;

/** Program name -> C source (after PRELUDE). */
const PROGRAMS: Record<string, string> = {
  // Descriptors, positions, flags, links, renames, times, copies: in a directory of its own.
  fileops: String.raw`
int main(void) {
  char dir[] = "work-XXXXXX";
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
  CHECK(chdir(dir));
  umask(022);
  int fd = open("f1", O_CREAT | O_EXCL | O_RDWR, 0666);
  printf("fd=%d\n", fd);
  CHECK(open("f1", O_CREAT | O_EXCL | O_RDWR, 0666));
  CHECK(write(fd, "hello world\n", 12));
  CHECK(lseek(fd, 0, SEEK_CUR));
  CHECK(lseek(fd, 6, SEEK_SET));
  char buf[256] = {0};
  CHECK(read(fd, buf, 5)); printf("buf=%s\n", buf);
  CHECK(lseek(fd, -3, SEEK_END));
  CHECK(lseek(fd, -100, SEEK_SET));
  CHECK(lseek(fd, 0, 7));
  CHECK(lseek(fd, 100, SEEK_SET));
  CHECK(write(fd, "X", 1));
  struct stat st; fstat(fd, &st); printf("size=%ld mode=%o\n", (long)st.st_size, st.st_mode);
  CHECK(lseek(fd, 0, SEEK_DATA));
  CHECK(lseek(fd, 0, SEEK_HOLE));
  CHECK(lseek(fd, 200, SEEK_DATA));
  CHECK(ftruncate(fd, 5));
  CHECK(pread(fd, buf, 10, 0)); buf[5] = 0; printf("pread=%s\n", buf);
  CHECK(pwrite(fd, "HE", 2, 0));
  CHECK(lseek(fd, 0, SEEK_CUR));
  int d = dup(fd); printf("dup=%d\n", d);
  CHECK(lseek(d, 1, SEEK_SET));
  CHECK(lseek(fd, 0, SEEK_CUR));
  CHECK(dup3(fd, 10, O_CLOEXEC));
  CHECK(fcntl(10, F_GETFD));
  CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC));
  CHECK(fcntl(fd, F_GETFD));
  CHECK(fcntl(fd, F_DUPFD, 20));
  CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 20));
  CHECK(fcntl(21, F_GETFD));
  CHECK(fcntl(fd, F_GETFL));
  CHECK(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
  CHECK(fcntl(fd, F_GETFL));
  CHECK(write(fd, "tail", 4));
  CHECK(lseek(fd, 0, SEEK_CUR));
  CHECK(fcntl(fd, F_SETFL, 0));
  CHECK(fcntl(fd, F_GETFL));
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  CHECK(fcntl(fd, F_GETLK, &fl)); printf("l_type=%d\n", fl.l_type);
  CHECK(fcntl(fd, F_SETLK, &fl));
  CHECK(flock(fd, LOCK_EX));
  CHECK(dup3(fd, fd, 0));
  CHECK(dup2(fd, fd));
  CHECK(close(99));
  CHECK(dup(99));
  CHECK(fcntl(99, F_GETFD));
  struct termios t;
  CHECK(tcgetattr(fd, &t));
  CHECK(isatty(fd));
  int n = 0;
  CHECK(ioctl(fd, FIONREAD, &n)); printf("fionread=%d\n", n);
  CHECK(mkdir("sub", 0750));
  CHECK(mkdir("sub", 0750));
  CHECK(rmdir("nonexistent"));
  stat("sub", &st); printf("sub mode=%o\n", st.st_mode);
  CHECK(symlink("f1", "sl"));
  CHECK(readlink("sl", buf, sizeof buf));
  CHECK(link("f1", "hl"));
  stat("f1", &st); printf("nlink=%ld\n", (long)st.st_nlink);
  CHECK(rename("hl", "sub/hl2"));
  CHECK(renameat2(AT_FDCWD, "f1", AT_FDCWD, "sub/hl2", RENAME_NOREPLACE));
  CHECK(unlink("sub"));
  CHECK(rmdir("sub"));
  CHECK(access("f1", R_OK | W_OK));
  CHECK(access("nonexistent", F_OK));
  CHECK(faccessat(AT_FDCWD, "sl", F_OK, AT_SYMLINK_NOFOLLOW));
  CHECK(chmod("f1", 0600));
  stat("f1", &st); printf("mode=%o\n", st.st_mode);
  struct timespec ts[2] = { { 1000000000, 0 }, { 1200000000, 0 } };
  CHECK(utimensat(AT_FDCWD, "f1", ts, 0));
  stat("f1", &st); printf("atime=%ld mtime=%ld\n", (long)st.st_atime, (long)st.st_mtime);
  struct timespec ts2[2] = { { 0, UTIME_OMIT }, { 1300000000, 0 } };
  CHECK(utimensat(AT_FDCWD, "f1", ts2, 0));
  stat("f1", &st); printf("atime=%ld mtime=%ld\n", (long)st.st_atime, (long)st.st_mtime);
  struct timespec ts3[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
  CHECK(utimensat(AT_FDCWD, "f1", ts3, 0));
  stat("f1", &st); printf("atime=%ld.%09ld mtime=%ld.%09ld\n", (long)st.st_atime, st.st_atim.tv_nsec,
                          (long)st.st_mtime, st.st_mtim.tv_nsec);
  struct timespec ts4[2] = { { 7, UTIME_OMIT }, { 1500000000, 1 } };
  CHECK(futimens(fd, ts4));
  fstat(fd, &st); printf("atime=%ld.%09ld mtime=%ld.%09ld\n", (long)st.st_atime, st.st_atim.tv_nsec,
                         (long)st.st_mtime, st.st_mtim.tv_nsec);
  CHECK(utimensat(AT_FDCWD, "nonexistent", ts4, 0));
  CHECK(truncate("f1", 3));
  stat("f1", &st); printf("size=%ld\n", (long)st.st_size);
  CHECK(renameat2(AT_FDCWD, "f1", AT_FDCWD, "sl", RENAME_EXCHANGE));
  CHECK(readlink("f1", buf, sizeof buf));
  CHECK(renameat2(AT_FDCWD, "f1", AT_FDCWD, "sl", RENAME_EXCHANGE));
  CHECK(renameat2(AT_FDCWD, "f1", AT_FDCWD, "nonexistent", RENAME_EXCHANGE));
  int dfd = open("sub", O_RDONLY | O_DIRECTORY);
  CHECK(openat(dfd, "hl2", O_RDONLY) >= 0);
  CHECK(fstatat(dfd, "hl2", &st, 0));
  CHECK(fchdir(dfd));
  char cwd[4096]; getcwd(cwd, sizeof cwd); printf("cwd tail=%s\n", strrchr(cwd, '/'));
  CHECK(getcwd(cwd, 2) == NULL);
  CHECK(chdir(".."));
  CHECK(fchmod(fd, 0640));
  CHECK(fchown(fd, -1, -1));
  CHECK(fsync(fd));
  CHECK(fdatasync(fd));
  CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
  int in = open("f1", O_RDONLY), out = open("f2", O_CREAT | O_WRONLY, 0644);
  off_t off = 1;
  CHECK(sendfile(out, in, &off, 100)); printf("off=%ld\n", (long)off);
  CHECK(sendfile(out, in, NULL, 100));
  CHECK(copy_file_range(in, NULL, out, NULL, 10, 0));
  CHECK(lseek(in, 0, SEEK_SET));
  CHECK(copy_file_range(in, NULL, out, NULL, 10, 0));
  stat("f2", &st); printf("f2 size=%ld\n", (long)st.st_size);
  snprintf(buf, sizeof buf, "/proc/self/fd/%d", in);
  char lk[4096] = {0}; readlink(buf, lk, sizeof lk); printf("fd link tail=%s\n", strrchr(lk, '/'));
  FILE *f = fopen("f3", "w+"); fputs("line1\nline2\n", f); fseek(f, 6, SEEK_SET);
  fgets(buf, sizeof buf, f); printf("fgets=%s", buf); printf("ftell=%ld\n", ftell(f));
  rewind(f); fgets(buf, sizeof buf, f); printf("after rewind=%s", buf); fclose(f);
  CHECK(unlink("f1")); CHECK(unlink("f2")); CHECK(unlink("f3")); CHECK(unlink("sl"));
  CHECK(unlink("sub/hl2")); CHECK(rmdir("sub"));
  CHECK(chdir("..")); CHECK(rmdir(dir));
  CHECK(openat(-5, "x", O_RDONLY));
  CHECK(openat(fd, "x", O_RDONLY));
  CHECK(open("/etc/passwd", O_RDONLY | O_DIRECTORY));
  CHECK(open("/", O_WRONLY));
  CHECK(mkdir("", 0755));
  return 0;
}
`,

  // Pipes and descriptor plumbing.
  pipes: String.raw`
int main(void) {
  int p[2]; char buf[64] = {0}, lk[64] = {0};
  CHECK(pipe2(p, O_CLOEXEC)); printf("ends %d %d\n", p[0], p[1]);
  CHECK(fcntl(p[0], F_GETFD));
  CHECK(fcntl(p[0], F_GETFL));
  CHECK(fcntl(p[1], F_GETFL));
  CHECK(write(p[1], "through the pipe", 16));
  CHECK(read(p[0], buf, 7)); printf("got %s\n", buf);
  CHECK(lseek(p[0], 0, SEEK_CUR));
  CHECK(pread(p[0], buf, 1, 0));
  CHECK(fcntl(p[0], F_GETPIPE_SZ));
  struct stat st; fstat(p[0], &st); printf("fifo=%d\n", S_ISFIFO(st.st_mode));
  snprintf(buf, sizeof buf, "/proc/self/fd/%d", p[0]);
  readlink(buf, lk, sizeof lk); printf("link is a pipe: %d\n", strncmp(lk, "pipe:[", 6) == 0);
  int d = dup(p[1]);
  close(p[1]);
  CHECK(read(p[0], buf, sizeof buf));
  close(d);
  CHECK(read(p[0], buf, sizeof buf));
  close(p[0]);
  CHECK(pipe2(p, O_NONBLOCK));
  CHECK(fcntl(p[0], F_GETFL));
  CHECK(pipe2(p, 0x12345));
  CHECK(pipe2(NULL, 0));
  return 0;
}
`,

  // Directory listing in the kernel's order, seekdir/telldir/rewinddir, raw getdents64.
  listing: String.raw`
int main(int argc, char **argv) {
  DIR *dir = opendir(argv[1]);
  if (!dir) { perror("opendir"); return 1; }
  struct dirent *e; int n = 0; long pos = -1; char third[256] = "";
  while ((e = readdir(dir)) != NULL) {
    struct stat st;
    int ok = fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    printf("%-16s type=%d ino=%d\n", e->d_name, e->d_type,
           ok && (strcmp(e->d_name, "..") == 0 || st.st_ino == e->d_ino));
    if (++n == 2) pos = telldir(dir);
    if (n == 3) strcpy(third, e->d_name);
  }
  seekdir(dir, pos); e = readdir(dir);
  printf("seekdir back to the third: %d\n", e != NULL && strcmp(e->d_name, third) == 0);
  rewinddir(dir); int m = 0; while (readdir(dir)) m++;
  printf("count %d, after rewind %d\n", n, m);
  closedir(dir);
  int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
  char small[8];
  CHECK(syscall(SYS_getdents64, fd, small, sizeof small));
  char big[4096];
  long got = syscall(SYS_getdents64, fd, big, sizeof big);
  printf("getdents64 gave bytes: %d\n", got > 0);
  CHECK(syscall(SYS_getdents64, fd, big, sizeof big));
  int file = open("/dev/null", O_RDONLY);
  CHECK(syscall(SYS_getdents64, file, big, sizeof big));
  return 0;
}
`,

  // stat, lstat, fstat, statx, fstatat and statfs of the fixture.
  stats: String.raw`
static void show(const char *tag, struct stat *st) {
  printf("%s: dev=%u:%u ino=%lu mode=%o nlink=%lu uid=%u gid=%u rdev=%u:%u size=%ld blksize=%ld blocks=%ld\n", tag,
    major(st->st_dev), minor(st->st_dev), (unsigned long)st->st_ino, st->st_mode, (unsigned long)st->st_nlink,
    st->st_uid, st->st_gid, major(st->st_rdev), minor(st->st_rdev), (long)st->st_size, (long)st->st_blksize,
    (long)st->st_blocks);
  printf("  mtime=%ld.%09ld ctime=%ld.%09ld\n", st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
    st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0) show("stat", &st); else perror("stat");
    if (lstat(argv[i], &st) == 0) show("lstat", &st); else perror("lstat");
    struct statx sx;
    if (statx(AT_FDCWD, argv[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0)
      printf("statx: basic=%d mode=%o size=%llu ino=%llu dev=%u:%u rdev=%u:%u mtime=%lld.%09u nlink=%u blocks=%llu\n",
        (sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, sx.stx_mode, (unsigned long long)sx.stx_size,
        (unsigned long long)sx.stx_ino, sx.stx_dev_major, sx.stx_dev_minor, sx.stx_rdev_major, sx.stx_rdev_minor,
        (long long)sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec, sx.stx_nlink, (unsigned long long)sx.stx_blocks);
    else perror("statx");
    int fd = open(argv[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
      if (fstat(fd, &st) == 0) show("fstat", &st);
      if (fstatat(fd, "", &st, AT_EMPTY_PATH) == 0) show("empty path", &st);
      struct statfs sf;
      if (fstatfs(fd, &sf) == 0) printf("fstatfs type=%lx bsize=%ld namelen=%ld\n", (long)sf.f_type,
        (long)sf.f_bsize, (long)sf.f_namelen);
      close(fd);
    } else perror("open");
    int pfd = open(argv[i], O_PATH | O_NOFOLLOW);
    if (pfd >= 0) { printf("O_PATH flags=%#x\n", fcntl(pfd, F_GETFL)); close(pfd); }
  }
  struct stat st;
  CHECK(fstat(99, &st));
  CHECK(stat("/nonexistent/x", &st));
  CHECK(stat("", &st));
  CHECK(fstatat(AT_FDCWD, "x", &st, 0x4));
  return 0;
}
`,

  // The guest's view of itself through /proc/self.
  procself: String.raw`
int main(int argc, char **argv) {
  char exe[4096] = {0}, real[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  printf("exe: absolute=%d same file as argv[0]=%d\n", n > 0 && exe[0] == '/',
         realpath(argv[0], real) != NULL && strcmp(real, exe) == 0);
  int fd = open("/proc/self/cmdline", O_RDONLY);
  char cmd[4096]; ssize_t len = read(fd, cmd, sizeof cmd); close(fd);
  int args = 0; for (ssize_t i = 0; i < len; i++) if (cmd[i] == 0) args++;
  printf("cmdline: %zd bytes, %d args, last=%s\n", len, args, len > 1 ? cmd + len - 1 - strlen(argv[argc - 1]) : "");
  fd = open("/proc/self/auxv", O_RDONLY);
  unsigned long aux[128]; len = read(fd, aux, sizeof aux); close(fd);
  int same = len > 0;
  for (int i = 0; i + 1 < len / 8; i += 2) if (aux[i] != 0 && getauxval(aux[i]) != aux[i + 1]) same = 0;
  printf("auxv matches getauxval: %d, ends with AT_NULL: %d\n", same, len >= 16 && aux[len / 8 - 2] == 0);
  int keep = open("/dev/null", O_RDONLY);
  DIR *d = opendir("/proc/self/fd");
  int seen = 0; struct dirent *e;
  while ((e = readdir(d)) != NULL) if (atoi(e->d_name) == keep) seen = 1;
  closedir(d);
  printf("/proc/self/fd lists %d: %d\n", keep, seen);
  char lk[256] = {0}, p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", keep);
  readlink(p, lk, sizeof lk); printf("%s -> %s\n", "fd link", lk);
  snprintf(p, sizeof p, "/dev/fd/%d", keep);
  struct stat a, b; stat(p, &a); stat("/dev/null", &b);
  printf("/dev/fd/N is the file: %d\n", a.st_rdev == b.st_rdev);
  FILE *m = fopen("/proc/self/maps", "r"); char line[512]; int stack = 0;
  while (fgets(line, sizeof line, m)) if (strstr(line, "[stack]")) stack = 1;
  fclose(m);
  printf("maps shows the stack: %d\n", stack);
  return 0;
}
`,

  clocks: String.raw`
static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  struct timespec a, b, r;
  int clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
    CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, 10, CLOCK_TAI, 12, 100 };
  for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
    int c = clocks[i];
    int e1 = clock_gettime(c, &a), e2 = clock_gettime(c, &b);
    int e3 = clock_getres(c, &r);
    printf("clock %d: get=%d/%d monotonic=%d res=%d\n", c, e1, e2, e1 == 0 && ns(b) >= ns(a), e3);
  }
  struct timespec m0, m1;
  clock_gettime(CLOCK_MONOTONIC, &m0);
  for (int i = 0; i < 1000; i++) { clock_gettime(CLOCK_MONOTONIC, &m1); if (ns(m1) < ns(m0)) { printf("went back\n"); break; } m0 = m1; }
  clock_gettime(CLOCK_REALTIME, &a);
  struct timeval tv; gettimeofday(&tv, NULL);
  long long d = tv.tv_sec * 1000000LL + tv.tv_usec - ns(a) / 1000;
  printf("gettimeofday agrees with CLOCK_REALTIME: %d\n", d >= 0 && d < 100000);
  printf("time() agrees: %d\n", time(NULL) - a.tv_sec <= 1);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec req = { 0, 50000000 };
  CHECK(nanosleep(&req, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("slept at least 50 ms: %d, less than 2 s: %d\n", ns(b) - ns(a) >= 50000000, ns(b) - ns(a) < 2000000000);
  clock_gettime(CLOCK_MONOTONIC, &a);
  struct timespec until = { a.tv_sec + (a.tv_nsec + 30000000) / 1000000000, (a.tv_nsec + 30000000) % 1000000000 };
  printf("absolute sleep: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("woke after the deadline: %d\n", ns(b) >= ns(until));
  struct timespec bad = { 0, 1000000000 };
  CHECK(nanosleep(&bad, NULL));
  printf("thread cpu clock sleep: %d\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &req, NULL));
  printf("bad clock sleep: %d\n", clock_nanosleep(42, 0, &req, NULL));
  printf("coarse clock sleep: %d\n", clock_nanosleep(CLOCK_MONOTONIC_COARSE, 0, &req, NULL));
  struct tms tm; clock_t c0 = times(&tm);
  printf("times: %d\n", c0 != (clock_t)-1 && tm.tms_cutime == 0);
  clockid_t cid;
  printf("process cpu clock: %d\n", clock_getcpuclockid(0, &cid) == 0 && clock_gettime(cid, &a) == 0);
  return 0;
}
`,

  sysinfo: String.raw`
int main(void) {
  struct utsname u; uname(&u);
  printf("sysname=%s machine=%s release=%s\nversion=%s\nnodename=%s domainname=%s\n", u.sysname, u.machine,
         u.release, u.version, u.nodename, u.domainname);
  struct rlimit rl;
  int res[] = { RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_MEMLOCK,
    RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME };
  for (unsigned i = 0; i < sizeof res / sizeof *res; i++) {
    getrlimit(res[i], &rl); printf("rlimit %d: %lld %lld\n", res[i], (long long)rl.rlim_cur, (long long)rl.rlim_max);
  }
  CHECK(getrlimit(99, &rl));
  struct rlimit nl = { 4096 * 1024, RLIM_INFINITY }, old;
  CHECK(prlimit(0, RLIMIT_FSIZE, &nl, &old));
  getrlimit(RLIMIT_FSIZE, &rl); printf("fsize now %lld\n", (long long)rl.rlim_cur);
  struct rlimit inverted = { 10, 5 };
  CHECK(setrlimit(RLIMIT_FSIZE, &inverted));
  struct sysinfo si; int r = sysinfo(&si);
  printf("sysinfo=%d unit=%u procs>0=%d ram>0=%d\n", r, si.mem_unit, si.procs > 0, si.totalram > 0);
  char rb[64];
  CHECK(getrandom(rb, sizeof rb, 0));
  CHECK(getrandom(rb, sizeof rb, 0x100));
  char name[17] = {0};
  CHECK(prctl(PR_SET_NAME, "a-rather-long-thread-name"));
  prctl(PR_GET_NAME, name); printf("name=%s\n", name);
  CHECK(prctl(PR_GET_DUMPABLE));
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  CHECK(prctl(12345));
  cpu_set_t set; CPU_ZERO(&set);
  CHECK(sched_getaffinity(0, sizeof set, &set)); printf("cpus=%d\n", CPU_COUNT(&set));
  printf("nprocs=%d\n", get_nprocs());
  CHECK(sched_yield());
  unsigned cpu = 99, node = 99;
  CHECK(getcpu(&cpu, &node)); printf("cpu in set=%d node=%u\n", CPU_ISSET(cpu, &set), node);
  printf("personality=%#x\n", personality(0xffffffff));
  printf("pgid is getpgrp: %d, sid is getsid(pid): %d\n", getpgid(0) == getpgrp(), getsid(0) == getsid(getpid()));
  CHECK(getpgid(999999999));
  printf("groups=%d\n", getgroups(0, NULL));
  uid_t ru, eu, su; getresuid(&ru, &eu, &su); printf("resuid matches: %d\n", ru == getuid() && eu == geteuid());
  CHECK(setuid(getuid()));
  CHECK(syscall(SYS_membarrier, 0, 0, 0));
  CHECK(syscall(293, 0, 0, 0, 0));
  CHECK(syscall(258, 0, 0, 0, 0, 0));
  struct rusage ru2; CHECK(getrusage(RUSAGE_SELF, &ru2)); printf("maxrss>0: %d\n", ru2.ru_maxrss > 0);
  CHECK(getrusage(7, &ru2));
  CHECK(getpriority(PRIO_PROCESS, 0));
  printf("pagesize=%ld clk_tck=%ld\n", sysconf(_SC_PAGESIZE), sysconf(_SC_CLK_TCK));
  return 0;
}
`,

  // Terminal settings and window size; run inside a pseudo-terminal.
  terminal: String.raw`
int main(void) {
  printf("isatty 0=%d 1=%d\n", isatty(0), isatty(1));
  struct termios t;
  if (tcgetattr(1, &t) != 0) { printf("tcgetattr: %s\n", strerrorname_np(errno)); return 0; }
  printf("iflag=%x oflag=%x cflag=%x lflag=%x cc:", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
  for (int i = 0; i < 17; i++) printf(" %x", t.c_cc[i]);
  printf("\n");
  struct termios raw = t; cfmakeraw(&raw);
  CHECK(tcsetattr(1, TCSANOW, &raw));
  struct termios u; tcgetattr(1, &u); printf("raw lflag=%x iflag=%x\n", u.c_lflag, u.c_iflag);
  CHECK(tcsetattr(1, TCSANOW, &t));
  tcgetattr(1, &u); printf("restored lflag=%x\n", u.c_lflag);
  struct winsize ws;
  CHECK(ioctl(1, TIOCGWINSZ, &ws)); printf("winsize %d x %d\n", ws.ws_row, ws.ws_col);
  printf("foreground group is ours: %d\n", tcgetpgrp(1) == getpgrp());
  return 0;
}
`,
};

let built: Map<string, string> | undefined;

/** Compile every program (cached by the hash of the sources and the compiler's identity). */
function build(): Map<string, string> {
  if (built !== undefined) return built;
  if (which(CC) === undefined) throw new Error(`${CC} not found: run scripts/deps.sh user`);
  const version = spawnSync(CC, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
  const hash = createHash("sha256").update(version).update("static and dynamic, -O2").update(PRELUDE)
    .update(JSON.stringify(PROGRAMS)).digest("hex").slice(0, 16);
  const out = path.join(ROOT, ".cache", "syscall-tests", hash);
  const result = new Map<string, string>();
  fs.mkdirSync(out, { recursive: true });
  for (const [name, body] of Object.entries(PROGRAMS)) {
    const exe = path.join(out, name);
    result.set(name, exe);
    if (fs.existsSync(exe) && fs.existsSync(`${exe}.dyn`)) continue;
    const src = path.join(out, `${name}.c`);
    fs.writeFileSync(src, PRELUDE + body);
    for (const [file, link] of [[exe, ["-static"]], [`${exe}.dyn`, []]] as const) {
      const r = spawnSync(CC, ["-O2", ...link, "-Wall", "-Wno-unused-result", "-o", `${file}.tmp`, src], {
        encoding: "utf8",
      });
      if (r.status !== 0) throw new Error(`compiling ${name} failed:\n${r.stderr}`);
      fs.renameSync(`${file}.tmp`, file);
    }
  }
  built = result;
  return result;
}

interface Run { stdout: string; stderr: string; status: number | null; signal: string | null }

const GUEST_ENV = { PATH: "/usr/bin:/bin", LANG: "C", LC_ALL: "C", TZ: "UTC", HOME: "/nonexistent" };

function runUnder(emulator: string[], exe: string, args: string[], cwd: string): Run {
  const r = spawnSync(emulator[0], [...emulator.slice(1), exe, ...args], {
    cwd, env: GUEST_ENV, input: "", encoding: "latin1", timeout: RUN_TIMEOUT_MS,
  });
  if (r.error !== undefined) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

/**
 * Run a program under both emulators, each in a fresh working directory, and
 * compare; `dynamic` runs the dynamically linked build with -L.
 */
function compare(name: string, args: string[] = [], dynamic = false): void {
  if (which(QEMU) === undefined) throw new Error(`${QEMU} not found: run scripts/deps.sh user`);
  assert.ok(fs.existsSync(CLI), `${CLI} does not exist: run npm run build first`);
  const exe = (build().get(name) as string) + (dynamic ? ".dyn" : "");
  const opts = dynamic ? ["-L", SYSROOT] : [];
  const qDir = tmpdir("tsemu-sys-qemu-");
  const tDir = tmpdir("tsemu-sys-tsemu-");
  try {
    const ref = runUnder([QEMU, ...opts], exe, args, qDir);
    const got = runUnder([process.execPath, CLI, ...opts], exe, args, tDir);
    assert.equal(got.stdout, ref.stdout, `${name}: stdout differs`);
    assert.equal(got.stderr, ref.stderr, `${name}: stderr differs`);
    assert.deepEqual([got.status, got.signal], [ref.status, ref.signal], `${name}: exit differs`);
  } finally {
    fs.rmSync(qDir, { recursive: true, force: true });
    fs.rmSync(tDir, { recursive: true, force: true });
  }
}

describe("system calls: tsemu-riscv64 vs qemu-riscv64", () => {
  let fixture = "";
  before(() => {
    fixture = tmpdir("tsemu-sys-fixture-");
    fs.writeFileSync(path.join(fixture, "data"), "0123456789\n");
    fs.symlinkSync("data", path.join(fixture, "link"));
    fs.mkdirSync(path.join(fixture, "sub"));
    for (const n of ["one", "two", "three", "four", "five", "a name with spaces"]) {
      fs.writeFileSync(path.join(fixture, "sub", n), n);
    }
    fs.symlinkSync("../data", path.join(fixture, "sub", "up"));
    fs.mkdirSync(path.join(fixture, "sub", "deeper"));
    spawnSync("mkfifo", [path.join(fixture, "fifo")]);
    for (const n of ["data", "sub", "fifo"]) {
      const p = path.join(fixture, n);
      if (fs.existsSync(p)) fs.utimesSync(p, 1_600_000_000, 1_600_000_000.5);
    }
  });
  after(() => { fs.rmSync(fixture, { recursive: true, force: true }); });

  test("compile the test programs", { timeout: 300_000 }, () => { build(); });
  test("descriptors, positions, flags, links and times", () => compare("fileops"));
  test("the same, dynamically linked (-L)", () => compare("fileops", [], true));
  test("pipes", () => compare("pipes"));
  test("directory listing", () => compare("listing", [path.join(fixture, "sub")]));
  test("directory listing of the fixture root", () => compare("listing", [fixture]));
  test("stat, lstat, fstat, statx, statfs", () => {
    compare("stats", ["data", "link", "sub", "fifo", "/dev/null", "/"].map((n) => (n.startsWith("/") ? n : path.join(fixture, n))));
  });
  test("/proc/self as the guest sees it", () => compare("procself", ["first", "second arg"]));
  test("/proc/self, dynamically linked (-L)", () => compare("procself", ["x"], true));
  test("clocks and sleeping", () => compare("clocks"));
  test("uname, limits, sysinfo, prctl and friends", () => compare("sysinfo"));
  test("a character device that is not a terminal (/dev/null) is no terminal", () => {
    const exe = build().get("terminal") as string;
    const run = (cmd: string[]): string => {
      const devNull = fs.openSync("/dev/null", "r");
      try {
        const r = spawnSync(cmd[0], [...cmd.slice(1), exe], {
          encoding: "utf8", env: GUEST_ENV, timeout: RUN_TIMEOUT_MS, stdio: [devNull, "pipe", "pipe"],
        });
        return `${r.status} ${r.stdout}`;
      } finally {
        fs.closeSync(devNull);
      }
    };
    const ref = run([QEMU]);
    assert.match(ref, /isatty 0=0 1=0\ntcgetattr: ENOTTY/);
    assert.equal(run([process.execPath, CLI]), ref);
  });
  test("terminal settings through a pseudo-terminal", (t) => {
    if (which("script") === undefined || which("stty") === undefined) {
      t.skip("script(1) or stty(1) is missing");
      return;
    }
    const exe = build().get("terminal") as string;
    const inPty = (cmd: string): string => {
      const r = spawnSync("script", ["-q", "-e", "-c", `stty rows 33 cols 101; ${cmd}`, "/dev/null"], {
        encoding: "utf8", env: GUEST_ENV, timeout: RUN_TIMEOUT_MS, input: "",
      });
      return r.stdout.replace(/\r/g, "");
    };
    const ref = inPty(`${QEMU} ${exe}`);
    const got = inPty(`${process.execPath} ${CLI} ${exe}`);
    assert.match(ref, /winsize 33 x 101/);
    assert.equal(got, ref);
  });
});
