/**
 * decodeBytes() and encodeText() carry any bytes through a string and back.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { decodeBytes, encodeText, encodeTextInto } from "../ffi/bytes.ts";

Deno.test("decodeBytes() then encodeText() gives back any bytes, valid UTF-8 or not", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 2000; round++) {
    const bytes = new Uint8Array(Math.floor(random() * 40));
    // Bias towards the bytes that make and break UTF-8 sequences.
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = random() < 0.5
        ? [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xed][Math.floor(random() * 12)]!
        : Math.floor(random() * 256);
    }
    assertEquals([...encodeText(decodeBytes(bytes))], [...bytes], `bytes ${[...bytes]}`);
  }
});

Deno.test("decodeBytes() decodes valid UTF-8 as TextDecoder does, and escapes the rest byte by byte", () => {
  assertEquals(decodeBytes(new TextEncoder().encode("héllo €😀")), "héllo €😀");
  // An overlong "/" and an encoded surrogate are not UTF-8.
  assertEquals(decodeBytes(new Uint8Array([0xc0, 0xaf, 0xed, 0xa0, 0x80])), "\udcc0\udcaf\udced\udca0\udc80");
  assertEquals(decodeBytes(new Uint8Array([0xe2, 0x82])), "\udce2\udc82");
});

Deno.test("encodeText() makes other lone surrogates U+FFFD, as TextEncoder does", () => {
  assertEquals([...encodeText("a\ud800b\udc00")], [0x61, 0xef, 0xbf, 0xbd, 0x62, 0xef, 0xbf, 0xbd]);
  const dest = new Uint8Array(12);
  assertEquals(encodeTextInto("\udcff€", dest), 4);
  assertEquals([...dest.subarray(0, 4)], [0xff, 0xe2, 0x82, 0xac]);
});
