/*
 * The smallest test: a line on stdout and one on stderr. With the argument
 * "stdin" it also copies standard input to standard output and reports the
 * number of bytes and lines read.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  printf("Hello, world!\n");
  fprintf(stderr, "hello on stderr\n");
  if (argc > 1 && strcmp(argv[1], "stdin") == 0) {
    char buf[4096];
    size_t n, bytes = 0, lines = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
      for (size_t i = 0; i < n; i++) lines += buf[i] == '\n';
      bytes += n;
      fwrite(buf, 1, n, stdout);
    }
    printf("stdin: %zu bytes, %zu lines\n", bytes, lines);
  }
  return 0;
}
