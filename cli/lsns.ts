/**
 * `nsh lsns`: util-linux `lsns` on nsh's model of namespaces (lib/lsns.ts),
 * with its options, its columns and the output of its table library,
 * libsmartcols: aligned columns and trees, raw, and JSON.
 *
 * @module
 */

import { formatOptions, getoptPermuted, type OptionSpec } from "./getopt.ts";
import { ValueError } from "./usage.ts";
import { VERSION } from "./version.ts";
import type { CliCommand, Where } from "./commands.ts";
import { evaluate, FilterError, filterHolders, type FilterNode, parseFilter } from "./filter.ts";
import { listNamespaces, type NamespaceEntry, processInfo } from "../lib/lsns.ts";
import { namespaceInfo, type NamespaceType } from "../lib/namespaces.ts";
import { Place } from "../lib/place.ts";
import {
  formatJson,
  formatRaw,
  formatTable,
  localeIsUtf8,
  type Table,
  type TableColumn,
  type TableLine,
  type TableStyle,
  terminalWidth,
} from "./table.ts";

/** The options of `nsh lsns`, as util-linux names them. */
export const LSNS_OPTIONS: readonly OptionSpec[] = [
  { long: "json", short: "J", arg: "none", help: "use JSON output format" },
  { long: "list", short: "l", arg: "none", help: "use list format output" },
  { long: "noheadings", short: "n", arg: "none", help: "don't print headings" },
  { long: "output", short: "o", arg: "required", value: "<list>", help: "define which output columns to use" },
  { long: "output-all", arg: "none", help: "output all columns" },
  { long: "persistent", short: "P", arg: "none", help: "namespaces without processes" },
  { long: "task", short: "p", arg: "required", value: "<pid>", help: "print process namespaces" },
  { long: "filter", short: "Q", arg: "required", value: "<expr>", help: "apply display filter" },
  { long: "raw", short: "r", arg: "none", help: "use the raw output format" },
  { long: "notruncate", short: "u", arg: "none", help: "don't truncate text in columns" },
  { long: "nowrap", short: "W", arg: "none", help: "don't use multi-line representation" },
  {
    long: "type",
    short: "t",
    arg: "required",
    value: "<name>",
    help: "namespace type (mnt, net, ipc, user, pid, uts, cgroup, time)",
  },
  {
    long: "tree",
    short: "T",
    arg: "optional",
    attached: true,
    value: "<rel>",
    help: "use tree format (parent, owner, or process)",
  },
  { long: "help", short: "h", arg: "none", help: "display this help" },
  { long: "version", short: "V", arg: "none", help: "display version" },
];

/** A column of `lsns`. */
export type ColumnName =
  | "NS"
  | "TYPE"
  | "PATH"
  | "NPROCS"
  | "PID"
  | "PPID"
  | "COMMAND"
  | "UID"
  | "USER"
  | "NETNSID"
  | "NSFS"
  | "PNS"
  | "ONS";

/** How libsmartcols lays a column out, as lsns declares it. */
interface ColumnInfo {
  readonly name: ColumnName;
  /** Width hint: a column narrower than this is widened to it, unless its header is narrower. */
  readonly whint: number;
  /** Right-aligned. */
  readonly right?: boolean;
  /** Truncated to fit a terminal. */
  readonly trunc?: boolean;
  /** Multi-line: one line per mount point. */
  readonly wrap?: boolean;
  /** A number in JSON, else a string. */
  readonly number?: boolean;
  readonly help: string;
}

/** The columns, in the order util-linux lists them. */
const COLUMNS: readonly ColumnInfo[] = [
  { name: "NS", whint: 10, right: true, number: true, help: "namespace identifier (inode number)" },
  { name: "TYPE", whint: 5, help: "kind of namespace" },
  { name: "PATH", whint: 0, help: "path to the namespace" },
  { name: "NPROCS", whint: 5, right: true, number: true, help: "number of processes in the namespace" },
  { name: "PID", whint: 5, right: true, number: true, help: "lowest PID in the namespace" },
  { name: "PPID", whint: 5, right: true, number: true, help: "PPID of the PID" },
  { name: "COMMAND", whint: 0, trunc: true, help: "command line of the PID" },
  { name: "UID", whint: 0, right: true, number: true, help: "UID of the PID" },
  { name: "USER", whint: 0, help: "username of the PID" },
  { name: "NETNSID", whint: 0, right: true, help: "namespace ID as used by network subsystem" },
  { name: "NSFS", whint: 0, wrap: true, help: "nsfs mountpoint (usually used network subsystem)" },
  { name: "PNS", whint: 10, right: true, number: true, help: "parent namespace identifier (inode number)" },
  { name: "ONS", whint: 10, right: true, number: true, help: "owner namespace identifier (inode number)" },
];

