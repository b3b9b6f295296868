import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  agentApi,
  customerName,
  describeError,
  formatStamp,
  toDate,
  type AgentInteraction,
  type Canned,
  type Me,
  type Presence,
  type Profile,
  type Transfer,
  type TranscriptMessage,
  type Waiting,
} from '../api';
import { SearchPanel } from './SearchPanel';
import { useAgentEvents, type EventName, type StreamState } from './events';
import { InteractionPane, useInteraction } from './InteractionPane';

/** How often the queue lists and the agent's interactions are refetched without an event. */
const REFRESH_MS = 5000;

interface Offer {
  id: string;
  queue?: string | null;
  customer_id: string;
  customer?: Profile | null;
  integration: string;
  priority?: number;
  expires_at?: number | string | null;
  /** Set when another agent transferred it: from whom, and their note. */
  transfer?: Transfer | null;
  /** Participant data the flow collected. */
  data?: Record<string, unknown> | null;
  /** When an `offered` event brought it (ms, this page's clock). */
  receivedAt?: number;
}

interface Props {
  token: string;
  initialMe: Me;
  onSignOut: () => void;
}

export function AgentView({ token, initialMe, onSignOut }: Props) {
  const api = useMemo(() => agentApi(token), [token]);
  const me = initialMe;
  const [presence, setPresence] = useState<Presence>(initialMe.presence);
  const [presenceBusy, setPresenceBusy] = useState(false);
  const [offers, setOffers] = useState<Map<string, Offer>>(new Map());
  const [mine, setMine] = useState<AgentInteraction[]>([]);
  const [queues, setQueues] = useState<Record<string, Waiting[]>>({});
  const [queueErrors, setQueueErrors] = useState<Record<string, string>>({});
  const [selected, setSelected] = useState<string | null>(null);
  // `error`: the lists could not be refreshed; `actionError`: what the agent just did failed.
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [canned, setCanned] = useState<Canned[]>([]);
  const [cannedError, setCannedError] = useState<string | null>(null);
  const [codes, setCodes] = useState<string[]>([]);
  const [codesError, setCodesError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const open = useInteraction(api, selected);

  const refreshInteractions = useCallback(async () => {
    const requestedAt = Date.now();
    try {
      const { interactions } = await api.interactions(me.id);
      setError(null);
      setMine(interactions.filter((i) => i.state !== 'offered'));
      setOffers((previous) => {
        const next = new Map<string, Offer>();
        for (const i of interactions.filter((i) => i.state === 'offered')) {
          const before = previous.get(i.id);
          next.set(i.id, {
            ...i,
            expires_at: i.expires_at ?? before?.expires_at ?? null,
            transfer: i.transfer ?? before?.transfer ?? null,
            data: i.data ?? before?.data ?? null,
          });
        }
        // An offer whose event came while this listing was on its way is newer than the
        // listing: it stays (its withdrawal or acceptance comes as an event too).
        for (const [id, offer] of previous) {
          if (!next.has(id) && (offer.receivedAt ?? 0) >= requestedAt) next.set(id, offer);
        }
        return next;
      });
    } catch (e) {
      setError(`Could not load your interactions: ${describeError(e)}`);
    }
  }, [api, me.id]);

  const refreshQueues = useCallback(async () => {
    const results = await Promise.allSettled(me.queues.map((q) => api.queue(q)));
    const listing: Record<string, Waiting[]> = {};
    const errors: Record<string, string> = {};
    results.forEach((result, index) => {
      const name = me.queues[index];
      if (result.status === 'fulfilled') listing[name] = result.value.waiting;
      else errors[name] = describeError(result.reason);
    });
    setQueues((previous) => ({ ...previous, ...listing }));
    setQueueErrors(errors);
  }, [api, me.queues]);

  const refreshAll = useCallback(() => {
    void refreshInteractions();
    void refreshQueues();
  }, [refreshInteractions, refreshQueues]);

  // Several events in a row cause one refetch.
  const refreshTimer = useRef<number | undefined>(undefined);
  const refreshSoon = useCallback(() => {
    window.clearTimeout(refreshTimer.current);
    refreshTimer.current = window.setTimeout(refreshAll, 250);
  }, [refreshAll]);

  useEffect(() => {
    refreshAll();
    const timer = window.setInterval(refreshAll, REFRESH_MS);
    return () => {
      window.clearInterval(timer);
      window.clearTimeout(refreshTimer.current);
    };
  }, [refreshAll]);

  useEffect(() => {
    api.canned().then(
      (r) => setCanned(r.canned),
      (e) => setCannedError(describeError(e)),
    );
    api.wrapupCodes().then(
      (r) => setCodes(r.codes),
      (e) => setCodesError(describeError(e)),
    );
  }, [api]);

  const onEvent = (name: EventName, data: unknown) => {
    const event = (data ?? {}) as Record<string, unknown>;
    const interaction = typeof event.interaction === 'string' ? event.interaction : null;
    switch (name) {
      case 'hello':
        if (typeof event.presence === 'string') setPresence(event.presence as Presence);
        refreshSoon();
        break;
      case 'offered':
        if (interaction) {
          setOffers((previous) =>
            new Map(previous).set(interaction, {
              id: interaction,
              queue: event.queue as string | undefined,
              customer_id: String(event.customer_id ?? ''),
              customer: event.customer as Profile | undefined,
              integration: String(event.integration ?? ''),
              priority: event.priority as number | undefined,
              expires_at: event.expires_at as number | string | undefined,
              transfer: (event.transfer as Transfer | null | undefined) ?? null,
              data: (event.data as Record<string, unknown> | null | undefined) ?? null,
              receivedAt: Date.now(),
            }),
          );
        }
        refreshSoon();
        break;
      case 'offer_withdrawn':
        if (interaction) {
          removeOffer(interaction);
          setNotice(`The offer of ${interaction} was withdrawn (${String(event.reason ?? 'no reason given')}).`);
        }
        refreshSoon();
        break;
      case 'accepted':
        if (interaction) {
          removeOffer(interaction);
          if (event.agent === me.id && interaction === selected) open.refetch();
        }
        refreshSoon();
        break;
      case 'customer_message':
        if (interaction && interaction === selected && event.message) {
          open.applyMessage(event.message as TranscriptMessage);
        }
        break;
      case 'delivery_status':
        if (interaction && interaction === selected && typeof event.message_id === 'string') {
          open.applyStatus(event.message_id, String(event.status ?? ''), (event.error as string | null) ?? null);
        }
        break;
      case 'disconnected':
        if (interaction === selected) open.refetch();
        if (interaction) setNotice(`Interaction ${interaction} was disconnected (${String(event.reason ?? 'no reason given')}).`);
        refreshSoon();
        break;
    }
  };
  const stream = useAgentEvents(me.id, token, onEvent);

  function removeOffer(id: string) {
    setOffers((previous) => {
      if (!previous.has(id)) return previous;
      const next = new Map(previous);
      next.delete(id);
      return next;
    });
  }

  async function changePresence(next: Presence) {
    const before = presence;
    setPresence(next);
    setPresenceBusy(true);
    try {
      const answer = await api.setPresence(me.id, next);
      setPresence(answer.presence);
      refreshSoon();
    } catch (e) {
      setPresence(before);
      setActionError(`Could not change presence: ${describeError(e)}`);
    } finally {
      setPresenceBusy(false);
    }
  }

  async function accept(id: string) {
    setBusy(id);
    setActionError(null);
    try {
      await api.accept(id);
      removeOffer(id);
      if (id === selected) open.refetch();
      else setSelected(id);
    } catch (e) {
      setActionError(`Could not accept ${id}: ${describeError(e)}`);
    } finally {
      setBusy(null);
      refreshAll();
    }
  }

  async function decline(id: string) {
    setBusy(id);
    setActionError(null);
    try {
      await api.decline(id);
      removeOffer(id);
    } catch (e) {
      setActionError(`Could not decline ${id}: ${describeError(e)}`);
    } finally {
      setBusy(null);
      refreshAll();
    }
  }

  const offerList = [...offers.values()];

  return (
    <div class="layout" data-testid="agent-view" data-presence={presenceBusy ? 'changing' : presence}>
      <header class="topbar">
        <h1>Switchboard</h1>
        <span class="who" data-testid="agent-name">
          {me.name} <span class="muted">({me.id})</span>
        </span>
        <label class="inline">
          <span>Presence</span>
          <select
            value={presence}
            disabled={presenceBusy}
            onChange={(e) => void changePresence(e.currentTarget.value as Presence)}
            data-testid="presence-select"
          >
            <option value="available">Available</option>
            <option value="away">Away</option>
            <option value="offline">Offline</option>
            {presence === 'not-responding' && (
              <option value="not-responding" disabled>
                Not responding
              </option>
            )}
          </select>
        </label>
        <StreamBadge state={stream} />
        <button type="button" onClick={onSignOut} data-testid="sign-out">
          Sign out
        </button>
      </header>

      {(error || actionError || notice) && (
        <div class="banners">
          {actionError && (
            <p class="banner error" role="alert" data-testid="action-error">
              {actionError}
              <button type="button" class="link" onClick={() => setActionError(null)} aria-label="Dismiss error">
                Dismiss
              </button>
            </p>
          )}
          {error && (
            <p class="banner error" role="alert" data-testid="agent-error">
              {error}
              <button type="button" class="link" onClick={() => setError(null)} aria-label="Dismiss error">
                Dismiss
              </button>
            </p>
          )}
          {notice && (
            <p class="banner notice" role="status" data-testid="agent-notice">
              {notice}
              <button type="button" class="link" onClick={() => setNotice(null)} aria-label="Dismiss notice">
                Dismiss
              </button>
            </p>
          )}
        </div>
      )}

      <div class="columns">
        <aside class="sidebar">
          <section aria-labelledby="offers-heading" data-testid="offers">
            <h2 id="offers-heading">Offers</h2>
            {offerList.length === 0 ? (
              <p class="muted">No offers right now.</p>
            ) : (
              <ul class="cards">
                {offerList.map((offer) => (
                  <li
                    key={offer.id}
                    class="card offer"
                    data-testid="offer"
                    data-interaction-id={offer.id}
                    data-customer-id={offer.customer_id}
                  >
                    <strong>{customerName(offer.customer, offer.customer_id)}</strong>
                    <span class="muted">
                      {offer.queue ?? 'no queue'} · {offer.integration}
                      {offer.priority ? ` · priority ${offer.priority}` : ''}
                    </span>
                    {offer.transfer && (
                      <span class="small" data-testid="offer-transfer">
                        Transferred by {offer.transfer.from_agent}
                        {offer.transfer.note ? `: “${offer.transfer.note}”` : ''}
                      </span>
                    )}
                    {offer.data && Object.keys(offer.data).length > 0 && (
                      <span class="muted small" data-testid="offer-data">
                        {Object.entries(offer.data)
                          .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
                          .join(' · ')}
                      </span>
                    )}
                    <Countdown until={offer.expires_at} />
                    <div class="actions">
                      <button
                        type="button"
                        class="primary"
                        disabled={busy === offer.id}
                        onClick={() => void accept(offer.id)}
                        data-testid="accept"
                      >
                        Accept
                      </button>
                      <button
                        type="button"
                        disabled={busy === offer.id}
                        onClick={() => void decline(offer.id)}
                        data-testid="decline"
                      >
                        Decline
                      </button>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section aria-labelledby="mine-heading" data-testid="my-interactions">
            <h2 id="mine-heading">My interactions</h2>
            {mine.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <ul class="cards">
                {mine.map((i) => (
                  <li key={i.id} data-testid="my-interaction" data-interaction-id={i.id} data-customer-id={i.customer_id}>
                    <button
                      type="button"
                      class={`card select ${i.id === selected ? 'selected' : ''}`}
                      aria-current={i.id === selected ? 'true' : undefined}
                      onClick={() => setSelected(i.id)}
                      data-testid="open-interaction"
                    >
                      <strong>{customerName(i.customer, i.customer_id)}</strong>
                      <span class="muted">
                        {i.queue ?? 'no queue'} · {i.integration} · {i.state}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <SearchPanel api={api} onOpen={(id) => setSelected(id)} />

          <section aria-labelledby="queues-heading" data-testid="queues">
            <h2 id="queues-heading">Queues</h2>
            {me.queues.length === 0 && <p class="muted">You are in no queue.</p>}
            {me.queues.map((name) => (
              <QueueList
                key={name}
                name={name}
                waiting={queues[name]}
                error={queueErrors[name]}
                busy={busy}
                onAccept={(id) => void accept(id)}
              />
            ))}
          </section>
        </aside>

        <main class="main" aria-label="Interaction">
          {selected ? (
            <InteractionPane
              key={selected}
              api={api}
              me={me}
              state={open}
              canned={canned}
              cannedError={cannedError}
              codes={codes}
              codesError={codesError}
              onClose={() => setSelected(null)}
              onWrappedUp={refreshAll}
              onTransferred={(to) => {
                setNotice(`Transferred ${selected} to ${to}.`);
                setSelected(null);
                refreshAll();
              }}
            />
          ) : (
            <p class="muted empty" data-testid="no-interaction">
              Accept an offer or a waiting conversation, or open one of yours.
            </p>
          )}
        </main>
      </div>
    </div>
  );
}

function StreamBadge({ state }: { state: StreamState }) {
  const label = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[state];
  return (
    <span class={`badge stream-${state}`} role="status" data-testid="stream-state" data-state={state}>
      {label}
    </span>
  );
}

function QueueList(props: {
  name: string;
  waiting: Waiting[] | undefined;
  error: string | undefined;
  busy: string | null;
  onAccept: (id: string) => void;
}) {
  const { name, waiting, error, busy, onAccept } = props;
  return (
    <div class="queue" data-testid="queue" data-queue={name}>
      <h3>
        {name} <span class="count">{waiting ? waiting.length : '…'}</span>
      </h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {waiting && waiting.length === 0 && <p class="muted">Nobody waiting.</p>}
      {waiting && waiting.length > 0 && (
        <ul class="cards">
          {waiting.map((w) => (
            <li
              key={w.id}
              class="card"
              data-testid="queue-entry"
              data-interaction-id={w.id}
              data-customer-id={w.customer_id}
            >
              <strong>{customerName(w.customer, w.customer_id)}</strong>
              <span class="muted">
                {w.integration}
                {w.priority ? ` · priority ${w.priority}` : ''}
                {w.queued_at ? ` · waiting since ${formatStamp(w.queued_at)}` : ''}
              </span>
              <div class="actions">
                <button
                  type="button"
                  class="primary"
                  disabled={busy === w.id}
                  onClick={() => onAccept(w.id)}
                  data-testid="accept"
                >
                  Accept
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Countdown({ until }: { until: number | string | null | undefined }) {
  const deadline = toDate(until);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!deadline) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [deadline?.getTime()]);
  if (!deadline) return null;
  const seconds = Math.max(0, Math.round((deadline.getTime() - now) / 1000));
  return (
    <span class="countdown" data-testid="offer-expires">
      {seconds > 0 ? `expires in ${seconds} s` : 'expiring'}
    </span>
  );
}
