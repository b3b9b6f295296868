import { useEffect, useState } from 'preact/hooks';
import { describeError, formatStamp, type AgentApi, type Interaction } from '../api';
import { Transcript } from './Transcript';

/**
 * Beside the transcript: the participant data the flow collected (topic, order number...),
 * the transfers with their notes, and the customer's earlier interactions with their
 * transcripts.
 */
export function CustomerPanel({ api, interaction }: { api: AgentApi; interaction: Interaction }) {
  const data = Object.entries(interaction.data ?? {});
  const transfers = interaction.transfers ?? [];
  return (
    <aside class="customer-panel" aria-label="About this customer">
      <section data-testid="participant-data" aria-labelledby="data-heading">
        <h3 id="data-heading">Participant data</h3>
        {data.length === 0 ? (
          <p class="muted small">The flow collected nothing.</p>
        ) : (
          <dl class="data">
            {data.map(([key, value]) => (
              <div key={key} data-testid="data-entry" data-key={key}>
                <dt>{key}</dt>
                <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
      {transfers.length > 0 && (
        <section data-testid="transfers" aria-labelledby="transfers-heading">
          <h3 id="transfers-heading">Transfers</h3>
          <ul class="plain">
            {transfers.map((t, i) => (
              <li key={i} data-testid="transfer-entry">
                <span class="muted small">{formatStamp(t.at)}</span> {t.from_agent} →{' '}
                {t.to_agent ? `${t.to_agent} (${t.to_queue})` : `queue ${t.to_queue}`}
                {t.note && (
                  <blockquote class="note" data-testid="transfer-note">
                    {t.note}
                  </blockquote>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      <History api={api} id={interaction.id} />
    </aside>
  );
}

function History({ api, id }: { api: AgentApi; id: string }) {
  const [earlier, setEarlier] = useState<Interaction[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.history(id).then(
      (h) => live && setEarlier(h.interactions),
      (e) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, [api, id]);
  return (
    <section data-testid="history" aria-labelledby="history-heading">
      <h3 id="history-heading">Earlier interactions</h3>
      {error && <p class="error small">{error}</p>}
      {earlier === null && !error && <p class="muted small">Loading…</p>}
      {earlier?.length === 0 && <p class="muted small">None.</p>}
      <ul class="plain">
        {earlier?.map((e) => (
          <li key={e.id} data-testid="history-entry" data-interaction-id={e.id}>
            <button
              type="button"
              class="link"
              aria-expanded={open === e.id}
              onClick={() => setOpen(open === e.id ? null : e.id)}
              data-testid="history-open"
            >
              {formatStamp(e.created_at)} · {e.queue ?? 'no queue'} · {e.state}
              {e.wrapups?.length ? ` · ${e.wrapups.map((w) => w.code).join(', ')}` : ''}
            </button>
            {open === e.id && <Transcript messages={e.messages} label="Earlier transcript" />}
          </li>
        ))}
      </ul>
    </section>
  );
}