const BY_NAME = new Map(COLUMNS.map((c) => [c.name, c]));

/** The help text of `nsh lsns`. */
export function lsnsHelp(): string {
  const columns = COLUMNS.map((c) => ` ${c.name.padStart(11)}  ${c.help}`).join("\n");
  return `
Usage:
 nsh lsns [options] [<namespace>]

List system namespaces.

Options:
${formatOptions(LSNS_OPTIONS)}

Available output columns:
${columns}

`;
}

/** How `--tree` relates the lines. */
export type TreeKind = "process" | "parent" | "owner";

/** What the command line asks to list. */
export interface LsnsListRequest {
  readonly kind: "list";
  /** The columns, in order. */
  readonly columns: readonly ColumnName[];
  /** Only these kinds; `undefined` for all. */
  readonly types: readonly NamespaceType[] | undefined;
  /** `--task`: only the namespaces of this process. */
  readonly pid: number | undefined;
  /** The `<namespace>` argument: list the processes of this namespace. */
  readonly namespace: number | undefined;
  /** `--persistent`: only namespaces without processes. */
  readonly persistent: boolean;
  /** The tree, if any. */
  readonly tree: TreeKind | undefined;
  /** The output format. */
  readonly format: "table" | "raw" | "json";
  /** `--noheadings`. */
  readonly noHeadings: boolean;
  /** `--notruncate`. */
  readonly noTruncate: boolean;
  /** `--nowrap` (and `--raw`): NSFS on one line, comma-separated. */
  readonly noWrap: boolean;
  /** `--filter`: the lines to keep, as libsmartcols filters them; `undefined` keeps all. */
  readonly filter?: FilterNode | undefined;
}

/** What the command line asks for. */
export type LsnsRequest = { readonly kind: "help" } | { readonly kind: "version" } | LsnsListRequest;

const DEFAULT_COLUMNS: readonly ColumnName[] = ["NS", "TYPE", "NPROCS", "PID", "USER"];
const NAMESPACE_COLUMNS: readonly ColumnName[] = ["PID", "PPID", "USER", "COMMAND"];
// The options util-linux refuses together (its ul_excl_t table; its -l/-T
// pair is listed out of ASCII order there, so 2.38 never enforces it).
const EXCLUSIVE: readonly (readonly string[])[] = [["json", "raw"], ["persistent", "task"]];

/**
 * Parses a column list as util-linux's string_to_idarray() does: names
 * separated by commas, in any case.
 */
function parseColumns(cmd: string, list: string): ColumnName[] {
  const names: ColumnName[] = [];
  let begin = -1;
  for (let p = 0; p < list.length; p++) {
    if (begin < 0) begin = p;
    let end = -1;
    if (list[p] === ",") end = p;
    // A comma at the very end belongs to the last name, as in util-linux.
    if (p + 1 === list.length) end = p + 1;
    if (end < 0) continue;
    if (end <= begin) throw new ValueError(cmd, `failed to parse column list: '${list}'`);
    const name = list.slice(begin, end);
    const column = BY_NAME.get(name.toUpperCase() as ColumnName);
    if (!column) throw new ValueError(cmd, `unknown column: ${name}`);
    names.push(column.name);
    begin = -1;
  }
  if (!names.length) throw new ValueError(cmd, `failed to parse column list: '${list}'`);
  return names;
}

/**
 * Parses the arguments of `nsh lsns` as util-linux `lsns` 2.38 does, with
 * `--persistent` of 2.39. Pure: nothing is read.
 *
 * @param args The words after `lsns`.
 * @returns What to do.
 * @throws {UsageError} For a malformed command line or an unknown value.
 */
