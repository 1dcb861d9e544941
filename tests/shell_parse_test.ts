/**
 * The shell language's front end: parse() reads sh's grammar (simple
 * commands, pipelines, lists, compound commands, functions, redirections,
 * here-documents) and refuses bash's extensions with a position and a
 * reason; the expansion of words (expand.ts) turns them into argv as sh
 * does; isIncomplete() tells a prompt to read on; quote() writes words back.
 * A seeded fuzz test (seed from NSH_FUZZ_SEED, else a fixed one) checks that
 * nothing else is ever thrown and that positions and round trips hold.
 *
 * @module
 */

import { assert, assertEquals, AssertionError, assertMatch, assertThrows } from "./_assert.ts";
import {
  type Command,
  isIncomplete,
  type List,
  parse,
  ParseError,
  type Part,
  type Pipeline,
  quote,
  type SimpleCommand,
  simpleCommands,
} from "../cli/shell/parse.ts";
import { arithmetic, expandWord, expandWords, ExpansionError, type Scope } from "../cli/shell/expand.ts";
import { seededRandom } from "./_random.ts";

const BASH = " (a bash extension; nsh reads sh's language)";

/** A scope with these variables and positional parameters. */
function scopeOf(vars: Record<string, string> = {}, args: readonly string[] = []): Scope {
  const values = { ...vars };
  return {
    get: (name) => values[name],
    set: (name, value) => void (values[name] = value),
    args,
    argv0: "nsh",
    status: 0,
    pid: 4242,
  };
}

const SCOPE = scopeOf({ HOME: "/home/me", X: "x", SP: " a  b\tc\nd ", E: "", G: "hello world" }, ["one", "two words"]);

/** The simple commands of a source, depth first. */
function commands(source: string): SimpleCommand[] {
  return simpleCommands(parse(source));
}

/** The argv of a source that holds one simple command. */
async function argv(source: string, scope: Scope = SCOPE): Promise<string[]> {
  const list = commands(source);
  assertEquals(list.length, 1, `commands in ${JSON.stringify(source)}`);
  return await expandWords(list[0]!.words, scope);
}

/** The argvs of every simple command of a source. */
async function argvs(source: string, scope: Scope = SCOPE): Promise<string[][]> {
  const out: string[][] = [];
  for (const c of commands(source)) out.push(await expandWords(c.words, scope));
  return out;
}

/** The parts of each word of the one simple command of a source. */
function parts(source: string): (readonly Part[])[] {
  const list = commands(source);
  assertEquals(list.length, 1);
  return list[0]!.words.map((w) => w.parts);
}

/** The ParseError that parsing a source throws. */
function parseError(source: string, firstLine?: number): ParseError {
  return assertThrows(() => parse(source, firstLine === undefined ? {} : { firstLine }), ParseError);
}

function text(value: string, quoted = false): Part {
  return { kind: "text", value, quoted };
}

function variable(name: string, quoted = false): Part {
  return { kind: "var", name, quoted };
}

/** The one command of the one pipeline of a source. */
function only(source: string): Command {
  const list = parse(source);
  assertEquals(list.length, 1);
  const pipeline = list[0]!.command.first;
  assertEquals(pipeline.commands.length, 1);
  return pipeline.commands[0]!;
}

/** A list's shape: each item's and-or list as pipelines of command kinds and first words. */
function shape(list: List): string[] {
  const pipeline = (p: Pipeline) =>
    (p.negate ? "! " : "") +
    p.commands.map((c, i) =>
      (c.kind === "simple" ? c.words.map((w) => w.text).join(" ") : c.kind) +
      (i < p.pipeStderr.length ? (p.pipeStderr[i] ? " |& " : " | ") : "")
    ).join("");
  return list.map((item) =>
    [pipeline(item.command.first), ...item.command.rest.map((r) => `${r.op} ${pipeline(r.pipeline)}`)].join(" ") +
    (item.background ? " &" : "")
  );
}

// Words and separators

Deno.test("parse() splits words on spaces and tabs", async () => {
  assertEquals(await argv("unshare --user  --map-root-user\t--pid --mount"), [
    "unshare",
    "--user",
    "--map-root-user",
    "--pid",
    "--mount",
  ]);
});

Deno.test("parse() separates commands by newlines and semicolons", async () => {
  const expected = [["mount-proc"], ["hostname", "box"], ["ps", "-e"], ["echo", "a"]];
  assertEquals(await argvs("mount-proc\nhostname box; ps -e;echo a"), expected);
  assertEquals(await argvs("a;b"), [["a"], ["b"]]);
});

Deno.test("parse() skips empty commands: blank lines and comments; a stray `;` is an error, as in sh", async () => {
  assertEquals(parse(""), []);
  assertEquals(parse("   \t \n\n \n# only a comment\n   # indented"), []);
  assertEquals(await argvs("a;\n\nb;"), [["a"], ["b"]]);
  assertEquals(parseError(";a").message, "1:1: unexpected `;`");
  assertEquals(parseError("a;;").message, "1:2: unexpected `;;`");
});

Deno.test("parse() starts a comment only at the start of a word", async () => {
  assertEquals(await argvs("echo a#b #c d\necho e;#f\n#g"), [["echo", "a#b"], ["echo", "e"]]);
  assertEquals(await argv("echo '#' \"#\" \\# x#"), ["echo", "#", "#", "#", "x#"]);
  assertEquals(await argv("echo $#x"), ["echo", "2x"]);
});

Deno.test("parse() ends a comment at the newline, whatever it holds", async () => {
  assertEquals(await argvs("# 'open \"quote `cmd` | & \\\necho b"), [["echo", "b"]]);
  assertEquals(await argvs("echo a # $(no) ${no:-x}\necho b"), [["echo", "a"], ["echo", "b"]]);
});

// Quoting

Deno.test("parse() keeps everything inside single quotes literally", async () => {
  assertEquals(await argv(`echo 'a  $X \\ \\' "b"`), ["echo", `a  $X \\ \\`, "b"]);
  assertEquals(await argv("echo 'line\\\nnext' '|&;<>()`~#'"), ["echo", "line\\\nnext", "|&;<>()`~#"]);
  assertEquals(parts("'a'"), [[text("a", true)]]);
});

Deno.test('parse() escapes only $ ` " \\ and newline with a backslash in double quotes', async () => {
  assertEquals(await argv(`echo "\\$X \\\` \\" \\\\ \\a \\' \\n"`), ["echo", `$X \` " \\ \\a \\' \\n`]);
  assertEquals(await argv('echo "a\\\nb"'), ["echo", "ab"]);
  assertEquals(await argv('echo "a\nb"'), ["echo", "a\nb"]);
});

