/** The shared formatting (shared/format.ts): the page and the headless peer show numbers alike. */
export * from '../../shared/format.js'