export function parseLsns(args: readonly string[]): LsnsRequest {
  const cmd = "lsns";
  const { options, rest } = getoptPermuted(cmd, LSNS_OPTIONS, args);
  const seen = new Map<number, string>();
  let columns: ColumnName[] = [];
  let output: string | undefined;
  const types: NamespaceType[] = [];
  let pid: number | undefined;
  let tree: TreeKind | undefined;
  let list = false, json = false, raw = false, persistent = false;
  let noHeadings = false, noTruncate = false, noWrap = false;
  let filter: FilterNode | undefined;
  for (const { name, value } of options) {
    const group = EXCLUSIVE.findIndex((g) => g.includes(name));
    if (group >= 0) {
      const other = seen.get(group);
      if (other !== undefined && other !== name) {
        throw new ValueError(cmd, `mutually exclusive arguments: ${EXCLUSIVE[group]!.map((o) => `--${o}`).join(" ")}`);
      }
      seen.set(group, name);
    }
    switch (name) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "json":
        json = true;
        break;
      case "list":
        list = true;
        break;
      case "output":
        output = value!;
        break;
      case "output-all":
        columns = COLUMNS.map((c) => c.name);
        break;
      case "persistent":
        persistent = true;
        break;
      case "task":
        if (!/^\d+$/.test(value!) || Number(value) < 1 || Number(value) > 0x7fffffff) {
          throw new ValueError(cmd, `invalid PID argument: '${value}'`);
        }
        pid = Number(value);
        break;
      case "noheadings":
        noHeadings = true;
        break;
      case "raw":
        raw = noWrap = true;
        break;
      case "notruncate":
        noTruncate = true;
        break;
      case "nowrap":
        noWrap = true;
        break;
      case "type": {
        const type = namespaceInfo(value!)?.type;
        if (!type || type !== value) throw new ValueError(cmd, `unknown namespace type: ${value}`);
        if (!types.includes(type)) types.push(type);
        break;
      }
      case "filter":
        try {
          filter = parseFilter(value!);
        } catch (error) {
          if (!(error instanceof FilterError)) throw error;
          throw new ValueError(cmd, `failed to parse "${value}": ${error.message}`);
        }
        break;
      case "tree": {
        const rel = value?.replace(/^=/, "") ?? "owner";
        if (rel !== "process" && rel !== "parent" && rel !== "owner") {
          throw new ValueError(cmd, `unknown tree type: ${rel}`);
        }
        tree = rel;
        break;
      }
    }
  }
  let namespace: number | undefined;
  if (rest.length) {
    if (pid !== undefined) throw new ValueError(cmd, "--task is mutually exclusive with <namespace>");
    if (!/^\d+$/.test(rest[0]!)) throw new ValueError(cmd, `invalid namespace argument: '${rest[0]}'`);
    namespace = Number(rest[0]);
    if (!tree && !list) tree = "process";
    if (!columns.length) columns = [...NAMESPACE_COLUMNS];
  }
  if (!columns.length) {
    columns = [...DEFAULT_COLUMNS];
    if (types.includes("net")) columns.push("NETNSID", "NSFS");
    columns.push("COMMAND");
    if (!tree && !list) tree = "process";
  }
  // As util-linux: "+LIST" adds to the columns chosen so far, "LIST" replaces them.
  if (output !== undefined) {
    columns = output.startsWith("+") ? [...columns, ...parseColumns(cmd, output.slice(1))] : parseColumns(cmd, output);
  }
  return {
    kind: "list",
    columns,
    types: types.length ? types : undefined,
    pid,
    namespace,
    persistent,
    tree,
    format: json ? "json" : raw ? "raw" : "table",
    noHeadings,
    noTruncate,
    noWrap,
    ...(filter ? { filter } : {}),
  };
}

// ---------------------------------------------------------------------------
// Lines: what lsns puts in its table, and how they nest.

/** One line of the table. */
type Line = TableLine;

/** The process a line describes. */
interface LineProcess {
  readonly pid: number;
  readonly ppid: number | undefined;
  readonly command: string | undefined;
  readonly uid: number | undefined;
  readonly user: string | undefined;
}

/** The cell of one column for a namespace and the process shown for it, as lsns's add_scols_line(). */
function cellText(
  column: ColumnName,
  ns: NamespaceEntry,
  proc: LineProcess | undefined,
  noWrap: boolean,
  root: string,
): string | undefined {
  switch (column) {
    case "NS":
      return String(ns.inode);
    case "TYPE":
      return ns.type;
    case "PATH":
      return proc ? `/proc/${proc.pid}/ns/${ns.type}` : undefined;
    case "NPROCS":
      return String(ns.nprocs);
    case "PID":
      return proc ? String(proc.pid) : undefined;
    case "PPID":
      return proc?.ppid === undefined ? undefined : String(proc.ppid);
    case "COMMAND":
      return proc?.command;
    case "UID":
      // lsns prints 0 when it knows no uid.
      return String((proc ? proc.uid : ns.uid) ?? 0);
    case "USER":
      // lsns names uid 0 when it knows no uid.
      return (proc ? proc.user : ns.user) ?? root;
    case "NETNSID":
      if (ns.type !== "net") return undefined;
      return ns.netnsid === null ? "unassigned" : ns.netnsid === undefined ? undefined : String(ns.netnsid);
    case "NSFS":
      return ns.nsfs.length ? ns.nsfs.join(noWrap ? "," : "\n") : undefined;
    case "PNS":
      return String(ns.parent ?? 0);
    case "ONS":
      return String(ns.owner ?? 0);
  }
}

