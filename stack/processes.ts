import fs from 'node:fs';

/**
 * Whether `pid` is a live process. A zombie (killed, not yet reaped by its parent: after a SIGKILL
 * of a whole process group, until init gets to it, or for ever under an init that does not reap)
 * is not: it holds nothing, yet `kill(pid, 0)` still succeeds on it. A process of another user
 * (EPERM) is alive.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may contain spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all there is
  }
}
