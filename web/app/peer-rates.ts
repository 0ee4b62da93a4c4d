/** Rates per peer live beside the engine (web/peer/peer-rates.ts), which the headless peer shares. */
export * from '../peer/peer-rates.js'
