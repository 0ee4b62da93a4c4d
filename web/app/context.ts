/** The one context the app's services travel through, from web/main.ts to every component. */
import { createContext } from '@lit/context'
import type { AppServices } from './services.js'

/** Undefined until the engine has opened (storage scanned): components show "connecting" meanwhile. */
export const servicesContext = createContext<AppServices | undefined>(Symbol('swarmdrop-services'))
