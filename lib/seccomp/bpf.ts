/**
 * Classic BPF as seccomp uses it: instructions and their bytes (`struct
 * sock_filter`), the checks the kernel makes before it accepts a filter, and
 * an interpreter that runs a filter on a `struct seccomp_data` the way the
 * kernel does, so that a filter can be tried without loading it.
 *
 * @module
 */

import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from "../../ffi/constants.ts";
import { errnoName } from "../../ffi/errno.ts";

/** One instruction: `struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }`. */
export interface BpfInstruction {
  /** The opcode. */
  readonly code: number;
  /** Instructions to skip when a conditional jump is taken. */
  readonly jt: number;
  /** Instructions to skip when it is not. */
  readonly jf: number;
  /** The constant operand. */
  readonly k: number;
}

/** The size of `struct seccomp_data`, which a filter reads. */
export const SECCOMP_DATA_SIZE = 64;

/**
 * What a filter sees of a system call: `struct seccomp_data { int nr; __u32
 * arch; __u64 instruction_pointer; __u64 args[6]; }`.
 */
export interface SeccompData {
  /** The system call number (as the ABI numbers it; x32 ones have bit 30 set). */
  readonly nr: number;
  /** The ABI, as an `AUDIT_ARCH_*` value. */
  readonly arch: number;
  /** Where the call was made. */
  readonly instructionPointer?: bigint;
  /** Up to six arguments, as the registers hold them (unsigned 64-bit). */
  readonly args?: readonly bigint[];
}

// The byte order of struct sock_filter and seccomp_data is the machine's; both
// architectures nsh runs on (x86-64, aarch64) are little-endian.
const LITTLE = true;

/**
 * The bytes of a program, as seccomp(2) reads them.
 *
 * @param program The instructions.
 * @returns 8 bytes per instruction.
 */
export function encodeBpf(program: readonly BpfInstruction[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, LITTLE);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k >>> 0, LITTLE);
  });
  return bytes;
}

/**
 * The instructions of a program's bytes.
 *
 * @param bytes 8 bytes per instruction.
 * @returns The instructions.
 * @throws {RangeError} When the length is not a multiple of 8.
 */
