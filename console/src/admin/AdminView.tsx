import { useMemo, useState } from 'preact/hooks';
import { adminApi, type AdminApi, type Integration } from '../api';
import { SupervisorBoard } from '../supervisor/SupervisorView';
import { FlowsPanel } from './FlowsPanel';
import { LoadError, useLoad } from './load';

const TABS = [
  { id: 'queues', label: 'Queues' },
  { id: 'live', label: 'Live' },
  { id: 'integrations', label: 'Integrations' },
  { id: 'plugins', label: 'Plugins' },
  { id: 'flows', label: 'Flows' },
] as const;

type Tab = (typeof TABS)[number]['id'];

export function AdminView({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const api = useMemo(() => adminApi(token), [token]);
  const [tab, setTab] = useState<Tab>('queues');

  function onTabKey(e: KeyboardEvent) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const index = TABS.findIndex((t) => t.id === tab);
    const step = e.key === 'ArrowRight' ? 1 : TABS.length - 1;
    const next = TABS[(index + step) % TABS.length].id;
    setTab(next);
    document.getElementById(`tab-${next}`)?.focus();
  }

  return (
    <div class="layout" data-testid="admin-view">
      <header class="topbar">
        <h1>Switchboard</h1>
        <span class="who">Admin</span>
        <span class="spacer" />
        <button type="button" onClick={onSignOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <nav class="tabs" role="tablist" aria-label="Admin sections" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            data-testid={`admin-tab-${t.id}`}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <main class="main admin" id={`panel-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {tab === 'queues' && <QueuesPanel api={api} />}
        {tab === 'live' && <SupervisorBoard token={token} />}
        {tab === 'integrations' && <IntegrationsPanel api={api} />}
        {tab === 'plugins' && <PluginsPanel api={api} />}
        {tab === 'flows' && <FlowsPanel api={api} />}
      </main>
    </div>
  );
}

function QueuesPanel({ api }: { api: AdminApi }) {
  const { data, error, reload } = useLoad(api.queues, 5000);
  return (
    <section data-testid="admin-queues">
      <div class="section-header">
        <h2>Queues</h2>
        <button type="button" onClick={reload} data-testid="refresh">
          Refresh
        </button>
      </div>
      <LoadError error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col">Name</th>
              <th scope="col" class="num">Waiting</th>
              <th scope="col" class="num">Assigned</th>
              <th scope="col" class="num">Agents available</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.id} data-testid="admin-queue" data-queue={q.id}>
                <th scope="row">{q.id}</th>
                <td>{q.name}</td>
                <td class="num" data-testid="queue-waiting">{q.waiting}</td>
                <td class="num" data-testid="queue-assigned">{q.assigned}</td>
                <td class="num" data-testid="queue-agents">{q.agents_available}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function IntegrationsPanel({ api }: { api: AdminApi }) {
  const { data, error, reload } = useLoad(api.integrations);
  return (
    <section data-testid="admin-integrations">
      <div class="section-header">
        <h2>Integrations</h2>
        <button type="button" onClick={reload} data-testid="refresh">
          Refresh
        </button>
      </div>
      <LoadError error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Integration</th>
              <th scope="col">Adapter</th>
              <th scope="col">Platform</th>
              <th scope="col">Flow</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">Sent today</th>
            </tr>
          </thead>
          <tbody>
            {data.integrations.map((i) => (
              <tr key={i.id} data-testid="admin-integration" data-integration={i.id}>
                <th scope="row">{i.id}</th>
                <td>{i.adapter}</td>
                <td>{i.platform}</td>
                <td>{i.flow}</td>
                <td>
                  <span class={`badge integration-${i.status}`} title={deauthorizedReason(i)}>
                    {i.status}
                  </span>
                </td>
                <td class="num">
                  {i.sent_today ?? '—'}
                  {i.daily_cap ? ` / ${i.daily_cap}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function deauthorizedReason(i: Integration): string | undefined {
  const d = i.deauthorized as { reason?: string } | null | undefined;
  return d?.reason ?? undefined;
}

function PluginsPanel({ api }: { api: AdminApi }) {
  const { data, error, reload } = useLoad(api.plugins);
  return (
    <section data-testid="admin-plugins">
      <div class="section-header">
        <h2>Plugins</h2>
        <button type="button" onClick={reload} data-testid="refresh">
          Refresh
        </button>
      </div>
      <LoadError error={error} />
      {data && (
        <table>
          <thead>
            <tr>
              <th scope="col">Plugin</th>
              <th scope="col">World</th>
              <th scope="col">WIT</th>
              <th scope="col">Hash</th>
            </tr>
          </thead>
          <tbody>
            {data.plugins.map((p) => (
              <tr key={p.name} data-testid="admin-plugin" data-plugin={p.name}>
                <th scope="row">{p.name}</th>
                <td>{p.world}</td>
                <td>
                  <code>{p.wit}</code>
                </td>
                <td>
                  <code title={p.hash}>{p.hash.slice(0, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
