/**
 * libseccomp 2.5, through Deno.dlopen, for the tests only: the same resolved
 * policy compiled by libseccomp, to compare with nsh's compiler. nsh itself
 * never loads it.
 *
 * @module
 */

import { libc } from "../ffi/libc.ts";
import type { ResolvedPolicy } from "../lib/seccomp/policy.ts";
import { type BpfInstruction, decodeBpf } from "../lib/seccomp/bpf.ts";

const SYMBOLS = {
  // const struct scmp_version *seccomp_version(void);
  seccomp_version: { parameters: [], result: "pointer" },
  // scmp_filter_ctx seccomp_init(uint32_t def_action);
  seccomp_init: { parameters: ["u32"], result: "pointer" },
  // void seccomp_release(scmp_filter_ctx ctx);
  seccomp_release: { parameters: ["pointer"], result: "void" },
  // int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value);
  seccomp_attr_set: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  // int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
  //                            unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
  seccomp_rule_add_array: { parameters: ["pointer", "u32", "i32", "u32", "buffer"], result: "i32" },
  // int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
  seccomp_export_bpf: { parameters: ["pointer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null | undefined;

/** libseccomp, or null when it is not installed. */
function load(): Deno.DynamicLibrary<typeof SYMBOLS> | null {
  if (lib === undefined) {
    try {
      lib = Deno.dlopen("libseccomp.so.2", SYMBOLS);
    } catch {
      lib = null;
    }
  }
  return lib;
}

/** libseccomp's version, such as "2.5.4", or undefined when it is missing. */
export function libseccompVersion(): string | undefined {
  const l = load();
  if (!l) return undefined;
  const view = new Deno.UnsafePointerView(l.symbols.seccomp_version()!);
  return `${view.getUint32(0)}.${view.getUint32(4)}.${view.getUint32(8)}`;
}

const SCMP_FLTATR_ACT_BADARCH = 2;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;
const OPS = { "!=": 1, "<": 2, "<=": 3, "==": 4, ">=": 5, ">": 6, "masked==": 7 } as const;

/** Why libseccomp refused a rule, by rule index. */
export interface LibseccompResult {
  /** The program. */
  readonly program: BpfInstruction[];
  /** Rules libseccomp refused (-errno), which the comparison must leave out. */
  readonly refused: readonly { readonly rule: number; readonly errno: number }[];
}

/**
 * Compiles a resolved policy with libseccomp: the same default, bad-arch
 * action and rules (each condition as one `struct scmp_arg_cmp`).
 *
 * @param policy The policy, resolved for the native ABI.
 * @param options `tree` asks libseccomp's binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2).
 * @returns The program, or undefined when libseccomp is missing.
 */
export function libseccompCompile(policy: ResolvedPolicy, options: { tree?: boolean } = {}): LibseccompResult {
  const l = load();
  if (!l) throw new Error("libseccomp.so.2 is not installed");
  const { symbols } = l;
  const ctx = symbols.seccomp_init(policy.defaultRet);
  if (!ctx) throw new Error("seccomp_init failed");
  const refused: { rule: number; errno: number }[] = [];
  try {
    let rc = symbols.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, policy.otherAbisRet);
    if (rc < 0) throw new Error(`seccomp_attr_set(BADARCH) failed: ${rc}`);
    if (options.tree) {
      rc = symbols.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
      if (rc < 0) throw new Error(`seccomp_attr_set(OPTIMIZE) failed: ${rc}`);
    }
    policy.rules.forEach((rule, i) => {
      const cmp = new Uint8Array(24 * Math.max(1, rule.args.length));
      const view = new DataView(cmp.buffer);
      rule.args.forEach((c, j) => {
        view.setUint32(24 * j, c.index, true);
        view.setUint32(24 * j + 4, OPS[c.op], true);
        // SCMP_CMP_MASKED_EQ: datum_a is the mask, datum_b the value.
        view.setBigUint64(24 * j + 8, c.op === "masked==" ? c.mask : c.value, true);
        view.setBigUint64(24 * j + 16, c.op === "masked==" ? c.value : 0n, true);
      });
      const r = symbols.seccomp_rule_add_array(ctx, rule.ret, rule.nr, rule.args.length, cmp);
      if (r < 0) refused.push({ rule: i, errno: -r });
    });
    const fd = libc().memfd_create(new TextEncoder().encode("bpf\0"), 1);
    if (fd < 0) throw new Error("memfd_create failed");
    try {
      rc = symbols.seccomp_export_bpf(ctx, fd);
      if (rc < 0) throw new Error(`seccomp_export_bpf failed: ${rc}`);
      const size = Number(libc().lseek(fd, 0n, 2));
      const bytes = new Uint8Array(size);
      if (Number(libc().pread(fd, bytes, BigInt(size), 0n)) !== size) throw new Error("pread failed");
      return { program: decodeBpf(bytes), refused };
    } finally {
      libc().close(fd);
    }
  } finally {
    symbols.seccomp_release(ctx);
  }
}
