/**
 * Writes ffi/syscall_data.ts, the system call numbers of x86-64, i386 and
 * aarch64, from the kernel headers of this machine (`deno task syscalls`):
 *
 * - x86-64: `asm/unistd_64.h`; i386: `asm/unistd_32.h` (both installed by
 *   Debian's linux-libc-dev under /usr/include/x86_64-linux-gnu);
 * - aarch64: `asm-generic/unistd.h`, read with the macros that arm64's own
 *   `asm/unistd.h` defines before including it.
 *
 * System calls newer than the installed headers are added from the list below,
 * taken from the kernel's `scripts/syscall.tbl`: since Linux 5.1 every
 * architecture gives a new call the same number (x32 adds its bit).
 *
 * Not imported by `mod.ts`.
 *
 * @module
 */

/** Calls the installed headers may lack: number and name, the same on every architecture. */
const NEWER: readonly (readonly [number, string])[] = [
  [451, "cachestat"], // Linux 6.5
  [452, "fchmodat2"], // 6.6
  [453, "map_shadow_stack"], // 6.6
  [454, "futex_wake"], // 6.7
  [455, "futex_wait"],
  [456, "futex_requeue"],
  [457, "statmount"], // 6.8
  [458, "listmount"],
  [459, "lsm_get_self_attr"],
  [460, "lsm_set_self_attr"],
  [461, "lsm_list_modules"],
  [462, "mseal"], // 6.10
  [463, "setxattrat"], // 6.13
  [464, "getxattrat"],
  [465, "listxattrat"],
  [466, "removexattrat"],
  [467, "open_tree_attr"], // 6.15
  [468, "file_getattr"], // 6.17
  [469, "file_setattr"],
];

/** Calls of one architecture the installed headers may lack (arch/x86/entry/syscalls/syscall_64.tbl). */
const NEWER_X86_64: readonly (readonly [number, string])[] = [
  [335, "uretprobe"], // Linux 6.11
  [336, "uprobe"], // 6.17
];

/** The macros arm64's uapi `asm/unistd.h` defines before it includes the generic table. */
const AARCH64_DEFINES = new Set([
  "__ARCH_WANT_RENAMEAT",
  "__ARCH_WANT_NEW_STAT",
  "__ARCH_WANT_SET_GET_RLIMIT",
  "__ARCH_WANT_TIME32_SYSCALLS",
  "__ARCH_WANT_SYS_CLONE3",
  "__ARCH_WANT_MEMFD_SECRET",
]);

const INCLUDE = "/usr/include";

/** `#define __NR_name number` lines of an architecture's flat header. */
function flat(text: string): Map<string, number> {
  const table = new Map<string, number>();
  for (const match of text.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) table.set(match[1]!, Number(match[2]));
  return table;
}

/**
 * Evaluates a preprocessor condition of asm-generic/unistd.h: `defined(X)`,
 * `__BITS_PER_LONG` compared with a number, `!`, `&&`, `||`.
 */