export function decodeBpf(bytes: Uint8Array): BpfInstruction[] {
  if (bytes.length % 8) {
    throw new RangeError(`Cannot read a BPF program of ${bytes.length} bytes: its length is not a multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: BpfInstruction[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    program.push({
      code: view.getUint16(at, LITTLE),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, LITTLE),
    });
  }
  return program;
}

/** The opcodes a seccomp filter may use (kernel/seccomp.c, seccomp_check_filter). */
const ALLOWED = new Set<number>([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [
    BPF_ALU | op | BPF_K,
    BPF_ALU | op | BPF_X,
  ]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

/**
 * Checks a program as the kernel does before it installs a filter
 * (`bpf_check_classic` and `seccomp_check_filter`), so that a bad program is
 * refused with a reason before any process starts, not with a bare EINVAL in
 * the child.
 *
 * @param program The instructions.
 * @throws {RangeError} Naming the first instruction the kernel would refuse and why.
 *
 * @example A program must end in a return
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { checkBpf } from "./bpf.ts";
 *
 * checkBpf([{ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }]); // ret ALLOW
 * throws(() => checkBpf([{ code: 0x20, jt: 0, jf: 0, k: 0 }]), /does not end with a return/);
 * ```
 */
export function checkBpf(program: readonly BpfInstruction[]): void {
  const n = program.length;
  if (n < 1 || n > BPF_MAXINSNS) {
    throw new RangeError(`Cannot use a seccomp filter of ${n} instructions: the kernel takes 1 to ${BPF_MAXINSNS}`);
  }
  const refuse = (pc: number, why: string): never => {
    throw new RangeError(`Cannot use the seccomp filter: instruction ${pc} ${why}`);
  };
  program.forEach(({ code, jt, jf, k }, pc) => {
    if (!ALLOWED.has(code)) refuse(pc, `has opcode 0x${code.toString(16)}, which seccomp does not allow`);
    const cls = code & 0x07;
    if (code === (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_SIZE || k & 3)) {
      refuse(pc, `loads offset ${k}, outside struct seccomp_data or not 4-byte aligned`);
    }
    if (
      (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) || cls === BPF_ST || cls === BPF_STX) &&
      k >= BPF_MEMWORDS
    ) {
      refuse(pc, `uses scratch word ${k}; there are ${BPF_MEMWORDS}`);
    }
    if (code === (BPF_ALU | BPF_DIV | BPF_K) && k === 0) refuse(pc, "divides by zero");
    if ((code === (BPF_ALU | BPF_LSH | BPF_K) || code === (BPF_ALU | BPF_RSH | BPF_K)) && k >= 32) {
      refuse(pc, `shifts by ${k}`);
    }
    if (code === (BPF_JMP | BPF_JA) && k >= n - pc - 1) refuse(pc, "jumps past the end of the program");
    if (cls === BPF_JMP && code !== (BPF_JMP | BPF_JA) && (pc + jt + 1 >= n || pc + jf + 1 >= n)) {
      refuse(pc, "jumps past the end of the program");
    }
  });
  const last = program[n - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) {
    throw new RangeError("Cannot use the seccomp filter: it does not end with a return");
  }
  checkMemory(program);
}

/**
 * The kernel's check that scratch memory is written before it is read, on
 * every path (`check_load_and_stores`): the words known to be written flow
 * forward, meeting at jump targets.
 */
function checkMemory(program: readonly BpfInstruction[]): void {
  const all = (1 << BPF_MEMWORDS) - 1;
  const valid = new Array<number>(program.length).fill(all);
  let known = 0;
  program.forEach(({ code, jt, jf, k }, pc) => {
    known &= valid[pc]!;
    const cls = code & 0x07;
    if (cls === BPF_ST || cls === BPF_STX) known |= 1 << k;
    else if ((code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) && !(known & (1 << k))) {
      throw new RangeError(`Cannot use the seccomp filter: instruction ${pc} reads scratch word ${k} before any write`);
    }
    if (code === (BPF_JMP | BPF_JA)) {
      valid[pc + 1 + k] = valid[pc + 1 + k]! & known;
      known = all;
    } else if (cls === BPF_JMP) {
      valid[pc + 1 + jt] = valid[pc + 1 + jt]! & known;
      valid[pc + 1 + jf] = valid[pc + 1 + jf]! & known;
      known = all;
    }
  });
}

/**
 * Runs a filter on one system call, as the kernel does, and returns its
 * result (`SECCOMP_RET_*` with data). The program is trusted to have passed
 * {@linkcode checkBpf}.
 *
 * @param program The instructions.
 * @param data The system call.
 * @returns The filter's 32-bit result.
 *
 * @example Ask a filter what it does with mount(2)
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileSeccomp, describeSeccompResult, runBpf } from "./mod.ts";
 *
 * const filter = compileSeccomp({ defaultAction: "allow", rules: [{ syscalls: "mount", action: { errno: 1 } }] }, {
 *   abi: "x86_64",
 * });
 * equal(describeSeccompResult(runBpf(filter.program, { nr: 165, arch: 0xc000003e })), "errno EPERM");
 * equal(describeSeccompResult(runBpf(filter.program, { nr: 0, arch: 0xc000003e })), "allow");
 * ```
 */
export function runBpf(program: readonly BpfInstruction[], data: SeccompData): number {
  const bytes = new Uint8Array(SECCOMP_DATA_SIZE);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, data.nr | 0, LITTLE);
  view.setUint32(4, data.arch >>> 0, LITTLE);
  view.setBigUint64(8, BigInt.asUintN(64, data.instructionPointer ?? 0n), LITTLE);
  (data.args ?? []).slice(0, 6).forEach((arg, i) => view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, arg), LITTLE));
  let a = 0, x = 0;
  const mem = new Uint32Array(BPF_MEMWORDS);
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    const cls = code & 0x07;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const mode = code & 0xe0;
        const value = mode === BPF_ABS
          ? view.getUint32(k, LITTLE)
          : mode === BPF_LEN
          ? SECCOMP_DATA_SIZE
          : mode === BPF_MEM
          ? mem[k]!
          : k >>> 0;
        if (cls === BPF_LD) a = value;
        else x = value;
        break;
      }
      case BPF_ST:
        mem[k] = a;
        break;
      case BPF_STX:
        mem[k] = x;
        break;
      case BPF_ALU: {
        const operand = code & BPF_X ? x : k >>> 0;
        switch (code & 0xf0) {
          case BPF_ADD:
            a = (a + operand) >>> 0;
            break;
          case BPF_SUB:
            a = (a - operand) >>> 0;
            break;
          case BPF_MUL:
            a = Math.imul(a, operand) >>> 0;
            break;
          case BPF_DIV:
            // The kernel ends the program with 0 on a division by zero in X.
            if (operand === 0) return 0;
            a = Math.floor(a / operand) >>> 0;
            break;
          case BPF_AND:
            a = (a & operand) >>> 0;
            break;
          case BPF_OR:
            a = (a | operand) >>> 0;
            break;
          case BPF_XOR:
            a = (a ^ operand) >>> 0;
            break;
          case BPF_LSH:
            a = operand >= 32 ? 0 : (a << operand) >>> 0;
            break;
          case BPF_RSH:
            a = operand >= 32 ? 0 : a >>> operand;
            break;
          case BPF_NEG:
            a = -a >>> 0;
            break;
        }
        break;
      }
      case BPF_JMP: {
        if ((code & 0xf0) === BPF_JA) {
          pc += k;
          break;
        }
        const operand = code & BPF_X ? x : k >>> 0;
        const op = code & 0xf0;
        const taken = op === BPF_JEQ
          ? a === operand
          : op === BPF_JGT
          ? a > operand
          : op === BPF_JGE
          ? a >= operand
          : (a & operand) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case BPF_RET:
        return (code & BPF_A ? a : k) >>> 0;
      case BPF_MISC:
        if ((code & 0xf8) === BPF_TXA) a = x;
        else if ((code & 0xf8) === BPF_TAX) x = a;
        break;
    }
  }
  // A checked program cannot fall off its end; the kernel would kill.
  return SECCOMP_RET_KILL_THREAD;
}

