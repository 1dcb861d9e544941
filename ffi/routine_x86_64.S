/*
 * nsh spawn routine for x86-64 Linux (GNU as, Intel syntax).
 *
 * The bytes of this file are embedded in routine_x86_64.ts; tests/routine_test.ts
 * re-assembles this source when `as` and `objcopy` are present and compares.
 * Rebuild with: deno task routine
 *
 * Two entry points, both System V calls from Deno FFI:
 *
 *   offset 0:  long nsh_syscall(long nr, long a0, long a1, long a2, long a3,
 *                               long a4, long a5)
 *              A raw system call that returns -errno on failure. Used for the
 *              `nonblocking` FFI calls: they run on a pool thread, where libc's
 *              thread-local errno cannot be read back from JavaScript.
 *
 *   offset 32: long nsh_spawn(struct header *h)
 *              Blocks every signal in the calling thread, calls clone(2) with
 *              h->flags on h->stack (or clone3(2) with h->cloneargs, which can
 *              make the child in a cgroup), restores the mask and returns the pid or
 *              -errno. The child never returns: it walks the step table and
 *              stops at a successful execve, or reports the first failing
 *              step and exits 127.
 *
 * The child runs between clone and execve of a multithreaded V8 process, so it
 * only makes raw system calls: no stack use, no libc, no locks, no allocation.
 * Its state lives in callee-saved registers, which clone preserves, so a child
 * created by a clone *step* (a second vfork) resumes the loop right after it.
 *
 * struct header (all fields 8 bytes):
 *    0 flags       clone flags, exit signal in the low byte
 *    8 stack       top of the child's stack
 *   16 ptid        parent_tid argument of clone (0 unless asked)
 *   24 steps       address of the first step
 *   32 count       number of steps
 *   40 errfd       pipe to write the error record to, or -1
 *   48 allmask     sigset with every signal (all bits set)
 *   56 oldmask     the caller's mask, saved here by nsh_spawn
 *   64 errstep     written by the child: index of the failing step
 *   72 errno       written by the child: its errno
 *   80 eacces      written by the child: -EACCES once a TRY step met it
 *   88 forkstep    written by the parent half of a clone step: its index,
 *                  with bit 62 set (so that a reader can tell it from an error)
 *   96 forkpid     written there too: the pid of the new child
 *  104 cloneargs   address of a struct clone_args (88 bytes, CLONE_ARGS_SIZE_VER2)
 *                  for clone3, or 0 for clone with the fields above
 *
 * struct step (9 fields of 8 bytes = 72 bytes):
 *    0 nr          system call number
 *    8..48 a0..a5  arguments
 *   56 flags       bit i (0..5): argument i is the address of a u64 to load
 *                  bit 8:  IGNORE, a failure does not stop the program
 *                  bit 9:  EXIT_IF_PARENT, a positive result ends this process
 *                          with status 0 (the parent half of a clone step),
 *                          after recording the result at forkstep/forkpid and
 *                          writing that record to errfd (when there is one:
 *                          without CLONE_VM the parent cannot read the header)
 *                  bit 10: ZERO_FAILS, a result of 0 is a failure (ECANCELED)
 *                  bit 11: TRY, one candidate of a PATH search (as execvp(3)):
 *                          ENOENT and ENOTDIR go on to the next step,
 *                          EACCES is remembered and goes on, others fail
 *                  bit 12: LAST, the last candidate: ENOENT or ENOTDIR become
 *                          EACCES when a TRY step met it
 *                  With TRY or LAST, as sh searches, EACCES counts only when
 *                  the file exists (faccessat F_OK): a directory on the way
 *                  that cannot be searched holds no program, as for ENOENT.
 *                  bit 13: NOEXEC_NEXT, ENOEXEC goes on to the next step (a
 *                          file the kernel cannot run, such as a script
 *                          without #!), checked before TRY and LAST
 *                  bit 14: IF_NOEXEC, the step runs only when the step
 *                          before it failed with ENOEXEC, and is skipped
 *                          otherwise: execve("/bin/sh", [sh, file, args…])
 *                          after a candidate, as execvp(3) does (POSIX)
 *                  bit 15: ONLY_IF, the step runs only when the result of
 *                          the step whose index is in bits 32..63 is
 *                          positive (bits 16 and 17 clear: the parent half of
 *                          a clone step, which got a pid), zero (bit 16: the
 *                          clone's child half, a call that succeeded) or
 *                          negative (bit 17: a call that failed); skipped
 *                          otherwise. A skipped step keeps its result 0.
 *   64 result      written by the child: the raw return value
 */
        .intel_syntax noprefix
        .text
        .globl nsh_syscall
nsh_syscall:
        mov     rax, rdi
        mov     rdi, rsi
        mov     rsi, rdx
        mov     rdx, rcx
        mov     r10, r8
        mov     r8, r9
        mov     r9, [rsp+8]
        syscall
        ret

        .balign 32
        .globl nsh_spawn
nsh_spawn:
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        mov     rbx, rdi
        /* rt_sigprocmask(SIG_SETMASK, &allmask, &oldmask, 8): a signal handler
           of the parent must never run on the child's stack. */
        mov     eax, 14
        mov     edi, 2
        lea     rsi, [rbx+48]
        lea     rdx, [rbx+56]
        mov     r10d, 8
        syscall
        /* clone3(&args, 88) when the header has clone_args (the child made
           in a cgroup: CLONE_INTO_CGROUP), else clone(flags, stack, ptid,
           ctid = 0, tls = 0). clone3 starts the child on args.stack +
           args.stack_size, the same top as clone's. */
        mov     rdi, [rbx+104]
        test    rdi, rdi
        jz      21f
        mov     eax, 435
        mov     esi, 88
        syscall
        jmp     22f
