// The mark-good tool for stock Linux payloads (linuxtool/, docs/linux.md): a static x86_64
// Linux executable with no runtime dependencies, compiled with musl-gcc (Debian's musl-tools)
// from linuxtool/ and the loader's own C in common/, cached like the loader and the kernel.

import { join } from 'node:path';
import { cached, keyOf, readSources, run, sourcesOf, tool, type Compiled } from './compile.js';

export const STATE_TOOL_FILE = 'bankforge-state';
/** The common/ files it needs: the state record and selection, the GPT reader, the loader's words. */
const COMMON_UNITS = ['common/bankstate.c', 'common/bootident.c', 'common/gpt.c', 'common/crc32.c', 'common/fmt.c'];
/** -Wno-format-truncation: paths and messages are cut at their buffers on purpose (a cut path fails to open). */
export const STATE_TOOL_FLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-Wno-format-truncation', '-Icommon'];

export async function compileStateTool(): Promise<Compiled> {
  const files = [...await sourcesOf(['linuxtool', 'common'])];
  const versions = [await tool('musl-gcc', 'musl-tools')];
  const flags = ['-static', ...STATE_TOOL_FLAGS];
  const key = keyOf('state-tool', readSources(files), flags, versions);
  return cached('state-tool', key, STATE_TOOL_FILE, async (dir) => {
    const units = [...files.filter((f) => f.startsWith('linuxtool/') && f.endsWith('.c')), ...COMMON_UNITS];
    return run('the mark-good tool', 'musl-gcc', [...flags, '-s', '-o', join(dir, STATE_TOOL_FILE), ...units]);
  });
}
