import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeError } from '../api';

/** Loads `load()` now, on `reload()`, and every `everyMs` when given. */
export function useLoad<T>(load: () => Promise<T>, everyMs?: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    load().then(
      (value) => {
        setData(value);
        setError(null);
      },
      (e) => setError(describeError(e)),
    );
  }, [load]);
  useEffect(() => {
    reload();
    if (!everyMs) return;
    const timer = window.setInterval(reload, everyMs);
    return () => window.clearInterval(timer);
  }, [reload, everyMs]);
  return { data, error, reload };
}

export function LoadError({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert" data-testid="load-error">
      {error}
    </p>
  ) : null;
}
