// The npm package as a user gets it (issue 14): packed from one checkout (its prepack compiles the
// TypeScript with .d.ts and the loader and kernel into prebuilt/), installed into a temporary
// prefix, and used with clang and lld absent from PATH: docs/ci.md's workflow is run with it
// (build with SOURCE_DATE_EPOCH, boot to the ready line with --expect and --screenshot, sign a
// bundle), and docs/qemu.md's typed example compiles with tsc --strict against its types.
// Reproducibility across checkouts: a second checkout in another directory, with its own empty
// cache, compiles the C itself and builds the default image, its bundle and every --format
// output but xz; every byte must equal what the installed package makes. The packing checkout
// takes its compiled programs from the suite's own cache: compiled in the suite's checkout (or,
// on a cold cache, in the packing checkout itself), never in checkout B's directory, and not
// compiled twice here (16 s of CPU). xz's output is xz's own work from the raw
// image, whose bytes are compared; the .xz the installed package makes is docs/ci.md's, checked
// below (each .xz of the 752 MiB disk costs 5 s of CPU). Finally the installed package refuses a
// damaged prebuilt program, and without clang says why a changed C source cannot be built.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { generateKeyPairSync } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { copyTree, repoRoot, scratch } from '../helpers/tools.js';
import { fileIncludes, sha256OfFile } from '../helpers/file-bytes.js';
import { EXIT } from '../../support/exit-codes.js';
import { cacheDir } from '../../builder/pipeline/compile.js';

const { dir, cleanup } = await scratch('bankforge-package-');
const EPOCH = '1700000000';
const FORMATS = 'raw,gz,qcow2,vmdk,bmap';

interface Run { exitCode: number; stdout: string; stderr: string }
async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const r = await execa(cmd, args, { cwd, env, extendEnv: false, reject: false, encoding: 'utf8' });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const must = (what: string, r: Run): Run => { assert.is(r.exitCode, 0, `${what}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`); return r; };

/**
 * A checkout: what git tracks or would track (none of what .gitignore names: outputs, prebuilt
 * programs, the fetched Linux of .cache/, 470 MB), node_modules linked; dist/ only when asked.
 */
async function checkout(to: string, withDist: boolean): Promise<string> {
  await mkdir(to, { recursive: true });
  await copyTree(to);
  // cp -a keeps the times, by which the launcher tells the bundle from tsc's newer output.
  if (withDist) must('copying dist/', await sh('cp', ['-a', join(repoRoot, 'dist'), to], repoRoot, base));
  await symlink(join(repoRoot, 'node_modules'), join(to, 'node_modules'));
  return to;
}

