/**
 * Code laid out as `deno fmt` lays it out with its default settings, for
 * the programs `nsh export` writes: documents of text and bracketed groups,
 * on one line when they fit in 80 columns, else with a group broken one
 * item a line (with a trailing comma); statements, comments and blocks
 * (`if`, `while`, `for`…) indented by two.
 *
 * @module
 */

/** The width deno fmt lays code out for. */
export const WIDTH = 80;

/** A bracketed list that may be broken one item a line. */
export interface Group {
  /** The opening bracket, with what is glued to it (`({`). */
  readonly open: string;
  /** The closing bracket. */
  readonly close: string;
  /** The items. */
  readonly items: readonly Doc[];
  /** A space inside the brackets when on one line (`{ a }`, not `[a]`). */
  readonly pad: boolean;
  /** A comma after each item when broken (lists), or none (a condition in parentheses). */
  readonly comma: boolean;
  /** A comma after the last item too, when broken (not after a rest parameter). */
  readonly trailing: boolean;
}

/** Code to print: text, a group, or a sequence of them. */
export type Doc = string | Group | readonly Doc[];

/**
 * A bracketed group.
 *
 * @param open Its opening.
 * @param items Its items.
 * @param close Its closing.
 * @param pad A space inside the brackets on one line.
 * @param comma Items separated by commas (a list), or one item (a condition).
 * @param trailing A comma after the last item too, when broken.
 * @returns The group.
 */
export function group(
  open: string,
  items: readonly Doc[],
  close: string,
  pad = false,
  comma = true,
  trailing = comma,
): Group {
  return { open, close, items, pad, comma, trailing };
}

function pieces(doc: Doc): (string | Group)[] {
  if (typeof doc === "string") return [doc];
  if (Array.isArray(doc)) return (doc as readonly Doc[]).flatMap(pieces);
  return [doc as Group];
}

/**
 * A document on one line.
 *
 * @param doc The document.
 * @returns Its text.
 */
export function flat(doc: Doc): string {
  return pieces(doc).map((p) => {
    if (typeof p === "string") return p;
    if (!p.items.length) return p.open + p.close;
    const space = p.pad ? " " : "";
    return p.open + space + p.items.map(flat).join(", ") + space + p.close;
  }).join("");
}

function fits(text: string, indent: number): boolean {
  return text.split("\n").every((line, i) => (i === 0 ? indent : 0) + line.length <= WIDTH);
}

/**
 * Lays out a document whose first line starts at column `indent` (not
 * included in the result; later lines carry their own indentation): on one
 * line when it fits, else with one group broken (the last one that makes it
 * fit), else with the last group broken and what comes before laid out again.
 *
 * @param doc The document.
 * @param indent The column it starts at.
 * @param suffix What follows it on its last line (`;`, ` {`).
 * @returns Its text.
 */
export function layout(doc: Doc, indent: number, suffix: string): string {
  const list = pieces(doc);
  const oneLine = flat(list) + suffix;
  if (indent + oneLine.length <= WIDTH) return oneLine;
  const breakable = list.flatMap((p, i) => typeof p !== "string" && p.items.length ? [i] : []);
  if (!breakable.length) return oneLine;
  for (const i of [...breakable].reverse()) {
    const text = breakAt(list, i, indent, suffix, false);
    if (fits(text, indent)) return text;
  }
  return breakAt(list, breakable.at(-1)!, indent, suffix, true);
}

function breakAt(list: (string | Group)[], index: number, indent: number, suffix: string, again: boolean): string {
  const g = list[index] as Group;
  const head = again ? layout(list.slice(0, index), indent, g.open) : flat(list.slice(0, index)) + g.open;
  const inner = " ".repeat(indent + 2);
  const items = g.items.map((item, i) =>
    inner + layout(item, indent + 2, g.comma && (g.trailing || i < g.items.length - 1) ? "," : "")
  );
  const close = " ".repeat(indent) + g.close + flat(list.slice(index + 1)) + suffix;
  return [head, ...items, close].join("\n");
}

