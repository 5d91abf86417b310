export { buildRootOsImage, buildTrampoline, ROOT_OS_MODES } from './image.js';
export { readProcessorStatus, readSmpSummary } from './smp.js';
export type { ProcessorStatus, ProcessorRunState, SmpSummary, Read32Like } from './smp.js';
export type { RootOsImage, RootOsImageOptions, RootOsMode, RootOsTestFault } from './image.js';
export { createRootOsMachine, rootOsEntryState, rootOsTranslatorFactory } from './boot.js';
export type { RootOsMachine, RootOsMachineOptions } from './boot.js';
export {
  readInventory,
  InventoryFormatError,
  INVENTORY_MAGIC,
  INVENTORY_VERSION,
  INVENTORY_HEADER_SIZE,
  InventoryOffsets,
  InventoryFlags,
  ProcessorFlags,
  NodeFlags,
  MemoryAffinityFlags,
  NO_NODE,
  PROCESSOR_ENTRY_SIZE,
  IOAPIC_ENTRY_SIZE,
  NODE_ENTRY_SIZE,
  MEMORY_AFFINITY_ENTRY_SIZE,
  RAM_RANGE_ENTRY_SIZE,
} from './inventory.js';
export type {
  Inventory,
  InventoryProcessor,
  InventoryIoApic,
  InventoryNode,
  InventoryMemoryAffinity,
  InventoryRamRange,
  InventoryCpuid,
  InventoryApic,
  MemoryReader,
  MemoryReaderLike,
} from './inventory.js';
export {
  registerRootOsServices,
  discoverService,
  pfaInitService,
  pfaAllocService,
  pfaAllocFrame,
  heapInitService,
  kmallocService,
  kfreeService,
  buildInventoryBytes,
  readBootInfoE820,
  PFA_MAGIC,
  PfaOffsets,
  HEAP_MAGIC,
  HEAP_BLOCK_FREE,
  HEAP_BLOCK_USED,
  HEAP_BLOCK_HEADER,
  HeapOffsets,
  HeapBlockOffsets,
} from './services.js';
export type { E820Range } from './services.js';
export * from './layout.js';
