import { useEffect, useRef } from 'preact/hooks';
import { formatStamp, type Attachment, type TranscriptMessage } from '../api';

/** A conversation's messages, each with its date and time, delivery status and files. */
export function Transcript({ messages, label = 'Transcript' }: { messages: TranscriptMessage[]; label?: string }) {
  const list = useRef<HTMLOListElement>(null);
  // Keep the newest message in view when one arrives.
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages.length]);
  return (
    <ol ref={list} class="transcript" data-testid="transcript" aria-label={label} aria-live="polite">
      {messages.map((m) => {
        const files = m.attachments ?? [];
        return (
          <li
            key={m.id}
            class={`message ${m.direction} author-${m.author}`}
            data-testid="message"
            data-message-id={m.id}
            data-direction={m.direction}
            data-author={m.author}
            data-status={m.status}
          >
            <div class="meta">
              <span class="author">{m.author === 'agent' && m.agent ? `agent ${m.agent}` : m.author}</span>
              <time data-testid="message-time" dateTime={stampIso(m.created_at)}>
                {formatStamp(m.created_at)}
              </time>
              <span class={`status status-${m.status}`} data-testid="message-status">
                {m.status}
              </span>
            </div>
            {(m.text || files.length === 0) && (
              <p class="text" data-testid="message-text">
                {m.text ?? (m.kind ? `(${m.kind})` : '(no text)')}
              </p>
            )}
            {files.length > 0 && (
              <ul class="attachments" data-testid="attachments">
                {files.map((a, i) => (
                  <AttachmentView key={i} attachment={a} />
                ))}
              </ul>
            )}
            {m.error && (
              <p class="error" data-testid="message-error">
                {m.error}
              </p>
            )}
          </li>
        );
      })}
    </ol>
  );
}

function stampIso(at: number | string | null | undefined): string | undefined {
  if (at === null || at === undefined || at === '') return undefined;
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Only http(s) addresses become links or images: nothing a message carries can run script. */
function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Images inline, anything else as a link to the file; without an address, what is known. */
function AttachmentView({ attachment: a }: { attachment: Attachment }) {
  const url = safeUrl(a.url);
  const name = a.filename || a.caption || `${a.kind}${a.mime_type ? ` (${a.mime_type})` : ''}`;
  return (
    <li class={`attachment attachment-${a.kind}`} data-testid="attachment" data-kind={a.kind}>
      {url && a.kind === 'image' ? (
        <a href={url} target="_blank" rel="noopener noreferrer">
          <img src={url} alt={a.caption || a.filename || 'image'} data-testid="attachment-image" loading="lazy" />
        </a>
      ) : url ? (
        <a href={url} target="_blank" rel="noopener noreferrer" download={a.filename || undefined} data-testid="attachment-link">
          {name}
        </a>
      ) : (
        <span data-testid="attachment-unavailable">
          {name}
          {a.media_id ? ` (platform media ${a.media_id})` : ''}
        </span>
      )}
      {a.caption && a.filename && <span class="muted small"> {a.caption}</span>}
    </li>
  );
}
