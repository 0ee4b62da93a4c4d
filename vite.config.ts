import { defineConfig } from 'vite'

/** Where `npm run dev` finds the signal server it proxies /ws to. */
const DEV_SIGNAL_URL = process.env.SWARMDROP_SIGNAL_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  root: 'web',
  publicDir: false,
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