Deno.test("parse() expands variables in double quotes but nothing else", async () => {
  assertEquals(await argv(`echo "$X $G ~ '$X' * #"`), ["echo", "x hello world ~ 'x' * #"]);
  assertEquals(await argv(`echo "a|b&c;d<e>f(g)"`), ["echo", "a|b&c;d<e>f(g)"]);
});

Deno.test("parse() escapes any character with a backslash outside quotes", async () => {
  assertEquals(await argv("echo \\$X \\' \\\" \\\\ \\a \\  \\;\\|\\&\\>\\<\\(\\)\\`"), [
    "echo",
    "$X",
    "'",
    '"',
    "\\",
    "a",
    " ",
    ";|&><()`",
  ]);
  assertEquals(parts("\\a"), [[text("a", true)]]);
  assertEquals(await argv("echo \\😀x"), ["echo", "😀x"]);
});

Deno.test("parse() joins quoted and unquoted pieces into one word", async () => {
  assertEquals(await argv(`echo a'b c'"d $X"e\\ f`), ["echo", "ab cd xe f"]);
  assertEquals(parts(`a'b'"c"\\d$X"$X"`), [[
    text("a"),
    text("bcd", true),
    variable("X"),
    variable("X", true),
  ]]);
});

Deno.test("parse() removes backslash-newline outside single quotes", async () => {
  assertEquals(await argv("echo a\\\nb \\\n c"), ["echo", "ab", "c"]);
  assertEquals(await argv("ec\\\nho $\\\nX ${\\\nX\\\n} $G\\\nX"), ["echo", "x", "x"]);
  assertEquals(await argvs("echo a \\\n\\\n"), [["echo", "a"]]);
  assertEquals(await argvs("echo a \\\n# comment\necho b"), [["echo", "a"], ["echo", "b"]]);
  assertEquals(await argvs("echo a\\\n#not-comment"), [["echo", "a#not-comment"]]);
});

Deno.test("parse() takes CR as an ordinary character", async () => {
  assertEquals(await argv("echo a\r"), ["echo", "a\r"]);
  assertEquals(await argv("echo a\\\r"), ["echo", "a\r"]);
});

Deno.test("parse() merges adjacent text parts of the same quoting and keeps an empty quoted part", () => {
  assertEquals(parts(`"" '' a""b`), [[text("", true)], [text("", true)], [text("a"), text("", true), text("b")]]);
});

// Variables

Deno.test("parse() reads $NAME and ${NAME}", () => {
  assertEquals(parts("$HOME ${HOME}x $_a1.b $A_B-c"), [
    [variable("HOME")],
    [variable("HOME"), text("x")],
    [variable("_a1"), text(".b")],
    [variable("A_B"), text("-c")],
  ]);
});

Deno.test("parse() reads positional and special parameters", () => {
  assertEquals(parts("$0 $1 $9 $10 ${10} ${012} $# $@ $* $? $$"), [
    [variable("0")],
    [variable("1")],
    [variable("9")],
    [variable("1"), text("0")],
    [variable("10")],
    [variable("012")],
    [variable("#")],
    [variable("@")],
    [variable("*")],
    [variable("?")],
    [variable("$")],
  ]);
  assertEquals(parts("${#} ${@} ${*} ${?} ${$} ${0}"), ["#", "@", "*", "?", "$", "0"].map((n) => [variable(n)]));
  assertEquals(parts(`"$1$#"`), [[variable("1", true), variable("#", true)]]);
});

Deno.test("parse() keeps a $ not followed by a name as text", async () => {
  assertEquals(await argv(`echo $ a$ $. $% "$" "a$" "$ " $"x" $/`), [
    "echo",
    "$",
    "a$",
    "$.",
    "$%",
    "$",
    "a$",
    "$ ",
    "$x",
    "$/",
  ]);
  assertEquals(await argv(`echo "$'x'"`), ["echo", "$'x'"]);
  assertEquals(parts("$- $!"), [[variable("-")], [variable("!")]]);
});

Deno.test("expand() gives each variable form its value", async () => {
  const scope = scopeOf({ HOME: "/h", NAME: "v", _u: "u" }, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]);
  const scopeWith = { ...scope, argv0: "script.nsh", status: 3, pid: 77 };
  assertEquals(await argv("echo $NAME ${NAME} $_u $1 $9 $10 ${10} ${11} ${011} $0 $# $? $$", scopeWith), [
    "echo",
    "v",
    "v",
    "u",
    "a",
    "i",
    "a0",
    "j",
    "k",
    "k",
    "script.nsh",
    "11",
    "3",
    "77",
  ]);
});

Deno.test("expand() gives unset variables and missing parameters the empty string", async () => {
  assertEquals(await argv('echo "$NOPE" "$3" "${12}" x$NOPE$3y'), ["echo", "", "", "", "xy"]);
});

Deno.test('expand() gives "$@" one argument per positional parameter', async () => {
  assertEquals(await argv('echo "$@"', scopeOf({}, [])), ["echo"]);
  assertEquals(await argv('echo "$@"', scopeOf({}, ["a b"])), ["echo", "a b"]);
  assertEquals(await argv('echo "$@"', scopeOf({}, ["a b", "", " c "])), ["echo", "a b", "", " c "]);
  assertEquals(await argv('echo "${@}"', scopeOf({}, ["1", "2", "3"])), ["echo", "1", "2", "3"]);
});

Deno.test('expand() joins "$@" to the text around it at both ends', async () => {
  assertEquals(await argv('echo x"$@"y', scopeOf({}, [])), ["echo", "xy"]);
  assertEquals(await argv('echo x"$@"y', scopeOf({}, ["a"])), ["echo", "xay"]);
  assertEquals(await argv('echo x"$@"y', scopeOf({}, ["a", "b", "c"])), ["echo", "xa", "b", "cy"]);
  assertEquals(await argv('echo "$@"""', scopeOf({}, [])), ["echo", ""]);
  assertEquals(await argv('echo "$@" "$@"', scopeOf({}, ["a", "b"])), ["echo", "a", "b", "a", "b"]);
});

Deno.test('expand() joins "$*" with spaces into one argument', async () => {
  assertEquals(await argv('echo "$*"', scopeOf({}, [])), ["echo", ""]);
  assertEquals(await argv('echo "$*"', scopeOf({}, ["a b", "c"])), ["echo", "a b c"]);
});

