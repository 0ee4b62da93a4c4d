// `npm run dev`: the signal server (restarted on change by tsx) and Vite's dev server with hot reload,
// which proxies /ws to it.
import { spawn } from 'node:child_process'
import { createServer } from 'vite'

const SIGNAL_PORT = process.env.PORT ?? '8080'
const signal = spawn(process.execPath, ['--import', 'tsx', '--watch', 'signal/main.ts'], {
  stdio: 'inherit',
  // Vite serves the page; the signal server's own web root (web/, the default under tsx) is not used.
  env: { ...process.env, PORT: SIGNAL_PORT },
})
// vite.config.ts reads this to proxy /ws, /stats and /healthz to the signal server started above.
process.env.SWARMDROP_SIGNAL_URL = `http://127.0.0.1:${SIGNAL_PORT}`
const vite = await createServer({ server: { port: Number(process.env.DEV_PORT ?? 5173) } })
await vite.listen()
vite.printUrls()

const stop = async () => {
  signal.kill('SIGTERM')
  await vite.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
signal.once('exit', (code) => {
  if (code !== 0 && code !== null) process.exit(code)
})
