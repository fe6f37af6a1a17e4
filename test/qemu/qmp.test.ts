// The QMP client against a scripted QEMU on a Unix socket: greeting, capabilities negotiation,
// answers matched by id, errors as QmpError, and pending commands failed when the peer goes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { QmpClient, QmpError } from '../../qemu/qmp.js';
import { scratch } from '../helpers/tools.js';

/** A fake QEMU: sends the greeting, then answers each command with `answer`. */
async function withFakeQemu(answer: (cmd: { execute: string; arguments?: unknown; id: number }, peer: Socket) => void, body: (qmp: QmpClient) => Promise<void>): Promise<string[]> {
  const { dir, cleanup } = await scratch();
  const seen: string[] = [];
  const server = createServer((peer) => {
    peer.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n');
    let buf = '';
    peer.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string; id: number };
        buf = buf.slice(nl + 1);
        seen.push(cmd.execute);
        answer(cmd, peer);
      }
    });
  });
  const path = join(dir, 'qmp.sock');
  await new Promise<void>((ok) => server.listen(path, ok));
  const qmp = new QmpClient(createConnection(path));
  try {
    await body(qmp);
  } finally {
    qmp.close();
    server.close();
    await cleanup();
  }
  return seen;
}

test('handshake, then answers matched by id even out of order, events skipped, errors as QmpError', async () => {
  let held: { id: number; peer: Socket } | undefined;
  const seen = await withFakeQemu((cmd, peer) => {
    if (cmd.execute === 'slow') { held = { id: cmd.id, peer }; return; }
    if (cmd.execute === 'bad') { peer.write(`${JSON.stringify({ error: { class: 'GenericError', desc: "Invalid parameter 'nokey'" }, id: cmd.id })}\r\n`); return; }
    peer.write('{"event": "RESET", "data": {"guest": false}}\r\n');
    peer.write(`${JSON.stringify({ return: cmd.execute === 'query-status' ? { status: 'running' } : {}, id: cmd.id })}\r\n`);
    if (held) { held.peer.write(`${JSON.stringify({ return: 'late', id: held.id })}\r\n`); held = undefined; }
  }, async (qmp) => {
    const greeting = await qmp.handshake();
    assert.is(greeting.QMP.version.qemu.major, 7);
    const slow = qmp.execute('slow');
    assert.equal(await qmp.execute('query-status'), { status: 'running' });
    assert.is(await slow, 'late');
    const e = await qmp.execute('bad', { keys: [] }).then(() => undefined, (x: unknown) => x);
    assert.instance(e, QmpError);
    assert.is((e as QmpError).message, "QMP bad failed: GenericError: Invalid parameter 'nokey'");
  });
  assert.equal(seen, ['qmp_capabilities', 'slow', 'query-status', 'bad']);
});

test('commands pending when QEMU goes away fail, and later ones fail at once', async () => {
  await withFakeQemu((cmd, peer) => {
    if (cmd.execute === 'quit') peer.destroy();
    else peer.write(`${JSON.stringify({ return: {}, id: cmd.id })}\r\n`);
  }, async (qmp) => {
    await qmp.handshake();
    await qmp.execute('quit').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^QMP quit got no answer: QMP connection (closed|failed)/));
    await qmp.execute('query-status').then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /^cannot send QMP query-status: QMP connection/));
  });
});

test.run();
