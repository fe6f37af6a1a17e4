// Sorting and merging spans of device bytes: the stale regions a flash clears, the blocks of the
// head and tail it composed.

import type { Span } from './plan.js';

/** `spans` sorted, with those that overlap or touch merged (new objects; the input is untouched). */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const r of [...spans].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
