import { defineConfig } from 'vite';

// The host serves the built files at /console/ and the API on the same origin. For `npm run
// dev`, set SWITCHBOARD_URL (default http://127.0.0.1:8080) and the dev server proxies the API.
const host = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  // Mermaid (only loaded for the admin's flow picture) is a large chunk of its own.
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      '/api': { target: host, changeOrigin: true },
      '/admin': { target: host, changeOrigin: true },
    },
  },
});
