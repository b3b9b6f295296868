import { useState } from 'preact/hooks';
import { customerName, describeError, formatStamp, type AgentApi, type SearchHit } from '../api';

/** Midnight at the start (or, with `end`, the end) of a `YYYY-MM-DD` day, local time. */
function dayMillis(day: string, end: boolean): number | undefined {
  if (!day) return undefined;
  const d = new Date(`${day}T00:00:00`);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.getTime() + (end ? 86_400_000 - 1 : 0);
}

/** Search the interactions the agent may see, by customer, text and date; open a result. */
export function SearchPanel({ api, onOpen }: { api: AgentApi; onOpen: (id: string) => void }) {
  const [customer, setCustomer] = useState('');
  const [text, setText] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function search(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const found = await api.search({
        customer: customer.trim(),
        text: text.trim(),
        from: dayMillis(from, false),
        to: dayMillis(to, true),
      });
      setHits(found.interactions);
      setTruncated(found.truncated);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="search-heading" data-testid="search">
      <h2 id="search-heading">Search</h2>
      <form class="search" onSubmit={search} data-testid="search-form">
        <input placeholder="Customer" aria-label="Customer" value={customer} onInput={(e) => setCustomer(e.currentTarget.value)} data-testid="search-customer" />
        <input placeholder="Text" aria-label="Text" value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="search-text" />
        <label class="small">
          From <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} data-testid="search-from" />
        </label>
        <label class="small">
          To <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} data-testid="search-to" />
        </label>
        <button type="submit" disabled={busy} data-testid="search-submit">
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      {error && (
        <p class="error small" role="alert" data-testid="search-error">
          {error}
        </p>
      )}
      {hits?.length === 0 && <p class="muted small" data-testid="search-empty">Nothing found.</p>}
      {hits && hits.length > 0 && (
        <ul class="cards" data-testid="search-results">
          {hits.map((h) => (
            <li key={h.id} data-testid="search-hit" data-interaction-id={h.id}>
              <button type="button" class="card select" onClick={() => onOpen(h.id)}>
                <strong>{customerName(h.customer, h.customer_id)}</strong>
                <span class="muted">
                  {formatStamp(h.created_at)} · {h.queue ?? 'no queue'} · {h.state}
                </span>
                {h.matched?.text && <span class="small">“{h.matched.text}”</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
      {truncated && <p class="muted small">More may match: narrow the dates to look further back.</p>}
    </section>
  );
}