/**
 * A filter's result in words: `"allow"`, `"errno EPERM"`, `"kill-process"`…
 *
 * @param result A `SECCOMP_RET_*` value with its data.
 * @returns The action and its data.
 */
export function describeSeccompResult(result: number): string {
  const action = (result & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = result & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS:
      return "kill-process";
    case SECCOMP_RET_KILL_THREAD:
      return "kill-thread";
    case SECCOMP_RET_TRAP:
      return "trap";
    case SECCOMP_RET_ERRNO:
      return `errno ${data === 0 ? "0" : errnoName(data)}`;
    case SECCOMP_RET_USER_NOTIF:
      return "notify";
    case SECCOMP_RET_TRACE:
      return `trace ${data}`;
    case SECCOMP_RET_LOG:
      return "log";
    case SECCOMP_RET_ALLOW:
      return "allow";
  }
  return `unknown action 0x${action.toString(16)}`;
}

/**
 * A program as text, one instruction a line, in the style of `bpf_dbg` and
 * libseccomp's `scmp_bpf_disasm`: `12: jeq #0x3c, 13, 15`.
 *
 * @param program The instructions.
 * @returns The lines.
 */
export function disassembleBpf(program: readonly BpfInstruction[]): string[] {
  const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;
  return program.map(({ code, jt, jf, k }, pc) => {
    const cls = code & 0x07;
    const operand = code & BPF_X ? "x" : `#${hex(k)}`;
    let text: string;
    if (code === (BPF_LD | BPF_W | BPF_ABS)) text = `ld [${k}]`;
    else if (cls === BPF_LD || cls === BPF_LDX) {
      const reg = cls === BPF_LD ? "ld" : "ldx";
      const mode = code & 0xe0;
      text = mode === BPF_LEN ? `${reg} len` : mode === BPF_MEM ? `${reg} M[${k}]` : `${reg} #${hex(k)}`;
    } else if (cls === BPF_ST || cls === BPF_STX) text = `${cls === BPF_ST ? "st" : "stx"} M[${k}]`;
    else if (cls === BPF_RET) text = code & BPF_A ? "ret a" : `ret #${hex(k)} (${describeSeccompResult(k)})`;
    else if (cls === BPF_JMP) {
      const op = code & 0xf0;
      if (op === BPF_JA) text = `ja ${pc + 1 + k}`;
      else {
        const name = { [BPF_JEQ]: "jeq", [BPF_JGT]: "jgt", [BPF_JGE]: "jge", [BPF_JSET]: "jset" }[op] ?? "j?";
        text = `${name} ${operand}, ${pc + 1 + jt}, ${pc + 1 + jf}`;
      }
    } else if (cls === BPF_ALU) {
      const names: Record<number, string> = {
        [BPF_ADD]: "add",
        [BPF_SUB]: "sub",
        [BPF_MUL]: "mul",
        [BPF_DIV]: "div",
        [BPF_AND]: "and",
        [BPF_OR]: "or",
        [BPF_XOR]: "xor",
        [BPF_LSH]: "lsh",
        [BPF_RSH]: "rsh",
        [BPF_NEG]: "neg",
      };
      text = (code & 0xf0) === BPF_NEG ? "neg" : `${names[code & 0xf0] ?? "alu?"} ${operand}`;
    } else text = (code & 0xf8) === BPF_TXA ? "txa" : "tax";
    return `${pc}: ${text}`;
  });
}
