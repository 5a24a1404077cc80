/**
 * Resolves when `wake` is called or `signal` (if any) aborts, whichever comes first; leaves no
 * listener behind.
 */
export function wakeOrAbort(signal: AbortSignal | undefined, arm: (wake: () => void) => void): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal?.removeEventListener('abort', done);
      resolve();
    };
    signal?.addEventListener('abort', done);
    arm(done);
  });
}
