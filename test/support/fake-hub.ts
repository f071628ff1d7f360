// A stand-in Hugging Face Hub: the HTTP API as the real clients (huggingface_hub, datasets) use it
// (../shared/reference/hub-api.md), serving tiny repositories the tests make. Like the real Hub on a bad day,
// it can answer 429 or 503 for a while; gated and missing repositories answer as the Hub does.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  kind: 'model' | 'dataset';
  id: string;
  files: Record<string, string | Buffer>;
  licence?: string;
  downloads?: number;
  likes?: number;
  tags?: string[];
  pipelineTag?: string;
  gated?: boolean;
}

export interface FakeHub {
  endpoint: string;
  /** Paths requested, in order (method and path), for tests that count downloads. */
  requests: string[];
  /** The authorization headers received (the token must reach the Hub, and only the Hub). */
  authorizations: string[];
  add(repo: FakeRepo): { sha: string };
  /** The next `count` requests answer with this status (429 carries retry-after). */
  failNext(count: number, status: 429 | 503): void;
  close(): Promise<void>;
}

interface Stored extends FakeRepo {
  sha: string;
  blobs: Map<string, Buffer>;
  /** Every commit added under this id: a pinned commit stays resolvable after the repository moves on. */
  commits: Map<string, Map<string, Buffer>>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function startFakeHub(): Promise<FakeHub> {
  const repos = new Map<string, Stored>();
  const requests: string[] = [];
  const authorizations: string[] = [];
  let failing = { count: 0, status: 503 };

  const key = (kind: string, id: string) => `${kind}:${id}`;
  const info = (r: Stored) => ({
    _id: r.sha.slice(0, 24),
    id: r.id,
    ...(r.kind === 'model' ? { modelId: r.id, pipeline_tag: r.pipelineTag } : {}),
    sha: r.sha,
    private: false,
    gated: r.gated ? 'manual' : false,
    disabled: false,
    downloads: r.downloads ?? 0,
    likes: r.likes ?? 0,
    tags: [...(r.tags ?? []), ...(r.licence ? [`license:${r.licence}`] : [])],
    cardData: r.licence ? { license: r.licence } : {},
    lastModified: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
    siblings: [...r.blobs].map(([rfilename, b]) => ({ rfilename, size: b.length, blobId: sha256(b).slice(0, 40) })),
  });

  function error(res: http.ServerResponse, status: number, code: string, message: string) {
    res.writeHead(status, { 'content-type': 'application/json', 'x-error-code': code, 'x-error-message': message });
    res.end(JSON.stringify({ error: message }));
  }

  function find(kind: string, id: string, rev: string | undefined, res: http.ServerResponse): Stored | undefined {
    const repo = repos.get(key(kind, id));
    if (!repo) return void error(res, 404, 'RepoNotFound', `Repository Not Found for url: ${id}`);
    if (!rev || rev === 'main' || rev === repo.sha) return repo;
    const blobs = repo.commits.get(rev);
    if (!blobs) return void error(res, 404, 'RevisionNotFound', `Invalid rev ${rev}`);
    return { ...repo, sha: rev, blobs };
  }

  const fileEntry = (path: string, b: Buffer) => ({ type: 'file', path, size: b.length, oid: sha256(b).slice(0, 40) });
  const dirEntry = (path: string) => ({
    type: 'directory',
    path,
    size: 0,
    oid: sha256(Buffer.from(path)).slice(0, 40),
  });
  /** The folders of a repository, from its file paths (the Hub lists them as entries of their own). */
  const dirsOf = (r: Stored) =>
    new Set(
      [...r.blobs.keys()].flatMap((f) =>
        f
          .split('/')
          .slice(0, -1)
          .map((_, i, a) => a.slice(0, i + 1).join('/')),
      ),
    );

  /** What the Hub lists under `dir`: its direct children, or with `recursive` everything below it. */
  function tree(r: Stored, dir: string, recursive: boolean) {
    const dirs = dirsOf(r);
    if (dir && !dirs.has(dir)) return undefined;
    const prefix = dir ? `${dir}/` : '';
    const below = (p: string) => p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes('/'));
    return [
      ...[...dirs].filter(below).sort().map(dirEntry),
      ...[...r.blobs].filter(([p]) => below(p)).map(([p, b]) => fileEntry(p, b)),
    ];
  }

