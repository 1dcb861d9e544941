/* The floor for bench/run.ts: clone + execve + wait in a loop, with the
 * same namespace flags as the engine, from a small C process. Built by the bench
 * with `cc -O2`; prints the mean microseconds per spawn on stdout.
 *
 * usage: floor N FLAGS PROGRAM   (FLAGS: clone flags as a decimal number) */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *program;
static char stack[64 * 1024];

static int child(void *arg) {
  (void)arg;
  char *argv[] = {program, NULL};
  char *envp[] = {NULL};
  execve(program, argv, envp);
  _exit(127);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: floor N FLAGS PROGRAM\n");
    return 2;
  }
  long n = atol(argv[1]);
  int flags = (int)strtol(argv[2], NULL, 10);
  program = argv[3];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    pid_t pid = clone(child, stack + sizeof stack, flags | SIGCHLD, NULL);
    if (pid < 0) {
      perror("clone");
      return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "floor: child failed\n");
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
  printf("%.1f\n", us);
  return 0;
}
