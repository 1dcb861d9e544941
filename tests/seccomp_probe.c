/*
 * A probe for tests/seccomp_test.ts: makes raw system calls through each
 * x86-64 ABI and prints what they return, one line per call.
 *
 *   seccomp_probe CALL...    CALL is ABI:NR[:ARG...], ABI one of
 *                            64   the syscall instruction (native x86-64)
 *                            32   int $0x80 (i386, from this 64-bit process)
 *                            x32  the syscall instruction with bit 30 set
 *   seccomp_probe status     prints the Seccomp and NoNewPrivs lines of
 *                            /proc/self/status
 *
 * A result is printed as the kernel returns it: a negative number is -errno.
 * Built by the test with gcc; no C library call is made between the system
 * calls asked for, so a filter sees only those.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long call64(long nr, long a[6])
{
	long ret;
	register long r10 __asm__("r10") = a[3];
	register long r8 __asm__("r8") = a[4];
	register long r9 __asm__("r9") = a[5];
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static long call32(long nr, long a[6])
{
	int ret;
	/* int $0x80 takes ebx, ecx, edx, esi, edi (and ebp, not used here). */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"((int)nr), "b"((int)a[0]), "c"((int)a[1]), "d"((int)a[2]), "S"((int)a[3]),
			   "D"((int)a[4])
			 : "memory");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "status") == 0) {
		FILE *status = fopen("/proc/self/status", "r");
		char line[256];
		if (!status)
			return 2;
		while (fgets(line, sizeof line, status))
			if (strncmp(line, "Seccomp:", 8) == 0 || strncmp(line, "NoNewPrivs:", 11) == 0)
				fputs(line, stdout);
		return 0;
	}
	long results[64];
	int count = 0;
	for (int i = 1; i < argc && count < 64; i++) {
		char *abi = strtok(argv[i], ":");
		char *nr = strtok(NULL, ":");
		long a[6] = {0};
		char *arg;
		for (int j = 0; j < 6 && (arg = strtok(NULL, ":")); j++)
			a[j] = (long)strtoull(arg, NULL, 0);
		if (!abi || !nr)
			return 2;
		long n = strtol(nr, NULL, 0);
		if (strcmp(abi, "64") == 0)
			results[count++] = call64(n, a);
		else if (strcmp(abi, "32") == 0)
			results[count++] = call32(n, a);
		else if (strcmp(abi, "x32") == 0)
			results[count++] = call64(n | 0x40000000L, a);
		else
			return 2;
	}
	/* Printed after all calls, so that the calls asked for come first. */
	for (int i = 0; i < count; i++)
		printf("%ld\n", results[i]);
	return 0;
}
