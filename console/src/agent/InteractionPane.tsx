import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  customerName,
  describeError,
  formatStamp,
  type AgentApi,
  type Canned,
  type Interaction,
  type Me,
  type TranscriptMessage,
} from '../api';
import { CustomerPanel } from './CustomerPanel';
import { Transcript } from './Transcript';
import { TransferForm } from './TransferForm';

/** How often an open interaction is refetched, in case an event was missed. */
const POLL_MS = 3000;

export interface InteractionState {
  interaction: Interaction | null;
  loadError: string | null;
  refetch: () => void;
  applyMessage: (message: TranscriptMessage) => void;
  applyStatus: (messageId: string, status: string, error: string | null) => void;
}

/**
 * The open interaction: fetched when selected, refetched every few seconds while it is not
 * ended, and patched by live events in between. A fetch that started before a local change
 * (an event or a sent message) is dropped when it answers, so it cannot undo that change.
 */
export function useInteraction(api: AgentApi, id: string | null): InteractionState {
  const [interaction, setInteraction] = useState<Interaction | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const generation = useRef(0);

  const refetch = useCallback(() => {
    if (!id) return;
    const started = generation.current;
    api.interaction(id).then(
      (fresh) => {
        if (generation.current !== started) return;
        setInteraction(fresh);
        setLoadError(null);
      },
      (e) => {
        if (generation.current === started) setLoadError(describeError(e));
      },
    );
  }, [api, id]);

  useEffect(() => {
    generation.current += 1;
    setInteraction(null);
    setLoadError(null);
    refetch();
  }, [refetch]);

  const ended = interaction?.state === 'ended';
  useEffect(() => {
    if (!id || ended) return;
    const timer = window.setInterval(refetch, POLL_MS);
    return () => window.clearInterval(timer);
  }, [id, ended, refetch]);

  const applyMessage = useCallback((message: TranscriptMessage) => {
    generation.current += 1;
    setInteraction((current) => {
      if (!current) return current;
      const index = current.messages.findIndex((m) => m.id === message.id);
      const messages =
        index === -1
          ? [...current.messages, message]
          : current.messages.map((m, i) => (i === index ? { ...m, ...message } : m));
      return { ...current, messages };
    });
  }, []);

  const applyStatus = useCallback((messageId: string, status: string, error: string | null) => {
    generation.current += 1;
    setInteraction((current) => {
      if (!current) return current;
      return {
        ...current,
        messages: current.messages.map((m) => (m.id === messageId ? { ...m, status, error } : m)),
      };
    });
  }, []);

  return { interaction, loadError, refetch, applyMessage, applyStatus };
}

interface Props {
  api: AgentApi;
  me: Me;
  state: InteractionState;
  canned: Canned[];
  cannedError: string | null;
  codes: string[];
  codesError: string | null;
  onClose: () => void;
  onWrappedUp: () => void;
  /** The agent handed it on: `to` says where. */
  onTransferred: (to: string) => void;
}

export function InteractionPane(props: Props) {
  const { state, onClose } = props;
  const { interaction, loadError } = state;

  if (!interaction) {
    return (
      <section class="pane" data-testid="interaction" data-state="loading">
        {loadError ? (
          <p class="error" role="alert" data-testid="interaction-error">
            {loadError}
          </p>
        ) : (
          <p class="muted">Loading…</p>
        )}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </section>
    );
  }

  const ended = interaction.state === 'ended';
  const mine = interaction.agent === props.me.id;
  return (
    <section
      class="pane"
      aria-labelledby="interaction-heading"
      data-testid="interaction"
      data-interaction-id={interaction.id}
      data-customer-id={interaction.customer_id}
      data-state={interaction.state}
    >
      <header class="pane-header">
        <div>
          <h2 id="interaction-heading">{customerName(interaction.customer, interaction.customer_id)}</h2>
          <p class="muted">
            {interaction.integration} · queue {interaction.queue ?? '—'} · state{' '}
            <span data-testid="interaction-state">{interaction.state}</span>
            {interaction.agent ? ` · agent ${interaction.agent}` : ''}
            {interaction.created_at ? ` · since ${formatStamp(interaction.created_at)}` : ''}
          </p>
        </div>
        <button type="button" onClick={onClose} data-testid="close-interaction">
          Close
        </button>
      </header>
      {loadError && (
        <p class="error" role="alert" data-testid="interaction-error">
          Could not refresh: {loadError}
        </p>
      )}

      <div class="pane-body">
        <div class="pane-main">
          <Transcript messages={interaction.messages} />

          {!ended && mine && <ReplyBox {...props} interaction={interaction} />}
          {!ended && mine && (
            <TransferForm api={props.api} me={props.me} interaction={interaction} onTransferred={props.onTransferred} />
          )}
      {!ended && !mine && (
        <p class="muted">Accept this interaction to reply to the customer.</p>
      )}
          {(mine || ended) && <WrapupForm {...props} interaction={interaction} />}
        </div>
        <CustomerPanel api={props.api} interaction={interaction} />
      </div>
    </section>
  );
}

