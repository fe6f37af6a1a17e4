// Every exit code bankforge ends with: the one table from which the code's constants, the
// CLI's --help epilogues and the README's table are made (npm run readme rewrites the README's
// copy; test/support/exit-codes.test.ts fails when the two differ).

interface ExitCodeSpec {
  readonly code: number;
  /** The commands that end with this code; none listed: any command. */
  readonly commands?: readonly string[];
  /** A few words, for --help. */
  readonly short: string;
  /** The README's sentence. */
  readonly meaning: string;
}

const TABLE = {
  ok: { code: 0, short: 'ok', meaning: 'success' },
  internal: { code: 1, short: 'internal error', meaning: 'internal error (a bug: run again with `--debug` for the stack trace)' },
  usage: { code: 2, short: 'usage error', meaning: 'usage error (unknown option, missing argument)' },
  input: { code: 3, short: 'bad input (nothing written)', meaning: 'bad input: layout rejected, file missing, image unreadable, target not an image, output path not a regular file, target in use by QEMU or another bankforge; also a full disk (the environment, not a bug); nothing was written' },
  warnings: { code: 4, commands: ['inspect'], short: 'inconsistencies found', meaning: 'read the image but found inconsistencies (printed as warnings)' },
  timeout: { code: 5, commands: ['run'], short: '--timeout passed', meaning: '`--timeout` passed before `--expect` matched' },
  qemuExited: { code: 6, commands: ['run'], short: 'QEMU exited first', meaning: 'QEMU exited before `--expect` matched, or with a non-zero status' },
  refused: { code: 7, commands: ['flash'], short: 'refused (nothing written)', meaning: 'refused (system, mounted, fixed, read-only or too small disk; not confirmed); nothing written' },
  failed: { code: 8, commands: ['flash'], short: 'write or verify failed', meaning: 'writing or verifying failed, or the image does not match its bmap or manifest' },
  outputLost: { code: 9, short: 'output not written', meaning: 'the command did its work, but its output could not all be written to stdout (a full disk, a file-size limit, a descriptor not open for writing); it takes the place of 0, and of 4 for `inspect`, whose worth is the output; a reader that stops reading early, as `head` does, is not this' },
  interrupted: { code: 130, commands: ['run', 'flash', 'build', 'bundle', 'coredump'], short: 'interrupted', meaning: 'interrupted (Ctrl-C, Ctrl-], SIGINT, SIGTERM); a partly written output is removed' },
} as const satisfies Record<string, ExitCodeSpec>;

export type ExitName = keyof typeof TABLE;

export const EXIT: { readonly [K in ExitName]: (typeof TABLE)[K]['code'] } =
  Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v.code])) as never;

export type ExitCode = (typeof EXIT)[ExitName];

const SPECS: readonly ExitCodeSpec[] = Object.values(TABLE);

const forCommand = (command: string | undefined) => (s: ExitCodeSpec): boolean =>
  !s.commands || command === undefined || s.commands.includes(command);

/** The README's table (Markdown). */
export function exitCodesMarkdown(): string {
  const rows = SPECS.map((s) => `| ${s.code} | ${s.commands ? `${s.commands.map((c) => `\`${c}\``).join(', ')}: ` : ''}${s.meaning} |`);
  return ['| code | meaning |', '|---|---|', ...rows].join('\n');
}

/** One line for --help: every code, or those a command can end with. */
export function exitCodesEpilogue(command?: string): string {
  const specs = SPECS.filter(forCommand(command));
  return `Exit codes: ${specs.map((s) => `${s.code} ${command || !s.commands ? s.short : `${s.commands.join('/')}: ${s.short}`}`).join(', ')}.`;
}
