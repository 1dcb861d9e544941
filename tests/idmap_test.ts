/**
 * Id maps: parsing blocks, punching the caller's hole, checking as the kernel
 * does, formatting, subordinate ids and the user databases.
 *
 * @module
 */

import { assertEquals, assertThrows } from "./_assert.ts";
import {
  checkIdMap,
  combineIdMaps,
  firstSubordinateBlock,
  formatIdMap,
  MAX_MAP_LINES,
  parseIdRange,
  resolveGroup,
  resolveUser,
  userName,
} from "../lib/idmap.ts";
import type { IdRange } from "../lib/steps.ts";

function r(inside: number, outside: number, count: number): IdRange {
  return { inside, outside, count };
}

Deno.test("parseIdRange() reads outer,inner,count as util-linux 2.38 writes it", () => {
  assertEquals(parseIdRange("100000,0,65536"), { outside: 100000, inside: 0, count: 65536 });
});

Deno.test("parseIdRange() reads inner:outer:count as util-linux 2.39 writes it", () => {
  assertEquals(parseIdRange("0:100000:65536"), { inside: 0, outside: 100000, count: 65536 });
  assertEquals(parseIdRange("1:2:3"), r(1, 2, 3));
});

Deno.test("parseIdRange() rejects anything else", () => {
  for (
    const text of ["", "1,2", "1:2", "1,2,3,4", "1:2:3:4", "1,2:3", "a,b,c", "-1,0,1", " 1,2,3", "1,2,3 ", "1.5:2:3"]
  ) {
    const error = assertThrows(() => parseIdRange(text), TypeError);
    assertEquals(error.message, `Cannot parse id block "${text}": expected outer,inner,count or inner:outer:count`);
  }
});

Deno.test("combineIdMaps() returns the blocks as they are without a single mapping", () => {
  const blocks = [r(0, 100000, 10), r(10, 200000, 5)];
  assertEquals(combineIdMaps(undefined, blocks), blocks);
  assertEquals(combineIdMaps(undefined, []), []);
});

Deno.test("combineIdMaps() returns the single mapping alone without blocks", () => {
  assertEquals(combineIdMaps(r(0, 1000, 1), []), [r(0, 1000, 1)]);
});

Deno.test("combineIdMaps() punches a hole at the start of a block inside", () => {
  assertEquals(combineIdMaps(r(0, 1000, 1), [r(0, 100000, 65536)]), [r(0, 1000, 1), r(1, 100001, 65535)]);
});

Deno.test("combineIdMaps() punches a hole in the middle of a block inside", () => {
  assertEquals(combineIdMaps(r(5, 1000, 1), [r(0, 100000, 10)]), [r(5, 1000, 1), r(0, 100000, 5), r(6, 100006, 4)]);
});

Deno.test("combineIdMaps() punches a hole at the end of a block inside", () => {
  assertEquals(combineIdMaps(r(9, 1000, 1), [r(0, 100000, 10)]), [r(9, 1000, 1), r(0, 100000, 9)]);
});

Deno.test("combineIdMaps() punches a hole at the start of a block outside", () => {
  assertEquals(combineIdMaps(r(0, 100000, 1), [r(1000, 100000, 10)]), [r(0, 100000, 1), r(1001, 100001, 9)]);
});

Deno.test("combineIdMaps() punches a hole in the middle of a block outside", () => {
  assertEquals(combineIdMaps(r(5000, 100005, 1), [r(0, 100000, 10)]), [
    r(5000, 100005, 1),
    r(0, 100000, 5),
    r(6, 100006, 4),
  ]);
});

Deno.test("combineIdMaps() punches a hole at the end of a block outside", () => {
  assertEquals(combineIdMaps(r(5000, 100009, 1), [r(0, 100000, 10)]), [r(5000, 100009, 1), r(0, 100000, 9)]);
});

Deno.test("combineIdMaps() punches holes on both sides", () => {
  // The caller's uid 1000 falls in the block outside, and root inside.
  assertEquals(combineIdMaps(r(0, 1000, 1), [r(0, 995, 10)]), [r(0, 1000, 1), r(1, 996, 4), r(6, 1001, 4)]);
});