Deno.test("expand() splits unquoted $@ and $* into fields", async () => {
  const scope = scopeOf({}, [" a  b ", "", "c"]);
  assertEquals(await argv("echo $@", scope), ["echo", "a", "b", "c"]);
  assertEquals(await argv("echo $*", scope), ["echo", "a", "b", "c"]);
  assertEquals(await argv("echo x$@y", scope), ["echo", "x", "a", "b", "cy"]);
  assertEquals(await argv("echo $@", scopeOf({}, [])), ["echo"]);
});

// Field splitting and empty words

Deno.test("expand() splits unquoted expansions on spaces, tabs and newlines", async () => {
  assertEquals(await argv("echo $SP"), ["echo", "a", "b", "c", "d"]);
  assertEquals(await argv("echo ${SP}"), ["echo", "a", "b", "c", "d"]);
  assertEquals(await argv("echo x${SP}y"), ["echo", "x", "a", "b", "c", "d", "y"]);
  assertEquals(await argv("echo x${G}y"), ["echo", "xhello", "worldy"]);
  assertEquals(await argv("echo $G$G"), ["echo", "hello", "worldhello", "world"]);
  assertEquals(await argv("echo $X$X"), ["echo", "xx"]);
});

Deno.test("expand() does not split a variable in export's NAME=value words, as bash and dash do", async () => {
  assertEquals(await argv("export A=$G B=x${SP}y"), ["export", "A=hello world", "B=x a  b\tc\nd y"]);
  // Only in assignments, and only for export.
  assertEquals(await argv("export $G=1"), ["export", "hello", "world=1"]);
  assertEquals(await argv("echo A=$G"), ["echo", "A=hello", "world"]);
});

Deno.test("expand() does not split quoted expansions or literal text", async () => {
  assertEquals(await argv('echo "$SP" "${SP}x" "$G"'), ["echo", " a  b\tc\nd ", " a  b\tc\nd x", "hello world"]);
  assertEquals(await argv("echo \"a  b\" 'c  d' e\\ \\ f"), ["echo", "a  b", "c  d", "e  f"]);
});

Deno.test("expand() keeps other whitespace in unquoted expansions", async () => {
  const scope = scopeOf({ W: "a\rb\u00a0c\vd" });
  assertEquals(await argv("echo $W", scope), ["echo", "a\rb\u00a0c\vd"]);
});

Deno.test("expand() drops an unquoted word that expands to nothing", async () => {
  assertEquals(await argv("echo $E $NOPE ${E} $E$E $3 a"), ["echo", "a"]);
  assertEquals(await argv("echo $E", scopeOf({ E: "   " })), ["echo"]);
  assertEquals(parse("$E").length, 1);
  assertEquals(await argv("$E"), []);
});

Deno.test('expand() keeps "" and quoted empty expansions as empty arguments', async () => {
  assertEquals(await argv(`echo "" '' "$E" "$NOPE" $E"" ''$E`), ["echo", "", "", "", "", "", ""]);
  assertEquals(await argv('echo ""$SP'), ["echo", "", "a", "b", "c", "d"]);
  assertEquals(await argv("echo a$E"), ["echo", "a"]);
});

// Tilde

Deno.test("expand() replaces ~ and ~/ at the start of an unquoted word with HOME", async () => {
  assertEquals(await argv("echo ~ ~/ ~/src/x"), ["echo", "/home/me", "/home/me/", "/home/me/src/x"]);
  assertEquals(await argvs("ls ~;ls ~/a"), [["ls", "/home/me"], ["ls", "/home/me/a"]]);
});

Deno.test("expand() keeps other tildes", async () => {
  assertEquals(await argv(`echo ~nosuchuser a~ x=~ '~' "~" \\~ "~/x" ~\\/x ~"/x" ""~ ~~ ~$X $X~`), [
    "echo",
    "~nosuchuser",
    "a~",
    "x=~",
    "~",
    "~",
    "~",
    "~/x",
    "~/x",
    "~/x",
    "~",
    "~~",
    "~x",
    "x~",
  ]);
  const homes = { ...SCOPE, home: (user: string) => user === "root" ? "/root" : undefined };
  assertEquals(await argv("echo ~root/x ~nobody", homes), ["echo", "/root/x", "~nobody"]);
});

Deno.test("expand() keeps ~ when HOME is unset or empty, and does not split HOME", async () => {
  assertEquals(await argv("echo ~ ~/a", scopeOf({})), ["echo", "~", "~/a"]);
  assertEquals(await argv("echo ~ ~/a", scopeOf({ HOME: "" })), ["echo", "~", "~/a"]);
  assertEquals(await argv("echo ~/a", scopeOf({ HOME: "/my home" })), ["echo", "/my home/a"]);
});

// Positions and raw text

Deno.test("parse() gives the line and column of commands and words", () => {
  const list = commands("echo a\n  hostname  box ; ps\n\n\t'x y' \"z\"");
  assertEquals(list.map((c) => [c.start, c.text]), [
    [{ line: 1, column: 1 }, "echo a"],
    [{ line: 2, column: 3 }, "hostname  box"],
    [{ line: 2, column: 19 }, "ps"],
    [{ line: 4, column: 2 }, `'x y' "z"`],
  ]);
  assertEquals(list[1]!.words.map((w) => [w.start, w.text]), [
    [{ line: 2, column: 3 }, "hostname"],
    [{ line: 2, column: 13 }, "box"],
  ]);
  assertEquals(list[3]!.words.map((w) => w.start), [{ line: 4, column: 2 }, { line: 4, column: 8 }]);
});

Deno.test("parse() counts lines from firstLine", () => {
  const list = simpleCommands(parse("a\nb c", { firstLine: 10 }));
  assertEquals(list.map((c) => c.start), [{ line: 10, column: 1 }, { line: 11, column: 1 }]);
  assertEquals(list[1]!.words[1]!.start, { line: 11, column: 3 });
});

Deno.test("parse() counts columns in UTF-16 code units", () => {
  assertEquals(commands("é 😀 x")[0]!.words.map((w) => w.start.column), [1, 3, 6]);
});

