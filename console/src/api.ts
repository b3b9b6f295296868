// A small client for the host's agent and admin HTTP API (same origin). Every error answer is
// JSON `{"error": {"code", "message"}}`; `ApiError` carries it, plus the flow errors a refused
// publish lists.

export type Presence = 'available' | 'away' | 'offline' | 'not-responding';

export interface Profile {
  display_name?: string;
  handle?: string;
  verified?: boolean;
  followers?: number;
  posts?: number;
  avatar_url?: string;
}

export interface Me {
  id: string;
  name: string;
  queues: string[];
  presence: Presence;
  capacity?: number;
  skills?: Record<string, number>;
  languages?: string[];
}

export interface Waiting {
  id: string;
  integration: string;
  customer_id: string;
  customer?: Profile | null;
  priority?: number;
  skills?: unknown;
  queued_at?: number | string;
  data?: unknown;
}

export interface QueueListing {
  queue: string;
  waiting: Waiting[];
}

export interface AgentInteraction {
  id: string;
  state: string;
  queue?: string | null;
  customer_id: string;
  customer?: Profile | null;
  integration: string;
  priority?: number;
  created_at?: number | string;
  /** When an offer to this agent lapses. */
  expires_at?: number | string | null;
  /** Participant data the flow collected. */
  data?: Record<string, unknown> | null;
  /** For an offer: the transfer that queued it, with its note. */
  transfer?: Transfer | null;
}

export type MessageStatus = 'received' | 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface TranscriptMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  author: 'customer' | 'bot' | 'agent' | string;
  agent?: string | null;
  text?: string | null;
  status: MessageStatus | string;
  error?: string | null;
  created_at?: number | string;
  kind?: string | null;
  attachments?: Attachment[] | null;
}

/** A file in a message: customers' (the platform's URL) or an agent's upload (`/media/{id}`). */
export interface Attachment {
  kind: 'image' | 'video' | 'audio' | 'file' | string;
  url?: string | null;
  media_id?: string | null;
  mime_type?: string | null;
  filename?: string | null;
  caption?: string | null;
}

/** An agent handed the interaction to a queue or another agent, with a note. */
export interface Transfer {
  from_agent: string;
  to_queue: string;
  to_agent?: string | null;
  note?: string | null;
  at: number;
}

/** An upload, ready to be named in a reply. */
export interface Upload {
  id: string;
  filename: string;
  mime_type: string;
  kind: string;
  size: number;
  url: string;
}

export interface SearchHit extends AgentInteraction {
  matched?: TranscriptMessage | null;
}

export interface QueueOverview {
  id: string;
  name: string;
  waiting: number;
  oldest_queued_at?: number | null;
  longest_wait_ms: number;
  offered: number;
  answered: number;
  abandoned: number;
  answered_within: number;
  service_level_seconds: number;
  service_level?: number | null;
  agents_available: number;
  agents: number;
}

export interface AgentOverview {
  id: string;
  name: string;
  presence: Presence;
  queues: string[];
  capacity: number;
  held: number;
  offered: number;
  per_channel: Record<string, number>;
}

export interface Overview {
  now: number;
  since: number;
  queues: QueueOverview[];
  agents: AgentOverview[];
}

export interface Watcher {
  id: string;
  name: string;
  role: 'supervisor' | 'admin';
  queues: string[];
}

export interface Wrapup {
  agent: string;
  code: string;
  notes?: string | null;
  at?: number | string;
}

export interface Interaction {
  id: string;
  integration: string;
  customer_id: string;
  customer?: Profile | null;
  state: string;
  queue?: string | null;
  priority?: number;
  agent?: string | null;
  last_agent?: string | null;
  language?: string | null;
  skills?: string[];
  /** Participant data the flow collected (topic, order number...). */
  data?: Record<string, unknown> | null;
  created_at?: number | string;
  messages: TranscriptMessage[];
  wrapups?: Wrapup[];
  transfers?: Transfer[];
}

export interface Canned {
  id: string;
  title: string;
  text: string;
}

export interface AdminQueue {
  id: string;
  name: string;
  waiting: number;
  assigned: number;
  agents_available: number;
}

