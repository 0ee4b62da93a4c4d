import { defineConfig } from 'vite'
import { nodePolyfills } from 'vite-plugin-node-polyfills'
import { serviceWorkerPlugin } from './scripts/service-worker.mjs'

/** Where `npm run dev` finds the signal server it proxies /ws to. */
const DEV_SIGNAL_URL = process.env.SWARMDROP_SIGNAL_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  root: 'web',
  // Served as they are at the site's root: the web app manifest, its icons, the favicon. The service worker
  // (`/sw.js`, its scope `/`) is emitted by serviceWorkerPlugin with the list of the build's shell files.
  publicDir: 'public',
  plugins: [
    // simple-peer (web/peer/simple-peer-link.ts) is a Node-style module: it requires `buffer`, and its
    // readable-stream base requires `events` and reads `process.nextTick`. Only these are polyfilled; our
    // own code uses none of them (data goes through peer.send() and the channel, never the stream).
    nodePolyfills({
      include: ['buffer', 'process', 'events', 'stream'],
      globals: { Buffer: true, global: true, process: true },
      protocolImports: false,
    }),
    serviceWorkerPlugin(),
  ],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    proxy: {
      '/ws': { target: DEV_SIGNAL_URL, ws: true },
      '/stats': DEV_SIGNAL_URL,
      '/healthz': DEV_SIGNAL_URL,
    },
  },
})