function condition(expression: string, defines: ReadonlySet<string>, bitsPerLong: number): boolean {
  const tokens = expression
    .replace(/defined\s*\(\s*(\w+)\s*\)/g, (_, name: string) => (defines.has(name) ? " 1 " : " 0 "))
    .replace(/__BITS_PER_LONG/g, String(bitsPerLong))
    .match(/\d+|==|!=|&&|\|\||!|\(|\)/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const primary = (): number => {
    const token = tokens[at++];
    if (token === "!") return primary() ? 0 : 1;
    if (token === "(") {
      const value = or();
      at++;
      return value;
    }
    const left = Number(token);
    if (peek() === "==" || peek() === "!=") {
      const op = tokens[at++];
      const right = Number(tokens[at++]);
      return (op === "==") === (left === right) ? 1 : 0;
    }
    return left;
  };
  const and = (): number => {
    let value = primary();
    while (peek() === "&&") {
      at++;
      value = primary() && value ? 1 : 0;
    }
    return value;
  };
  const or = (): number => {
    let value = and();
    while (peek() === "||") {
      at++;
      value = and() || value ? 1 : 0;
    }
    return value;
  };
  return or() !== 0;
}

/** The generic table as a 64-bit architecture with `defines` sees it. */
function generic(text: string, defines: ReadonlySet<string>): Map<string, number> {
  const table = new Map<string, number>();
  const values = new Map<string, number>();
  const stack: boolean[] = [];
  const active = () => stack.every(Boolean);
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\*.*?\*\//g, "").trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^#ifdef\s+(\w+)/))) stack.push(defines.has(m[1]!));
    else if ((m = line.match(/^#ifndef\s+(\w+)/))) stack.push(!defines.has(m[1]!));
    else if ((m = line.match(/^#if\s+(.*)$/))) stack.push(condition(m[1]!, defines, 64));
    else if (line.startsWith("#else")) stack.push(!stack.pop()!);
    else if (line.startsWith("#endif")) stack.pop();
    else if (active() && (m = line.match(/^#define\s+(__NR3264_\w+|__NR_\w+)\s+(\d+|__NR3264_\w+)$/))) {
      const value = /^\d+$/.test(m[2]!) ? Number(m[2]) : values.get(m[2]!);
      if (value === undefined) throw new Error(`Cannot read ${m[0]}: ${m[2]} is not defined before`);
      values.set(m[1]!, value);
      // __NR_arch_specific_syscall marks where an architecture's own calls would start: no call.
      if (m[1]!.startsWith("__NR_") && !["__NR_syscalls", "__NR_arch_specific_syscall"].includes(m[1]!)) {
        table.set(m[1]!.slice(5), value);
      }
    }
  }
  if (stack.length) throw new Error("Cannot read asm-generic/unistd.h: an #if is not closed");
  return table;
}

/** Adds the newer calls, checking that the headers agree where they have them. */
function withNewer(table: Map<string, number>, abi: string, own: typeof NEWER = []): Map<string, number> {
  for (const [number, name] of [...NEWER, ...own]) {
    const known = table.get(name);
    if (known !== undefined && known !== number) {
      throw new Error(`Cannot add ${name} to ${abi}: the headers give ${known}, the list ${number}`);
    }
    table.set(name, number);
  }
  return table;
}

/** One table as lines `FIRST name name …`, `-` for an unused number. */
function format(table: Map<string, number>): string {
  const byNumber = new Map<number, string>();
  for (const [name, number] of table) {
    const other = byNumber.get(number);
    // Two names for one number (the headers' aliases): keep both, the first wins for number → name.
    byNumber.set(number, other ? `${other}|${name}` : name);
  }
  const max = Math.max(...byNumber.keys());
  const lines: string[] = [];
  for (let first = 0; first <= max; first += 8) {
    const names: string[] = [];
    for (let n = first; n < first + 8 && n <= max; n++) names.push(byNumber.get(n) ?? "-");
    if (names.every((n) => n === "-")) continue;
    lines.push(`${first} ${names.join(" ")}`);
  }
  return lines.join("\n");
}

/**
 * The module text for the headers under `include`.
 *
 * @param include The header root, normally `/usr/include`.
 * @returns The text of ffi/syscall_data.ts.
 */
export async function generate(include: string = INCLUDE): Promise<string> {
  const read = (path: string) => Deno.readTextFile(`${include}/${path}`);
  const x86_64 = withNewer(flat(await read("x86_64-linux-gnu/asm/unistd_64.h")), "x86_64", NEWER_X86_64);
  const i386 = withNewer(flat(await read("x86_64-linux-gnu/asm/unistd_32.h")), "i386");
  const aarch64 = withNewer(generic(await read("asm-generic/unistd.h"), AARCH64_DEFINES), "aarch64");
  const block = (name: string, what: string, table: Map<string, number>) =>
    `/** ${what}. */\nexport const ${name}: string = \`\n${format(table)}\n\`;\n`;
  return `/**
 * System call numbers, generated by ffi/gen_syscalls.ts from the kernel headers
 * (\`deno task syscalls\`); do not edit. Read through ffi/syscall_table.ts.
 * Each line is \`FIRST name name…\`: the calls numbered FIRST, FIRST + 1…;
 * \`-\` marks a number without a call.
 *
 * @module
 */

${block("X86_64", "x86-64 (asm/unistd_64.h)", x86_64)}
${block("I386", "i386, which `int $0x80` reaches also from a 64-bit process (asm/unistd_32.h)", i386)}
${block("AARCH64", "aarch64 (asm-generic/unistd.h as arm64 includes it)", aarch64)}`;
}

if (import.meta.main) {
  const path = new URL("./syscall_data.ts", import.meta.url).pathname;
  await Deno.writeTextFile(path, await generate());
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  if (!fmt.success) throw new Error(`Cannot format ${path}`);
  console.log(`wrote ${path}`);
}
