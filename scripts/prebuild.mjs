// npm pack's prepack step, after the TypeScript is compiled: compiles the loader and the kernel
// from this tree into prebuilt/ with the key of their sources and their sha256
// (builder/pipeline/prebuilt.ts), so that the installed package builds images without clang.
// Compiled with the same flags as any build, so the bytes are those a checkout would make.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const { compileLoader, compileKernel, sourceKey } = await import(join(root, 'dist/builder/pipeline/compile.js'));
const { writePrebuilt, PREBUILT_DIR } = await import(join(root, 'dist/builder/pipeline/prebuilt.js'));

// The programs come from the compiler (or its cache), never from an earlier prebuilt/.
await rm(join(root, PREBUILT_DIR), { recursive: true, force: true });
const say = (m) => process.stderr.write(`prebuild: ${m}\n`);
const loader = await compileLoader(say);
const kernel = await compileKernel(say);
const dir = await writePrebuilt({
  loader: { path: loader.path, sourceKey: await sourceKey('loader') },
  kernel: { path: kernel.path, sourceKey: await sourceKey('kernel') },
});
say(`wrote ${dir}`);
