import { streamTicket } from './api';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

/** What a stream's owner hears. */
export interface StreamHandlers {
  /** The named events to listen for, and what to do with each one's parsed data. */
  events: readonly string[];
  onEvent: (name: string, data: unknown) => void;
  onOpen?: () => void;
  onError?: () => void;
}

/**
 * Opens the server-sent event stream at `path` with a fresh single-use ticket (fetched with the
 * token in a header), and opens it again, with a new ticket, whenever it drops: EventSource's own
 * retry would reuse the spent ticket. Retries wait longer each time, so the stream survives a host
 * restart. Returns a function that closes it for good.
 */
export function openStream(path: string, token: string, handlers: StreamHandlers): () => void {
  let source: EventSource | null = null;
  let retryTimer: number | undefined;
  let retryMs = FIRST_RETRY_MS;
  let stopped = false;

  const retry = () => {
    if (stopped) return;
    handlers.onError?.();
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  const connect = async () => {
    let ticket: string;
    try {
      ticket = await streamTicket(token);
    } catch {
      retry();
      return;
    }
    if (stopped) return;
    const separator = path.includes('?') ? '&' : '?';
    const opened = new EventSource(`${path}${separator}ticket=${encodeURIComponent(ticket)}`);
    source = opened;
    opened.onopen = () => {
      retryMs = FIRST_RETRY_MS;
      handlers.onOpen?.();
    };
    opened.onerror = () => {
      if (stopped || source !== opened) return;
      opened.close();
      source = null;
      retry();
    };
    for (const name of handlers.events) {
      opened.addEventListener(name, (event) => {
        let data: unknown = null;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return;
        }
        handlers.onEvent(name, data);
      });
    }
  };

  void connect();
  return () => {
    stopped = true;
    window.clearTimeout(retryTimer);
    source?.close();
  };
}
