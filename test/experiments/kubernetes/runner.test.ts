// The runner and the script run as one uid in the pod: the runner's own environment (the presigned URLs the
// script could use to upload gigabytes, or to replace the returned workspace) must not be readable by it.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../support/paths';

/** Runs `code` after importing the runner, as an unprivileged uid (setpriv when the tests run as root). */
function asUnprivileged(code: string, env: Record<string, string>): string {
  const python = '/usr/bin/python3';
  const program = `import sys\nsys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'runner'))})\nimport runner\n${code}`;
  const asRoot = process.getuid!() === 0;
  const [cmd, ...args] = asRoot
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', python, '-c', program]
    : [python, '-c', program];
  return execFileSync(cmd!, args, { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8', cwd: '/' });
}

const PROBE = `
import subprocess
child = "import os\\ntry:\\n    print('READ', open(f'/proc/{os.getppid()}/environ').read())\\nexcept OSError as e:\\n    print('blocked', type(e).__name__)"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout)
`;

describe('the runner', () => {
  it("keeps its presigned URLs out of the script's reach: its /proc environ is closed to the same uid", () => {
    const env = { MLR_OUTPUT_URL: 'https://store.example/output.tgz?X-Amz-Signature=leak-check' };
    // The probe works: without the runner's step, the same uid reads them.
    expect(asUnprivileged(PROBE, env)).toContain('leak-check');
    const hidden = asUnprivileged(`runner.hide_from_the_script()\n${PROBE}`, env);
    expect(hidden).toMatch(/^blocked PermissionError/m);
    expect(hidden).not.toContain('leak-check');
  });
});
