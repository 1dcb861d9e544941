/**
 * libsmartcols filter expressions (`lsns -Q`), as scols-filter(5) describes
 * them and libsmartcols's scanner, grammar and casts decide them.
 *
 * @module
 */

import { assertEquals, assertThrows } from "./_assert.ts";
import { evaluate, FilterError, filterHolders, type FilterLine, parseFilter } from "../cli/filter.ts";

/** A line of lsns: numeric columns as util-linux declares them. */
function line(cells: Record<string, string | undefined>): FilterLine {
  const numbers = new Set(["NS", "NPROCS", "PID", "PPID", "UID", "PNS", "ONS"]);
  return {
    cell: (name) => cells[name.toUpperCase()],
    type: (name) => numbers.has(name.toUpperCase()) ? "number" : "string",
  };
}

const HOST = line({
  NS: "4026531840",
  TYPE: "net",
  NPROCS: "12",
  PID: "1",
  USER: "root",
  COMMAND: "/sbin/init splash ",
  NETNSID: "unassigned",
  NSFS: undefined,
});
const HELD = line({ NS: "4026532300", TYPE: "net", NPROCS: "0", PID: undefined, USER: "root", NETNSID: "7" });

function keeps(expression: string, l: FilterLine): boolean {
  return evaluate(parseFilter(expression), l);
}

Deno.test("parseFilter() and evaluate() compare numbers, strings and regular expressions as libsmartcols does", () => {
  const cases: [string, boolean, boolean][] = [
    ["NS == 4026531840", true, false],
    ["NS eq 4026531840", true, false],
    ['NS == "4026531840"', true, false],
    ["NPROCS > 1", true, false],
    ["NPROCS GT 1", true, false],
    ["NPROCS >= 0", true, true],
    ['USER != "root"', false, false],
    ["USER == 'root'", true, true],
    ['COMMAND =~ "^/sbin"', true, false],
    ['COMMAND !~ "^/sbin"', false, true],
    ['COMMAND == "/sbin/init splash"', true, false],
    ['USER == " root "', true, true],
    ["NETNSID == '7'", false, true],
    ["NETNSID != 'unassigned'", false, true],
    ["PID == 1", true, false],
    // An empty cell is neither equal nor unequal to a number.
    ["PID != 1", false, false],
    ["PID", true, false],
    ["!PID", false, true],
    ["NSFS", false, false],
    ["NPROCS", true, false],
    ["NPROCS > 11.5", true, false],
    ["NPROCS == 12.0", true, false],
    ["NPROCS >= 1K", false, false],
    ["NS > 3G", true, true],
    ["NPROCS == true", true, false],
    ["(NPROCS > 1) == true", true, false],
    ["true", true, true],
    ["FALSE", false, false],
    ['"text"', true, true],
    ['""', false, false],
  ];
  for (const [expression, host, held] of cases) {
    assertEquals([keeps(expression, HOST), keeps(expression, HELD)], [host, held], expression);
  }
});

Deno.test("parseFilter() groups && and || alike, from the left, and binds ! and comparisons tighter", () => {
  // libsmartcols's grammar gives AND and OR one precedence: a || b && c is (a || b) && c.
  assertEquals(keeps("true || true && false", HOST), false);
  assertEquals(keeps("false && false || true", HOST), true);
  assertEquals(keeps("true || (true && false)", HOST), true);
  // ! takes one operand: !a == b is (!a) == b.
  assertEquals(keeps("!NPROCS == false", HOST), true);
  assertEquals(keeps("not NPROCS > 1 or USER == 'root'", HELD), true);
  assertEquals(keeps("NPROCS > 1 and USER == 'root' && TYPE == 'net'", HOST), true);
  // Words: an operator only when the whole word is one.
  assertEquals(filterHolders(parseFilter("andy == 1 and ORx")), ["andy", "ORx"]);
  assertEquals(filterHolders(parseFilter("ns==1&&Type=='x'")), ["ns", "Type"]);
});

Deno.test("parseFilter() refuses what libsmartcols refuses, in one line", () => {
  const cases: [string, string][] = [
    // The words of util-linux's own messages (bison's), where it has any.
    ["NS ==", "syntax error, unexpected end of file"],
    ["NS == 1 )", "syntax error, unexpected ')', expecting end of file"],
    ["(NS == 1", "syntax error, unexpected end of file"],
    ["NS == ==", "syntax error, unexpected EQ"],
    ["COMMAND =~ =~", "syntax error, unexpected REG"],
    ["NS 1", "syntax error, unexpected NUMBER, expecting end of file"],
    ["NS =~ 1", "the right side of =~ must be a string"],
    ['COMMAND =~ "a++"', "unsafe regular expression: a++"],
    ['COMMAND =~ "(a+)+"', "unsafe regular expression: (a+)+"],
    ['COMMAND =~ "a{1,2000}"', "unsafe regular expression: a{1,2000}"],
    ["x".repeat(1025), "the expression is longer than 1024 bytes"],
    ["NS == 99999999999999999999K", '"99999999999999999999K" token error: Numerical result out of range'],
    ["NS == '", "syntax error, unexpected invalid token"],
  ];
  for (const [expression, message] of cases) {
    const error = assertThrows(() => parseFilter(expression), FilterError);
    assertEquals(error.message, message, expression);
    assertEquals(error.message.includes("\n"), false);
  }
  assertEquals(parseFilter(""), undefined);
  // A cell that is no number where the comparison needs one fails the line, as in util-linux.
  assertThrows(() => keeps("NETNSID == 7", HOST), FilterError, 'cannot use "unassigned" as a number');
  assertEquals(keeps("NETNSID == 7", HELD), true);
});
