// The frame: sign-in gate, navigation with the approval inbox's badge (kept live by the stream of every
// status change of the person's runs), and the page the hash names.
import { useEffect, useState } from 'preact/hooks';
import { auth, follow, getJson } from './api';
import { CampaignPage, CampaignsPage } from './pages/campaigns';
import { InboxPage } from './pages/inbox';
import { PaperPage, PapersPage } from './pages/papers';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { SignIn } from './pages/signin';
import { useRoute } from './router';
import { publishRunStatus } from './run-status';

function useInboxCount(signedIn: boolean): number | undefined {
  const [count, setCount] = useState<number>();
  useEffect(() => {
    if (!signedIn) return;
    const ctrl = new AbortController();
    let timer: number | undefined;
    const refresh = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        getJson<{ items: unknown[] }>('/v1/approvals?limit=200').then(
          (r) => setCount(r.items.length),
          () => undefined,
        );
      }, 250);
    };
    refresh();
    void follow(
      '/v1/events',
      (e) => {
        publishRunStatus(e);
        refresh();
      },
      ctrl.signal,
      undefined,
      true,
    ).catch(() => undefined);
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [signedIn]);
  return count;
}

const NAV: Array<[string, string]> = [
  ['runs', 'Runs'],
  ['inbox', 'Inbox'],
  ['papers', 'Papers'],
  ['campaigns', 'Campaigns'],
];

export function App() {
  const [signedIn, setSignedIn] = useState(() => auth.token() !== null);
  const route = useRoute();
  const inbox = useInboxCount(signedIn);
  useEffect(() => {
    const out = () => setSignedIn(false);
    window.addEventListener('mlr:signed-out', out);
    return () => window.removeEventListener('mlr:signed-out', out);
  }, []);

  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const [page = 'runs', id] = route.path;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/runs">
          mlr-copilot
        </a>
        <nav aria-label="Main">
          {NAV.map(([key, label]) => (
            <a key={key} href={`#/${key}`} aria-current={page === key ? 'page' : undefined}>
              {label}
              {key === 'inbox' && inbox ? (
                <span class="count" data-testid="inbox-count" aria-label={`${inbox} waiting`}>
                  {inbox}
                </span>
              ) : null}
            </a>
          ))}
        </nav>
        <button class="link" onClick={() => auth.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'runs' && id ? <RunPage id={id} /> : null}
        {page === 'runs' && !id ? <RunsPage query={route.query} /> : null}
        {page === 'inbox' ? <InboxPage /> : null}
        {page === 'papers' && id ? <PaperPage id={id} /> : null}
        {page === 'papers' && !id ? <PapersPage /> : null}
        {page === 'campaigns' && id ? <CampaignPage id={id} /> : null}
        {page === 'campaigns' && !id ? <CampaignsPage /> : null}
        {!['runs', 'inbox', 'papers', 'campaigns'].includes(page) ? <p>No such page: {page}</p> : null}
      </main>
    </>
  );
}
