/**
 * Bytes that may not be UTF-8, as strings and back without loss. Linux
 * paths, arguments and scripts are bytes: sh passes them through as they
 * are. A byte that is not part of valid UTF-8 becomes a lone surrogate
 * U+DC80..U+DCFF when decoded (Python's "surrogateescape"), and that
 * surrogate becomes the byte again when encoded for a system call. Valid
 * UTF-8 is unchanged both ways.
 *
 * @module
 */

const strict = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Decodes bytes as UTF-8, keeping each byte that is not valid UTF-8 as a lone
 * surrogate U+DC80..U+DCFF.
 *
 * @param bytes The bytes.
 * @returns The text.
 *
 * @example A byte that is not UTF-8 survives the round trip
 * ```ts
 * import { decodeBytes, encodeText } from "./bytes.ts";
 *
 * const text = decodeBytes(new Uint8Array([0x61, 0xff, 0x62]));
 * if (text !== "a\udcffb") throw new Error(text);
 * if (encodeText(text).join() !== "97,255,98") throw new Error("lost a byte");
 * ```
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeSlowly(bytes);
  }
}

function decodeSlowly(bytes: Uint8Array): string {
  const parts: string[] = [];
  let units: number[] = [];
  const flush = () => {
    parts.push(String.fromCharCode(...units));
    units = [];
  };
  const n = bytes.length;
  for (let i = 0; i < n;) {
    const b = bytes[i]!;
    let cp = -1;
    let len = 1;
    if (b < 0x80) cp = b;
    else if (b >= 0xc2 && b <= 0xf4) {
      len = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      cp = b & (0x7f >> len);
      for (let k = 1; k < len; k++) {
        const c = bytes[i + k];
        if (c === undefined || (c & 0xc0) !== 0x80) {
          cp = -1;
          break;
        }
        cp = (cp << 6) | (c & 0x3f);
      }
      // Overlong forms, surrogates and values above U+10FFFF are not UTF-8.
      const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = -1;
    }
    if (cp < 0) {
      units.push(0xdc00 | b);
      i += 1;
    } else if (cp > 0xffff) {
      units.push(0xd800 | ((cp - 0x10000) >> 10), 0xdc00 | ((cp - 0x10000) & 0x3ff));
      i += len;
    } else {
      units.push(cp);
      i += len;
    }
    if (units.length >= 8192) flush();
  }
  flush();
  return parts.join("");
}

/**
 * Encodes text as UTF-8, turning each lone surrogate U+DC80..U+DCFF back into
 * the byte it stands for (see {@linkcode decodeBytes}). Other lone surrogates
 * become U+FFFD, as TextEncoder makes them.
 *
 * @param text The text.
 * @returns The bytes.
 */
export function encodeText(text: string): Uint8Array<ArrayBuffer> {
  if (text.isWellFormed()) return encoder.encode(text);
  const out = new Uint8Array(text.length * 3);
  return out.slice(0, encodeTextInto(text, out));
}

/**
 * Encodes text into `dest` as {@linkcode encodeText} does.
 *
 * @param text The text.
 * @param dest Where to write; it must have room for `text.length * 3` bytes.
 * @returns How many bytes were written.
 */
export function encodeTextInto(text: string, dest: Uint8Array): number {
  if (text.isWellFormed()) return encoder.encodeInto(text, dest).written;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else cp = 0xfffd;
    } else if (cp >= 0xdc80 && cp <= 0xdcff) {
      dest[at++] = cp & 0xff;
      continue;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) dest[at++] = cp;
    else if (cp < 0x800) {
      dest[at++] = 0xc0 | (cp >> 6);
      dest[at++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      dest[at++] = 0xe0 | (cp >> 12);
      dest[at++] = 0x80 | ((cp >> 6) & 0x3f);
      dest[at++] = 0x80 | (cp & 0x3f);
    } else {
      dest[at++] = 0xf0 | (cp >> 18);
      dest[at++] = 0x80 | ((cp >> 12) & 0x3f);
      dest[at++] = 0x80 | ((cp >> 6) & 0x3f);
      dest[at++] = 0x80 | (cp & 0x3f);
    }
  }
  return at;
}