Deno.test("parse() gives raw text across quotes, continuations and lines", () => {
  const [command] = commands(`  echo 'a\nb' "$X"\\\n  c\\\n  # comment`);
  assertEquals(command!.text, `echo 'a\nb' "$X"\\\n  c`);
  assertEquals(command!.words.map((w) => w.text), ["echo", "'a\nb'", '"$X"', "c"]);
  assertEquals(command!.words.map((w) => w.start), [
    { line: 1, column: 3 },
    { line: 1, column: 8 },
    { line: 2, column: 4 },
    { line: 3, column: 3 },
  ]);
  assertEquals(commands("a\\\nb")[0]!.words[0]!.text, "a\\\nb");
});

Deno.test("parse() leaves comments and separators out of a command's text", () => {
  assertEquals(commands('  export GREETING="hello world"  # greet ;x\n').map((c) => c.text), [
    'export GREETING="hello world"',
  ]);
  assertEquals(commands("a b;c").map((c) => c.text), ["a b", "c"]);
  assertEquals(parse("a | b && c; d &").map((item) => item.command.text), ["a | b && c", "d"]);
});

// Errors

Deno.test("ParseError carries line, column, expected and incomplete, in its message too", () => {
  const error = parseError("echo ok\necho 'open");
  assertEquals([error.name, error.line, error.column, error.expected, error.incomplete], [
    "ParseError",
    2,
    6,
    "'",
    true,
  ]);
  assertEquals(error.message, "2:6: unterminated single-quoted string (expected `'`)");
  const other = parseError("echo )");
  assertEquals([other.line, other.column, other.expected, other.incomplete], [1, 6, undefined, false]);
  assertEquals(other.message, "1:6: unexpected `)`");
  const fi = parseError("if true; then\n  echo a");
  assertEquals([fi.message, fi.expected, fi.incomplete], ["1:1: unterminated `if` (expected `fi`)", "fi", true]);
});

Deno.test("parse() points at the opening quote of an unterminated string", () => {
  const single = parseError("a\n  b 'x\ny", 5);
  assertEquals([single.line, single.column, single.expected], [6, 5, "'"]);
  const double = parseError('a "b\\"c');
  assertEquals([double.line, double.column, double.expected], [1, 3, '"']);
  assertEquals(double.message, '1:3: unterminated double-quoted string (expected `"`)');
  assertEquals(parseError('"a\\').column, 1);
});

Deno.test("parse() reports a backslash at the end of input", () => {
  const error = parseError("echo a \\");
  assertEquals([error.line, error.column, error.expected, error.incomplete], [1, 8, "another line", true]);
  assertEquals(error.message, "1:8: unexpected end of input after `\\` (expected another line)");
});

Deno.test("parse() refuses bash's extensions by name, at their first character", () => {
  const cases: [string, number, string][] = [
    ["cat <<< x", 5, "here-strings (`<<<`) are not supported"],
    ["diff <(a) b", 6, "process substitution `<(...)` is not supported"],
    ["tee >(a)", 5, "process substitution `>(...)` is not supported"],
    ["echo $'a\\tb'", 6, "`$'...'` quoting is not supported"],
    ["[[ -e x ]]", 1, "`[[` is not supported"],
    ["function f { x; }", 1, "`function` is not supported"],
    ["select x in a; do :; done", 1, "`select` is not supported"],
    ["case a in a) x;& esac", 15, "`;&` is not supported"],
    ["echo ${!X}", 8, "indirect expansion `${!...}` is not supported"],
    ["echo ${X/a/b}", 9, "`${X/...}` is not supported"],
    ["echo ${X//a/b}", 9, "`${X//...}` is not supported"],
    ["echo ${X^^}", 9, "`${X^^...}` is not supported"],
    ["echo ${X,}", 9, "`${X,...}` is not supported"],
    ["echo ${X:1:2}", 9, "`${X:N...}` is not supported"],
    ["a=(1 2)", 3, "arrays (`a=(...)`) are not supported"],
  ];
  for (const [source, column, reason] of cases) {
    const error = parseError(source);
    assertEquals([error.message, error.expected, error.incomplete], [
      `1:${column}: ${reason}${BASH}`,
      undefined,
      false,
    ]);
  }
});

Deno.test("parse() reports a misplaced operator or reserved word where it is", () => {
  const cases: [string, string, boolean][] = [
    ["echo )", "1:6: unexpected `)`", false],
    ["| a", "1:1: unexpected `|`", false],
    ["a && && b", "1:6: unexpected `&&`", false],
    ["a | ; b", "1:5: unexpected `;`", false],
    ["fi", "1:1: unexpected `fi`", false],
    ["then x", "1:1: unexpected `then`", false],
    ["if then x; fi", "1:4: unexpected `then`", false],
    ["{ }", "1:3: unexpected `}`", false],
    ["( )", "1:3: unexpected `)`", false],
    ["while do x; done", "1:7: unexpected `do`", false],
    ["for 1x in a; do b; done", "1:5: unexpected `1x` (expected a name)", false],
    // As in sh: `do` there is a word of the list.
    ["for x in a b c do; done", "1:20: unexpected `done` (expected `do`)", false],
    ["case x in a) b;; c d) e;; esac", "1:20: unexpected `d` (expected `)`)", false],
    ["f() x", "1:5: unexpected `x` (expected `{`)", false],
    ["f(x)", "1:3: unexpected `x` (expected `)`)", false],
    ["echo a(b)", "1:7: unexpected `(`", false],
    ["'f'() { x; }", "1:1: `'f'` cannot name a function", false],
    ["echo >", "1:7: unexpected end of input (expected a file name)", true],
    ["echo > ;", "1:8: unexpected `;` (expected a file name)", false],
    ["cat << ;", "1:8: unexpected `;` (expected a delimiter)", false],
    ["echo $((1 )+ 2))", "1:11: unexpected `)` in `$((...))` (expected `))`)", false],
  ];
  for (const [source, message, incomplete] of cases) {
    const error = parseError(source);
    assertEquals([error.message, error.incomplete], [message, incomplete], JSON.stringify(source));
  }
});

Deno.test("parse() reads reserved words only where a command's name stands", async () => {
  assertEquals(await argv("echo if then { } ! done fi esac in"), [
    "echo",
    "if",
    "then",
    "{",
    "}",
    "!",
    "done",
    "fi",
    "esac",
    "in",
  ]);
  assertEquals(await argv("'if' x"), ["if", "x"]);
  assertEquals(await argv("\\{ x"), ["{", "x"]);
  assertEquals(await argv("{x} y"), ["{x}", "y"]);
  assertEquals(await argvs("x; ifx; [ a ]"), [["x"], ["ifx"], ["[", "a", "]"]]);
  assertEquals(only("{ echo a }\n}").kind, "group");
});

