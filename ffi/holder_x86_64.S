/*
 * nsh-holder for x86-64 Linux: a complete ELF executable of 214 bytes, which
 * nsh executes (from a memfd) to hold a shell context's namespaces open.
 *
 * The bytes are embedded in holder_x86_64.ts; tests/routine_test.ts
 * re-assembles this source when `as` and `objcopy` are present and compares.
 * Rebuild with: deno task routine
 *
 * It reaps every child it gets, and as PID 1 of a PID namespace it gets the
 * orphans of the namespace. nsh starts it with every signal blocked (only
 * SIGKILL ends it: Ctrl-C in the shell must not), and with the parent-death
 * signal set, so that it never outlives the shell:
 *
 *   prctl(PR_SET_NAME, "nsh-holder"), so that ps shows what it is
 *   loop: wait4(-1, NULL, __WALL, NULL)
 *         no child left (ECHILD): rt_sigtimedwait({SIGCHLD}) until one exits
 *
 * The ELF header and the one program header are written out by hand: the file
 * is loaded at 0x400000 as one read+execute segment and needs no linker.
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
loop:
        mov     eax, 61                         /* wait4(-1, NULL, __WALL, NULL) */
        mov     rdi, -1
        xor     esi, esi
        mov     edx, 0x40000000
        xor     r10d, r10d
        syscall
        cmp     rax, -10                        /* -ECHILD */
        jne     loop
        mov     eax, 128                        /* rt_sigtimedwait(&sigchld, NULL, NULL, 8) */
        lea     rdi, [rip + sigchld]
        xor     esi, esi
        xor     edx, edx
        mov     r10d, 8
        syscall
        jmp     loop
sigchld:
        .quad   1 << 16                         /* SIGCHLD is 17: bit 16 */
name:
        .asciz  "nsh-holder"
end:
