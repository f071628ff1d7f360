// The local backend against the executor contract, and what is particular to it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PreparedTask } from '../../src/tasks/library';
import { execSpec, freshWorkspace, localExecutor, preparedTask } from '../support/experiments';
import { executorContract } from './executor-contract';

executorContract({ name: 'local', sandbox: 'bwrap', make: () => localExecutor(true) });

describe('the local executor without a sandbox (MLR_SANDBOX=none)', () => {
  let prepared: PreparedTask;
  beforeAll(async () => {
    prepared = await preparedTask();
  });

  it('says so on the execution, and has the network unless unshare isolates it', async () => {
    const server = http.createServer((_q, r) => r.end('reachable'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const ws = freshWorkspace(prepared, 'bare');
      ws.writeFile(
        'net.py',
        `import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:${port}", timeout=3).read().decode())\n`,
      );
      const { executor } = await localExecutor(false, undefined, 'none');
      const result = await executor.execute(execSpec(prepared, ws, 'net.py', { timeoutMs: 30_000 }));
      expect(result).toMatchObject({ sandbox: 'none', networkIsolated: false });
      expect(result.logTail).toContain('reachable');
    } finally {
      server.close();
    }
  });
});
