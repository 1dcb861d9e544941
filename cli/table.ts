/**
 * Tables as util-linux's libsmartcols prints them: aligned columns with
 * trees, raw, and JSON, byte for byte, for the commands that mimic
 * util-linux (`nsh lsns`).
 *
 * @module
 */

/** A column as the table prints it. */
export interface TableColumn {
  /** The heading, and the key in JSON. */
  readonly name: string;
  /** Width hint: a column narrower than this is widened to it, unless its header is narrower. */
  readonly whint: number;
  /** A number in JSON, else a string. */
  readonly number: boolean;
  /** Holds the tree's art. */
  readonly tree: boolean;
  readonly right: boolean;
  readonly trunc: boolean;
  /** One line per `\n`-separated chunk. */
  readonly wrap: boolean;
}

/** One line of a table; lines nest when a column holds the tree. */
export interface TableLine {
  readonly cells: readonly (string | undefined)[];
  readonly parent: TableLine | undefined;
  readonly children: TableLine[];
}

/** A table ready to print. */
export interface Table {
  readonly columns: readonly TableColumn[];
  readonly lines: readonly TableLine[];
}

/** How to print a table. */
export interface TableStyle {
  /** Tree art and widths for UTF-8 (else ASCII art, and non-ASCII escaped). */
  readonly utf8: boolean;
  /** The terminal's width when printing to one: long commands are truncated to fit. */
  readonly termWidth: number | undefined;
}

/** The lines in the order they are printed: depth first when the table is a tree. */
function walk(table: Table): TableLine[] {
  if (!table.columns.some((c) => c.tree)) return [...table.lines];
  const order: TableLine[] = [];
  const visit = (line: TableLine) => {
    order.push(line);
    line.children.forEach(visit);
  };
  table.lines.filter((l) => !l.parent).forEach(visit);
  return order;
}

function isLastChild(line: TableLine): boolean {
  return line.parent !== undefined && line.parent.children.at(-1) === line;
}

interface Symbols {
  readonly branch: string;
  readonly vertical: string;
  readonly right: string;
}

const UTF8_SYMBOLS: Symbols = { branch: "\u251c\u2500", vertical: "\u2502 ", right: "\u2514\u2500" };
const ASCII_SYMBOLS: Symbols = { branch: "|-", vertical: "| ", right: "`-" };

/** The art of the ancestors' branches down to `line` (libsmartcols's tree_ascii_art_to_buffer()). */
function branchesArt(line: TableLine, symbols: Symbols): string {
  if (!line.parent) return "";
  return branchesArt(line.parent, symbols) + (isLastChild(line) ? "  " : symbols.vertical);
}

/** The art before a line's data in the tree column. */
function treeArt(line: TableLine, symbols: Symbols): string {
  if (!line.parent) return "";
  return branchesArt(line.parent, symbols) + (isLastChild(line) ? symbols.right : symbols.branch);
}

const encoder = new TextEncoder();

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/** The cells a character takes on a terminal: an approximation of wcwidth(3). */
function charWidth(code: number): number {
  if (/\p{M}/u.test(String.fromCodePoint(code)) || code === 0x200b) return 0;
  const wide = (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) || (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) || (code >= 0x20000 && code <= 0x3fffd);
  return wide ? 2 : 1;
}

function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
}

/**
 * A cell as libsmartcols shows it on a terminal (mbs_safe_encode()): control
 * characters, and a backslash before `x`, as `\xHH`; outside UTF-8 locales,
 * every byte of a non-ASCII character too.
 */
function safeEncode(text: string, utf8: boolean, keepNewlines: boolean): string {
  let out = "";
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    const code = char.codePointAt(0)!;
    if (keepNewlines && char === "\n") out += char;
    else if (code < 0x20 || code === 0x7f || (char === "\\" && chars[i + 1] === "x")) out += hex(code);
    else if (code >= 0x80 && (!utf8 || code < 0xa0)) { for (const byte of encoder.encode(char)) out += hex(byte); }
    else out += char;
  }
  return out;
}

/** A cell in raw output (fputs_nonblank()): blanks, backslashes and every byte that is not printable ASCII as `\xHH`. */
function rawEncode(text: string): string {
  let out = "";
  for (const byte of encoder.encode(text)) {
    out += byte <= 0x20 || byte === 0x5c || byte >= 0x7f ? hex(byte) : String.fromCharCode(byte);
  }
  return out;
}

/** The longest prefix of `text` that fits in `width` cells (mbs_truncate()). */
function truncate(text: string, width: number): string {
  let out = "", used = 0;
  for (const char of text) {
    const w = charWidth(char.codePointAt(0)!);
    if (used + w > width) break;
    out += char;
    used += w;
  }
  return out;
}

/** A column's layout while printing. */
interface Layout {
  readonly column: TableColumn;
  width: number;
  /** The header's width: the column never gets narrower. */
  readonly min: number;
  /** The widest tree art in it. */
  readonly treeArt: number;
  /** What is left of a multi-line cell, for the next lines. */
  pending: string[];
}

