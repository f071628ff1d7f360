// The image's health check serves both of its commands: a worker by its heartbeat file, the API by /healthz.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ALIVE_FILE, ALIVE_WITHIN_MS, healthy } from '../src/healthcheck';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-health-'));

it('calls a worker healthy while its heartbeat reached Postgres within the minute, and not after', async () => {
  const d = dir();
  fs.writeFileSync(path.join(d, ALIVE_FILE), 'x');
  expect(await healthy({ MLR_DATA_DIR: d })).toBe(true);
  expect(await healthy({ MLR_DATA_DIR: d }, Date.now() + ALIVE_WITHIN_MS + 1000)).toBe(false);
});

it('calls the API healthy when /healthz answers, and unhealthy when nothing listens', async () => {
  const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = String((server.address() as AddressInfo).port);
  expect(await healthy({ MLR_DATA_DIR: dir(), PORT: port })).toBe(true);
  await new Promise((r) => server.close(r));
  expect(await healthy({ MLR_DATA_DIR: dir(), PORT: port })).toBe(false);
});
