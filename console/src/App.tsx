import { useEffect, useState } from 'preact/hooks';
import { describeError, identify, type Me, type Watcher } from './api';
import { clearToken, loadToken, saveToken } from './session';
import { AgentView } from './agent/AgentView';
import { AdminView } from './admin/AdminView';
import { SupervisorView } from './supervisor/SupervisorView';

type Session =
  | { kind: 'checking' }
  | { kind: 'signed-out'; error?: string }
  | { kind: 'agent'; token: string; me: Me }
  | { kind: 'supervisor'; token: string; watcher: Watcher }
  | { kind: 'admin'; token: string };

export function App() {
  const [session, setSession] = useState<Session>(() =>
    loadToken() ? { kind: 'checking' } : { kind: 'signed-out' },
  );

  async function signIn(token: string) {
    setSession({ kind: 'checking' });
    try {
      const who = await identify(token);
      saveToken(token);
      setSession(
        who.role === 'agent'
          ? { kind: 'agent', token, me: who.me }
          : who.role === 'supervisor'
            ? { kind: 'supervisor', token, watcher: who.watcher }
            : { kind: 'admin', token },
      );
    } catch (e) {
      clearToken();
      setSession({ kind: 'signed-out', error: describeError(e) });
    }
  }

  function signOut() {
    clearToken();
    setSession({ kind: 'signed-out' });
  }

  useEffect(() => {
    const saved = loadToken();
    if (saved) void signIn(saved);
  }, []);

  switch (session.kind) {
    case 'checking':
      return (
        <main class="centered" aria-busy="true">
          <p data-testid="signing-in">Signing in…</p>
        </main>
      );
    case 'signed-out':
      return <SignIn error={session.error} onSignIn={signIn} />;
    case 'agent':
      return <AgentView token={session.token} initialMe={session.me} onSignOut={signOut} />;
    case 'supervisor':
      return <SupervisorView token={session.token} watcher={session.watcher} onSignOut={signOut} />;
    case 'admin':
      return <AdminView token={session.token} onSignOut={signOut} />;
  }
}

function SignIn({ error, onSignIn }: { error?: string; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="centered">
      <form
        class="card sign-in"
        data-testid="sign-in-form"
        onSubmit={(e) => {
          e.preventDefault();
          const t = token.trim();
          if (t) onSignIn(t);
        }}
      >
        <h1>Switchboard console</h1>
        <p class="muted">Sign in with your agent, supervisor or admin token.</p>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          autoFocus
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          data-testid="token-input"
        />
        {error && (
          <p class="error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" data-testid="sign-in">
          Sign in
        </button>
      </form>
    </main>
  );
}
