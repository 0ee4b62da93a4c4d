/**
 * `work` over every item, at most `limit` at once, results in order. The folder's start stats every file
 * and reads every record: one at a time, each waits its turn in libuv's thread pool, and 10,000 files
 * took seconds of waiting (bench/cli, "restart"); a few dozen in flight keep the pool busy instead.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return results
}

/** File system operations in flight at once when the folder reads many small things. */
export const IO_PARALLELISM = 32
