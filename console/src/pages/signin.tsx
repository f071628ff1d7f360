import { useState } from 'preact/hooks';
import { type ApiError, auth, getJson } from '../api';
import { ErrorBox } from '../ui';

/** A token from MLR_API_TOKENS or the identity provider; checked against the API before it is kept. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    auth.signIn(token.trim(), remember);
    try {
      await getJson('/v1/runs?limit=1');
      onSignedIn();
    } catch (err) {
      auth.signOut();
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>mlr-copilot</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          required
          autoFocus
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <label class="inline">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember((e.target as HTMLInputElement).checked)}
          />{' '}
          Remember on this device
        </label>
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}
