/*
 * nsh-init for x86-64 Linux: a complete ELF executable, which nsh executes
 * (from a memfd) as the parent of a sandbox's program, as bubblewrap runs a
 * process of its own as PID 1 of a new PID namespace: it reaps every child it
 * gets (as PID 1, the orphans of the namespace), tells nsh the program's
 * status as soon as the program ends, and ends itself when it has no child
 * left, with that status. (The namespace ends with its PID 1.)
 *
 * The bytes are embedded in init_x86_64.ts; tests/routine_test.ts
 * re-assembles this source when `as` and `objcopy` are present and compares.
 * Rebuild with: deno task routine
 *
 * What nsh gives it:
 *   - descriptor 0: where to report the program's wait status (as wait(2)
 *     gives it), as one 8-byte little-endian word; it is closed after;
 *   - the program: pid 2 when it is PID 1 (the first process it made in the
 *     namespace), else its only child, the first it reaps;
 *   - every signal blocked (only SIGKILL ends it).
 *
 *   prctl(PR_SET_NAME, "nsh-init"), so that ps shows what it is
 *   loop: wait4(-1, &status, __WALL, NULL)
 *         the program: report its status on descriptor 0, close it
 *         no child left (ECHILD): exit with the program's exit code, or
 *         128 + N when signal N ended it (bubblewrap's encoding); 1 if unknown
 *
 * The ELF header and the one program header are written out by hand: the file
 * is loaded at 0x400000 as one read+execute segment and needs no linker. It
 * keeps its status word and report on the stack.
 */
        .intel_syntax noprefix
        .set    BASE, 0x400000
        .text
ehdr:
        .byte   0x7f, 'E', 'L', 'F', 2, 1, 1, 0 /* 64-bit, little-endian, version 1, System V */
        .quad   0
        .short  2                               /* e_type: ET_EXEC */
        .short  0x3e                            /* e_machine: x86-64 */
        .int    1                               /* e_version */
        .quad   BASE + start - ehdr             /* e_entry */
        .quad   phdr - ehdr                     /* e_phoff */
        .quad   0                               /* e_shoff: no sections */
        .int    0                               /* e_flags */
        .short  64                              /* e_ehsize */
        .short  56                              /* e_phentsize */
        .short  1                               /* e_phnum */
        .short  0, 0, 0                         /* e_shentsize, e_shnum, e_shstrndx */
phdr:
        .int    1                               /* p_type: PT_LOAD */
        .int    5                               /* p_flags: read, execute */
        .quad   0                               /* p_offset */
        .quad   BASE                            /* p_vaddr */
        .quad   BASE                            /* p_paddr */
        .quad   end - ehdr                      /* p_filesz */
        .quad   end - ehdr                      /* p_memsz */
        .quad   0x1000                          /* p_align */
start:
        mov     eax, 157                        /* prctl(PR_SET_NAME, name) */
        mov     edi, 15
        lea     rsi, [rip + name]
        syscall
        sub     rsp, 16                         /* [rsp]: wait status, [rsp+8]: the report */
        mov     r13d, 1                         /* the exit status until the program's is known */
        xor     r12d, r12d                      /* the program: 0 for the first child reaped */
        mov     eax, 39                         /* getpid() */
        syscall
        cmp     rax, 1
        jne     loop
        mov     r12d, 2                         /* PID 1: the program is the first process it made */
loop:
        mov     eax, 61                         /* wait4(-1, &status, __WALL, NULL) */
        mov     rdi, -1
        mov     rsi, rsp
        mov     edx, 0x40000000
        xor     r10d, r10d
        syscall
        cmp     rax, -4                         /* -EINTR */
        je      loop
        test    rax, rax
        js      done                            /* -ECHILD: no child left */
        test    r12, r12
        jz      program
        cmp     rax, r12
        jne     loop
program:
        mov     ecx, [rsp]
        mov     eax, ecx
        and     eax, 0x7f                       /* the signal that ended it, if one did */
        jz      exited
        add     eax, 128
        jmp     report
exited:
        mov     eax, ecx
        shr     eax, 8
        and     eax, 0xff                       /* its exit code */
report:
        mov     r13d, eax
        mov     [rsp+8], rcx                    /* the wait status, zero-extended */
        mov     eax, 1                          /* write(0, &report, 8) */
        xor     edi, edi
        lea     rsi, [rsp+8]
        mov     edx, 8
        syscall
        mov     eax, 3                          /* close(0) */
        xor     edi, edi
        syscall
        mov     r12, -1                         /* reported: no other child is the program */
        jmp     loop
done:
        mov     eax, 231                        /* exit_group(status) */
        mov     edi, r13d
        syscall
name:
        .asciz  "nsh-init"
end:
