/**
 * Runs `task(0)` .. `task(count - 1)` with at most `concurrency` in flight,
 * in index order. Stops starting new ones once `shouldStop()` is true (a
 * deadline, too many errors); those already started are awaited. Resolves
 * with how many were started. A task must not throw (it records its own errors).
 */
export async function runBounded(count: number, concurrency: number, task: (index: number) => Promise<void>, shouldStop: () => boolean = () => false): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !shouldStop()) {
      const index = next++;
      await task(index);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, () => worker());
  await Promise.all(workers);
  return next;
}
