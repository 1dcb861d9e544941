/**
 * openOwnedFile() refuses what another user could have placed on the way to
 * a file of the caller's (its history): links, directories and files of
 * others, hard links, directories others may write.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { IS_ROOT, NOBODY, runUnprivileged } from "./_env.ts";
import { openOwnedFile, readAll, replaceAll } from "../lib/owned_file.ts";
import { libc } from "../ffi/libc.ts";

const root = { ignore: !IS_ROOT };

/** A directory of root's, mode 0755, removed after `fn`. */
async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "nsh-owned-test-" });
  Deno.chmodSync(dir, 0o755);
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function close(fd: number): void {
  libc().close(fd);
}

Deno.test("openOwnedFile() creates the missing directories, mode 0700, and the file, mode 0600", () =>
  withDir((dir) => {
    const fd = openOwnedFile(`${dir}/a/b/history`);
    try {
      replaceAll(fd, new TextEncoder().encode("one\ntwo\n"));
      replaceAll(fd, new TextEncoder().encode("three\n"));
      assertEquals(new TextDecoder().decode(readAll(fd)), "three\n");
    } finally {
      close(fd);
    }
    assertEquals(Deno.statSync(`${dir}/a`).mode! & 0o777, 0o700);
    assertEquals(Deno.statSync(`${dir}/a/b`).mode! & 0o777, 0o700);
    assertEquals(Deno.statSync(`${dir}/a/b/history`).mode! & 0o777, 0o600);
    assertEquals(Deno.readTextFileSync(`${dir}/a/b/history`), "three\n");
  }));

Deno.test("openOwnedFile() refuses a symbolic link as the file, and leaves its target alone", () =>
  withDir((dir) => {
    Deno.writeTextFileSync(`${dir}/victim`, "precious\n");
    Deno.symlinkSync(`${dir}/victim`, `${dir}/history`);
    assertThrows(() => openOwnedFile(`${dir}/history`), Error, "it is a symbolic link");
    assertEquals(Deno.readTextFileSync(`${dir}/victim`), "precious\n");
  }));

Deno.test("openOwnedFile() refuses a relative path", () => {
  assertThrows(() => openOwnedFile("history"), Error, "not an absolute path");
});

Deno.test({
  name: "openOwnedFile() refuses a directory of another user on the way (root with a user's HOME)",
  ...root,
  fn: () =>
    withDir((dir) => {
      Deno.mkdirSync(`${dir}/home`);
      Deno.chownSync(`${dir}/home`, NOBODY.uid, NOBODY.gid);
      assertThrows(
        () => openOwnedFile(`${dir}/home/.local/state/nsh/history`),
        Error,
        `the directory "${dir}/home/" belongs to uid ${NOBODY.uid}, not to you or root`,
      );
      // Nothing was made in it.
      assertEquals([...Deno.readDirSync(`${dir}/home`)].length, 0);
    }),
});

Deno.test({
  name: "openOwnedFile() refuses a link of another user on the way, and a file of another user",
  ...root,
  fn: () =>
    withDir((dir) => {
      Deno.mkdirSync(`${dir}/real`);
      Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
      const chown = new Deno.Command("chown", { args: ["-h", `${NOBODY.uid}:${NOBODY.gid}`, `${dir}/link`] });
      assert(chown.outputSync().success);
      assertThrows(() => openOwnedFile(`${dir}/link/history`), Error, `the link "${dir}/link" belongs to uid`);
      Deno.writeTextFileSync(`${dir}/real/theirs`, "");
      Deno.chownSync(`${dir}/real/theirs`, NOBODY.uid, NOBODY.gid);
      assertThrows(() => openOwnedFile(`${dir}/real/theirs`), Error, "it belongs to uid");
    }),
});

Deno.test("openOwnedFile() follows a link of its own, and refuses a hard link", () =>
  withDir((dir) => {
    Deno.mkdirSync(`${dir}/real`);
    Deno.symlinkSync("real", `${dir}/link`);
    const fd = openOwnedFile(`${dir}/link/history`);
    close(fd);
    assert(Deno.statSync(`${dir}/real/history`).isFile);
    Deno.linkSync(`${dir}/real/history`, `${dir}/other`);
    assertThrows(() => openOwnedFile(`${dir}/real/history`), Error, "it has other hard links");
  }));

Deno.test("openOwnedFile() refuses a directory that others may write, but not a sticky one", () =>
  withDir((dir) => {
    Deno.mkdirSync(`${dir}/open`);
    Deno.chmodSync(`${dir}/open`, 0o777);
    assertThrows(() => openOwnedFile(`${dir}/open/history`), Error, "is writable by others");
    Deno.chmodSync(`${dir}/open`, 0o1777);
    close(openOwnedFile(`${dir}/open/history`));
  }));

Deno.test({
  name: "openOwnedFile() works for an unprivileged user in a home of its own",
  ...root,
  async fn() {
    const out = await runUnprivileged(`
      import { openOwnedFile, replaceAll } from "$REPO/lib/owned_file.ts";
      const home = Deno.env.get("HOME");
      const fd = openOwnedFile(home + "/.local/state/nsh/history");
      replaceAll(fd, new TextEncoder().encode("mine\\n"));
      console.log(Deno.readTextFileSync(home + "/.local/state/nsh/history").trim());
      try {
        openOwnedFile("/etc/nsh-test-history");
      } catch (error) {
        console.log((error as Error).message);
      }
    `);
    assertEquals(out.stderr, "");
    assertEquals(out.stdout.split("\n")[0], "mine");
    assert(out.stdout.includes("Permission denied"), out.stdout);
  },
});
