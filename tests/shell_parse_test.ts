/**
 * The shell language's front end: parse() reads simple commands as sh does
 * and refuses the rest with a position and a hint, expand() turns words into
 * argv, isIncomplete() tells a prompt to read on, quote() writes words back.
 * A seeded fuzz test (seed from NSH_FUZZ_SEED, else a fixed one) checks that
 * nothing else is ever thrown and that positions and round trips hold.
 *
 * @module
 */

import { assert, assertEquals, AssertionError, assertMatch, assertThrows } from "./_assert.ts";
import {
  type Command,
  expand,
  isIncomplete,
  parse,
  ParseError,
  type Part,
  quote,
  type Scope,
} from "../cli/shell/parse.ts";

const HINT = " (run it with sh -c '...')";

/** A scope with these variables and positional parameters. */
function scopeOf(vars: Record<string, string> = {}, args: readonly string[] = []): Scope {
  return { get: (name) => vars[name], args, argv0: "nsh", status: 0, pid: 4242 };
}

const SCOPE = scopeOf({ HOME: "/home/me", X: "x", SP: " a  b\tc\nd ", E: "", G: "hello world" }, ["one", "two words"]);

/** The argv of a source that holds one command. */
function argv(source: string, scope: Scope = SCOPE): string[] {
  const commands = parse(source);
  assertEquals(commands.length, 1, `commands in ${JSON.stringify(source)}`);
  return expand(commands[0]!.words, scope);
}

/** The argvs of every command of a source. */
function argvs(source: string, scope: Scope = SCOPE): string[][] {
  return parse(source).map((c) => expand(c.words, scope));
}

