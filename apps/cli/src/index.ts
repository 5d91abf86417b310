export { main, buildProgram, ExitCode } from './main.js';
export type { CliIo } from './main.js';
export { pluginCatalog, variants, unfilledPoints } from './catalog.js';
export type { CatalogEntry, VariantSpec } from './catalog.js';
