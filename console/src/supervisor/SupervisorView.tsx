import { useEffect, useMemo, useState } from 'preact/hooks';
import { describeError, supervisorApi, type Overview, type Watcher } from '../api';
import { openStream } from '../stream';

type Stream = 'connecting' | 'live' | 'reconnecting';

/**
 * What a supervisor watches, live: per queue the waiting count, longest wait, offered /
 * answered / abandoned today and the service level; agents by presence and load. The host
 * streams a `snapshot` whenever the figures change (`/api/v1/supervisor/events`).
 */
export function SupervisorView({ token, watcher, onSignOut }: { token: string; watcher: Watcher; onSignOut: () => void }) {
  const [stream, setStream] = useState<Stream>('connecting');
  return (
    <div class="layout" data-testid="supervisor-view" data-stream={stream}>
      <header class="topbar">
        <h1>Switchboard</h1>
        <span class="who" data-testid="supervisor-name">
          {watcher.name} <span class="muted">(supervisor)</span>
        </span>
        <span class={`badge stream-${stream}`}>{{ connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[stream]}</span>
        <button type="button" onClick={onSignOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <main class="main wide">
        <SupervisorBoard token={token} onStream={setStream} />
      </main>
    </div>
  );
}

/** The live figures, for a supervisor's or the admin's token; `onStream` hears the stream's state. */
export function SupervisorBoard({ token, onStream }: { token: string; onStream?: (state: Stream) => void }) {
  const api = useMemo(() => supervisorApi(token), [token]);
  const [overview, setOverview] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stream, setStreamState] = useState<Stream>('connecting');
  const setStream = (state: Stream) => {
    setStreamState(state);
    onStream?.(state);
  };
  // The wait clock moves between snapshots.
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    api.overview().then(setOverview, (e) => setError(describeError(e)));
    const close = openStream('/api/v1/supervisor/events', token, {
      events: ['snapshot'],
      onEvent: (_name, data) => {
        setOverview(data as Overview);
        setStream('live');
        setError(null);
      },
      onError: () => setStream('reconnecting'),
    });
    const tick = window.setInterval(() => setNow(Date.now()), 1000);
    return () => {
      close();
      window.clearInterval(tick);
    };
  }, [api, token]);

  const byPresence = (overview?.agents ?? []).reduce<Record<string, number>>((counts, a) => {
    counts[a.presence] = (counts[a.presence] ?? 0) + 1;
    return counts;
  }, {});

  return (
    <div class="board" data-testid="supervisor-board" data-stream={stream}>
      {error && (
        <p class="banner error" role="alert" data-testid="supervisor-error">
          {error}
        </p>
      )}
        <section aria-labelledby="sv-queues">
          <h2 id="sv-queues">Queues today</h2>
          <table class="grid" data-testid="supervisor-queues">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Waiting</th>
                <th>Longest wait</th>
                <th>Offered</th>
                <th>Answered</th>
                <th>Abandoned</th>
                <th>Service level</th>
                <th>Agents available</th>
              </tr>
            </thead>
            <tbody>
              {overview?.queues.map((q) => {
                const longest = q.oldest_queued_at ? Math.max(0, now - q.oldest_queued_at) : 0;
                return (
                  <tr key={q.id} data-testid="supervisor-queue" data-queue={q.id} data-waiting={q.waiting} data-answered={q.answered}>
                    <th scope="row">{q.name}</th>
                    <td data-testid="queue-waiting">{q.waiting}</td>
                    <td data-testid="queue-longest-wait">{q.waiting ? duration(longest) : '—'}</td>
                    <td>{q.offered}</td>
                    <td data-testid="queue-answered">{q.answered}</td>
                    <td>{q.abandoned}</td>
                    <td data-testid="queue-service-level">
                      {q.service_level == null ? '—' : `${Math.round(q.service_level * 100)} %`}{' '}
                      <span class="muted small">within {q.service_level_seconds} s</span>
                    </td>
                    <td>
                      {q.agents_available} / {q.agents}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="sv-agents">
          <h2 id="sv-agents">Agents</h2>
          <p class="muted small" data-testid="agents-by-presence">
            {Object.entries(byPresence)
              .map(([presence, n]) => `${n} ${presence}`)
              .join(' · ') || 'No agents.'}
          </p>
          <table class="grid" data-testid="supervisor-agents">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Presence</th>
                <th>Load</th>
                <th>Offered</th>
                <th>By channel</th>
                <th>Queues</th>
              </tr>
            </thead>
            <tbody>
              {overview?.agents.map((a) => (
                <tr key={a.id} data-testid="supervisor-agent" data-agent={a.id} data-presence={a.presence} data-held={a.held} data-offered={a.offered}>
                  <th scope="row">{a.name}</th>
                  <td>{a.presence}</td>
                  <td>
                    {a.held} / {a.capacity}
                  </td>
                  <td>{a.offered}</td>
                  <td>
                    {Object.entries(a.per_channel)
                      .map(([c, n]) => `${c} ${n}`)
                      .join(', ') || '—'}
                  </td>
                  <td>{a.queues.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
    </div>
  );
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}