21:     mov     eax, 56
        mov     rdi, [rbx]
        mov     rsi, [rbx+8]
        mov     rdx, [rbx+16]
        xor     r10d, r10d
        xor     r8d, r8d
        syscall
22:     test    rax, rax
        jz      .Lchild
        mov     r12, rax
        /* rt_sigprocmask(SIG_SETMASK, &oldmask, NULL, 8) */
        mov     eax, 14
        mov     edi, 2
        lea     rsi, [rbx+56]
        xor     edx, edx
        mov     r10d, 8
        syscall
        mov     rax, r12
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        ret

.Lchild:
        mov     r12, [rbx+24]           /* current step */
        mov     r13, [rbx+32]           /* number of steps */
        xor     r14d, r14d              /* index of the current step */
.Lloop:
        cmp     r14, r13
        jae     .Ldone
        mov     r15, [r12+56]
        test    r15d, 0x4000            /* IF_NOEXEC */
        jz      13f
        cmp     qword ptr [r12-8], -8   /* the result of the step before: ENOEXEC? */
        jne     .Lnext
13:     test    r15d, 0x8000            /* ONLY_IF */
        jz      15f
        mov     rax, r15
        shr     rax, 32                 /* the index of the step it depends on */
        imul    rax, rax, 72
        add     rax, [rbx+24]
        mov     rax, [rax+64]           /* its result */
        test    r15d, 0x10000           /* when zero */
        jz      16f
        test    rax, rax
        jnz     .Lnext
        jmp     15f
16:     test    r15d, 0x20000           /* when negative */
        jz      17f
        test    rax, rax
        jns     .Lnext
        jmp     15f
17:     test    rax, rax                /* when positive */
        jle     .Lnext
15:     mov     rdi, [r12+8]
        test    r15d, 1
        jz      1f
        mov     rdi, [rdi]
1:      mov     rsi, [r12+16]
        test    r15d, 2
        jz      2f
        mov     rsi, [rsi]
2:      mov     rdx, [r12+24]
        test    r15d, 4
        jz      3f
        mov     rdx, [rdx]
3:      mov     r10, [r12+32]
        test    r15d, 8
        jz      4f
        mov     r10, [r10]
4:      mov     r8, [r12+40]
        test    r15d, 16
        jz      5f
        mov     r8, [r8]
5:      mov     r9, [r12+48]
        test    r15d, 32
        jz      6f
        mov     r9, [r9]
6:      mov     rax, [r12]
        syscall
        mov     [r12+64], rax
        test    r15d, 0x400
        jz      7f
        test    rax, rax
        jnz     7f
        mov     rax, -125               /* -ECANCELED */
7:      cmp     rax, -4095
        jae     .Lfail
        test    r15d, 0x200
        jz      .Lnext
        test    rax, rax
        jz      .Lnext
        mov     [rbx+96], rax
        mov     rax, 0x4000000000000000
        or      rax, r14
        mov     [rbx+88], rax
        mov     rdi, [rbx+40]
        test    rdi, rdi
        js      12f
        mov     eax, 1                  /* write(errfd, &forkstep, 16) */
        lea     rsi, [rbx+88]
        mov     edx, 16
        syscall
12:     mov     eax, 231                /* exit_group(0) */
        xor     edi, edi
        syscall
.Lnext:
        add     r12, 72
        inc     r14
        jmp     .Lloop
.Lfail:
        test    r15d, 0x2000            /* NOEXEC_NEXT */
        jz      14f
        cmp     rax, -8                 /* ENOEXEC: on to the step that runs sh */
        je      .Lnext
14:     test    r15d, 0x1800            /* TRY or LAST: a PATH candidate */
        jz      10f
        cmp     rax, -13                /* EACCES */
        jne     8f
        mov     rsi, rdi                /* faccessat(AT_FDCWD, path, F_OK) */
        mov     rdi, -100
        xor     edx, edx
        mov     eax, 269
        syscall
        test    rax, rax
        mov     rax, -2                 /* no such file: as ENOENT */
        jnz     8f
        mov     rax, -13
        mov     [rbx+80], rax
8:      test    r15d, 0x800             /* TRY */
        jz      9f
        cmp     rax, -2                 /* ENOENT */
        je      .Lnext
        cmp     rax, -20                /* ENOTDIR */
        je      .Lnext
        cmp     rax, -13                /* EACCES, remembered */
        je      .Lnext
        jmp     10f
9:      cmp     rax, -2                 /* LAST */
        je      11f
        cmp     rax, -20
        jne     10f
11:     mov     rcx, [rbx+80]
        test    rcx, rcx
        jz      10f
        mov     rax, rcx
10:     test    r15d, 0x100             /* IGNORE */
        jnz     .Lnext
        mov     [rbx+64], r14
        neg     rax
        mov     [rbx+72], rax
        mov     rdi, [rbx+40]
        test    rdi, rdi
        js      .Lexit
        mov     eax, 1                  /* write(errfd, &errstep, 16) */
        lea     rsi, [rbx+64]
        mov     edx, 16
        syscall
.Lexit:
        mov     eax, 231                /* exit_group(127) */
        mov     edi, 127
        syscall
.Ldone:
        mov     eax, 231                /* exit_group(0) */
        xor     edi, edi
        syscall
