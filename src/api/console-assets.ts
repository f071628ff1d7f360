// The web console's bundle (console/): read from dist/console where `npm run build` wrote it, or, when the
// service runs from its TypeScript sources (`npm start`), bundled in memory by esbuild on first use. esbuild
// is a build tool: it is loaded only on that path, never by a service started from dist/.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ConsoleAssets {
  js: string;
  css: string;
  /** A hash of both: the ETag, and the query that busts caches when the console changes. */
  version: string;
}

const PREBUILT = path.join(__dirname, '..', 'console');
export const CONSOLE_SOURCE = path.resolve(__dirname, '..', '..', 'console', 'src', 'main.tsx');

const withVersion = (js: string, css: string): ConsoleAssets => ({
  js,
  css,
  version: createHash('sha256').update(js).update(css).digest('hex').slice(0, 16),
});

/** Bundles console/ with esbuild: one script (Preact included) and one stylesheet, minified. */
export async function buildConsole(entry = CONSOLE_SOURCE): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'out',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return withVersion(text('.js'), text('.css'));
}

export async function writeConsole(dir: string): Promise<ConsoleAssets> {
  const assets = await buildConsole();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'app.js'), assets.js);
  fs.writeFileSync(path.join(dir, 'app.css'), assets.css);
  return assets;
}

let loading: Promise<ConsoleAssets> | undefined;

/** The bundle, loaded or built once per process; a failed build is retried on the next call. */
export function consoleAssets(): Promise<ConsoleAssets> {
  loading ??= (async () => {
    const js = path.join(PREBUILT, 'app.js');
    if (fs.existsSync(js))
      return withVersion(fs.readFileSync(js, 'utf8'), fs.readFileSync(path.join(PREBUILT, 'app.css'), 'utf8'));
    return buildConsole();
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
