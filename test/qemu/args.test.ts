// The machine's command line and the disk probe, without running QEMU.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { machineArgs, optionValue, type MachineConfig } from '../../qemu/args.js';
import { probeDisk } from '../../qemu/disk.js';
import { scratch, mustRun } from '../helpers/tools.js';

const base: MachineConfig = {
  name: 'm',
  accel: 'tcg',
  memMiB: 256,
  firmware: '/tmp/x/firmware.fd',
  disk: { path: '/img/a.img', format: 'raw', sectorSize: 512, bus: 'virtio', snapshot: false },
  gui: false,
  serialLog: undefined,
  qmpFd: 3,
  extraArgs: [],
};

/** The value after each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

test('default machine: q35, no default devices, std VGA, OVMF as the BIOS image, virtio disk boots first, headless', () => {
  const args = machineArgs(base);
  assert.equal(values(args, '-machine'), ['q35,sata=off'], 'no AHCI controller when no disk is on it');
  assert.equal(values(args, '-accel'), ['tcg']);
  assert.equal(values(args, '-cpu'), ['Nehalem'], 'an Intel model under TCG (OVMF is slower on the AMD default)');
  assert.equal(values(machineArgs({ ...base, accel: 'kvm' }), '-cpu'), [], "QEMU's default CPU under KVM");
  assert.equal(values(args, '-m'), ['256']);
  assert.ok(args.includes('-nodefaults'));
  assert.equal(values(args, '-vga'), ['std']);
  assert.equal(values(args, '-display'), ['none']);
  assert.equal(values(args, '-bios'), ['/tmp/x/firmware.fd']);
  assert.equal(values(args, '-drive'), [
    'if=none,id=disk0,format=raw,file=/img/a.img',
  ]);
  assert.equal(values(args, '-device'), ['virtio-blk-pci,drive=disk0,bootindex=0', 'i6300esb']);
  assert.equal(values(args, '-action'), ['watchdog=reset'], 'a watchdog expiry resets the guest, whatever QEMU\'s default');
  assert.equal(values(args, '-serial'), ['chardev:serial0']);
  assert.equal(values(args, '-chardev'), ['stdio,id=serial0,signal=off', 'socket,id=qmp,fd=3']);
  assert.not.ok(args.includes('-no-reboot'), 'a guest reset must reboot: the loader gets its turn after a panic');
  assert.not.ok(args.includes('-snapshot'));
});

test('usb, 4Kn, snapshot, gui, serial log and extra arguments', () => {
  const args = machineArgs({
    ...base,
    disk: { ...base.disk, format: 'qcow2', sectorSize: 4096, bus: 'usb', snapshot: true },
    gui: true,
    serialLog: '/logs/serial.txt',
    extraArgs: ['-smp', '2'],
  });
  assert.equal(values(args, '-device'), ['qemu-xhci,id=xhci', 'usb-storage,bus=xhci.0,drive=disk0,bootindex=0,logical_block_size=4096,physical_block_size=4096', 'i6300esb']);
  assert.equal(values(args, '-drive')[0], 'if=none,id=disk0,format=qcow2,file=/img/a.img,snapshot=on');
  assert.equal(values(args, '-display'), []);
  assert.equal(values(args, '-chardev')[0], 'stdio,id=serial0,signal=off,logfile=/logs/serial.txt,logappend=off');
  assert.equal(args.slice(-2), ['-smp', '2']);
  const virtio4k = machineArgs({ ...base, disk: { ...base.disk, sectorSize: 4096 } });
  assert.equal(values(virtio4k, '-device'), ['virtio-blk-pci,drive=disk0,bootindex=0,logical_block_size=4096,physical_block_size=4096', 'i6300esb']);
});

test('ahci and nvme buses; more disks after the boot disk, without bootindex; AHCI refuses 4096-byte sectors', () => {
  assert.equal(values(machineArgs({ ...base, disk: { ...base.disk, bus: 'ahci' } }), '-device'), ['ide-hd,bus=ide.0,drive=disk0,bootindex=0', 'i6300esb']);
  assert.equal(values(machineArgs({ ...base, disk: { ...base.disk, bus: 'ahci' } }), '-machine'), ['q35'], 'the built-in AHCI controller for an AHCI boot disk');
  assert.equal(values(machineArgs({ ...base, extraDisks: [{ path: '/img/b.img', format: 'raw', sectorSize: 512, bus: 'ahci', snapshot: false }] }), '-machine'), ['q35'], 'and for an AHCI extra disk');
  assert.equal(values(machineArgs({ ...base, disk: { ...base.disk, bus: 'nvme', sectorSize: 4096 } }), '-device'),
    ['nvme,serial=bankforge0,drive=disk0,bootindex=0,logical_block_size=4096,physical_block_size=4096', 'i6300esb']);
  const more = machineArgs({
    ...base,
    disk: { ...base.disk, bus: 'ahci' },
    extraDisks: [
      { path: '/img/b.img', format: 'raw', sectorSize: 512, bus: 'ahci', snapshot: false },
      { path: '/img/c.img', format: 'qcow2', sectorSize: 512, bus: 'nvme', snapshot: true },
      { path: '/img/d.img', format: 'raw', sectorSize: 512, bus: 'usb', snapshot: false },
      { path: '/img/e.img', format: 'raw', sectorSize: 512, bus: 'usb', snapshot: false },
    ],
  });
  assert.equal(values(more, '-device'), [
    'ide-hd,bus=ide.0,drive=disk0,bootindex=0', 'ide-hd,bus=ide.1,drive=disk1', 'nvme,serial=bankforge2,drive=disk2',
    'qemu-xhci,id=xhci', 'usb-storage,bus=xhci.0,drive=disk3', 'usb-storage,bus=xhci.0,drive=disk4', 'i6300esb',
  ]);
  assert.equal(values(more, '-drive'), [
    'if=none,id=disk0,format=raw,file=/img/a.img', 'if=none,id=disk1,format=raw,file=/img/b.img',
    'if=none,id=disk2,format=qcow2,file=/img/c.img,snapshot=on', 'if=none,id=disk3,format=raw,file=/img/d.img',
    'if=none,id=disk4,format=raw,file=/img/e.img',
  ]);
  assert.throws(() => machineArgs({ ...base, disk: { ...base.disk, bus: 'ahci', sectorSize: 4096 } }), /512-byte sectors only/);
});

test('commas in paths are doubled, as QEMU option values require', () => {
  assert.is(optionValue('/a,b/c,,d'), '/a,,b/c,,,,d');
  const args = machineArgs({ ...base, disk: { ...base.disk, path: '/img/x,y.img' } });
  assert.is(values(args, '-drive')[0], 'if=none,id=disk0,format=raw,file=/img/x,,y.img');
});

test('probeDisk: GPT signature at 512 or 4096, MBR only, qcow2, vmdk, an override; no partition table and a missing file refused', async () => {
  const { dir, cleanup } = await scratch();
  try {
    const at = async (name: string, offset: number | undefined, mbr = false): Promise<string> => {
      const buf = Buffer.alloc(16384);
      if (offset !== undefined) buf.write('EFI PART', offset, 'latin1');
      if (mbr) buf.writeUInt16LE(0xaa55, 510);
      const path = join(dir, name);
      await writeFile(path, buf);
      return path;
    };
    assert.equal(await probeDisk(await at('512.img', 512)), { format: 'raw', sectorSize: 512 });
    assert.equal(await probeDisk(await at('4k.img', 4096)), { format: 'raw', sectorSize: 4096 });
    assert.equal(await probeDisk(await at('mbr.img', undefined, true)), { format: 'raw', sectorSize: 512 });
    await probeDisk(await at('none.img', undefined)).then(() => assert.unreachable(), (e: Error) => {
      assert.match(e.message, /none\.img is not a disk image QEMU can boot: .*no partition table/);
    });
    await writeFile(join(dir, 'notes.txt'), 'hello\n');
    await probeDisk(join(dir, 'notes.txt')).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /not a disk image QEMU can boot/));
    assert.equal(await probeDisk(join(dir, '4k.img'), 512), { format: 'raw', sectorSize: 512 });
    await mustRun('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'q.qcow2'), '64M']);
    assert.equal(await probeDisk(join(dir, 'q.qcow2')), { format: 'qcow2', sectorSize: 512 });
    await mustRun('qemu-img', ['create', '-q', '-f', 'vmdk', join(dir, 'v.vmdk'), '64M']);
    assert.equal(await probeDisk(join(dir, 'v.vmdk')), { format: 'vmdk', sectorSize: 512 });
    await probeDisk(join(dir, 'missing.img')).then(() => assert.unreachable(), (e: Error) => {
      assert.match(e.message, /cannot read disk image .*missing\.img: ENOENT/);
    });
  } finally {
    await cleanup();
  }
});

test.run();