Deno.test("combineIdMaps() drops a block of one id that the single mapping uses", () => {
  assertEquals(combineIdMaps(r(0, 1000, 1), [r(0, 500, 1)]), [r(0, 1000, 1)]);
  assertEquals(combineIdMaps(r(7, 500, 1), [r(0, 500, 1), r(1, 600, 2)]), [r(7, 500, 1), r(1, 600, 2)]);
});

Deno.test("combineIdMaps() keeps blocks that the single mapping does not touch", () => {
  const blocks = [r(1, 100000, 10), r(100, 200000, 10)];
  assertEquals(combineIdMaps(r(0, 1000, 1), blocks), [r(0, 1000, 1), ...blocks]);
});

Deno.test("combineIdMaps() punches the hole in every block it falls in", () => {
  assertEquals(combineIdMaps(r(0, 1000, 1), [r(0, 100000, 2), r(10, 998, 4)]), [
    r(0, 1000, 1),
    r(1, 100001, 1),
    r(10, 998, 2),
    r(13, 1001, 1),
  ]);
});

Deno.test("combineIdMaps() does not change the blocks it is given", () => {
  const blocks = [r(0, 100000, 10)];
  combineIdMaps(r(0, 1000, 1), blocks);
  assertEquals(blocks, [r(0, 100000, 10)]);
});

Deno.test("checkIdMap() accepts maps the kernel takes", () => {
  checkIdMap([], "uid");
  checkIdMap([r(0, 1000, 1), r(1, 100001, 65535)], "uid");
  checkIdMap([r(0, 0, 4294967295)], "uid");
  checkIdMap([r(4294967294, 4294967294, 1)], "uid");
  checkIdMap(Array.from({ length: MAX_MAP_LINES }, (_, i) => r(i, 100000 + i, 1)), "gid");
});

Deno.test("checkIdMap() rejects more than 340 lines", () => {
  const map = Array.from({ length: 341 }, (_, i) => r(i, 100000 + i, 1));
  const error = assertThrows(() => checkIdMap(map, "uid"), RangeError);
  assertEquals(error.message, "Cannot write the uid map: 341 lines, the kernel takes at most 340");
});

Deno.test("checkIdMap() rejects a block of no ids", () => {
  const error = assertThrows(() => checkIdMap([r(0, 1000, 1), r(1, 2000, 0)], "gid"), RangeError);
  assertEquals(error.message, "Cannot write the gid map: a block of 0 ids");
});

Deno.test("checkIdMap() rejects numbers that are not ids", () => {
  for (
    const [map, n] of [[r(1.5, 0, 1), 1.5], [r(0, -1, 1), -1], [r(0, 0, NaN), NaN], [
      r(2 ** 32, 0, 1),
      2 ** 32,
    ]] as const
  ) {
    const error = assertThrows(() => checkIdMap([map], "uid"), RangeError);
    assertEquals(error.message, `Cannot write the uid map: ${n} is not an id`);
  }
});

Deno.test("checkIdMap() rejects blocks that overlap inside", () => {
  const error = assertThrows(() => checkIdMap([r(10, 1000, 5), r(0, 2000, 11)], "uid"), RangeError);
  assertEquals(error.message, "Cannot write the uid map: the blocks at 0 and 10 overlap inside");
});

Deno.test("checkIdMap() rejects blocks that overlap outside", () => {
  const error = assertThrows(() => checkIdMap([r(0, 1000, 5), r(10, 1004, 1)], "gid"), RangeError);
  assertEquals(error.message, "Cannot write the gid map: the blocks at 1000 and 1004 overlap outside");
});

Deno.test("checkIdMap() accepts blocks that touch without overlapping", () => {
  checkIdMap([r(0, 1000, 5), r(5, 1005, 5)], "uid");
});

