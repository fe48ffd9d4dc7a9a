/**
 * Hoare quickselect: reorders buf[lo..hi] so that buf[k] is the k-th smallest, everything left of it ≤ it
 * and everything right of it ≥ it, and returns it. O(n) on average where a sort is O(n log n); buf must
 * hold no NaN (the callers check or cannot have one). Written here: typed arrays have no select in the
 * platform, and a package for these dozen lines would be a dependency for its own sake.
 */
export function selectKth(buf: Float32Array, lo: number, hi: number, k: number): number {
  while (lo < hi) {
    const pivot = buf[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (buf[i]! < pivot) i++;
      while (buf[j]! > pivot) j--;
      if (i <= j) {
        const t = buf[i]!;
        buf[i] = buf[j]!;
        buf[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return buf[k]!;
}