function ReplyBox(props: Props & { interaction: Interaction }) {
  const { api, me, interaction, canned, cannedError, state } = props;
  const [text, setText] = useState('');
  const [cannedId, setCannedId] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [typingAt, setTypingAt] = useState(0);
  const [files, setFiles] = useState<File[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const chosen = canned.find((c) => c.id === cannedId);

  // Shows the customer a typing indicator where the platform has one; the host sends at most
  // one every 3 s per conversation, and a failure only means the customer sees no indicator.
  function typed(value: string) {
    setText(value);
    const now = Date.now();
    if (value.trim() && now - typingAt >= 3000) {
      setTypingAt(now);
      api.typing(interaction.id).catch(() => undefined);
    }
  }
  // A canned response sent unedited goes as {"canned": id}, so the host fills its placeholders.
  const sendsCanned = chosen !== undefined && text === chosen.text;

  function pickCanned(id: string) {
    setCannedId(id);
    const c = canned.find((x) => x.id === id);
    if (c) setText(c.text);
  }

  async function send(e: Event) {
    e.preventDefault();
    const body = text.trim();
    if ((!body && files.length === 0) || sending) return;
    setSending(true);
    setError(null);
    try {
      // Files are uploaded first, then named in the message; the host asks the channel
      // whether it carries them and refuses with the reason when it does not.
      const uploads = [];
      for (const file of files) uploads.push(await api.upload(interaction.id, file));
      const attachments = uploads.length ? uploads.map((u) => u.id) : undefined;
      const answer = await api.send(
        interaction.id,
        sendsCanned ? { canned: cannedId, attachments } : { text: body || undefined, attachments },
      );
      if (!sendsCanned) {
        state.applyMessage({
          id: answer.id,
          direction: 'outbound',
          author: 'agent',
          agent: me.id,
          text: body || null,
          status: answer.status,
          created_at: Date.now(),
          attachments: uploads.map((u) => ({ kind: u.kind, url: u.url, mime_type: u.mime_type, filename: u.filename })),
        });
      }
      setText('');
      setCannedId('');
      setFiles([]);
      if (fileInput.current) fileInput.current.value = '';
      state.refetch();
    } catch (err) {
      setError(err instanceof ApiError ? err : describeError(err));
    } finally {
      setSending(false);
    }
  }

  return (
    <form class="reply" onSubmit={send} data-testid="reply-form">
      <div class="row">
        <label for="canned">Canned response</label>
        <select
          id="canned"
          value={cannedId}
          onChange={(e) => pickCanned(e.currentTarget.value)}
          disabled={canned.length === 0}
          data-testid="canned-select"
        >
          <option value="">{canned.length === 0 ? 'None available' : 'Choose…'}</option>
          {canned.map((c) => (
            <option key={c.id} value={c.id}>
              {c.title}
            </option>
          ))}
        </select>
      </div>
      {cannedError && <p class="muted small">Canned responses unavailable: {cannedError}</p>}
      <label for="reply-text">Reply</label>
      <textarea
        id="reply-text"
        rows={3}
        value={text}
        onInput={(e) => typed(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void send(e);
        }}
        aria-describedby={error ? 'send-error' : undefined}
        data-testid="reply-text"
      />
      {sendsCanned && (
        <p class="muted small" data-testid="canned-hint">
          Sent as the canned response “{chosen.title}”: placeholders such as {'{{customer.name}}'} are filled in by the host.
        </p>
      )}
      <label for="reply-files">Files</label>
      <input
        id="reply-files"
        ref={fileInput}
        type="file"
        multiple
        onChange={(e) => setFiles(Array.from(e.currentTarget.files ?? []))}
        data-testid="reply-files"
      />
      {error && <SendError error={error} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={sending || (!text.trim() && files.length === 0)} data-testid="send">
          {sending ? 'Sending…' : 'Send'}
        </button>
        <span class="muted small">Ctrl+Enter sends</span>
      </div>
    </form>
  );
}

const REFUSALS: Record<string, string> = {
  content_blocked: 'The message was blocked by a content rule and not sent.',
  window_closed: 'The platform’s reply window is closed: the customer has to write first (or use a template).',
  daily_cap_reached: 'This integration reached its daily sending cap.',
  attachment_refused: 'The channel does not take this file; nothing was sent.',
  invalid: 'The message is not valid for this channel.',
};

function SendError({ error }: { error: ApiError | string }) {
  if (typeof error === 'string') {
    return (
      <p class="error" role="alert" id="send-error" data-testid="send-error" data-code="error">
        {error}
      </p>
    );
  }
  return (
    <div class="error-box" role="alert" id="send-error" data-testid="send-error" data-code={error.code}>
      <strong>{REFUSALS[error.code] ?? `Not sent (${error.status}).`}</strong>
      <p>
        <code>{error.code}</code>: {error.message}
      </p>
    </div>
  );
}

function WrapupForm(props: Props & { interaction: Interaction }) {
  const { api, interaction, codes, codesError, state, onWrappedUp } = props;
  const [code, setCode] = useState('');
  const [notes, setNotes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const wrapups = interaction.wrapups ?? [];

  async function submit(e: Event) {
    e.preventDefault();
    if (!code.trim() || busy) return;
    setBusy(true);
    setError(null);
    try {
      await api.wrapup(interaction.id, code.trim(), notes.trim() || undefined);
      setNotes('');
      state.refetch();
      onWrappedUp();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  const recorded = wrapups.length > 0 && (
    <ul class="wrapups">
      {wrapups.map((w, i) => (
        <li key={i} data-testid="wrapup-entry" data-code={w.code}>
          <strong>{w.code}</strong> by {w.agent}
          {w.notes ? `: ${w.notes}` : ''}
        </li>
      ))}
    </ul>
  );

  if (interaction.state === 'ended') {
    return (
      <div class="wrapup done" data-testid="wrapup-done" role="status">
        <h3>Wrap-up</h3>
        {recorded}
        <p class="muted">This interaction has ended.</p>
      </div>
    );
  }

  return (
    <form class="wrapup" onSubmit={submit} data-testid="wrapup-form">
      <h3>Wrap-up</h3>
      {recorded}
      <div class="row">
        <label for="wrapup-code">Code</label>
        {codes.length > 0 ? (
          <select
            id="wrapup-code"
            value={code}
            required
            onChange={(e) => setCode(e.currentTarget.value)}
            data-testid="wrapup-code"
          >
            <option value="">Choose…</option>
            {codes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input
            id="wrapup-code"
            value={code}
            required
            onInput={(e) => setCode(e.currentTarget.value)}
            data-testid="wrapup-code"
          />
        )}
      </div>
      {codesError && <p class="muted small">The list of codes is unavailable ({codesError}); type a code.</p>}
      <label for="wrapup-notes">Notes (optional)</label>
      <textarea
        id="wrapup-notes"
        rows={2}
        value={notes}
        onInput={(e) => setNotes(e.currentTarget.value)}
        data-testid="wrapup-notes"
      />
      {error && (
        <p class="error" role="alert" data-testid="wrapup-error">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" disabled={busy || !code.trim()} data-testid="wrapup-submit">
          {busy ? 'Wrapping up…' : 'Wrap up'}
        </button>
      </div>
    </form>
  );
}