/** The widths of the columns (libsmartcols's __scols_calculate()). */
function layOut(table: Table, cells: string[][], arts: number[], termWidth: number | undefined): Layout[] {
  const layouts = table.columns.map((column, c): Layout => {
    const min = Math.max(1, textWidth(column.name));
    let width = 0, treeArt = 0;
    cells.forEach((row, l) => {
      const text = row[c]!;
      const w = column.wrap ? Math.max(...text.split("\n").map(textWidth)) : textWidth(text);
      width = Math.max(width, w);
      if (column.tree) treeArt = Math.max(treeArt, arts[l]!);
    });
    const hint = column.whint;
    if (width < min) width = min;
    else if (hint >= 1 && width < hint && min < hint) width = hint;
    return { column, width, min, treeArt, pending: [] };
  });
  if (termWidth !== undefined) fitTerminal(layouts, termWidth);
  return layouts;
}

/**
 * Narrows the columns to a terminal's width: truncatable columns lose a cell
 * at a time, down to their header's width, as libsmartcols does (lsns has no
 * relative width hints, so only its second stage applies).
 */
function fitTerminal(layouts: Layout[], termWidth: number): void {
  let width = layouts.reduce((sum, l) => sum + l.width, 0) + layouts.length - 1;
  const last = layouts.at(-1)!;
  if (width < termWidth && !last.column.right) {
    last.width += termWidth - width;
    width = termWidth;
  }
  let reduced = true;
  while (width > termWidth && reduced) {
    reduced = false;
    for (const layout of layouts) {
      if (width <= termWidth) break;
      if (layout.width === layout.min || !layout.column.trunc) continue;
      if (layout.column.tree && width <= layout.treeArt) continue;
      layout.width--;
      width--;
      reduced = true;
    }
  }
}

/** One cell of a printed line (libsmartcols's print_data()). */
function printCell(layout: Layout, text: string, isLast: boolean): string {
  const { column } = layout;
  let width = layout.width;
  let len = textWidth(text);
  if (isLast && len < width && !column.right) width = len;
  if (len > width && column.trunc) {
    text = truncate(text, width);
    len = textWidth(text);
  }
  let out = "";
  if (text && column.right) {
    out += " ".repeat(Math.max(0, width - len));
    len = Math.max(len, width);
  }
  out += text;
  if (isLast) return out;
  return out + " ".repeat(Math.max(0, width - len)) + " ";
}

/** A cell of an extra line of a multi-line cell: the rest of it, or padding and the tree's branches. */
function printExtraCell(layouts: Layout[], c: number, line: TableLine, symbols: Symbols): string {
  const layout = layouts[c]!;
  const isLast = c === layouts.length - 1;
  const chunk = layout.pending.shift();
  if (chunk !== undefined) {
    if (isLast) return chunk;
    return chunk + " ".repeat(Math.max(0, layout.width - textWidth(chunk))) + " ";
  }
  let art = "";
  if (layout.column.tree) {
    art = branchesArt(line, symbols);
    if (line.children.length && layouts.some((l) => l.pending.length)) art += symbols.vertical;
  }
  if (isLast) return art;
  return art + " ".repeat(Math.max(0, layout.width - textWidth(art))) + " ";
}

/**
 * A table as libsmartcols prints it for people: a header, columns aligned and
 * separated by a space, the last one not padded, trees drawn in their column.
 *
 * @param table The table.
 * @param noHeadings Whether to leave the header out.
 * @param style The terminal's character set and width.
 * @returns The text; empty for a table without lines.
 */
export function formatTable(table: Table, noHeadings: boolean, style: TableStyle): string {
  const order = walk(table);
  if (!order.length) return "";
  const symbols = style.utf8 ? UTF8_SYMBOLS : ASCII_SYMBOLS;
  const arts = order.map((line) => textWidth(treeArt(line, symbols)));
  const cells = order.map((line) =>
    table.columns.map((column, c) => {
      const data = line.cells[c] ?? "";
      return safeEncode((column.tree ? treeArt(line, symbols) : "") + data, style.utf8, column.wrap);
    })
  );
  const layouts = layOut(table, cells, arts, style.termWidth);
  const last = layouts.length - 1;
  const out: string[] = [];
  if (!noHeadings) out.push(layouts.map((l, c) => printCell(l, l.column.name, c === last)).join(""));
  order.forEach((line, l) => {
    let text = layouts.map((layout, c) => {
      let cell = cells[l]![c]!;
      if (layout.column.wrap && cell.includes("\n")) {
        [cell, ...layout.pending] = cell.split("\n") as [string, ...string[]];
      }
      return printCell(layout, cell, c === last);
    }).join("");
    while (layouts.some((layout) => layout.pending.length)) {
      text += "\n" + layouts.map((_, c) => printExtraCell(layouts, c, line, symbols)).join("");
    }
    out.push(text);
  });
  return out.join("\n") + "\n";
}