/** A PATH of one directory holding only what the package needs at run time: no clang, no lld. */
async function toolsWithoutClang(bin: string, prefix: string): Promise<string> {
  await mkdir(bin, { recursive: true });
  await symlink(process.execPath, join(bin, 'node'));
  for (const name of ['sh', 'bash', 'env', 'rm', 'cat', 'printf', 'git', 'qemu-system-x86_64', 'qemu-img', 'xz', 'perl', 'setpriv']) {
    for (const d of (process.env.PATH ?? '').split(delimiter)) {
      if (d && existsSync(join(d, name))) { await symlink(join(d, name), join(bin, name)); break; }
    }
  }
  // docs/ci.md says `npx bankforge`: here that is the installed binary.
  await writeFile(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = bankforge ] && shift\nexec ${join(prefix, 'bin', 'bankforge')} "$@"\n`);
  await chmod(join(bin, 'npx'), 0o755);
  for (const missing of ['clang', 'ld.lld', 'lld-link']) assert.not.ok(existsSync(join(bin, missing)), `${missing} on the PATH`);
  return bin;
}

const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, TMPDIR: process.env.TMPDIR ?? '/tmp' };
/**
 * What npm needs to reach the registry from this machine, as a user's shell would have it: the
 * installed package's dependencies are resolved by version range, so npm asks the registry for
 * their metadata unless an earlier install left it in ~/.npm (`npm ci` fetches only tarballs).
 * Without the CA file a TLS-inspecting proxy needs, a fresh machine fails with
 * SELF_SIGNED_CERT_IN_CHAIN.
 */
const NETWORK = /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|https?_proxy|no_proxy|npm_config_(registry|cafile|ca|proxy|https_proxy|noproxy|strict_ssl))$/i;
const network = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => NETWORK.test(e[0]) && e[1] !== undefined));
const A = await checkout(join(dir, 'a', 'src'), false);
const B = await checkout(join(dir, 'b', 'src'), true);
const prefix = join(dir, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'bankforge');

test('pack in one checkout and build in another with an empty cache, at the same time', async () => {
  const [packed, other] = await Promise.all([
    sh('npm', ['pack', '--pack-destination', join(dir, 'a')], A, { ...base, BANKFORGE_CACHE: cacheDir() }),
    (async () => {
      const env = { ...base, BANKFORGE_CACHE: join(dir, 'b', 'cache'), SOURCE_DATE_EPOCH: EPOCH };
      const bin = join(B, 'bin', 'bankforge.js');
      const out = join(dir, 'b', 'out');
      await mkdir(out);
      const built = must('build in checkout B', await sh('node', [bin, 'build', '--out', join(out, 'esxi.img'), '--version', '1.0.0', '--format', FORMATS], out, env));
      must('bundle in checkout B', await sh('node', [bin, 'bundle', '--version', '1.0.0', '-o', join(out, 'esxi.bfb')], out, env));
      return built;
    })(),
  ]);
  must('npm pack', packed);
  // Progress while clang works (checkout B had nothing cached and nothing prebuilt).
  assert.match(other.stderr, 'compiling the loader');
  assert.match(other.stderr, 'compiling the kernel');
  const files = (await sh('tar', ['tzf', join(dir, 'a', 'bankforge-0.1.0.tgz')], dir, base)).stdout.split('\n');
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/qemu/index.d.ts', 'package/prebuilt/prebuilt.json',
    'package/prebuilt/BOOTX64.EFI', 'package/prebuilt/kernel.elf', 'package/layouts/esxi.json', 'package/kernel/main.c', 'package/base/tmp/.keep',
    'package/linuxtool/statetool.c', 'package/scripts/fetch-linux.sh', 'package/kernel/font.c',
    'package/dist/cli-bundle/main.cjs', 'package/dist/cli-bundle/main.cache', 'package/dist/cli-bundle/main-build.cache', 'package/dist/cli-bundle/direct.cjs', 'package/dist/cli-bundle/direct.cache',
    'package/dist/cli-bundle/launch.cjs', 'package/dist/cli-bundle/help.txt', 'package/bin/package.json', 'package/bin/load-bundle.js',
    // common/crc32.c as WebAssembly, which the library's modules import (the bundles hold their own copy)
    'package/dist/partitions/crc32-wasm.js',
    // flash's worker thread runs these from dist/, not from the bundle
    'package/dist/disk/flash/block-pass-thread.cjs', 'package/dist/disk/flash/block-pass.cjs', 'package/dist/disk/flash/direct-io.cjs', 'package/dist/support/zero-bytes.cjs']) {
    assert.ok(files.includes(f), `${f} is not in the package`);
  }
  assert.not.ok(files.some((f) => f.startsWith('package/dist/test/') || f.startsWith('package/dist/bench/') || f.endsWith('.map')), 'tests, benchmarks or source maps in the package');
  must('npm install', await sh('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, 'a', 'bankforge-0.1.0.tgz')], dir, { ...base, ...network }));
});

const tools = await toolsWithoutClang(join(dir, 'tools'), prefix);
const userEnv = { PATH: tools, HOME: join(dir, 'home'), TMPDIR: base.TMPDIR, BANKFORGE_CACHE: join(dir, 'user-cache') };

test('the installed package makes, without clang, every byte the other checkout made with it', async () => {
  const out = join(dir, 'c');
  await mkdir(out);
  const bin = join(prefix, 'bin', 'bankforge');
  const env = { ...userEnv, SOURCE_DATE_EPOCH: EPOCH };
  const built = must('installed build', await sh(bin, ['build', '--out', join(out, 'esxi.img'), '--version', '1.0.0', '--format', FORMATS], out, env));
  assert.not.match(built.stderr, 'compiling');
  must('installed bundle', await sh(bin, ['bundle', '--version', '1.0.0', '-o', join(out, 'esxi.bfb')], out, env));
  assert.not.ok(existsSync(userEnv.BANKFORGE_CACHE), 'the installed package compiled something');
  const names = (await readdir(out)).sort();
  assert.equal(names, (await readdir(join(dir, 'b', 'out'))).sort());
  assert.equal(names, ['esxi.bfb', 'esxi.img', 'esxi.img.bmap', 'esxi.img.gz', 'esxi.img.kernel.elf', 'esxi.manifest.json', 'esxi.qcow2', 'esxi.vmdk']);
  for (const name of names) {
    const [ours, theirs] = [await sha256OfFile(join(out, name)), await sha256OfFile(join(dir, 'b', 'out', name))];
    assert.is(ours, theirs, `${name} differs between the installed package and checkout B`);
    process.stderr.write(`  reproducible: ${name} sha256 ${ours}\n`);
  }
  // No checkout's directory in any output (the packing one, the building one, or this one).
  for (const name of names) {
    const named = await fileIncludes(join(out, name), [A, B, repoRoot, dir]);
    assert.is(named, undefined, `${name} names ${named}`);
  }
});

test("docs/ci.md's workflow is GitHub Actions YAML, and its commands run with the installed package", async () => {
  const doc = await readFile(join(repoRoot, 'docs', 'ci.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(yaml, 'no yaml block in docs/ci.md');
  const wf = parseYaml(yaml!) as { name: string; on: Record<string, unknown>; jobs: Record<string, { 'runs-on': string; steps: { name?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string> }[] }> };
  assert.type(wf.name, 'string');
  assert.ok(wf.on && typeof wf.on === 'object');
  const job = wf.jobs.build!;
  assert.type(job['runs-on'], 'string');
  const uses = job.steps.filter((s) => s.uses).map((s) => s.uses!.replace(/@.*/, ''));
  assert.equal(uses, ['actions/checkout', 'actions/setup-node', 'actions/upload-artifact']);
  for (const s of job.steps) assert.ok(Boolean(s.uses) !== Boolean(s.run), `step ${s.name}: exactly one of uses and run`);

  // The runner's checkout: a repository whose last commit is at EPOCH.
  const work = join(dir, 'ci');
  await mkdir(work);
  const gitEnv = { ...userEnv, GIT_COMMITTER_DATE: `@${EPOCH} +0000`, GIT_AUTHOR_DATE: `@${EPOCH} +0000` };
  must('git init', await sh('git', ['init', '-q'], work, gitEnv));
  must('git commit', await sh('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'ci'], work, gitEnv));
  const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const logs = new Map<string, Run>();
  for (const s of job.steps) {
    if (!s.run) continue;
    // Installing is what this test did above (npm) and what setup.sh does (apt-get).
    if (/^Install /.test(s.name ?? '')) { assert.match(s.run, /apt-get install|npm install/); continue; }
    const script = s.run.replace(/\$\{\{ github\.run_number \}\}/g, '1');
    const env: Record<string, string> = { ...userEnv };
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = v === '${{ secrets.BUNDLE_SIGNING_KEY }}' ? key : v;
    assert.not.match(script, /\$\{\{/, `step ${s.name}: an expression this test does not stand in for`);
    const r = await sh('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], work, env);
    assert.is(r.exitCode, 0, `step ${s.name}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
    logs.set(s.name ?? '', r);
  }
  assert.equal([...logs.keys()], ['Build the image', 'Boot it until the kernel is ready', 'Sign an update bundle']);
  const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!.with!.path!.trim().split('\n').map((p) => p.trim());
  for (const p of upload) assert.ok((await stat(join(work, p))).size > 0, `${p} was not made`);
  const manifest = JSON.parse(await readFile(join(work, 'appliance.manifest.json'), 'utf8'));
  assert.is(manifest.sourceDateEpoch, Number(EPOCH), 'SOURCE_DATE_EPOCH from the commit');
  const boot = JSON.parse(await readFile(join(work, 'boot.json'), 'utf8'));
  assert.equal([boot.outcome, boot.match, boot.format], ['matched', 'bankforge: ready', 'raw']);
  // With --json the console went to the step's log (stderr): the version the workflow built.
  assert.match(logs.get('Boot it until the kernel is ready')!.stderr, /^bankforge: ready version=1\.0\.1 bank=A /m);
  assert.ok((await readFile(join(work, 'boot.png'))).subarray(1, 4).equals(Buffer.from('PNG')), 'boot.png is a PNG');
});

