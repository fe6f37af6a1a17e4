// The OVMF floor: time from Machine.start() to efi-hello's first line on COM1, i.e. what any
// QEMU test pays before our own loader runs. Boots one at a time (a TCG boot is CPU-bound), five
// per disk bus, and prints the median with the spread. Run on demand:
//   npm run build && node dist/bench/boot-floor.js

import { Machine } from '../qemu/index.js';
import { HELLO, helloImage } from '../test/fixtures/efi-hello/image.js';

const RUNS = 5;

async function bootToHello(image: string, usb: boolean): Promise<{ ms: number; accel: string }> {
  const t0 = process.hrtime.bigint();
  const m = await Machine.start({ image, snapshot: true, usb });
  try {
    await m.waitFor(HELLO.com1, { timeoutMs: 120_000 });
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, accel: m.accel.accel };
  } finally {
    await m.stop();
  }
}

const image = await helloImage(512);
for (const usb of [false, true]) {
  const times: number[] = [];
  let accel = '';
  for (let i = 0; i < RUNS; i++) {
    const r = await bootToHello(image, usb);
    times.push(r.ms);
    accel = r.accel;
  }
  times.sort((a, b) => a - b);
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  console.log(`${usb ? 'usb-storage' : 'virtio-blk '} (${accel}): start -> hello median ${s(times[Math.floor(RUNS / 2)]!)} s over ${RUNS} boots (min ${s(times[0]!)}, max ${s(times[RUNS - 1]!)})`);
}
