import { useEffect, useRef, useState } from 'preact/hooks';

import { openStream } from '../stream';

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

/**
 * Subscribes to the agent's event stream, opened with a fresh ticket on every connect and
 * reconnect (`openStream`), so the stream survives a host restart.
 */
export function useAgentEvents(
  agentId: string,
  token: string,
  onEvent: (name: EventName, data: unknown) => void,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;

  useEffect(
    () =>
      openStream(`/api/v1/agents/${encodeURIComponent(agentId)}/events`, token, {
        events: EVENT_NAMES,
        onEvent: (name, data) => handler.current(name as EventName, data),
        onOpen: () => setState('live'),
        onError: () => setState('reconnecting'),
      }),
    [agentId, token],
  );

  return state;
}
