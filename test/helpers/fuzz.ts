// Fuzzing plumbing shared by the suites that feed bankforge hostile input: a deterministic
// generator (the same cases on every run; BANKFORGE_FUZZ_SEED replays others, and a failure
// names its seed), byte mutations, and running the real CLI on a case with a time bound.

import { execa } from 'execa';
import { BIN } from './cli.js';
import { repoRoot } from './tools.js';

export const FUZZ_SEED = Number(process.env.BANKFORGE_FUZZ_SEED ?? 0x1cf9);

/** Rounds a suite runs: its default in the suite, BANKFORGE_FUZZ_ROUNDS for a longer campaign. */
export const fuzzRounds = (byDefault: number): number => Number(process.env.BANKFORGE_FUZZ_ROUNDS ?? byDefault);

/** xorshift32: small, fast and the same everywhere. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

/** Bytes that parsers care about, tried more often than random ones. */
const SPICE = [...'=\n\r \t#-./\\*0aA9$'].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xff]);

/** One to three edits: overwrite, insert or delete a byte, or repeat a piece. */
export function mutate(b: Uint8Array, next: () => number, allowNul = true): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + (next() % 3); n > 0; n--) {
    const at = out.length ? next() % out.length : 0;
    const byte = (): number => { const v = next() % 3 ? SPICE[next() % SPICE.length]! : next() & 0xff; return !allowNul && v === 0 ? 0x20 : v; };
    switch (next() % 4) {
      case 0: if (out.length) out[at] = byte(); break;
      case 1: out = Buffer.concat([out.subarray(0, at), Buffer.from([byte()]), out.subarray(at)]); break;
      case 2: out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]); break;
      default: out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + (next() % 80)), out.subarray(at)]);
    }
  }
  return out;
}

export interface Outcome {
  args: string[];
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  ms: number;
  stderr: string;
  stdout: string;
}

/** Runs bankforge on one case; never throws on how it ends, and kills it at `timeoutMs`. */
export async function runCase(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Outcome> {
  const started = Date.now();
  const r = await execa(BIN, args, {
    reject: false, cwd: opts.cwd ?? repoRoot, env: {}, encoding: 'utf8', stdin: 'ignore', timeout: opts.timeoutMs ?? 30_000,
  });
  return { args, exitCode: r.exitCode, signal: r.signal ?? undefined, timedOut: r.timedOut === true, ms: Date.now() - started, stderr: r.stderr ?? '', stdout: r.stdout ?? '' };
}

/** The problem with an outcome, or undefined: it must end by itself, within time, with one of `allowed`. */
export function judge(o: Outcome, allowed: readonly number[]): string | undefined {
  if (o.timedOut) return `did not end within its time bound (${o.ms} ms)`;
  if (o.signal) return `killed by ${o.signal}`;
  if (o.exitCode === undefined || !allowed.includes(o.exitCode)) return `exit ${o.exitCode}, expected one of ${allowed.join(', ')}: ${o.stderr.slice(0, 600)}`;
  // Inspect's exit 4 reports warnings, in its report; every other failure says what went wrong:
  // on stderr, or with --json as the error document on stdout (docs/cli.md) with the same code.
  if (o.exitCode !== 0 && o.exitCode !== 4) {
    if (o.args.includes('--json')) {
      const problem = jsonErrorProblem(o.stdout, o.exitCode);
      if (problem) return `exit ${o.exitCode} with --json: ${problem}`;
    } else if (!/^bankforge: \S/m.test(o.stderr)) return `exit ${o.exitCode} without a "bankforge: ..." message: ${o.stderr.slice(0, 300)}`;
  }
  return undefined;
}

/** "exit 0: 12, exit 3: 40, ..." for the closing line of a campaign. */
export function tally(outcomes: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const k = o.timedOut ? 'timeout' : o.signal ? o.signal : `exit ${o.exitCode}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort().map(([k, n]) => `${k}: ${n}`).join(', ');
}

function jsonErrorProblem(stdout: string, code: number): string | undefined {
  let doc: { error?: { code?: unknown; message?: unknown } };
  try { doc = JSON.parse(stdout) as typeof doc; } catch { return `stdout is not JSON: ${stdout.slice(0, 300)}`; }
  if (doc.error?.code !== code || typeof doc.error.message !== 'string' || !doc.error.message) return `not an error document for exit ${code}: ${stdout.slice(0, 300)}`;
  return undefined;
}