/** The parts of each word of the one command of a source. */
function parts(source: string): (readonly Part[])[] {
  const commands = parse(source);
  assertEquals(commands.length, 1);
  return commands[0]!.words.map((w) => w.parts);
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

// Words and separators

Deno.test("parse() splits words on spaces and tabs", () => {
  assertEquals(argv("unshare --user  --map-root-user\t--pid --mount"), [
    "unshare",
    "--user",
    "--map-root-user",
    "--pid",
    "--mount",
  ]);
});

Deno.test("parse() separates commands by newlines and semicolons", () => {
  const expected = [["mount-proc"], ["hostname", "box"], ["ps", "-e"], ["echo", "a"]];
  assertEquals(argvs("mount-proc\nhostname box; ps -e;echo a"), expected);
  assertEquals(argvs("a;b"), [["a"], ["b"]]);
});

Deno.test("parse() skips empty commands: blank lines, comments, stray semicolons", () => {
  assertEquals(parse(""), []);
  assertEquals(parse("   \t \n\n ; ;; \n# only a comment\n   # indented"), []);
  assertEquals(argvs(";a;;\n\n;b;"), [["a"], ["b"]]);
});

Deno.test("parse() starts a comment only at the start of a word", () => {
  assertEquals(argvs("echo a#b #c d\necho e;#f\n#g"), [["echo", "a#b"], ["echo", "e"]]);
  assertEquals(argv("echo '#' \"#\" \\# x#"), ["echo", "#", "#", "#", "x#"]);
  assertEquals(argv("echo $#x"), ["echo", "2x"]);
});

Deno.test("parse() ends a comment at the newline, whatever it holds", () => {
  assertEquals(argvs("# 'open \"quote `cmd` | & \\\necho b"), [["echo", "b"]]);
  assertEquals(argvs("echo a # $(no) ${no:-x}\necho b"), [["echo", "a"], ["echo", "b"]]);
});

// Quoting

Deno.test("parse() keeps everything inside single quotes literally", () => {
  assertEquals(argv(`echo 'a  $X \\ \\' "b"`), ["echo", `a  $X \\ \\`, "b"]);
  assertEquals(argv("echo 'line\\\nnext' '|&;<>()`~#'"), ["echo", "line\\\nnext", "|&;<>()`~#"]);
  assertEquals(parts("'a'"), [[text("a", true)]]);
});

Deno.test('parse() escapes only $ ` " \\ and newline with a backslash in double quotes', () => {
  assertEquals(argv(`echo "\\$X \\\` \\" \\\\ \\a \\' \\n"`), ["echo", `$X \` " \\ \\a \\' \\n`]);
  assertEquals(argv('echo "a\\\nb"'), ["echo", "ab"]);
  assertEquals(argv('echo "a\nb"'), ["echo", "a\nb"]);
});

Deno.test("parse() expands variables in double quotes but nothing else", () => {
  assertEquals(argv(`echo "$X $G ~ '$X' * #"`), ["echo", "x hello world ~ 'x' * #"]);
  assertEquals(argv(`echo "a|b&c;d<e>f(g)"`), ["echo", "a|b&c;d<e>f(g)"]);
});

Deno.test("parse() escapes any character with a backslash outside quotes", () => {
  assertEquals(argv("echo \\$X \\' \\\" \\\\ \\a \\  \\;\\|\\&\\>\\<\\(\\)\\`"), [
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
  assertEquals(argv("echo \\😀x"), ["echo", "😀x"]);
});

Deno.test("parse() joins quoted and unquoted pieces into one word", () => {
  assertEquals(argv(`echo a'b c'"d $X"e\\ f`), ["echo", "ab cd xe f"]);
  assertEquals(parts(`a'b'"c"\\d$X"$X"`), [[
    text("a"),
    text("bcd", true),
    variable("X"),
    variable("X", true),
  ]]);
});

Deno.test("parse() removes backslash-newline outside single quotes", () => {
  assertEquals(argv("echo a\\\nb \\\n c"), ["echo", "ab", "c"]);
  assertEquals(argv("ec\\\nho $\\\nX ${\\\nX\\\n} $G\\\nX"), ["echo", "x", "x"]);
  assertEquals(argvs("echo a \\\n\\\n"), [["echo", "a"]]);
  assertEquals(argvs("echo a \\\n# comment\necho b"), [["echo", "a"], ["echo", "b"]]);
  assertEquals(argvs("echo a\\\n#not-comment"), [["echo", "a#not-comment"]]);
});

Deno.test("parse() takes CR as an ordinary character", () => {
  assertEquals(argv("echo a\r"), ["echo", "a\r"]);
  assertEquals(argv("echo a\\\r"), ["echo", "a\r"]);
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

Deno.test("parse() keeps a $ not followed by a name as text", () => {
  assertEquals(argv(`echo $ a$ $. $- $! $% "$" "a$" "$ " $"x" $/`), [
    "echo",
    "$",
    "a$",
    "$.",
    "$-",
    "$!",
    "$%",
    "$",
    "a$",
    "$ ",
    "$x",
    "$/",
  ]);
  assertEquals(argv(`echo "$'x'"`), ["echo", "$'x'"]);
});

Deno.test("expand() gives each variable form its value", () => {
  const scope = scopeOf({ HOME: "/h", NAME: "v", _u: "u" }, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]);
  const scopeWith = { ...scope, argv0: "script.nsh", status: 3, pid: 77 };
  assertEquals(argv("echo $NAME ${NAME} $_u $1 $9 $10 ${10} ${11} ${011} $0 $# $? $$", scopeWith), [
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

Deno.test("expand() gives unset variables and missing parameters the empty string", () => {
  assertEquals(argv('echo "$NOPE" "$3" "${12}" x$NOPE$3y'), ["echo", "", "", "", "xy"]);
});

Deno.test('expand() gives "$@" one argument per positional parameter', () => {
  assertEquals(argv('echo "$@"', scopeOf({}, [])), ["echo"]);
  assertEquals(argv('echo "$@"', scopeOf({}, ["a b"])), ["echo", "a b"]);
  assertEquals(argv('echo "$@"', scopeOf({}, ["a b", "", " c "])), ["echo", "a b", "", " c "]);
  assertEquals(argv('echo "${@}"', scopeOf({}, ["1", "2", "3"])), ["echo", "1", "2", "3"]);
});

Deno.test('expand() joins "$@" to the text around it at both ends', () => {
  assertEquals(argv('echo x"$@"y', scopeOf({}, [])), ["echo", "xy"]);
  assertEquals(argv('echo x"$@"y', scopeOf({}, ["a"])), ["echo", "xay"]);
  assertEquals(argv('echo x"$@"y', scopeOf({}, ["a", "b", "c"])), ["echo", "xa", "b", "cy"]);
  assertEquals(argv('echo "$@"""', scopeOf({}, [])), ["echo", ""]);
  assertEquals(argv('echo "$@" "$@"', scopeOf({}, ["a", "b"])), ["echo", "a", "b", "a", "b"]);
});

Deno.test('expand() joins "$*" with spaces into one argument', () => {
  assertEquals(argv('echo "$*"', scopeOf({}, [])), ["echo", ""]);
  assertEquals(argv('echo "$*"', scopeOf({}, ["a b", "c"])), ["echo", "a b c"]);
});

Deno.test("expand() splits unquoted $@ and $* into fields", () => {
  const scope = scopeOf({}, [" a  b ", "", "c"]);
  assertEquals(argv("echo $@", scope), ["echo", "a", "b", "c"]);
  assertEquals(argv("echo $*", scope), ["echo", "a", "b", "c"]);
  assertEquals(argv("echo x$@y", scope), ["echo", "x", "a", "b", "cy"]);
  assertEquals(argv("echo $@", scopeOf({}, [])), ["echo"]);
});

// Field splitting and empty words

Deno.test("expand() splits unquoted expansions on spaces, tabs and newlines", () => {
  assertEquals(argv("echo $SP"), ["echo", "a", "b", "c", "d"]);
  assertEquals(argv("echo ${SP}"), ["echo", "a", "b", "c", "d"]);
  assertEquals(argv("echo x${SP}y"), ["echo", "x", "a", "b", "c", "d", "y"]);
  assertEquals(argv("echo x${G}y"), ["echo", "xhello", "worldy"]);
  assertEquals(argv("echo $G$G"), ["echo", "hello", "worldhello", "world"]);
  assertEquals(argv("echo $X$X"), ["echo", "xx"]);
});

Deno.test("expand() does not split a variable in export's NAME=value words, as bash and dash do", () => {
  assertEquals(argv("export A=$G B=x${SP}y"), ["export", "A=hello world", "B=x a  b\tc\nd y"]);
  // Only in assignments, and only for export.
  assertEquals(argv("export $G=1"), ["export", "hello", "world=1"]);
  assertEquals(argv("echo A=$G"), ["echo", "A=hello", "world"]);
});

Deno.test("expand() does not split quoted expansions or literal text", () => {
  assertEquals(argv('echo "$SP" "${SP}x" "$G"'), ["echo", " a  b\tc\nd ", " a  b\tc\nd x", "hello world"]);
  assertEquals(argv("echo \"a  b\" 'c  d' e\\ \\ f"), ["echo", "a  b", "c  d", "e  f"]);
});

Deno.test("expand() keeps other whitespace in unquoted expansions", () => {
  const scope = scopeOf({ W: "a\rb\u00a0c\vd" });
  assertEquals(argv("echo $W", scope), ["echo", "a\rb\u00a0c\vd"]);
});

Deno.test("expand() drops an unquoted word that expands to nothing", () => {
  assertEquals(argv("echo $E $NOPE ${E} $E$E $3 a"), ["echo", "a"]);
  assertEquals(argv("echo $E", scopeOf({ E: "   " })), ["echo"]);
  assertEquals(parse("$E").length, 1);
  assertEquals(argv("$E"), []);
});

Deno.test('expand() keeps "" and quoted empty expansions as empty arguments', () => {
  assertEquals(argv(`echo "" '' "$E" "$NOPE" $E"" ''$E`), ["echo", "", "", "", "", "", ""]);
  assertEquals(argv('echo ""$SP'), ["echo", "", "a", "b", "c", "d"]);
  assertEquals(argv("echo a$E"), ["echo", "a"]);
});

// Tilde

Deno.test("expand() replaces ~ and ~/ at the start of an unquoted word with HOME", () => {
  assertEquals(argv("echo ~ ~/ ~/src/x"), ["echo", "/home/me", "/home/me/", "/home/me/src/x"]);
  assertEquals(argvs("ls ~;ls ~/a"), [["ls", "/home/me"], ["ls", "/home/me/a"]]);
});

Deno.test("expand() keeps other tildes", () => {
  assertEquals(argv(`echo ~root a~ x=~ '~' "~" \\~ "~/x" ~\\/x ~"/x" ""~ ~~ ~$X $X~`), [
    "echo",
    "~root",
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
});

Deno.test("expand() keeps ~ when HOME is unset or empty, and does not split HOME", () => {
  assertEquals(argv("echo ~ ~/a", scopeOf({})), ["echo", "~", "~/a"]);
  assertEquals(argv("echo ~ ~/a", scopeOf({ HOME: "" })), ["echo", "~", "~/a"]);
  assertEquals(argv("echo ~/a", scopeOf({ HOME: "/my home" })), ["echo", "/my home/a"]);
});

// Positions and raw text

Deno.test("parse() gives the line and column of commands and words", () => {
  const commands = parse("echo a\n  hostname  box ; ps\n\n\t'x y' \"z\"");
  assertEquals(commands.map((c) => [c.start, c.text]), [
    [{ line: 1, column: 1 }, "echo a"],
    [{ line: 2, column: 3 }, "hostname  box"],
    [{ line: 2, column: 19 }, "ps"],
    [{ line: 4, column: 2 }, `'x y' "z"`],
  ]);
  assertEquals(commands[1]!.words.map((w) => [w.start, w.text]), [
    [{ line: 2, column: 3 }, "hostname"],
    [{ line: 2, column: 13 }, "box"],
  ]);
  assertEquals(commands[3]!.words.map((w) => w.start), [{ line: 4, column: 2 }, { line: 4, column: 8 }]);
});

Deno.test("parse() counts lines from firstLine", () => {
  const commands = parse("a\nb c", { firstLine: 10 });
  assertEquals(commands.map((c) => c.start), [{ line: 10, column: 1 }, { line: 11, column: 1 }]);
  assertEquals(commands[1]!.words[1]!.start, { line: 11, column: 3 });
});

Deno.test("parse() counts columns in UTF-16 code units", () => {
  const commands = parse("é 😀 x");
  assertEquals(commands[0]!.words.map((w) => w.start.column), [1, 3, 6]);
});

Deno.test("parse() gives raw text across quotes, continuations and lines", () => {
  const [command] = parse(`  echo 'a\nb' "$X"\\\n  c\\\n  # comment`);
  assertEquals(command!.text, `echo 'a\nb' "$X"\\\n  c`);
  assertEquals(command!.words.map((w) => w.text), ["echo", "'a\nb'", '"$X"', "c"]);
  assertEquals(command!.words.map((w) => w.start), [
    { line: 1, column: 3 },
    { line: 1, column: 8 },
    { line: 2, column: 4 },
    { line: 3, column: 3 },
  ]);
  assertEquals(parse("a\\\nb")[0]!.words[0]!.text, "a\\\nb");
});

Deno.test("parse() leaves comments and separators out of a command's text", () => {
  assertEquals(parse('  export GREETING="hello world"  # greet ;x\n').map((c) => c.text), [
    'export GREETING="hello world"',
  ]);
  assertEquals(parse("a b;c").map((c) => c.text), ["a b", "c"]);
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
  const other = parseError("echo |");
  assertEquals([other.line, other.column, other.expected, other.incomplete], [1, 6, undefined, false]);
  assertEquals(other.message, `1:6: pipes are not supported${HINT}`);
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

Deno.test("parse() reports each unsupported operator at its first character", () => {
  const cases: [string, number, string][] = [
    ["ps -e | grep x", 7, "pipes are not supported"],
    ["ps|&grep", 3, "pipes are not supported"],
    ["a || b", 3, "`||` is not supported"],
    ["a && b", 3, "`&&` is not supported"],
    ["sleep 1 &", 9, "background jobs (`&`) are not supported"],
    ["a&b", 2, "background jobs (`&`) are not supported"],
    ["a &> f", 3, "redirection `&>` is not supported"],
    ["cat < f", 5, "redirection `<` is not supported"],
    ["echo > f", 6, "redirection `>` is not supported"],
    ["echo>f", 5, "redirection `>` is not supported"],
    ["echo >> f", 6, "redirection `>>` is not supported"],
    ["echo >| f", 6, "redirection `>|` is not supported"],
    ["echo >&2", 6, "redirection `>&` is not supported"],
    ["cat <&3", 5, "redirection `<&` is not supported"],
    ["cat <> f", 5, "redirection `<>` is not supported"],
    ["ls 2>/dev/null", 4, "redirection `2>` is not supported"],
    ["ls 10>>f", 4, "redirection `10>>` is not supported"],
    ["ls a2>f", 6, "redirection `>` is not supported"],
    ["ls '2'>f", 7, "redirection `>` is not supported"],
    ["cat <<EOF", 5, "here-documents are not supported"],
    ["cat <<-EOF", 5, "here-documents are not supported"],
    ["cat <<< x", 5, "here-strings are not supported"],
    ["diff <(a) b", 6, "process substitution `<(...)` is not supported"],
    ["tee >(a)", 5, "process substitution `>(...)` is not supported"],
    ["(cd /)", 1, "parentheses (subshells, functions) are not supported"],
    ["f() x", 2, "parentheses (subshells, functions) are not supported"],
    ["echo )", 6, "parentheses (subshells, functions) are not supported"],
    ["echo $(date)", 6, "command substitution `$(...)` is not supported"],
    ['echo "a $(date)"', 9, "command substitution `$(...)` is not supported"],
    ["echo $((1+2))", 6, "arithmetic expansion `$((...))` is not supported"],
    ["echo `date`", 6, "command substitution with backquotes is not supported"],
    ['echo "`date`"', 7, "command substitution with backquotes is not supported"],
    ["echo $'a\\tb'", 6, "`$'...'` quoting is not supported"],
  ];
  for (const [source, column, reason] of cases) {
    const error = parseError(source);
    assertEquals([error.message, error.expected, error.incomplete], [
      `1:${column}: ${reason}${HINT}`,
      undefined,
      false,
    ]);
  }
});

Deno.test("parse() reports shell keywords as the first word of a command", () => {
  const keywords = ["if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac"];
  for (const keyword of [...keywords, "!", "{", "}", "function", "select", "[[", "]]"]) {
    assertEquals(
      parseError(`echo\n  ${keyword} x`).message,
      `2:3: the shell keyword \`${keyword}\` is not supported${HINT}`,
    );
  }
  assertEquals(parseError("if 'open").message, `1:1: the shell keyword \`if\` is not supported${HINT}`);
});

Deno.test("parse() reports an assignment as the first word, and takes it as a plain word elsewhere or quoted", () => {
  const message = "assignments are not supported: use export A=… on a line of its own";
  assertEquals(parseError("echo\n  A=1 env").message, `2:3: ${message}`);
  assertEquals(parseError("A=").message, `1:1: ${message}`);
  assertEquals(argv("echo A=1 B="), ["echo", "A=1", "B="]);
  assertEquals(argv("'A=1' x"), ["A=1", "x"]);
  assertEquals(argv("=1 x"), ["=1", "x"]);
  assertEquals(argv("1A=2"), ["1A=2"]);
});

Deno.test("parse() takes keywords as plain words elsewhere or when quoted", () => {
  assertEquals(argv("echo if then { } ! [[ done"), ["echo", "if", "then", "{", "}", "!", "[[", "done"]);
  assertEquals(argv("'if' x"), ["if", "x"]);
  assertEquals(argv("\\{ x"), ["{", "x"]);
  assertEquals(argv("{x} y"), ["{x}", "y"]);
  assertEquals(argvs("x; ifx; [ a ]"), [["x"], ["ifx"], ["[", "a", "]"]]);
});

Deno.test("parse() takes quoted or escaped operators as text", () => {
  assertEquals(argv(`echo '|' "&&" \\> \\2\\> "(" \\) '$(x)' "\\$(x)" \\\`x\\\` '<<EOF'`), [
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

Deno.test("parse() reports unsupported ${...} operators by name", () => {
  const cases: [string, string][] = [
    [":-", "${X:-...}"],
    [":=", "${X:=...}"],
    [":?", "${X:?...}"],
    [":+", "${X:+...}"],
    ["-", "${X-...}"],
    ["=", "${X=...}"],
    ["?", "${X?...}"],
    ["+", "${X+...}"],
    ["%", "${X%...}"],
    ["%%", "${X%%...}"],
    ["#", "${X#...}"],
    ["##", "${X##...}"],
    ["/", "${X/...}"],
    ["//", "${X//...}"],
    ["^", "${X^...}"],
    ["^^", "${X^^...}"],
    [",", "${X,...}"],
    [",,", "${X,,...}"],
    [":", "${X:...}"],
    ["[", "${X[...}"],
    ["@", "${X@...}"],
  ];
  for (const [op, shown] of cases) {
    const error = parseError(`echo \${X${op}y}`);
    assertEquals(error.message, `1:9: the \`${op}\` operator in \`${shown}\` is not supported${HINT}`);
  }
  assertEquals(
    parseError('echo "${1:-y}"').message,
    `1:10: the \`:-\` operator in \`\${1:-...}\` is not supported${HINT}`,
  );
  assertEquals(parseError("echo ${#X}").message, `1:8: the length operator \`\${#...}\` is not supported${HINT}`);
  assertEquals(parseError("echo ${!X}").message, `1:8: indirect expansion \`\${!...}\` is not supported${HINT}`);
});

Deno.test("parse() reports a malformed ${...}", () => {
  const cases: [string, string, string][] = [
    ["echo ${}", "1:8: unexpected `}` after `${` (expected a name)", "a name"],
    ["echo ${ X}", "1:8: unexpected space after `${` (expected a name)", "a name"],
    ["echo ${X Y}", "1:9: unexpected space in `${X...}` (expected `}`)", "}"],
    ["echo ${1a}", "1:9: unexpected `a` in `${1...}` (expected `}`)", "}"],
    ["echo ${X", "1:6: unterminated `${` (expected `}`)", "}"],
    ["echo ${", "1:6: unterminated `${` (expected `}`)", "}"],
    ["echo ${X\n}", "1:6: unterminated `${` (expected `}`)", "}"],
    ['echo "${X"', '1:10: unexpected `"` in `${X...}` (expected `}`)', "}"],
    ["echo ${X\r}", "1:9: unexpected `\\r` in `${X...}` (expected `}`)", "}"],
  ];
  for (const [source, message, expected] of cases) {
    const error = parseError(source);
    assertEquals([error.message, error.expected, error.incomplete], [message, expected, false]);
  }
});

Deno.test("parse() reports the first error in the source, with its line", () => {
  assertEquals(parseError("echo a\n\necho b; cat x | y 'z").message, `3:15: pipes are not supported${HINT}`);
  assertEquals(parseError("echo 'a\nb' c | d", 7).message, `8:6: pipes are not supported${HINT}`);
  assertEquals(parseError("a \\\n  b >f").message, `2:5: redirection \`>\` is not supported${HINT}`);
});

// isIncomplete

Deno.test("isIncomplete() is true for an open quote or a trailing backslash", () => {
  for (const source of ["echo 'a", 'echo "a', "echo a\\", "echo a \\", 'echo "a\\', "echo 'a\\", "a\n'b\nc", 'x "$X']) {
    assert(isIncomplete(source), JSON.stringify(source));
  }
});

Deno.test("isIncomplete() is false for complete sources", () => {
  for (const source of ["", "echo a", "echo 'a'", 'echo "a"', "echo a\\\\", "echo a \\\nb", "# don't\\", "a;"]) {
    assert(!isIncomplete(source), JSON.stringify(source));
  }
});

Deno.test("isIncomplete() is false for a syntax error, even before an open quote", () => {
  for (const source of ["echo | 'a", "echo $(x", "echo ${X", "if 'a", "echo ${X:-'a", 'echo "`x', "echo > \\"]) {
    assert(!isIncomplete(source), JSON.stringify(source));
  }
});

Deno.test("isIncomplete() sources complete with the next lines joined by newlines", () => {
  assertEquals(argv(["echo 'a", "b' \\", "c"].join("\n")), ["echo", "a\nb", "c"]);
  assertEquals(argv(['echo "a', 'b"'].join("\n")), ["echo", "a\nb"]);
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

Deno.test("quote() words parse and expand back to the same argv", () => {
  const words = ["echo", "", "it's", "a  b", "$X", "${X:-y}", "~", "#", "\\", '"', "a\nb", "|&;<>()`", "if", "😀"];
  assertEquals(argv(words.map(quote).join(" ")), words);
});

// Properties, over seeded random inputs

/** A small seeded PRNG (mulberry32), so that a failure reproduces from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  "~/",
  "if",
  "2>",
  "''",
  '""',
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

function checkCommands(source: string, commands: Command[]): void {
  for (const command of commands) {
    assert(command.words.length > 0, "a command without words");
    const first = command.words[0]!;
    const last = command.words.at(-1)!;
    assertEquals(command.start, first.start);
    const at = indexOf(source, command.start);
    assert(source.startsWith(command.text, at), "command text is not at its start");
    assert(command.text.startsWith(first.text) && command.text.endsWith(last.text), "command text and words differ");
    for (const word of command.words) {
      assert(word.text !== "" && source.startsWith(word.text, indexOf(source, word.start)), "word text not at start");
    }
    for (const scope of SCOPES) {
      const args = expand(command.words, scope);
      assert(args.every((a) => typeof a === "string"));
      if (args.length > 0) assertEquals(argv(args.map(quote).join(" "), scope), args, "quote round trip");
    }
  }
  const shifted = parse(source, { firstLine: 7 });
  assertEquals(shifted.map((c) => c.start.line), commands.map((c) => c.start.line + 6));
}

function checkError(source: string, error: ParseError): void {
  assertMatch(error.message, /^\d+:\d+: [a-z`]/);
  assert(error.message.startsWith(`${error.line}:${error.column}: `), "message and position differ");
  const at = indexOf(source, error);
  if (error.incomplete) assert(["'", '"', "\\"].includes(source[at]!), "an incomplete source points at no quote");
  const shifted = assertThrows(() => parse(source, { firstLine: 7 }), ParseError);
  assertEquals([shifted.line, shifted.column], [error.line + 6, error.column]);
}

function checkSource(source: string): void {
  let commands: Command[] | undefined;
  try {
    commands = parse(source);
  } catch (error) {
    if (!(error instanceof ParseError)) throw new AssertionError(`parse() threw ${error}`);
    checkError(source, error);
    assertEquals(isIncomplete(source), error.incomplete);
    return;
  }
  assertEquals(isIncomplete(source), false);
  checkCommands(source, commands);
}

Deno.test("parse() returns commands or throws a ParseError for random inputs, and expand() never throws", () => {
  const random = prng(SEED);
  for (let i = 0; i < 20_000; i++) {
    const source = randomSource(random, i % 10 === 0 ? 80 : 16);
    try {
      checkSource(source);
    } catch (error) {
      throw new AssertionError(
        `fuzz case ${i} failed (NSH_FUZZ_SEED=${SEED}), input ${JSON.stringify(source)}: ${(error as Error).message}`,
      );
    }
  }
});

Deno.test("quote() round-trips random argument lists", () => {
  const random = prng(SEED + 1);
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
      assertEquals(argv(source, scopeOf({ HOME: "/h", X: "x" }, ["p"])), args);
    } catch (error) {
      throw new AssertionError(
        `round trip ${i} failed (NSH_FUZZ_SEED=${SEED}), args ${JSON.stringify(args)}: ${(error as Error).message}`,
      );
    }
  }
});

Deno.test("parse() and expand() take linear time on large inputs", () => {
  const size = 200_000;
  const big = (unit: string) => unit.repeat(Math.ceil(size / unit.length));
  const inputs = [
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
  ];
  const scope = scopeOf({ X: "a b" }, ["1", "2"]);
  for (const source of inputs) {
    const begin = performance.now();
    try {
      for (const command of parse(source)) expand(command.words, scope);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
    }
    isIncomplete(source);
    const elapsed = performance.now() - begin;
    assert(elapsed < 2000, `${JSON.stringify(source.slice(0, 12))}... took ${elapsed.toFixed(0)} ms`);
  }
});

Deno.test("complete() offers the words an option takes, and commands after help", async () => {
  const { complete } = await import("../cli/shell/complete.ts");
  assertEquals(await complete("unshare --propagation ", "/"), [["private", "shared", "slave", "unchanged"], ""]);
  assertEquals(await complete("unshare --propagation s", "/"), [["shared", "slave"], "s"]);
  assertEquals(await complete("nsenter --setgroups=d", "/"), [["--setgroups=deny"], "--setgroups=d"]);
  assertEquals(await complete("lsns -t n", "/"), [["net"], "n"]);
  assertEquals(await complete("help uns", "/"), [["unshare", "unset"], "uns"]);
});
