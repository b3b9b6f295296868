import { useEffect, useRef, useState } from 'preact/hooks';

/** The named events of `GET /api/v1/agents/{agent}/events`. */
export const EVENT_NAMES = [
  'hello',
  'offered',
  'accepted',
  'customer_message',
  'delivery_status',
  'disconnected',
  'offer_withdrawn',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];

export type StreamState = 'connecting' | 'live' | 'reconnecting';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

/**
 * Subscribes to the agent's event stream. EventSource retries by itself after a dropped
 * connection, but gives up for good when the host answers with an error status; then this opens
 * a new one after a growing delay, so the stream survives a host restart.
 */
export function useAgentEvents(
  agentId: string,
  token: string,
  onEvent: (name: EventName, data: unknown) => void,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(() => {
    let source: EventSource | null = null;
    let retryTimer: number | undefined;
    let retryMs = FIRST_RETRY_MS;
    let stopped = false;
    const url = `/api/v1/agents/${encodeURIComponent(agentId)}/events?token=${encodeURIComponent(token)}`;

    const connect = () => {
      source = new EventSource(url);
      source.onopen = () => {
        retryMs = FIRST_RETRY_MS;
        setState('live');
      };
      source.onerror = () => {
        if (stopped || !source) return;
        setState('reconnecting');
        if (source.readyState === EventSource.CLOSED) {
          source = null;
          retryTimer = window.setTimeout(connect, retryMs);
          retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        }
      };
      for (const name of EVENT_NAMES) {
        source.addEventListener(name, (event) => {
          let data: unknown = null;
          try {
            data = JSON.parse((event as MessageEvent<string>).data);
          } catch {
            return;
          }
          handler.current(name, data);
        });
      }
    };

    connect();
    return () => {
      stopped = true;
      window.clearTimeout(retryTimer);
      source?.close();
    };
  }, [agentId, token]);

  return state;
}
