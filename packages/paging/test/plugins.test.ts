import { describe, expect, it } from 'vitest';
import { CompositionError, ConfigError, ErrorCodes, PageAccess, Tokens, composeSystem, definePlugin } from '@latelaunch/kernel';
import {
  Cr0,
  Cr4,
  Efer,
  EptWalker,
  Ia32eWalker,
  Legacy32Walker,
  Mmu,
  eptWalkerPlugin,
  ia32eWalkerPlugin,
  legacy32WalkerPlugin,
  mmuPlugin,
  paeWalkerPlugin,
  pagingPlugins,
  createPagingControl,
} from '../src/index.js';
import { TableBuilder, TestMemory, result } from './helpers.js';

describe('paging plugins', () => {
  it('are named paging.<name> and exported as <name>Plugin', () => {
    expect(pagingPlugins.map((p) => p.id)).toEqual(['paging.legacy32-walker', 'paging.pae-walker', 'paging.ia32e-walker', 'paging.ept-walker', 'paging.mmu']);
    expect([legacy32WalkerPlugin, paeWalkerPlugin, ia32eWalkerPlugin, eptWalkerPlugin, mmuPlugin]).toEqual([...pagingPlugins]);
  });

  it('compose into an AddressTranslatorFactory whose translators use every walker', async () => {
    const sys = composeSystem({ plugins: [...pagingPlugins], requires: ['AddressTranslatorFactory'] });
    expect(sys.resolveAll(Tokens.PagingWalker).map((w) => `${w.name}:${w.mode}`)).toEqual(['legacy32:legacy32', 'pae:pae', 'ia32e-4level:ia32e-4level', 'ept:ept']);
    const factory = sys.resolve(Tokens.AddressTranslatorFactory);
    expect(sys.resolve(Tokens.AddressTranslatorFactory)).toBe(factory); // one factory
    const mem = new TestMemory();
    const c = createPagingControl({ cr3: 0x1000, cr4: Cr4.PAE, efer: Efer.LME | Efer.LMA });
    const t = factory.create(c, mem);
    expect(t).toBeInstanceOf(Mmu);
    expect(factory.create(c, mem)).not.toBe(t); // one translator per processor
    new TableBuilder(mem, 0x1000).map(0x40_0000, 0x9000, 0x7n);
    c.cr0 = Cr0.PE | Cr0.PG;
    expect(t.controlRegisterWritten('cr0', Cr0.PE)).toBe(true);
    const r = result();
    expect(t.translate(0x40_0010, PageAccess.READ, false, r)).toBe(true);
    expect(r.physical).toBe(0x9010);
    t.setEpt(0x5000 | 0x1e); // the EPT walker is there
    await sys.dispose();
  });

  it('passes plugin options through the config and validates them', () => {
    const sys = composeSystem({
      plugins: [...pagingPlugins],
      config: { plugins: { 'paging.mmu': { tlbEntries: 64, caching: false }, 'paging.ia32e-walker': { gbPages: false }, 'paging.ept-walker': { executeOnly: false } } },
    });
    const walkers = sys.resolveAll(Tokens.PagingWalker);
    expect((walkers.find((w) => w.mode === 'ia32e-4level') as Ia32eWalker).gbPages).toBe(false);
    expect((walkers.find((w) => w.mode === 'ept') as EptWalker).executeOnly).toBe(false);
    const mem = new TestMemory();
    const c = createPagingControl();
    const t = sys.resolve(Tokens.AddressTranslatorFactory).create(c, mem) as Mmu;
    const r = result();
    t.translate(0x1000, PageAccess.READ, false, r);
    t.translate(0x1000, PageAccess.READ, false, r);
    expect(t.walks).toBe(2); // caching: false
    expect(() => composeSystem({ plugins: [...pagingPlugins], config: { plugins: { 'paging.mmu': { tlbEntries: 100 } } } })).toThrowError(ConfigError);
    expect(() => composeSystem({ plugins: [...pagingPlugins], config: { plugins: { 'paging.mmu': { tlb: 1 } } } })).toThrowError(/paging\.mmu/);
  });

  it('the MMU requires walkers; a missing mode is reported when software enters it', () => {
    try {
      composeSystem({ plugins: [mmuPlugin] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CompositionError);
      expect((e as CompositionError).code).toBe(ErrorCodes.MissingExtension);
    }
    const sys = composeSystem({ plugins: [legacy32WalkerPlugin, mmuPlugin] });
    const c = createPagingControl({ cr4: Cr4.PAE });
    const t = sys.resolve(Tokens.AddressTranslatorFactory).create(c, new TestMemory());
    c.cr0 = Cr0.PE | Cr0.PG;
    expect(() => t.controlRegisterWritten('cr0', Cr0.PE)).toThrow(/paging mode 'pae'.*walkers: legacy32/);
  });

  it('two walkers for one mode are refused when the factory is made', () => {
    const second = definePlugin({
      id: 'test.another-32bit-walker',
      provides: ['PagingWalker'],
      register(c) {
        c.register(Tokens.PagingWalker, { useValue: Object.assign(new Legacy32Walker(), { name: 'legacy32-traced' }) });
      },
    });
    const sys = composeSystem({ plugins: [...pagingPlugins, second] });
    expect(() => sys.resolve(Tokens.AddressTranslatorFactory)).toThrow(/two PagingWalkers for mode 'legacy32': 'legacy32' and 'legacy32-traced'/);
  });
});