/** Builds the lines as lsns does, keeping its rules for which line is whose child. */
class LineBuilder {
  readonly lines: Line[] = [];
  readonly #request: LsnsListRequest;
  readonly #byInode: ReadonlyMap<number, NamespaceEntry>;
  /** The name of uid 0 where the namespaces were listed. */
  readonly #root: string;
  /** The last line of each namespace, for the parent and owner trees. */
  readonly #nsLine = new Map<number, Line>();
  /** The last line of each process, for the process tree. */
  readonly #procLine = new Map<number, Line>();

  constructor(request: LsnsListRequest, entries: readonly NamespaceEntry[], root: string) {
    this.#request = request;
    this.#byInode = new Map(entries.map((e) => [e.inode, e]));
    this.#root = root;
  }

  /** Whether the filter keeps the line of a namespace and process, as libsmartcols's filter decides. */
  #kept(ns: NamespaceEntry, proc: LineProcess | undefined): boolean {
    const { filter, noWrap } = this.#request;
    if (!filter) return true;
    const column = (name: string) => BY_NAME.get(name.toUpperCase() as ColumnName)!;
    try {
      return evaluate(filter, {
        cell: (name) => cellText(column(name).name, ns, proc, noWrap, this.#root),
        type: (name) => column(name).number ? "number" : "string",
      });
    } catch (error) {
      if (!(error instanceof FilterError)) throw error;
      throw new ValueError("lsns", `failed to apply filter: ${error.message}`);
    }
  }