Deno.test("checkIdMap() rejects what the kernel rejects at the top of the id range", () => {
  for (const map of [r(4294967295, 0, 1), r(0, 4294967295, 1), r(4294967290, 0, 10), r(0, 4294967290, 10)]) {
    assertThrows(() => checkIdMap([map], "uid"), RangeError, "Cannot write the uid map: ");
  }
});

Deno.test("formatIdMap() writes one inside outside count line per block", () => {
  assertEquals(formatIdMap([r(0, 1000, 1), r(1, 100001, 65535)]), "0 1000 1\n1 100001 65535\n");
  assertEquals(formatIdMap([]), "");
});

Deno.test("firstSubordinateBlock() finds the user's first block by name", () => {
  const text = "bob:100000:65536\nalice:165536:65536\nalice:300000:10\n";
  assertEquals(firstSubordinateBlock(text, "alice", 1001), r(0, 165536, 65536));
});

Deno.test("firstSubordinateBlock() finds the user's block by uid", () => {
  assertEquals(firstSubordinateBlock("1001:200000:100\n", "alice", 1001), r(0, 200000, 100));
  assertEquals(firstSubordinateBlock("1001:200000:100\n", undefined, 1001), r(0, 200000, 100));
});

Deno.test("firstSubordinateBlock() skips malformed lines and trims spaces", () => {
  const text = "# alice:1:1\nalice\nalice:x:10\nalice:10:\n\n  alice:500:20  \n";
  assertEquals(firstSubordinateBlock(text, "alice", 1001), r(0, 500, 20));
});

Deno.test("firstSubordinateBlock() returns undefined when the user has no block", () => {
  assertEquals(firstSubordinateBlock("bob:100000:65536\n", "alice", 1001), undefined);
  assertEquals(firstSubordinateBlock("", "alice", 1001), undefined);
  assertEquals(firstSubordinateBlock("10011:1:1\nalic:1:1\n", "alice", 1001), undefined);
});

function withDatabase(content: string, fn: (path: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-idmap-" });
  try {
    Deno.writeTextFileSync(`${dir}/db`, content);
    fn(`${dir}/db`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\nbroken:x:abc:1\nshort:x\n";
const GROUP = "root:x:0:\nwheel:x:10:alice\nstaff:x:50:\n";

Deno.test("resolveUser() finds a name in the given database", () => {
  withDatabase(PASSWD, (path) => {
    assertEquals(resolveUser("alice", path), 1001);
    assertEquals(resolveUser("root", path), 0);
  });
});

Deno.test("resolveUser() takes numbers and numeric strings as they are", () => {
  assertEquals(resolveUser(4242, "/nonexistent-nsh"), 4242);
  assertEquals(resolveUser("4242", "/nonexistent-nsh"), 4242);
});

Deno.test("resolveUser() rejects a name that is not in the database", () => {
  withDatabase(PASSWD, (path) => {
    for (const name of ["bob", "broken", "short", "x"]) {
      const error = assertThrows(() => resolveUser(name, path), TypeError);
      assertEquals(error.message, `Cannot map user "${name}": no such user in ${path}`);
    }
  });
});

Deno.test("resolveUser() treats an unreadable database as empty", () => {
  const error = assertThrows(() => resolveUser("alice", "/nonexistent-nsh/passwd"), TypeError);
  assertEquals(error.message, 'Cannot map user "alice": no such user in /nonexistent-nsh/passwd');
});

Deno.test("resolveGroup() finds a name in the given database", () => {
  withDatabase(GROUP, (path) => {
    assertEquals(resolveGroup("wheel", path), 10);
    assertEquals(resolveGroup("staff", path), 50);
    assertEquals(resolveGroup("7", path), 7);
    const error = assertThrows(() => resolveGroup("alice", path), TypeError);
    assertEquals(error.message, `Cannot map group "alice": no such group in ${path}`);
  });
});

Deno.test("userName() finds the name of a uid in the given database", () => {
  withDatabase(PASSWD, (path) => {
    assertEquals(userName(1001, path), "alice");
    assertEquals(userName(1002, path), undefined);
  });
  assertEquals(userName(0, "/nonexistent-nsh"), undefined);
});