Deno.test("parse() reads NAME=value before a command's name as an assignment, and as a word elsewhere", async () => {
  const c = only("A=1 B= C=$X'y' env A=2") as SimpleCommand;
  assertEquals(c.assigns.map((a) => [a.name, a.value.parts, a.value.text]), [
    ["A", [text("1")], "1"],
    ["B", [], ""],
    ["C", [variable("X"), text("y", true)], "$X'y'"],
  ]);
  assertEquals(c.words.map((w) => w.text), ["env", "A=2"]);
  assertEquals((only("A=1") as SimpleCommand).words, []);
  assertEquals(await argv("echo A=1 B="), ["echo", "A=1", "B="]);
  assertEquals(await argv("'A=1' x"), ["A=1", "x"]);
  assertEquals(await argv("=1 x"), ["=1", "x"]);
  assertEquals(await argv("1A=2"), ["1A=2"]);
});

Deno.test("parse() reads pipelines, lists, and-or lists, ! and background jobs", () => {
  assertEquals(shape(parse("a | b |& c")), ["a | b |& c"]);
  assertEquals(shape(parse("! a && b || c; d & e\nf")), ["! a && b || c", "d &", "e", "f"]);
  assertEquals(shape(parse("a &&\n\n b |\n c")), ["a && b | c"]);
  assertEquals(shape(parse("a&b&")), ["a &", "b &"]);
});

Deno.test("parse() reads compound commands and functions", () => {
  const tree = parse(`
{ a; b; }
( c )
if d; then e; elif f; then g; else h; fi
while i; do j; done
until k; do l; done
for m in n o; do p; done
for q; do r; done
case s in t|u) v;; (w) ;; *) x; esac
y() { z; }
`);
  assertEquals(tree.map((item) => item.command.first.commands[0]!.kind), [
    "group",
    "subshell",
    "if",
    "while",
    "until",
    "for",
    "for",
    "case",
    "function",
  ]);
  const ifs = tree[2]!.command.first.commands[0] as Extract<Command, { kind: "if" }>;
  assertEquals(ifs.clauses.map((c) => [shape(c.test), shape(c.body)]), [[["d"], ["e"]], [["f"], ["g"]]]);
  assertEquals(shape(ifs.otherwise!), ["h"]);
  const fors = tree.slice(5, 7).map((i) => i.command.first.commands[0] as Extract<Command, { kind: "for" }>);
  assertEquals(fors.map((f) => [f.name, f.words?.map((w) => w.text)]), [["m", ["n", "o"]], ["q", undefined]]);
  const cases = tree[7]!.command.first.commands[0] as Extract<Command, { kind: "case" }>;
  assertEquals(cases.items.map((i) => [i.patterns.map((p) => p.text), shape(i.body)]), [
    [["t", "u"], ["v"]],
    [["w"], []],
    [["*"], ["x"]],
  ]);
  const fn = tree[8]!.command.first.commands[0] as Extract<Command, { kind: "function" }>;
  assertEquals([fn.name, fn.body.kind, fn.text], ["y", "group", "y() { z; }"]);
});

Deno.test("parse() reads redirections, with the descriptor they name", () => {
  const c = only("cmd <in >out 2>>log 2>&1 >&2 <>rw 3<x &>all &>>more 10>f >|g") as SimpleCommand;
  assertEquals(c.words.map((w) => w.text), ["cmd"]);
  assertEquals(c.redirects.map((r) => [r.fd, r.op, r.target.text]), [
    [0, "<", "in"],
    [1, ">", "out"],
    [2, ">>", "log"],
    [2, ">&", "1"],
    [1, ">&", "2"],
    [0, "<>", "rw"],
    [3, "<", "x"],
    [1, "&>", "all"],
    [1, "&>>", "more"],
    [10, ">", "f"],
    [1, ">|", "g"],
  ]);
  const group = only("{ a; } >f 2>&1") as Extract<Command, { kind: "group" | "subshell" }>;
  assertEquals(group.redirects.map((r) => r.op), [">", ">&"]);
  // A number is a descriptor only right before the operator.
  assertEquals((only("echo 2 >x a2>y") as SimpleCommand).words.map((w) => w.text), ["echo", "2", "a2"]);
});

Deno.test("parse() reads here-documents after the line, expanded unless the delimiter is quoted", async () => {
  const list = parse("cat <<EOF; cat <<'E2' <<-\tE3\nhi $X `echo a`\\$\nEOF\n$X\nE2\n\t\ttabs\n\tE3\necho after\n");
  const [a, b] = list.map((item) => item.command.first.commands[0] as SimpleCommand);
  assertEquals(
    await expandWord(a!.redirects[0]!.target, { ...SCOPE, substitute: () => Promise.resolve("A\n") }),
    "hi x A$\n",
  );
  assertEquals(b!.redirects.map((r) => r.target.parts), [[text("$X\n", true)], [text("tabs\n", true)]]);
  assertEquals(list.map((item) => item.command.text), ["cat <<EOF", "cat <<'E2' <<-\tE3", "echo after"]);
  assertEquals(list.at(-1)!.command.start.line, 8);
  const unterminated = parseError("cat <<EOF\nline\n");
  assertEquals([unterminated.message, unterminated.incomplete], [
    "1:5: unterminated here-document (expected `EOF`)",
    true,
  ]);
});

Deno.test("parse() takes quoted or escaped operators as text", async () => {
  assertEquals(await argv(`echo '|' "&&" \\> \\2\\> "(" \\) '$(x)' "\\$(x)" \\\`x\\\` '<<EOF'`), [
    "echo",
    "|",
    "&&",
    ">",
    "2>",
    "(",
    ")",
    "$(x)",
    "$(x)",
    "`x`",
    "<<EOF",
  ]);
});

Deno.test("parse() reads ${NAME<op>word} and ${#NAME}", () => {
  const ops = [":-", ":=", ":?", ":+", "-", "=", "?", "+", "%", "%%", "#", "##"];
  for (const op of ops) {
    const [[part]] = parts(`\${X${op}y$Z}`) as [[Part]];
    assertEquals(part.kind === "var" && [part.name, part.op, part.word?.parts], ["X", op, [text("y"), variable("Z")]]);
  }
  assertEquals(parts("${#X} ${#} ${##}"), [
    [{ kind: "var", name: "X", quoted: false, op: "length" }],
    [variable("#")],
    [{ kind: "var", name: "#", quoted: false, op: "length" }],
  ]);
  // Quotes inside: quoted text in an unquoted ${}, literal ' in a quoted one.
  const [[unquoted]] = parts(`\${X:-'a b'}`) as [[Part]];
  assertEquals(unquoted.kind === "var" && unquoted.word?.parts, [text("a b", true)]);
  const [[quoted]] = parts(`"\${X:-'a'}"`) as [[Part]];
  assertEquals(quoted.kind === "var" && quoted.word?.parts, [text("'a'", true)]);
});