export interface FlowSummary {
  name: string;
  version: number;
  hash?: string;
  created_at?: number | string;
}

export interface FlowDetail {
  name: string;
  version: number;
  source: string;
  versions: { version: number; hash?: string; created_at?: number | string }[];
}

export interface FlowError {
  line?: number | null;
  column?: number | null;
  message: string;
}

export interface Plugin {
  name: string;
  world: string;
  wit: string;
  hash: string;
  [key: string]: unknown;
}

export interface Integration {
  id: string;
  adapter: string;
  platform: string;
  flow: string;
  status: string;
  sent_today?: number;
  daily_cap?: number | null;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: FlowError[];

  constructor(status: number, code: string, message: string, errors: FlowError[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

/** "code: message" for showing an error to a person. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

interface RequestOptions {
  method?: string;
  json?: unknown;
  text?: string;
  blob?: Blob;
  contentType?: string;
  accept?: 'json' | 'text';
}

async function request<T>(token: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  let body: string | Blob | undefined;
  if (options.blob !== undefined) {
    headers['Content-Type'] = options.contentType || 'application/octet-stream';
    body = options.blob;
  } else if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.text !== undefined) {
    headers['Content-Type'] = options.contentType ?? 'text/plain';
    body = options.text;
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body });
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach the host (${e instanceof Error ? e.message : e})`);
  }
  const raw = await response.text();
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = raw.trim() || response.statusText;
    let errors: FlowError[] = [];
    try {
      const parsed = JSON.parse(raw);
      if (parsed?.error?.code) code = String(parsed.error.code);
      if (parsed?.error?.message) message = String(parsed.error.message);
      if (Array.isArray(parsed?.errors)) errors = parsed.errors;
    } catch {
      // Not JSON: keep the raw text.
    }
    throw new ApiError(response.status, code, message, errors);
  }
  if (options.accept === 'text') return raw as T;
  if (raw === '') return undefined as T;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new ApiError(response.status, 'bad_response', `${path} did not answer JSON`);
  }
}

const enc = encodeURIComponent;

/** The agent API, authenticated with the agent's token. */
export function agentApi(token: string) {
  return {
    me: () => request<Me>(token, '/api/v1/me'),
    setPresence: (agent: string, presence: Presence) =>
      request<{ agent: string; presence: Presence }>(token, `/api/v1/agents/${enc(agent)}/presence`, {
        method: 'PUT',
        json: { presence },
      }),
    interactions: (agent: string) =>
      request<{ interactions: AgentInteraction[] }>(token, `/api/v1/agents/${enc(agent)}/interactions`),
    queue: (queue: string) => request<QueueListing>(token, `/api/v1/queues/${enc(queue)}`),
    interaction: (id: string) => request<Interaction>(token, `/api/v1/interactions/${enc(id)}`),
    accept: (id: string) =>
      request<{ id: string; state: string; agent: string; queue: string }>(
        token,
        `/api/v1/interactions/${enc(id)}/accept`,
        { method: 'POST', json: {} },
      ),
    decline: (id: string) =>
      request<{ id: string; state: string }>(token, `/api/v1/interactions/${enc(id)}/decline`, {
        method: 'POST',
        json: {},
      }),
    send: (id: string, body: { text?: string; canned?: string; attachments?: string[] }) =>
      request<{ id: string; status: string }>(token, `/api/v1/interactions/${enc(id)}/messages`, {
        method: 'POST',
        json: body,
      }),
    typing: (id: string) =>
      request<{ sent: boolean; reason?: string }>(token, `/api/v1/interactions/${enc(id)}/typing`, {
        method: 'POST',
        json: {},
      }),
    wrapup: (id: string, code: string, notes?: string) =>
      request<{ id: string; state: string }>(token, `/api/v1/interactions/${enc(id)}/wrapup`, {
        method: 'POST',
        json: notes ? { code, notes } : { code },
      }),
    canned: () => request<{ canned: Canned[] }>(token, '/api/v1/canned'),
    transfer: (id: string, to: { queue?: string; agent?: string; note?: string }) =>
      request<{ id: string; state: string; queue: string }>(token, `/api/v1/interactions/${enc(id)}/transfer`, {
        method: 'POST',
        json: to,
      }),
    history: (id: string) =>
      request<{ interactions: Interaction[] }>(token, `/api/v1/interactions/${enc(id)}/history`),
    search: (query: { customer?: string; text?: string; from?: number; to?: number }) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== '') params.set(key, String(value));
      }
      return request<{ interactions: SearchHit[]; truncated: boolean }>(token, `/api/v1/search?${params}`);
    },
    upload: (id: string, file: File) =>
      request<Upload>(token, `/api/v1/interactions/${enc(id)}/attachments?filename=${enc(file.name)}`, {
        method: 'POST',
        blob: file,
        contentType: file.type,
      }),
    wrapupCodes: () => request<{ codes: string[] }>(token, '/api/v1/wrapup-codes'),
  };
}