test("docs/qemu.md's typed example compiles with tsc --strict against the installed package's types", async () => {
  const doc = await readFile(join(repoRoot, 'docs', 'qemu.md'), 'utf8');
  const example = /<!-- compiled: test\/package\/install\.qemu\.test\.ts -->\n```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'no compiled example in docs/qemu.md');
  const proj = join(dir, 'example');
  await mkdir(join(proj, 'node_modules'), { recursive: true });
  await symlink(installed, join(proj, 'node_modules', 'bankforge'));
  await writeFile(join(proj, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(proj, 'example.ts'), example!);
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(repoRoot, 'node_modules', '@types')];
  // And it is the package's types that were checked: a wrong call beside it is an error. One tsc
  // run for both (each start loads the package's and Node's types: seconds of CPU); its
  // diagnostics name their file, and there must be none for the example.
  await writeFile(join(proj, 'wrong.ts'), "import { build } from 'bankforge';\nawait build({ out: 'x.img' });\nexport {};\n");
  const r = await sh('node', [tsc, ...args, '--pretty', 'false', 'example.ts', 'wrong.ts'], proj, base);
  assert.is.not(r.exitCode, 0, 'wrong.ts compiled');
  // Every error, with a file or without one (a missing file, a bad option), must be wrong.ts's.
  const diagnostics = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  assert.equal(diagnostics.filter((l) => !l.startsWith('wrong.ts(')), [], `tsc --strict example.ts:\n${r.stdout}`);
  assert.ok(diagnostics.length > 0 && /Property 'version' is missing/.test(r.stdout), r.stdout);
});

test('installed: a changed C source without clang says why clang is needed; a damaged prebuilt program is refused', async () => {
  const bin = join(prefix, 'bin', 'bankforge');
  const out = join(dir, 'd');
  await mkdir(out);
  const elf = join(installed, 'prebuilt', 'kernel.elf');
  const original = await readFile(elf);
  const damaged = Buffer.from(original);
  damaged[damaged.length >> 1] ^= 0xff;
  await writeFile(elf, damaged);
  let r = await sh(bin, ['build', '--layout', 'small', '--out', join(out, 'x.img'), '--json'], out, userEnv);
  assert.is(r.exitCode, EXIT.input, r.stderr);
  assert.match(JSON.parse(r.stdout).error.message, /prebuilt\/kernel\.elf: sha256 [0-9a-f]{64}, but prebuilt\/prebuilt\.json records [0-9a-f]{64}: .*reinstall bankforge/);
  await writeFile(elf, original);
  await appendFile(join(installed, 'kernel', 'main.c'), '\n/* changed */\n');
  r = await sh(bin, ['build', '--layout', 'small', '--out', join(out, 'x.img')], out, userEnv);
  assert.is(r.exitCode, EXIT.input, r.stderr);
  assert.match(r.stderr, /clang not found \(the C sources in kernel\/, common\/ differ from those the prebuilt kernel\.elf was made from, so it must be compiled\): install the Debian package clang/);
  assert.not.ok(existsSync(join(out, 'x.img')), 'an image was written');
});

test.after(cleanup);
test.run();