/**
 * A call: `f(a, b)`.
 *
 * @param callee The function.
 * @param args The arguments.
 * @returns The document.
 */
export function call(callee: string, args: readonly Doc[]): Doc {
  return [callee, group("(", args, ")")];
}

/**
 * `f({ key: value, … })`, or `f()` for no keys.
 *
 * @param callee The function.
 * @param entries The object's keys and values.
 * @returns The document.
 */
export function callWithObject(callee: string, entries: readonly [string, Doc][]): Doc {
  if (!entries.length) return callee + "()";
  return [callee, group("({", entries.map(([k, v]) => [`${k}: `, v]), "})", true)];
}

/**
 * An object literal: `{ key: value }`.
 *
 * @param entries Its keys and values.
 * @returns The document.
 */
export function object(entries: readonly [string, Doc][]): Doc {
  return group("{", entries.map(([k, v]) => [`${k}: `, v]), "}", true);
}

/**
 * A string literal, as deno fmt writes it: double quotes.
 *
 * @param s The string.
 * @returns The literal.
 */
export function str(s: string): string {
  return JSON.stringify(s);
}

/**
 * The text of a template literal between its backquotes.
 *
 * @param s The string.
 * @returns The text, with `` ` `` and `${` escaped.
 */
export function templateText(s: string): string {
  return JSON.stringify(s).slice(1, -1).replace(
    /\\"|`|\$\{|\\./g,
    (m) => m === '\\"' ? '"' : m === "`" ? "\\`" : m === "${" ? "\\${" : m,
  );
}

/** A line of a program: a blank line, a comment, a statement, or a block with its body. */
export type Line =
  | { readonly kind: "blank" }
  | { readonly kind: "comment"; readonly text: string }
  | { readonly kind: "statement"; readonly doc: Doc }
  | Block;

/** `head {` body `}`, and maybe `} else …`: an `if`, a loop, a function, a bare block. */
export interface Block {
  /** The kind of line. */
  readonly kind: "block";
  /** What comes before the `{` (`if (x)`, `for (const a of b)`), or `""` for a bare block. */
  readonly head: Doc;
  /** The lines inside. */
  readonly body: Line[];
  /** What follows the closing brace on its line: `else`, `else if (y)`, each with its body. */
  readonly next?: Block;
}

/**
 * Lays out lines at an indentation, blocks indented by two more inside.
 *
 * @param lines The lines.
 * @param indent The indentation, in spaces.
 * @returns The text lines.
 */
export function render(lines: readonly Line[], indent = 0): string[] {
  const pad = " ".repeat(indent);
  const out: string[] = [];
  const trimmed = [...lines];
  while (trimmed[0]?.kind === "blank") trimmed.shift();
  while (trimmed.at(-1)?.kind === "blank") trimmed.pop();
  for (const line of trimmed) {
    switch (line.kind) {
      case "blank":
        if (out.at(-1) !== "") out.push("");
        break;
      case "comment":
        // deno fmt leaves comments as they are: a long one stays long.
        out.push(line.text === "" ? pad + "//" : `${pad}// ${line.text}`);
        break;
      case "statement":
        out.push(pad + layout(line.doc, indent, ";"));
        break;
      case "block": {
        let block: Block | undefined = line;
        let opening = "";
        while (block) {
          const head = flat(block.head) === "" ? "{" : layout(block.head, indent + opening.length, " {");
          out.push(pad + opening + head);
          out.push(...render(block.body, indent + 2));
          opening = "} ";
          block = block.next;
        }
        out.push(pad + "}");
      }
    }
  }
  return out;
}

/**
 * Words joined into comment lines of at most `width` columns; an empty text
 * is an empty comment line (`//`).
 *
 * @param text The comment.
 * @param width The width.
 * @returns The lines, each starting with `//`.
 */
export function wrap(text: string, width = WIDTH): string[] {
  if (text === "") return ["//"];
  const out: string[] = [];
  let line = "//";
  for (const word of text.split(" ")) {
    if (line.length + 1 + word.length > width && line !== "//") {
      out.push(line);
      line = "//";
    }
    line += " " + word;
  }
  return [...out, line];
}
