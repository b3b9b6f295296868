import { useState } from 'preact/hooks';
import { describeError, type AgentApi, type Interaction, type Me } from '../api';

/** Hands the interaction to a queue, or to another agent (who is offered it), with a note. */
export function TransferForm(props: { api: AgentApi; me: Me; interaction: Interaction; onTransferred: (to: string) => void }) {
  const { api, me, interaction, onTransferred } = props;
  const [target, setTarget] = useState<'queue' | 'agent'>('queue');
  const [queue, setQueue] = useState('');
  const [agent, setAgent] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const value = target === 'queue' ? queue.trim() : agent.trim();

  async function submit(e: Event) {
    e.preventDefault();
    if (!value || busy) return;
    setBusy(true);
    setError(null);
    try {
      const to = target === 'queue' ? { queue: value } : { agent: value };
      await api.transfer(interaction.id, { ...to, note: note.trim() || undefined });
      onTransferred(target === 'queue' ? `queue ${value}` : `agent ${value}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="transfer" data-testid="transfer">
      <summary>Transfer</summary>
      <form onSubmit={submit} data-testid="transfer-form">
        <div class="row">
          <label class="inline">
            <input type="radio" name="transfer-target" checked={target === 'queue'} onChange={() => setTarget('queue')} data-testid="transfer-to-queue" />
            to a queue
          </label>
          <label class="inline">
            <input type="radio" name="transfer-target" checked={target === 'agent'} onChange={() => setTarget('agent')} data-testid="transfer-to-agent" />
            to an agent
          </label>
        </div>
        {target === 'queue' ? (
          <>
            <label for="transfer-queue">Queue</label>
            <input id="transfer-queue" list="transfer-queues" value={queue} onInput={(e) => setQueue(e.currentTarget.value)} data-testid="transfer-queue" />
            <datalist id="transfer-queues">
              {me.queues.map((q) => (
                <option key={q} value={q} />
              ))}
            </datalist>
          </>
        ) : (
          <>
            <label for="transfer-agent">Agent id</label>
            <input id="transfer-agent" value={agent} onInput={(e) => setAgent(e.currentTarget.value)} data-testid="transfer-agent" />
          </>
        )}
        <label for="transfer-note">Note for whoever takes it</label>
        <textarea id="transfer-note" rows={2} value={note} onInput={(e) => setNote(e.currentTarget.value)} data-testid="transfer-note-input" />
        {error && (
          <p class="error" role="alert" data-testid="transfer-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !value} data-testid="transfer-submit">
          {busy ? 'Transferring…' : 'Transfer'}
        </button>
      </form>
    </details>
  );
}