  /** POST paths-info: the entries for the paths asked (form or JSON body), leaving out those that do not exist. */
  function pathsInfo(req: http.IncomingMessage, res: http.ServerResponse, r: Stored) {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const asked = body.trim().startsWith('{')
        ? ((JSON.parse(body) as { paths?: string[] }).paths ?? [])
        : new URLSearchParams(body).getAll('paths');
      const dirs = dirsOf(r);
      const found = asked.flatMap((p) => {
        const b = r.blobs.get(p);
        if (b) return [fileEntry(p, b)];
        return dirs.has(p) ? [dirEntry(p)] : [];
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(found));
    });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const p = decodeURIComponent(url.pathname);
    requests.push(`${req.method} ${p}`);
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    if (failing.count > 0) {
      failing.count--;
      res.writeHead(failing.status, { 'content-type': 'application/json', 'retry-after': '1' });
      return res.end(JSON.stringify({ error: 'try later' }));
    }
    const api = /^\/api\/(models|datasets)(?:\/(.+?))?(?:\/(revision|tree|paths-info)\/([^/]+)(?:\/(.*))?)?$/.exec(p);
    if (api && (req.method === 'GET' || (req.method === 'POST' && api[3] === 'paths-info'))) {
      const kind = api[1] === 'models' ? 'model' : 'dataset';
      if (!api[2]) {
        const words = (url.searchParams.get('search') ?? '').toLowerCase();
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const found = [...repos.values()].filter((r) => r.kind === kind && r.id.toLowerCase().includes(words));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(found.slice(0, limit).map(info)));
      }
      const repo = find(kind, api[2], api[4], res);
      if (!repo) return;
      if (api[3] === 'tree') {
        const entries = tree(repo, (api[5] ?? '').replace(/\/+$/, ''), url.searchParams.get('recursive') === 'true');
        if (!entries) return error(res, 404, 'EntryNotFound', `${api[5]} does not exist`);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(entries));
      }
      if (api[3] === 'paths-info') return void pathsInfo(req, res, repo);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(info(repo)));
    }
    const resolve = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (resolve && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = find(resolve[1] ? 'dataset' : 'model', resolve[2]!, resolve[3], res);
      if (!repo) return;
      if (repo.gated) return error(res, 401, 'GatedRepo', 'Access to this repository is restricted.');
      const blob = repo.blobs.get(resolve[4]!);
      if (!blob) return error(res, 404, 'EntryNotFound', `${resolve[4]} does not exist`);
      const etag = `"${sha256(blob)}"`;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': blob.length,
        'x-repo-commit': repo.sha,
        etag,
        'x-linked-etag': etag,
        'x-linked-size': blob.length,
      });
      return res.end(req.method === 'HEAD' ? undefined : blob);
    }
    error(res, 404, 'EntryNotFound', `no route for ${p}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    authorizations,
    add(repo) {
      const blobs = new Map(Object.entries(repo.files).map(([k, v]) => [k, Buffer.from(v)]));
      const sha = createHash('sha1')
        .update(repo.id)
        .update(JSON.stringify([...blobs].map(([k, b]) => [k, sha256(b)])))
        .digest('hex');
      const commits = repos.get(key(repo.kind, repo.id))?.commits ?? new Map<string, Map<string, Buffer>>();
      commits.set(sha, blobs);
      repos.set(key(repo.kind, repo.id), { ...repo, sha, blobs, commits });
      return { sha };
    },
    failNext(count, status) {
      failing = { count, status };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
