// Builds the component: `npm run build` writes dist/http-lookup-js.wasm (or the path given as the
// first argument), from the workspace's wit/flow, world `data-action-plugin`.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? resolve(here, 'dist', 'http-lookup-js.wasm'));

const started = Date.now();
const { component } = await componentize({
  sourcePath: resolve(here, 'src', 'component.js'),
  witPath: resolve(here, '..', '..', 'wit', 'flow'),
  worldName: 'data-action-plugin',
  // The host links WASI without HTTP (a flow plugin reaches the network only through the
  // `http` import its grant allows): no `fetch`, no incoming handler.
  disableFeatures: ['http', 'fetch-event'],
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
console.log(
  `wrote ${out} (${(component.byteLength / 1048576).toFixed(1)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
