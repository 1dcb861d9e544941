/**
 * A few assertions for the tests, with Deno built-ins only (JSR is out of
 * reach): deep equality, thrown and rejected errors, and patterns.
 *
 * @module
 */

/** An assertion failed. */
export class AssertionError extends Error {
  /**
   * @param message What was expected.
   */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

function show(value: unknown): string {
  return Deno.inspect(value, { depth: Infinity, sorted: true });
}

/**
 * Whether two values are deeply equal: primitives by `Object.is`, arrays,
 * typed arrays, maps, sets and objects by content, with the same prototype
 * and the same own keys (a key set to `undefined` differs from a missing key).
 *
 * @param a One value.
 * @param b The other.
 * @returns `true` when equal.
 */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(
      (b as ArrayBufferView).buffer,
      (b as ArrayBufferView).byteOffset,
      (b as ArrayBufferView).byteLength,
    );
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [key, value] of a) if (!m.has(key) || !equal(value, m.get(key))) return false;
    return true;
  }
  if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    const rest = [...s];
    for (const value of a) {
      const i = rest.findIndex((other) => equal(value, other));
      if (i < 0) return false;
      rest.splice(i, 1);
    }
    return true;
  }
  if (a instanceof Error && (a.message !== (b as Error).message || a.name !== (b as Error).name)) return false;
  // The stack of an error says where it was made, not what it is.
  const keys = (o: object) => Reflect.ownKeys(o).filter((key) => !(o instanceof Error && key === "stack"));
  const keysA = keys(a);
  const keysB = keys(b);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!equal((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key])) return false;
  }
  return true;
}

/**
 * Asserts that a condition holds.
 *
 * @param condition The condition.
 * @param message What failed.
 * @throws {AssertionError} When it is falsy.
 */
export function assert(condition: unknown, message = "Expected the condition to hold"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/**
 * Asserts that two values are deeply equal (see {@linkcode equal}).
 *
 * @param actual The value found.
 * @param expected The value expected.
 * @param message What is compared.
 * @throws {AssertionError} When they differ.
 */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (equal(actual, expected)) return;
  const prefix = message ? `${message}: ` : "";
  throw new AssertionError(`${prefix}values are not equal\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`);
}

/**
 * Asserts that two values are not deeply equal.
 *
 * @param actual The value found.
 * @param unexpected The value it must not be.
 * @throws {AssertionError} When they are equal.
 */
export function assertNotEquals<T>(actual: T, unexpected: T): void {
  if (equal(actual, unexpected)) throw new AssertionError(`Expected a value other than ${show(unexpected)}`);
}

/**
 * Asserts that a string matches a pattern.
 *
 * @param actual The string.
 * @param pattern The pattern.
 * @throws {AssertionError} When it does not match.
 */
export function assertMatch(actual: string, pattern: RegExp): void {
  if (typeof actual !== "string" || !pattern.test(actual)) {
    throw new AssertionError(`Expected ${show(actual)} to match ${pattern}`);
  }
}

function checkError<E extends Error>(error: unknown, Class?: ErrorClass<E>, includes?: string): void {
  if (Class && !(error instanceof Class)) {
    throw new AssertionError(`Expected a ${Class.name}, got ${error instanceof Error ? error.stack : show(error)}`);
  }
  if (includes !== undefined && !(error instanceof Error && error.message.includes(includes))) {
    throw new AssertionError(
      `Expected the message to include ${show(includes)}, got ${show((error as Error).message)}`,
    );
  }
}

/**
 * Asserts that a function throws, and returns what it threw.
 *
 * @param fn The function.
 * @param Class The class the error must be an instance of.
 * @param includes Text the message must include.
 * @returns The error.
 * @throws {AssertionError} When it returns, or throws something else.
 */
export function assertThrows(fn: () => unknown): unknown;
export function assertThrows<E extends Error>(fn: () => unknown, Class: ErrorClass<E>, includes?: string): E;
export function assertThrows<E extends Error>(fn: () => unknown, Class?: ErrorClass<E>, includes?: string): unknown {
  try {
    fn();
  } catch (error) {
    checkError(error, Class, includes);
    return error;
  }
  throw new AssertionError("Expected the function to throw");
}

/**
 * Asserts that a promise rejects, and returns the reason.
 *
 * @param fn A function returning the promise.
 * @param Class The class the error must be an instance of.
 * @param includes Text the message must include.
 * @returns The reason.
 * @throws {AssertionError} When it resolves, or rejects with something else.
 */
export function assertRejects(fn: () => PromiseLike<unknown>): Promise<unknown>;
export function assertRejects<E extends Error>(
  fn: () => PromiseLike<unknown>,
  Class: ErrorClass<E>,
  includes?: string,
): Promise<E>;
export async function assertRejects<E extends Error>(
  fn: () => PromiseLike<unknown>,
  Class?: ErrorClass<E>,
  includes?: string,
): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    checkError(error, Class, includes);
    return error;
  }
  throw new AssertionError("Expected the promise to reject");
}

/**
 * Asserts that text equals the snapshot `tests/snapshots/NAME`; with
 * `UPDATE_SNAPSHOTS=1` in the environment, writes it there first.
 */
export function assertSnapshot(actual: string, name: string): void {
  const path = new URL(`snapshots/${name}`, import.meta.url);
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") Deno.writeTextFileSync(path, actual);
  assertEquals(actual, Deno.readTextFileSync(path), `snapshot ${name} (UPDATE_SNAPSHOTS=1 to accept a change)`);
}