export type AgentApi = ReturnType<typeof agentApi>;

/** The admin API, authenticated with the admin token. */
export function adminApi(token: string) {
  return {
    queues: () => request<{ queues: AdminQueue[] }>(token, '/admin/v1/queues'),
    flows: () => request<{ flows: FlowSummary[] }>(token, '/admin/v1/flows'),
    flow: (name: string) => request<FlowDetail>(token, `/admin/v1/flows/${enc(name)}`),
    flowGraph: (name: string) =>
      request<string>(token, `/admin/v1/flows/${enc(name)}/graph`, { accept: 'text' }),
    publishFlow: (name: string, yaml: string) =>
      request<{ name: string; version: number; created: boolean }>(token, `/admin/v1/flows/${enc(name)}`, {
        method: 'PUT',
        text: yaml,
        contentType: 'application/yaml',
      }),
    plugins: () => request<{ plugins: Plugin[] }>(token, '/admin/v1/plugins'),
    integrations: () => request<{ integrations: Integration[] }>(token, '/admin/v1/integrations'),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;

/** The supervisor API, with a supervisor's token (or the admin's). */
export function supervisorApi(token: string) {
  return {
    me: () => request<Watcher>(token, '/api/v1/supervisor/me'),
    overview: () => request<Overview>(token, '/api/v1/supervisor/overview'),
  };
}

/**
 * A ticket that opens one event stream (`?ticket=`) within a minute: the token itself never goes
 * in a URL, where logs and the browser's history would keep it.
 */
export async function streamTicket(token: string): Promise<string> {
  const answer = await request<{ ticket: string }>(token, '/api/v1/stream-tickets', { method: 'POST' });
  return answer.ticket;
}

/** Who a token belongs to: an agent (GET /api/v1/me answers) or the admin. */
export async function identify(
  token: string,
): Promise<{ role: 'agent'; me: Me } | { role: 'supervisor'; watcher: Watcher } | { role: 'admin' }> {
  try {
    return { role: 'agent', me: await agentApi(token).me() };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) throw e;
  }
  try {
    const watcher = await supervisorApi(token).me();
    if (watcher.role === 'supervisor') return { role: 'supervisor', watcher };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) throw e;
  }
  try {
    await adminApi(token).flows();
    return { role: 'admin' };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      throw new ApiError(e.status, 'unauthorized', 'this token is not an agent’s, a supervisor’s or the admin’s');
    }
    throw e;
  }
}

export function customerName(customer: Profile | null | undefined, fallback: string): string {
  return customer?.display_name || (customer?.handle ? `@${customer.handle}` : fallback);
}

/** Host timestamps are Unix milliseconds; RFC 3339 strings are accepted too. */
export function toDate(at: number | string | null | undefined): Date | null {
  if (at === null || at === undefined || at === '') return null;
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A timestamp with its date, e.g. `3 Dec 2026, 14:05:10`. */
export function formatStamp(at: number | string | null | undefined): string {
  const d = toDate(at);
  if (!d) return '';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const date = d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
  return `${date}, ${time}`;
}

export function formatDateTime(at: number | string | null | undefined): string {
  const d = toDate(at);
  return d ? d.toLocaleString() : '';
}
