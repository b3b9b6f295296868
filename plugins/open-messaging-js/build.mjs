// Builds the component: `npm run build` writes dist/open-messaging-js.wasm (or the path given as
// the first argument). The WIT is the workspace's frozen wit/channel-0.1.0, world `adapter`:
// this adapter stays on switchboard:channel@0.1.0 to prove that hosts keep old versions working.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, 'dist', 'open-messaging-js.wasm'));

const started = Date.now();
const { component } = await componentize({
  sourcePath: resolve(here, 'src', 'adapter.js'),
  witPath: resolve(here, '..', '..', 'wit', 'channel-0.1.0'),
  worldName: 'adapter',
  // The host links WASI without HTTP: no `fetch`, no incoming handler. Clocks (Date.now for
  // Retry-After), random and stdio (error reports) stay.
  disableFeatures: ['http', 'fetch-event'],
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
console.log(
  `wrote ${out} (${(component.byteLength / 1048576).toFixed(1)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
