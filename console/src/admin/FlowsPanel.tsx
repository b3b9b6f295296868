import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  describeError,
  formatDateTime,
  type AdminApi,
  type FlowDetail,
  type FlowError,
} from '../api';
import { LoadError, useLoad } from './load';
import { MermaidGraph } from './MermaidGraph';

export function FlowsPanel({ api }: { api: AdminApi }) {
  const { data, error, reload } = useLoad(api.flows);
  const [selected, setSelected] = useState<string | null>(null);
  const [editorSeed, setEditorSeed] = useState<{ name: string; source: string } | null>(null);

  return (
    <section data-testid="admin-flows" class="flows">
      <div class="flow-list">
        <div class="section-header">
          <h2>Flows</h2>
          <button type="button" onClick={reload} data-testid="refresh">
            Refresh
          </button>
        </div>
        <LoadError error={error} />
        {data && data.flows.length === 0 && <p class="muted">No flow is published.</p>}
        {data && (
          <ul class="cards">
            {data.flows.map((f) => (
              <li key={f.name} data-testid="flow" data-flow={f.name}>
                <button
                  type="button"
                  class={`card select ${selected === f.name ? 'selected' : ''}`}
                  aria-current={selected === f.name ? 'true' : undefined}
                  onClick={() => setSelected(f.name)}
                  data-testid="open-flow"
                >
                  <strong>{f.name}</strong>
                  <span class="muted">
                    version {f.version}
                    {f.created_at ? ` · ${formatDateTime(f.created_at)}` : ''}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div class="flow-detail">
        {selected ? (
          <FlowDetailView
            key={selected}
            api={api}
            name={selected}
            onEdit={(source) => setEditorSeed({ name: selected, source })}
          />
        ) : (
          <p class="muted">Select a flow to see its source and picture.</p>
        )}
        <PublishForm
          api={api}
          seed={editorSeed}
          onPublished={(name) => {
            reload();
            setSelected(name);
          }}
        />
      </div>
    </section>
  );
}

function FlowDetailView(props: { api: AdminApi; name: string; onEdit: (source: string) => void }) {
  const { api, name, onEdit } = props;
  const [flow, setFlow] = useState<FlowDetail | null>(null);
  const [flowError, setFlowError] = useState<string | null>(null);
  const [graph, setGraph] = useState<string | null>(null);
  const [graphError, setGraphError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.flow(name).then(
      (f) => {
        setFlow(f);
        setFlowError(null);
      },
      (e) => setFlowError(describeError(e)),
    );
    api.flowGraph(name).then(
      (g) => {
        setGraph(g);
        setGraphError(null);
      },
      (e) => setGraphError(describeError(e)),
    );
  }, [api, name]);
  useEffect(load, [load]);

  return (
    <article class="pane" data-testid="flow-detail" data-flow={name}>
      <header class="pane-header">
        <div>
          <h2>{name}</h2>
          {flow && (
            <p class="muted" data-testid="flow-version">
              version {flow.version} · {flow.versions.length} version(s) stored
            </p>
          )}
        </div>
        {flow && (
          <button type="button" onClick={() => onEdit(flow.source)} data-testid="edit-flow">
            Edit a copy
          </button>
        )}
      </header>
      <h3>Picture</h3>
      {graphError && (
        <p class="error" role="alert" data-testid="flow-graph-error">
          {graphError}
        </p>
      )}
      {graph !== null && <MermaidGraph source={graph} label={`Flow ${name}`} />}
      <h3>Source</h3>
      {flowError && (
        <p class="error" role="alert">
          {flowError}
        </p>
      )}
      {flow && (
        <pre class="source" data-testid="flow-source" tabIndex={0} aria-label={`Source of flow ${name}`}>
          {flow.source}
        </pre>
      )}
    </article>
  );
}

function PublishForm(props: {
  api: AdminApi;
  seed: { name: string; source: string } | null;
  onPublished: (name: string) => void;
}) {
  const { api, seed, onPublished } = props;
  const [name, setName] = useState('');
  const [yaml, setYaml] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [errors, setErrors] = useState<FlowError[]>([]);
  const editor = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (!seed) return;
    setName(seed.name);
    setYaml(seed.source);
    setResult(null);
    setError(null);
    setErrors([]);
    editor.current?.focus();
  }, [seed]);

  async function pickFile(e: Event) {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    setYaml(await file.text());
    if (!name) setName(file.name.replace(/\.ya?ml$/i, ''));
  }

  async function publish(e: Event) {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    setError(null);
    setErrors([]);
    try {
      const answer = await api.publishFlow(name.trim(), yaml);
      setResult(
        answer.created
          ? `Published ${answer.name} version ${answer.version}.`
          : `Unchanged: ${answer.name} version ${answer.version} already has this source.`,
      );
      onPublished(answer.name);
    } catch (err) {
      setError(describeError(err));
      if (err instanceof ApiError) setErrors(err.errors);
    } finally {
      setBusy(false);
    }
  }

  /** Puts the cursor on the line (and column) an error names. */
  function showInEditor(line: number, column: number) {
    const area = editor.current;
    if (!area) return;
    const lines = yaml.split('\n');
    let start = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    const lineText = lines[line - 1] ?? '';
    const at = start + Math.min(Math.max(column - 1, 0), lineText.length);
    area.focus();
    area.setSelectionRange(at, start + lineText.length);
  }

  return (
    <form class="publish card" onSubmit={publish} data-testid="flow-publish-form">
      <h3>Publish a flow</h3>
      <div class="row">
        <label for="flow-name">Name</label>
        <input
          id="flow-name"
          required
          pattern="[A-Za-z0-9_\-]+"
          title="letters, digits, - and _"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          data-testid="flow-name"
        />
      </div>
      <div class="row">
        <label for="flow-file">YAML file</label>
        <input id="flow-file" type="file" accept=".yaml,.yml,text/yaml" onChange={pickFile} data-testid="flow-file" />
      </div>
      <label for="flow-yaml">YAML</label>
      <textarea
        id="flow-yaml"
        ref={editor}
        rows={14}
        spellcheck={false}
        class="code"
        value={yaml}
        onInput={(e) => setYaml(e.currentTarget.value)}
        data-testid="flow-yaml"
      />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !name.trim() || !yaml.trim()} data-testid="flow-publish">
          {busy ? 'Publishing…' : 'Publish'}
        </button>
      </div>
      {result && (
        <p class="ok" role="status" data-testid="flow-publish-result">
          {result}
        </p>
      )}
      {error && (
        <div class="error-box" role="alert" data-testid="flow-publish-error">
          <strong>{error}</strong>
          {errors.length > 0 && (
            <ol class="flow-errors" data-testid="flow-errors">
              {errors.map((fe, i) => (
                <li key={i} data-testid="flow-error" data-line={fe.line ?? ''} data-column={fe.column ?? ''}>
                  {fe.line ? (
                    <button
                      type="button"
                      class="link"
                      onClick={() => showInEditor(fe.line!, fe.column ?? 1)}
                      data-testid="flow-error-location"
                    >
                      line {fe.line}
                      {fe.column ? `, column ${fe.column}` : ''}
                    </button>
                  ) : (
                    <span>(no location)</span>
                  )}
                  : {fe.message}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </form>
  );
}