  #related(inode: number | undefined): NamespaceEntry | undefined {
    return inode === undefined ? undefined : this.#byInode.get(inode);
  }

  add(ns: NamespaceEntry, proc: LineProcess | undefined): void {
    const { tree, columns, noWrap } = this.#request;
    // A line the filter drops is no parent: lines below it hang from the top.
    if (!this.#kept(ns, proc)) return;
    let parent: Line | undefined;
    if (tree === "process") parent = proc?.ppid === undefined ? undefined : this.#procLine.get(proc.ppid);
    else if (tree === "parent" && ns.parent !== undefined) parent = this.#nsLine.get(ns.parent);
    else if (tree === "owner" && ns.owner !== undefined) parent = this.#nsLine.get(ns.owner);
    const line: Line = {
      cells: columns.map((c) => cellText(c, ns, proc, noWrap, this.#root)),
      parent,
      children: [],
    };
    parent?.children.push(line);
    this.lines.push(line);
    if (tree === "parent" || tree === "owner") this.#nsLine.set(ns.inode, line);
    else if (proc) this.#procLine.set(proc.pid, line);
  }

  /** Adds a namespace, after the parent or owner it hangs from in a tree (lsns's show_namespace()). */
  showNamespace(ns: NamespaceEntry): void {
    const { tree } = this.#request;
    const owner = this.#related(ns.owner);
    const parent = this.#related(ns.parent);
    if (tree === "owner" && owner && !this.#nsLine.has(owner.inode)) this.showNamespace(owner);
    else if (tree === "parent") {
      if (parent) {
        if (!this.#nsLine.has(parent.inode)) this.showNamespace(parent);
      } else if (owner && !this.#nsLine.has(owner.inode)) this.showNamespace(owner);
    }
    const proc = ns.pid === undefined
      ? undefined
      : { pid: ns.pid, ppid: ns.ppid, command: ns.command, uid: ns.uid, user: ns.user };
    this.add(ns, proc);
  }

  /** Whether a namespace has a line. */
  shown(ns: NamespaceEntry): boolean {
    return this.#nsLine.has(ns.inode);
  }

  /** Adds a process of a namespace, after its parent when that is in it too (lsns's show_process()). */
  showProcess(ns: NamespaceEntry, proc: LineProcess, members: ReadonlyMap<number, LineProcess>): void {
    const parent = proc.ppid === undefined ? undefined : members.get(proc.ppid);
    if (this.#request.tree === "process" && parent && !this.#procLine.has(parent.pid)) {
      this.showProcess(ns, parent, members);
    }
    this.add(ns, proc);
  }

  /** Whether a process has a line. */
  shownProcess(pid: number): boolean {
    return this.#procLine.has(pid);
  }
}

/** The lines of the namespaces lsns lists. */
function namespaceLines(request: LsnsListRequest, entries: readonly NamespaceEntry[], root: string): Line[] {
  const builder = new LineBuilder(request, entries, root);
  for (const ns of entries) {
    if (request.pid !== undefined && !ns.pids.includes(request.pid)) continue;
    if (request.persistent && ns.nprocs) continue;
    if (!builder.shown(ns)) builder.showNamespace(ns);
  }
  return builder.lines;
}

/** The lines of the processes of one namespace (`lsns <namespace>`). */
function processLines(
  request: LsnsListRequest,
  entries: readonly NamespaceEntry[],
  ns: NamespaceEntry,
  place: Place,
  root: string,
): Line[] {
  const builder = new LineBuilder(request, entries, root);
  const members = new Map<number, LineProcess>();
  for (const pid of ns.pids) {
    try {
      members.set(pid, processInfo(pid, { context: place.context }));
    } catch (error) {
      // It ended since it was counted.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  for (const proc of members.values()) {
    if (!builder.shownProcess(proc.pid)) builder.showProcess(ns, proc, members);
  }
  return builder.lines;
}

/** The columns of the table, as lsns declares them to libsmartcols. */
function tableColumns(request: LsnsListRequest): TableColumn[] {
  return request.columns.map((name) => {
    const info = BY_NAME.get(name)!;
    const nsTree = (request.tree === "parent" || request.tree === "owner") && name === "NS";
    return {
      name,
      whint: info.whint,
      number: info.number ?? false,
      tree: nsTree || (request.tree === "process" && name === "COMMAND"),
      right: (info.right ?? false) && !nsTree,
      trunc: (info.trunc ?? false) && !request.noTruncate,
      wrap: (info.wrap ?? false) && !request.noWrap,
    };
  });
}

/**
 * Lists namespaces as `lsns` would for a parsed command line.
 *
 * @param request The parsed command line.
 * @param style The terminal's character set and width, for the table format.
 * @param place Where to look: this process's `/proc` and mounts, or a context's.
 * @returns The text to print.
 * @throws {ValueError} When the namespace argument is not found, or the
 *   filter names an unknown column or cannot be applied.
 */
function runLsns(request: LsnsListRequest, style: TableStyle, place: Place): string {
  const relations = request.tree === "parent" || request.tree === "owner";
  const used = [...request.columns];
  for (const name of filterHolders(request.filter)) {
    const column = BY_NAME.get(name.toUpperCase() as ColumnName);
    if (!column) throw new ValueError("lsns", `failed to initialize filter: unknown column: ${name}`);
    used.push(column.name);
  }
  const entries = listNamespaces({
    ...(request.types ? { types: request.types } : {}),
    relations: relations || used.includes("PNS") || used.includes("ONS"),
    ancestors: relations,
    netnsIds: used.includes("NETNSID"),
    context: place.context,
  });
  // lsns names uid 0 where it knows no uid.
  const root = place.userName(0) ?? "0";
  let lines: Line[];
  if (request.namespace !== undefined) {
    const ns = entries.find((e) => e.inode === request.namespace);
    if (!ns) throw new ValueError("lsns", `not found namespace: ${request.namespace}`);
    lines = processLines(request, entries, ns, place, root);
  } else {
    // A --task process that does not exist holds no namespace: nothing is listed, as lsns does.
    lines = namespaceLines(request, entries, root);
  }
  const table: Table = { columns: tableColumns(request), lines };
  switch (request.format) {
    case "json":
      return formatJson(table);
    case "raw":
      return formatRaw(table, request.noHeadings, style.utf8);
    case "table":
      return formatTable(table, request.noHeadings, style);
  }
}

/** `nsh lsns`. */
export const lsnsCommand: CliCommand = {
  help: lsnsHelp,
  run(args, io, where: Where = {}) {
    const request = parseLsns(args);
    if (request.kind === "help") io.out(lsnsHelp());
    else if (request.kind === "version") io.out(`nsh lsns ${VERSION}\n`);
    else {
      const style = { utf8: localeIsUtf8(), termWidth: request.format === "table" ? terminalWidth() : undefined };
      io.out(runLsns(request, style, Place.of({ context: where.context })));
    }
    return Promise.resolve(0);
  },
};
