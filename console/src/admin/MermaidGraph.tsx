import { useEffect, useRef, useState } from 'preact/hooks';

type Mermaid = typeof import('mermaid').default;

let loading: Promise<Mermaid> | null = null;

/** Mermaid is large: it is loaded (as its own chunk) the first time a picture is shown. */
function loadMermaid(): Promise<Mermaid> {
  loading ??= import('mermaid').then(({ default: mermaid }) => {
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral' });
    return mermaid;
  });
  return loading;
}

let counter = 0;

/** Renders Mermaid text (the host's `GET /admin/v1/flows/{name}/graph`) as an SVG picture. */
export function MermaidGraph({ source, label }: { source: string; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [state, setState] = useState<'rendering' | 'done' | 'failed'>('rendering');

  useEffect(() => {
    let cancelled = false;
    setState('rendering');
    setError(null);
    loadMermaid()
      .then((mermaid) => mermaid.render(`flow-graph-${++counter}`, source))
      .then(({ svg, bindFunctions }) => {
        if (cancelled || !box.current) return;
        box.current.innerHTML = svg;
        bindFunctions?.(box.current);
        setState('done');
      })
      .catch((e: unknown) => {
        if (cancelled) return;
        setError(e instanceof Error ? e.message : String(e));
        setState('failed');
      });
    return () => {
      cancelled = true;
    };
  }, [source]);

  return (
    <figure class="graph" data-testid="flow-graph" data-state={state}>
      <div ref={box} role="img" aria-label={label} class="graph-svg" />
      {state === 'rendering' && <p class="muted">Drawing…</p>}
      {error && (
        <>
          <p class="error" role="alert" data-testid="flow-graph-error">
            The picture could not be drawn: {error}
          </p>
          <pre class="source">{source}</pre>
        </>
      )}
    </figure>
  );
}
