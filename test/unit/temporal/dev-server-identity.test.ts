// The dev server is identified by more than its pid (issue 11, item 7): after a reboot the pid in
// temporal-server.json may belong to anyone. With real processes: an unrelated live process
// (`sleep`) is never signalled nor reported as the server, a dead pid reads as stopped, a process
// whose command line is our `temporal server start-dev` (port and db) is found and stopped, and
// ensureServer starts a fresh server instead of trusting the stranger.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLocalTemporalBinary } from '../../../lib/temporal/binary';
import {
  alive, checkServer, currentEndpoint, ensureServer, freePortPair, readServerInfo, stopServer, type ServerInfo,
} from '../../../lib/temporal/dev-server';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.pid && alive(c.pid)) c.kill('SIGKILL');
});

function home(): string {
  return mkdtempSync(join(tmpdir(), 'clgrpo-server-id-'));
}

function writeState(h: string, pid: number, port: number, binary = '/opt/temporal/bin/temporal'): ServerInfo {
  const info: ServerInfo = {
    pid, port, uiPort: port + 1000, address: `127.0.0.1:${port}`, uiUrl: '', db: join(h, 'temporal.db'),
    binary, source: 'PATH', startedAt: new Date().toISOString(),
  };
  writeFileSync(join(h, 'temporal-server.json'), JSON.stringify(info));
  writeFileSync(join(h, 'temporal-server.pid'), `${pid}\n`);
  return info;
}

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** A real process whose command line is what startServer runs, listening on `port` (a stand-in server). */
async function lookalike(binary: string, port: number, db: string): Promise<ChildProcess> {
  const listen = `require('net').createServer(s=>s.end()).listen(${port},'127.0.0.1',()=>console.log('up'))`;
  const c = spawn(process.execPath, ['-e', listen, 'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', db, '--headless'],
    { argv0: binary, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  await new Promise((r) => c.stdout?.once('data', r));
  return c;
}

test('a state file naming a live unrelated process: never signalled, never reported as the server', async () => {
  const h = home();
  const s = sleeper();
  const pid = s.pid as number;
  writeState(h, pid, await freePortPair());
  assert.equal(readServerInfo(h), undefined, 'status must not report sleep as the server');
  assert.equal(currentEndpoint(h, {}), undefined);
  const lines: string[] = [];
  assert.equal(await stopServer(h, 200, 'SIGTERM', (m) => lines.push(m)), false);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(alive(pid), 'the unrelated process is still alive');
  assert.equal(s.exitCode, null);
  assert.equal(s.signalCode, null);
  assert.equal(existsSync(join(h, 'temporal-server.json')), false, 'the stale state file is removed');
  assert.equal(existsSync(join(h, 'temporal-server.pid')), false);
  assert.match(lines.join('\n'), new RegExp(`stale.*pid ${pid}`));
  // checkServer says why.
  writeState(h, pid, 7233);
  const c = checkServer(h);
  assert.equal(c.kind, 'stale');
  assert.match(c.kind === 'stale' ? c.reason : '', /not .*temporal server start-dev/);
});

test('a state file with a dead pid is treated as stopped', async () => {
  const h = home();
  const r = spawnSync('true');
  writeState(h, r.pid as number, 7233);
  assert.equal(readServerInfo(h), undefined);
  assert.equal(currentEndpoint(h, {}), undefined);
  assert.equal(await stopServer(h, 200), false);
  assert.equal(existsSync(join(h, 'temporal-server.json')), false);
});

test('a process that is our server (binary, start-dev, port and db) is found and stopped; another db is not ours', async () => {
  const h = home();
  const port = await freePortPair();
  const binary = '/opt/temporal/bin/temporal';
  const server = await lookalike(binary, port, join(h, 'temporal.db'));
  const info = writeState(h, server.pid as number, port, binary);
  assert.deepEqual(readServerInfo(h), info);
  assert.equal(currentEndpoint(h, {})?.address, info.address);
  assert.equal(checkServer(h).kind, 'ours');

  const other = home(); // same process, but recorded for another CLGRPO_HOME (another db)
  writeState(other, server.pid as number, port, binary);
  assert.equal(readServerInfo(other), undefined);
  assert.equal(await stopServer(other, 200), false);
  assert.ok(alive(server.pid as number), 'not stopped through a state file that is not its own');

  const exited = new Promise((r) => server.once('exit', r));
  assert.equal(await stopServer(h, 2000), true);
  await exited;
  assert.equal(server.signalCode, 'SIGTERM');
});

test('ensureServer does not trust a stranger: it removes the stale state with a logged line and starts a fresh server', async (t) => {
  let binary: string | undefined;
  try {
    binary = findLocalTemporalBinary(process.env)?.path;
  } catch {
    binary = undefined;
  }
  if (!binary) return t.skip('no temporal CLI on this machine');
  const h = home();
  const s = sleeper();
  const port = await freePortPair();
  writeState(h, s.pid as number, port);
  const lines: string[] = [];
  const env = { ...process.env, TEMPORAL_ADDRESS: '', CLGRPO_TEMPORAL_PORT: String(port) };
  try {
    const ep = await ensureServer(h, env, (m) => lines.push(m));
    const info = readServerInfo(h);
    assert.ok(info, 'a fresh server is recorded');
    assert.notEqual(info.pid, s.pid);
    assert.equal(ep.address, info.address);
    assert.match(lines.join('\n'), new RegExp(`stale.*pid ${s.pid}`));
    assert.match(lines.join('\n'), /started the Temporal dev server/);
    assert.ok(alive(s.pid as number));
  } finally {
    await stopServer(h);
  }
  assert.ok(alive(s.pid as number), 'still alive after the real server was stopped');
});