Deno.test("expand() gives ${NAME<op>word} sh's values", async () => {
  const scope = scopeOf({ S: "set", E: "", F: "a.tar.gz" }, []);
  assertEquals(await argv('echo ${S:-d} ${E:-d} ${U:-d} ${E-d} ${U-d} "${U-a b}"', scope), [
    "echo",
    "set",
    "d",
    "d",
    "d",
    "a b",
  ]);
  assertEquals(await argv("echo ${S:+a} ${E:+a} ${E+a} ${U+a}", scope), ["echo", "a", "a"]);
  assertEquals(await argv("echo ${#S} ${#U} ${#F}", scope), ["echo", "3", "0", "8"]);
  assertEquals(await argv("echo ${F%.*} ${F%%.*} ${F#*.} ${F##*.} ${F%'.*'} ${F#x}", scope), [
    "echo",
    "a.tar",
    "a",
    "tar.gz",
    "gz",
    "a.tar.gz",
    "a.tar.gz",
  ]);
  assertEquals(await argv("echo ${N:=new} $N ${E:=e2} $E", scope), ["echo", "new", "new", "e2", "e2"]);
  await assertThrowsAsync(() => argv("echo ${U?gone}", scope), "U: gone");
  await assertThrowsAsync(() => argv("echo ${E:?}", scopeOf({ E: "" })), "E: parameter null");
  await assertThrowsAsync(() => argv("echo ${1=x}", scope), "1: cannot assign in this way");
  await assertThrowsAsync(() => argv("echo $U", { ...scope, nounset: true }), "U: parameter not set");
});

async function assertThrowsAsync(f: () => Promise<unknown>, message: string): Promise<void> {
  try {
    await f();
  } catch (error) {
    assert(error instanceof ExpansionError, String(error));
    assertEquals(error.message, message);
    return;
  }
  throw new AssertionError(`expected an ExpansionError: ${message}`);
}

Deno.test("expand() splits on IFS as sh does: white space collapses, other characters each delimit", async () => {
  const scope = (value: string, ifs?: string) => scopeOf({ V: value, ...(ifs === undefined ? {} : { IFS: ifs }) });
  assertEquals(await argv("echo $V", scope(" a  b ")), ["echo", "a", "b"]);
  assertEquals(await argv("echo $V", scope("a::b:", ":")), ["echo", "a", "", "b"]);
  assertEquals(await argv("echo $V", scope(":a", ":")), ["echo", "", "a"]);
  assertEquals(await argv("echo $V", scope("a : b", ": ")), ["echo", "a", "b"]);
  assertEquals(await argv("echo $V", scope("a b", "")), ["echo", "a b"]);
  assertEquals(await argv("echo x${V}y", scope(" 1 2 ")), ["echo", "x", "1", "2", "y"]);
  assertEquals(await argv('echo "$*"', { ...scopeOf({ IFS: ":" }), args: ["a", "b"] }), ["echo", "a:b"]);
});

Deno.test("expand() runs command substitutions through the scope and removes trailing newlines", async () => {
  const seen: string[] = [];
  const scope: Scope = {
    ...SCOPE,
    substitute: (body) => {
      seen.push(simpleCommands(body).map((c) => c.text).join(";"));
      return Promise.resolve("a b\n\n");
    },
  };
  const [echo] = parse('echo $(one) "$(two; three)" `four`')[0]!.command.first.commands as [SimpleCommand];
  assertEquals(await expandWords(echo.words, scope), ["echo", "a", "b", "a b", "a", "b"]);
  assertEquals(seen, ["one", "two;three", "four"]);
  assertEquals(commands("echo $(a $(b))").map((c) => c.text), ["echo $(a $(b))", "a $(b)", "b"]);
});

Deno.test("arithmetic() computes sh's $((...)) on 64-bit integers", () => {
  const scope = scopeOf({ x: "5", y: "-2", bad: "z" });
  const cases: [string, string][] = [
    ["1 + 2 * 3", "7"],
    ["(1 + 2) * 3", "9"],
    ["7 / 2", "3"],
    ["-7 / 2", "-3"],
    ["7 % 3", "1"],
    ["x * y", "-10"],
    ["x > 3 && y < 0", "1"],
    ["!x || 0", "0"],
    ["1 << 4 | 1", "17"],
    ["~0", "-1"],
    ["0x10 + 010", "24"],
    ["x ? 10 : 20", "10"],
    ["9223372036854775807 + 1", "-9223372036854775808"],
    ["unset + 1", "1"],
    ["", "0"],
  ];
  for (const [expr, value] of cases) assertEquals(arithmetic(expr, scope), value, expr);
  assertEquals(arithmetic("x += 2", scope), "7");
  assertEquals(scope.get("x"), "7");
  for (const [expr, message] of [["1 / 0", "division by zero"], ["bad + 1", "not a number"], ["1 +", "expected"]]) {
    assertThrows(() => arithmetic(expr!, scope), ExpansionError, message);
  }
  assertEquals(arithmetic("0 && 1 / 0", scope), "0");
});

Deno.test("parse() reports a malformed ${...}", () => {
  const cases: [string, string, string, boolean][] = [
    ["echo ${}", "1:8: unexpected `}` after `${` (expected a name)", "a name", false],
    ["echo ${ X}", "1:8: unexpected space after `${` (expected a name)", "a name", false],
    ["echo ${X Y}", "1:9: unexpected space in `${X...}` (expected `}`)", "}", false],
    ["echo ${1a}", "1:9: unexpected `a` in `${1...}` (expected `}`)", "}", false],
    ["echo ${X", "1:6: unterminated `${` (expected `}`)", "}", true],
    ["echo ${", "1:6: unterminated `${` (expected `}`)", "}", true],
    ["echo ${X:-a", "1:6: unterminated `${` (expected `}`)", "}", true],
    ['echo "${X"', '1:10: unexpected `"` in `${X...}` (expected `}`)', "}", false],
    ["echo ${X\r}", "1:9: unexpected `\\r` in `${X...}` (expected `}`)", "}", false],
  ];
  for (const [source, message, expected, incomplete] of cases) {
    const error = parseError(source);
    assertEquals([error.message, error.expected, error.incomplete], [message, expected, incomplete], source);
  }
});

