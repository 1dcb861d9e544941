/** The version of nsh; tests/cli_test.ts checks that it matches deno.json. */
export const VERSION = "0.1.0";
