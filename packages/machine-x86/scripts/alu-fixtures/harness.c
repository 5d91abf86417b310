/*
 * ALU fixture harness (native x86-64 Linux, linked non-PIE).
 *
 * usage: harness <32|64> <runs.bin> <results.bin> <snippets.bin>
 *
 * snippets.bin (written): u32 count, then per snippet: u64 address, u32 length, bytes
 *   (the instruction bytes exactly as executed, without the trailing ret).
 * runs.bin (read): records of u32 snippet index, u32 0, u64 rflags, u64 regs[16].
 * results.bin (written): records of u32 status (0 ok, 1 #DE, 2 #UD), u32 0, u64 rflags,
 *   u64 regs[16]. On a fault the instruction is skipped (RIP advanced past it by the signal
 *   handler), so registers/flags are the inputs.
 *
 * The snippet tables (alu32_table / alu64_table: pairs of start, end addresses) come from the
 * generated, assembled snippet files; the runners from runner.S.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

extern uint64_t rt_in_regs[16], rt_out_regs[16], rt_in_flags, rt_out_flags, rt_target;
extern void rt_run64(void);
extern void rt_run32(void);
extern const uint64_t alu32_table[], alu64_table[];
extern const uint64_t alu32_count, alu64_count;

static volatile uint64_t cur_start, cur_len;
static volatile uint32_t cur_status;

static void die(const char *msg) {
  fprintf(stderr, "harness: %s\n", msg);
  exit(2);
}

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = (ucontext_t *)ctx;
  uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  if (rip != cur_start || cur_status != 0) {
    static const char m[] = "harness: unexpected fault outside the snippet instruction\n";
    ssize_t w = write(2, m, sizeof m - 1);
    (void)w;
    _exit(3);
  }
  cur_status = sig == SIGFPE ? 1 : 2;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(cur_start + cur_len); /* skip to the ret */
}

static void *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open input");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read input");
  fclose(f);
  *len = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 5) die("usage: harness <32|64> <runs.bin> <results.bin> <snippets.bin>");
  int mode = atoi(argv[1]);
  if (mode != 32 && mode != 64) die("mode must be 32 or 64");
  const uint64_t *table = mode == 32 ? alu32_table : alu64_table;
  uint64_t count = mode == 32 ? alu32_count : alu64_count;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGFPE, &sa, NULL) || sigaction(SIGILL, &sa, NULL)) die("sigaction");

  /* Snippet bytes, straight from the code that is executed. */
  FILE *sf = fopen(argv[4], "wb");
  if (!sf) die("cannot open snippets output");
  uint32_t c32 = (uint32_t)count;
  fwrite(&c32, 4, 1, sf);
  for (uint64_t i = 0; i < count; i++) {
    uint64_t start = table[2 * i], end = table[2 * i + 1];
    if (end <= start || end - start > 15) die("bad snippet length");
    if (mode == 32 && end >= 0x100000000ull) die("32-bit snippet above 4 GiB (link non-PIE)");
    if (*(const uint8_t *)end != 0xc3) die("snippet does not end in ret");
    uint32_t len = (uint32_t)(end - start);
    fwrite(&start, 8, 1, sf);
    fwrite(&len, 4, 1, sf);
    fwrite((const void *)start, 1, len, sf);
  }
  fclose(sf);
  if ((uint64_t)(uintptr_t)&rt_in_regs >= 0x100000000ull) die("harness data above 4 GiB");

  size_t inlen;
  uint8_t *in = read_all(argv[2], &inlen);
  const size_t rec = 8 + 8 + 128;
  if (inlen % rec) die("runs.bin has a partial record");
  size_t n = inlen / rec;
  uint8_t *out = calloc(n ? n : 1, rec);
  if (!out) die("out of memory");

  for (size_t i = 0; i < n; i++) {
    const uint8_t *r = in + i * rec;
    uint32_t idx;
    memcpy(&idx, r, 4);
    if (idx >= count) die("snippet index out of range");
    memcpy(&rt_in_flags, r + 8, 8);
    memcpy(rt_in_regs, r + 16, 128);
    memset(rt_out_regs, 0, sizeof rt_out_regs);
    rt_out_flags = 0;
    cur_start = table[2 * idx];
    cur_len = table[2 * idx + 1] - cur_start;
    cur_status = 0;
    rt_target = cur_start;
    if (mode == 64)
      rt_run64();
    else
      rt_run32();
    uint8_t *o = out + i * rec;
    uint32_t st = cur_status;
    memcpy(o, &st, 4);
    memcpy(o + 8, &rt_out_flags, 8);
    memcpy(o + 16, rt_out_regs, 128);
  }

  FILE *of = fopen(argv[3], "wb");
  if (!of || fwrite(out, rec, n, of) != n) die("cannot write results");
  fclose(of);
  free(in);
  free(out);
  return 0;
}