Deno.test("parse() reports the first error in the source, with its line", () => {
  assertEquals(parseError("echo a\n\necho b; cat x | y )").message, "3:19: unexpected `)`");
  assertEquals(parseError("echo 'a\nb' c | ;", 7).message, "8:8: unexpected `;`");
});

// isIncomplete

Deno.test("isIncomplete() is true for an open quote, construct or here-document, or a trailing operator", () => {
  const open = [
    "echo 'a",
    'echo "a',
    "echo a\\",
    'echo "a\\',
    "a\n'b\nc",
    "if true; then",
    "if true; then a; else",
    "while x; do",
    "for x in a b; do",
    "case x in",
    "case x in a) b;;",
    "{ a;",
    "( a",
    "f() {",
    "a |",
    "a &&",
    "a ||",
    "echo $(a",
    "echo `a",
    "echo ${X:-a",
    "echo $((1 +",
    "cat <<EOF",
    "cat <<EOF\nline",
  ];
  for (const source of open) assert(isIncomplete(source), JSON.stringify(source));
});

Deno.test("isIncomplete() is false for complete sources", () => {
  for (
    const source of ["", "echo a", "echo 'a'", 'echo "a"', "echo a\\\\", "echo a \\\nb", "# don't\\", "a;", "a &"]
  ) {
    assert(!isIncomplete(source), JSON.stringify(source));
  }
});

Deno.test("isIncomplete() is false for a syntax error, even before an open quote", () => {
  for (const source of ["echo ) 'a", "fi; if x", "echo ${ X", "a ;; 'b", "[[ 'a", "echo $'x"]) {
    assert(!isIncomplete(source), JSON.stringify(source));
  }
});

Deno.test("isIncomplete() sources complete with the next lines joined by newlines", async () => {
  assertEquals(await argv(["echo 'a", "b' \\", "c"].join("\n")), ["echo", "a\nb", "c"]);
  assertEquals(await argv(['echo "a', 'b"'].join("\n")), ["echo", "a\nb"]);
});

// quote

Deno.test("quote() leaves safe words as they are", () => {
  for (const word of ["echo", "--map-root-user", "/usr/bin/x", "=b", "1a=b", "x@y:1,2%+.", "_1"]) {
    assertEquals(quote(word), word);
  }
  // As a first word it would be an assignment, which the shell refuses.
  assertEquals(quote("a=b"), "'a=b'");
});

Deno.test("quote() single-quotes everything else", () => {
  assertEquals(quote(""), "''");
  assertEquals(quote("a b"), "'a b'");
  assertEquals(quote("it's"), "'it'\\''s'");
  assertEquals(quote("'"), "''\\'''");
  assertEquals(quote("$X"), "'$X'");
  assertEquals(quote("~"), "'~'");
  assertEquals(quote("#x"), "'#x'");
  assertEquals(quote("é"), "'é'");
  assertEquals(quote("a\nb"), "'a\nb'");
  assertEquals(quote("if"), "'if'");
  assertEquals(quote("*"), "'*'");
});

Deno.test("quote() words parse and expand back to the same argv", async () => {
  const words = ["echo", "", "it's", "a  b", "$X", "${X:-y}", "~", "#", "\\", '"', "a\nb", "|&;<>()`", "if", "😀"];
  assertEquals(await argv(words.map(quote).join(" ")), words);
});

// Properties, over seeded random inputs

const SEED = Number(Deno.env.get("NSH_FUZZ_SEED") ?? 20240611);

/** Tokens rich in shell syntax, so that random inputs reach every branch. */
const TOKENS = [
  "'",
  '"',
  "$",
  "{",
  "}",
  "\\",
  "#",
  ";",
  "|",
  "&",
  "<",
  ">",
  "(",
  ")",
  "`",
  "~",
  "\n",
  " ",
  "\t",
  "a",
  "Z",
  "_",
  "0",
  "1",
  "9",
  "@",
  "*",
  "?",
  "!",
  ":",
  "-",
  "=",
  "/",
  "%",
  "é",
  "😀",
  "\ud800",
  "\r",
  "\\\n",
  "${",
  "$X",
  '"$@"',
  "$@",
  "$*",
  "${10}",
  "${X:-",
  "${#X}",
  "$(",
  "$((",
  "~/",
  "2>",
  ">&",
  "<<",
  "<<-",
  "''",
  '""',
  " if ",
  " then ",
  " else ",
  " fi",
  " while ",
  " do ",
  " done",
  " for ",
  " in ",
  " case ",
  " esac",
  ";;",
  "&&",
  "||",
  " { ",
  " } ",
  "f()",
];

function randomSource(random: () => number, maxTokens: number): string {
  let source = "";
  const n = Math.floor(random() * (maxTokens + 1));
  for (let i = 0; i < n; i++) source += TOKENS[Math.floor(random() * TOKENS.length)]!;
  return source;
}

/** The index in `source` of a position, for sources parsed from line 1. */
function indexOf(source: string, position: { line: number; column: number }): number {
  let index = 0;
  for (let line = 1; line < position.line; line++) {
    index = source.indexOf("\n", index) + 1;
    assert(index > 0, `line ${position.line} is past the end`);
  }
  const end = source.indexOf("\n", index);
  assert(position.column >= 1 && index + position.column - 1 <= (end < 0 ? source.length : end), "column out of line");
  return index + position.column - 1;
}

const SCOPES = [
  scopeOf({}, []),
  scopeOf({ X: " a b ", HOME: "/h" }, ["1"]),
  scopeOf({ X: "", HOME: "~" }, ["a b", "", "c"]),
];

