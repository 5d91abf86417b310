// Seeded, deterministic PRNG for the ALU fixture generator (no Math.random).
// sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded from a string with FNV-1a.
// Every family/mode gets its own stream (seed string = `${SEED}/${mode}/${family}`) so adding
// or changing one family does not reshuffle the inputs of the others.

/** FNV-1a 32-bit hash of a string. */
export function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  constructor(seedString) {
    this.a = fnv1a(seedString);
    this.b = fnv1a(seedString + '#b');
    this.c = fnv1a(seedString + '#c');
    this.d = 1;
    for (let i = 0; i < 20; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c;
    this.d = d;
    return t;
  }

  /** Uniform integer in [0, n) (n < 2^32). */
  int(n) {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** True with probability p. */
  chance(p) {
    return this.u32() / 4294967296 < p;
  }

  pick(arr) {
    return arr[this.int(arr.length)];
  }

  /** Uniform BigInt with `bits` bits (bits <= 64). */
  bits(bits) {
    const v = (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    return bits >= 64 ? v : v & ((1n << BigInt(bits)) - 1n);
  }
}