/**
 * A table in raw format: cells separated by one space, blanks and other
 * characters that would break the columns escaped as `\xHH`.
 *
 * @param table The table.
 * @param noHeadings Whether to leave the header out.
 * @param utf8 Whether tree art is drawn with UTF-8 lines.
 * @returns The text; empty for a table without lines.
 */
export function formatRaw(table: Table, noHeadings: boolean, utf8: boolean): string {
  const order = walk(table);
  if (!order.length) return "";
  const symbols = utf8 ? UTF8_SYMBOLS : ASCII_SYMBOLS;
  const out: string[] = [];
  if (!noHeadings) out.push(table.columns.map((c) => rawEncode(c.name)).join(" "));
  for (const line of order) {
    out.push(
      table.columns.map((column, c) => {
        return rawEncode((column.tree ? treeArt(line, symbols) : "") + (line.cells[c] ?? ""));
      }).join(" "),
    );
  }
  return out.join("\n") + "\n";
}

/** Writes JSON exactly as util-linux's ul_jsonwrt does: three-space indents, `},{` between objects. */
class JsonWriter {
  text = "";
  #indent = 0;
  #afterClose = false;

  #pad(): string {
    return "   ".repeat(this.#indent);
  }

  open(name: string | undefined, kind: "object" | "array" | "value"): void {
    if (name !== undefined) {
      if (this.#afterClose) this.text += ",\n";
      this.text += this.#pad() + quote(name.toLowerCase());
    } else {
      this.text += this.#afterClose ? "," : this.#pad();
    }
    if (kind === "value") this.text += name !== undefined ? ": " : " ";
    else {
      const bracket = kind === "object" ? "{" : "[";
      this.text += name !== undefined ? `: ${bracket}\n` : `${bracket}\n`;
      this.#indent++;
    }
    this.#afterClose = false;
  }

  close(kind: "object" | "array" | "value"): void {
    if (this.#indent === 1) {
      this.text += "\n}\n";
      this.#indent--;
      this.#afterClose = true;
      return;
    }
    if (kind !== "value") {
      this.#indent--;
      this.text += "\n" + this.#pad() + (kind === "object" ? "}" : "]");
    }
    this.#afterClose = true;
  }

  value(name: string, data: string | undefined, isNumber: boolean): void {
    this.open(name, "value");
    this.text += !data ? "null" : isNumber ? data : quote(data);
    this.close("value");
  }
}

const JSON_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
};

/** A JSON string as util-linux quotes it: only quotes, backslashes and control characters escaped. */
function quote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += JSON_ESCAPES[char] ?? (code < 0x20 ? `\\u00${code.toString(16).padStart(2, "0")}` : char);
  }
  return out + '"';
}

/**
 * A table as `lsns --json` prints it: `{"namespaces": [...]}` with lower-case
 * keys, numbers for the numeric columns, `null` for empty cells, and the
 * children of a tree under `"children"`.
 *
 * @param table The table.
 * @returns The text.
 */
export function formatJson(table: Table): string {
  const w = new JsonWriter();
  w.open(undefined, "object");
  w.open("namespaces", "array");
  const values = (line: TableLine) =>
    table.columns.forEach((column, c) => w.value(column.name, line.cells[c], column.number));
  if (table.columns.some((c) => c.tree)) {
    const roots = table.lines.filter((l) => !l.parent);
    const lastRoot = roots.at(-1);
    const visit = (line: TableLine) => {
      w.open(undefined, "object");
      values(line);
      if (line.children.length) {
        w.open("children", "array");
        line.children.forEach(visit);
        return;
      }
      // Close this object, and those of the ancestors it is the last of.
      let current: TableLine | undefined = line;
      let last: boolean;
      do {
        last = current.parent ? isLastChild(current) : current === lastRoot;
        w.close("object");
        if (last && current.parent) w.close("array");
        current = current.parent;
      } while (current && last);
    };
    roots.forEach(visit);
  } else {
    for (const line of table.lines) {
      w.open(undefined, "object");
      values(line);
      w.close("object");
    }
  }
  w.close("array");
  w.close("object");
  return w.text;
}

/** Whether the locale's character set is UTF-8, as `LC_ALL`, `LC_CTYPE` or `LANG` say. */
export function localeIsUtf8(): boolean {
  const locale = Deno.env.get("LC_ALL") || Deno.env.get("LC_CTYPE") || Deno.env.get("LANG") || "";
  return /utf-?8/i.test(locale);
}

/** The terminal's width when standard output is one (as libsmartcols: the tty's, else `COLUMNS`, else 80). */
export function terminalWidth(): number | undefined {
  if (!Deno.stdout.isTerminal()) return undefined;
  let columns = 0;
  try {
    columns = Deno.consoleSize().columns;
  } catch {
    // No size: use COLUMNS.
  }
  if (columns <= 0) columns = Number(Deno.env.get("COLUMNS")) || 80;
  return columns;
}
