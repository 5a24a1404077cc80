/**
 * Whether process `pid` of this machine runs: a file or directory named after the process that
 * writes it (an export's partial bundle, an older release's projector) tells a live writer's from
 * one that a kill -9 or a crash left behind. A reused process id reads as alive.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
