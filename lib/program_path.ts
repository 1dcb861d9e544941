/**
 * The PATH search of execvp(3), done by the child in the filesystem it sees
 * (after its mounts and its new root): the parent lists the candidates, the
 * child tries each with execve until one runs.
 *
 * @module
 */

/** The search path execvp uses when PATH is unset. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The paths to try, in order, to execute a program.
 *
 * @param name A program name, or a path when it contains a slash.
 * @param searchPath The PATH of the child (unset: {@linkcode DEFAULT_PATH}).
 * @returns The candidates: just `name` when it contains a slash or is empty.
 */
export function programCandidates(name: string, searchPath: string | undefined): string[] {
  if (name.includes("/") || name === "") return [name];
  return (searchPath ?? DEFAULT_PATH).split(":").map((dir) => `${dir || "."}/${name}`);
}
