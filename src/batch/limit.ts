/** Small flow-control helpers of the nightly job: a token-bucket rate limiter and a bounded parallel map. */

/** `take()` resolves when a token is free; `perSec` tokens a second, bursts up to `perSec`. */
export function rateLimiter(perSec: number): { take(): Promise<void> } {
  const interval = 1000 / perSec;
  let next = 0;
  return {
    async take() {
      const now = Date.now();
      // Allow a burst of one second's worth; beyond that, space tokens `interval` apart.
      next = Math.max(next, now - 1000) + interval;
      const wait = next - 1000 - now;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    },
  };
}

/** Run `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  const lane = async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
