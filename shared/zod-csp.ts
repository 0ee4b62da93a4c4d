/**
 * Our pages run under a Content-Security-Policy without 'unsafe-eval' (signal/http.ts). zod probes
 * whether it may compile parsers with `new Function`; the probe is refused, and Firefox reports the
 * refusal as a page error on every load. Jitless mode skips the probe. Import this first in every
 * browser entry point (page and workers).
 */
import { z } from 'zod'

z.config({ jitless: true })