/** Checks the simple commands of a parsed source that is not inside a substitution or here-document. */
async function checkCommands(source: string, list: List): Promise<void> {
  // Commands inside substitutions and here-documents have positions of their own text.
  const outer = simpleCommands(list).filter((c) => source.startsWith(c.text, indexOfSafe(source, c.start)));
  for (const command of outer) {
    const first = command.words[0];
    const at = indexOf(source, command.start);
    assert(source.startsWith(command.text, at), "command text is not at its start");
    if (first) assert(command.text.includes(first.text), "command text and words differ");
    for (const scope of SCOPES) {
      let args: string[];
      try {
        args = await expandWords(command.words, { ...scope, substitute: () => Promise.resolve("s u b") });
      } catch (error) {
        // ${X?}, $((1/0)) and the like fail as sh's do.
        if (error instanceof ExpansionError) continue;
        throw error;
      }
      assert(args.every((a) => typeof a === "string"));
      if (args.length > 0) assertEquals(await argv(args.map(quote).join(" "), scope), args, "quote round trip");
    }
  }
  const shifted = simpleCommands(parse(source, { firstLine: 7 }));
  assertEquals(shifted.map((c) => c.start.line), simpleCommands(list).map((c) => c.start.line + 6));
}

function indexOfSafe(source: string, position: { line: number; column: number }): number {
  try {
    return indexOf(source, position);
  } catch {
    return -1;
  }
}

function checkError(source: string, error: ParseError): void {
  assertMatch(error.message, /^\d+:\d+: [a-z`]/);
  assert(error.message.startsWith(`${error.line}:${error.column}: `), "message and position differ");
  indexOf(source, error);
  const shifted = assertThrows(() => parse(source, { firstLine: 7 }), ParseError);
  assertEquals([shifted.line, shifted.column], [error.line + 6, error.column]);
}

async function checkSource(source: string): Promise<void> {
  let list: List;
  try {
    list = parse(source);
  } catch (error) {
    if (!(error instanceof ParseError)) throw new AssertionError(`parse() threw ${error}`);
    checkError(source, error);
    assertEquals(isIncomplete(source), error.incomplete);
    return;
  }
  assertEquals(isIncomplete(source), false);
  await checkCommands(source, list);
}

Deno.test("parse() returns a list or throws a ParseError for random inputs, and expansion never throws else", async () => {
  const random = seededRandom(SEED);
  for (let i = 0; i < 20_000; i++) {
    const source = randomSource(random, i % 10 === 0 ? 80 : 16);
    try {
      await checkSource(source);
    } catch (error) {
      throw new AssertionError(
        `fuzz case ${i} failed (NSH_FUZZ_SEED=${SEED}), input ${JSON.stringify(source)}: ${(error as Error).message}`,
      );
    }
  }
});

Deno.test("quote() round-trips random argument lists", async () => {
  const random = seededRandom(SEED + 1);
  const chars = [..."ab Z_0-=/.:@%+,~#$'\"\\`|&;<>(){}[]*?!\t\néü😀", "\ud800"];
  for (let i = 0; i < 5_000; i++) {
    const args: string[] = [];
    const count = 1 + Math.floor(random() * 5);
    for (let a = 0; a < count; a++) {
      let arg = "";
      const length = Math.floor(random() * 8);
      for (let c = 0; c < length; c++) arg += chars[Math.floor(random() * chars.length)]!;
      args.push(arg);
    }
    const source = args.map(quote).join(random() < 0.5 ? " " : " \t ");
    try {
      assertEquals(await argv(source, scopeOf({ HOME: "/h", X: "x" }, ["p"])), args);
    } catch (error) {
      throw new AssertionError(
        `round trip ${i} failed (NSH_FUZZ_SEED=${SEED}), args ${JSON.stringify(args)}: ${(error as Error).message}`,
      );
    }
  }
});

Deno.test("parse() and expand() take linear time on large inputs", async () => {
  // Each input at two sizes, 8 times apart: linear work takes about 8 times
  // as long, quadratic 64 times. The bound compares the input with itself
  // rather than with a clock, with room for garbage collection and a busy
  // machine (one collection can take most of a second here).
  const inputsOf = (size: number) => {
    const big = (unit: string) => unit.repeat(Math.ceil(size / unit.length));
    return [
      big("'\\'"),
      big('"\\"'),
      big("\\\\"),
      big("\\\n"),
      big('""'),
      big("''"),
      big("$X"),
      big('"$X$@"'),
      big("a "),
      big(";\n"),
      "#" + big("#'\""),
      "'" + big("\\"),
      '"' + big("\\'"),
      big("${X}"),
      big("$"),
      big("~/"),
      big("a | "),
      big("a && "),
      big("a; "),
      big("a & "),
      big("if a; then b; fi; "),
      big("while a; do b; done\n"),
      big("{ a; }; "),
      big("(a); "),
      big("${X:-${X}}"),
      big("$(a)"),
      big("`a`"),
      big("$((1+1))"),
      big("a >f "),
      "cat <<E\n" + big("line $X\n") + "E\n",
      big("case a in a) b;; esac; "),
      big("f() { a; }; "),
      "(".repeat(size),
      "$(".repeat(size),
      "{ ".repeat(size),
    ];
  };
  const scope = scopeOf({ X: "a b" }, ["1", "2"]);
  const time = async (source: string) => {
    const begin = performance.now();
    try {
      for (const command of simpleCommands(parse(source))) await expandWords(command.words, scope);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
    isIncomplete(source);
    return performance.now() - begin;
  };
  const small = inputsOf(25_000), large = inputsOf(200_000);
  for (const [i, source] of large.entries()) {
    const base = Math.min(await time(small[i]!), await time(small[i]!));
    const elapsed = await time(source);
    assert(
      elapsed < 40 * base + 1000,
      `${JSON.stringify(source.slice(0, 12))}... took ${elapsed.toFixed(0)} ms, 8 times less of it ${
        base.toFixed(0)
      } ms`,
    );
  }
});

Deno.test("complete() offers the words an option takes, and commands after help; a unique word ends with a space", async () => {
  const { complete } = await import("../cli/shell/complete.ts");
  assertEquals(await complete("unshare --propagation ", "/"), [["private", "shared", "slave", "unchanged"], ""]);
  assertEquals(await complete("unshare --propagation s", "/"), [["shared", "slave"], "s"]);
  assertEquals(await complete("nsenter --setgroups=d", "/"), [["--setgroups=deny "], "--setgroups=d"]);
  assertEquals(await complete("lsns -t n", "/"), [["net "], "n"]);
  assertEquals(await complete("help uns", "/"), [["unshare", "unset"], "uns"]);
  assertEquals(await complete("unsh", "/"), [["unshare "], "unsh"]);
  assertEquals(await complete("unshare --map-ro", "/"), [["--map-root-user "], "--map-ro"]);
  // A directory ends with its slash, for what is in it.
  assertEquals(await complete("ls /et", "/"), [["/etc/"], "/et"]);
});
