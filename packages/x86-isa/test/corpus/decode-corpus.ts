/**
 * Decoder/disassembler corpus: GNU `as` `.intel_syntax noprefix` source lines, one instruction
 * per line, per mode. The test assembles each mode in one batched `as` run and checks our
 * decoder's length and our disassembly against GNU objdump for every line.
 *
 * Branch targets are written relative to the location counter (`.+n`) so no relocation is
 * needed.
 */

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const CC_ALIASES = ['c', 'nc', 'z', 'nz', 'na', 'nbe', 'pe', 'po', 'nge', 'nl', 'ng', 'nle', 'nae', 'nb'];

function alu16(): string[] {
  return ALU.flatMap((op) => [
    `${op} al, 0x12`,
    `${op} ax, 0x1234`,
    `${op} eax, 0x12345678`,
    `${op} cx, 5`,
    `${op} cx, -3`,
    `${op} cx, 0x1000`,
    `${op} byte ptr [bx+si], 0x7f`,
    `${op} word ptr [bp+di+0x10], 0x1234`,
    `${op} word ptr [bp-2], -1`,
    `${op} [bx], cx`,
    `${op} dx, [si+0x1234]`,
    `${op} ch, bl`,
    `${op} dword ptr [ecx+edx*2], 7`,
  ]);
}

function alu32(): string[] {
  return ALU.flatMap((op) => [
    `${op} al, 0x12`,
    `${op} eax, 0x12345678`,
    `${op} ax, 0x1234`,
    `${op} ecx, 5`,
    `${op} ecx, -1`,
    `${op} ecx, 0x1000`,
    `${op} byte ptr [ebx], 5`,
    `${op} dword ptr [ebx+ecx*4+8], -1`,
    `${op} word ptr [esi+0x100], 0x1234`,
    `${op} [eax], ecx`,
    `${op} ecx, [eax]`,
    `${op} cl, bh`,
    `${op} dh, byte ptr [edi-0x80]`,
    `${op} word ptr [bx+si], ax`,
  ]);
}

function alu64(): string[] {
  return ALU.flatMap((op) => [
    `${op} al, 0x12`,
    `${op} eax, 0x12345678`,
    `${op} rax, 0x12345678`,
    `${op} rax, -0x12345678`,
    `${op} rcx, 5`,
    `${op} rcx, -1`,
    `${op} r10, r11`,
    `${op} r8d, dword ptr [r9+r10*8+0x10]`,
    `${op} qword ptr [rip+0x100], 5`,
    `${op} r8b, sil`,
    `${op} byte ptr [r12], 1`,
    `${op} word ptr [rbp-8], 0x1234`,
    `${op} [rsp+0x20], r15`,
    `${op} spl, 0x10`,
    `${op} dword ptr [eax+ebx], 2`,
  ]);
}

function shifts(regs: string[], mem: string): string[] {
  return SHIFTS.flatMap((op) => [
    ...regs.flatMap((r) => [`${op} ${r}, 1`, `${op} ${r}, 5`, `${op} ${r}, cl`]),
    `${op} byte ptr ${mem}, 1`,
    `${op} dword ptr ${mem}, 3`,
    `${op} word ptr ${mem}, cl`,
  ]);
}

const CORPUS16: string[] = [
  ...alu16(),
  // every 16-bit addressing form
  'mov ax, [bx+si]', 'mov ax, [bx+di]', 'mov ax, [bp+si]', 'mov ax, [bp+di]', 'mov ax, [si]', 'mov ax, [di]',
  'mov ax, [0x1234]', 'mov ax, [bx]', 'mov ax, [bx+si+0x12]', 'mov ax, [bx+di-0x12]', 'mov ax, [bp+si+0x7f]',
  'mov ax, [bp+di-0x80]', 'mov ax, [si+1]', 'mov ax, [di+0x40]', 'mov ax, [bp]', 'mov ax, [bp+2]', 'mov ax, [bx-1]',
  'mov ax, [bx+si+0x1234]', 'mov ax, [bx+di+0x8000]', 'mov ax, [bp+si-0x1000]', 'mov ax, [bp+di+0x200]',
  'mov ax, [si+0x1234]', 'mov ax, [di-0x1234]', 'mov ax, [bp+0x1234]', 'mov ax, [bx+0xff00]',
  'mov ax, es:[bx]', 'mov ax, cs:[si]', 'mov ax, ss:[di]', 'mov ax, ds:[bp]', 'mov ax, fs:[bx+si]', 'mov ax, gs:[0x10]',
  // 32-bit addressing in 16-bit code (67 prefix), 32-bit operands (66 prefix)
  'mov eax, [ebx]', 'mov ax, [ecx+edx*4+0x10]', 'mov eax, [esp+8]', 'mov al, [ebp-4]', 'mov eax, [0x12345678]',
  // moves
  'mov al, 0x12', 'mov ah, 0x34', 'mov bx, 0x1234', 'mov ebx, 0x12345678', 'mov byte ptr [bx], 1', 'mov word ptr [bx+2], 0x1234',
  'mov dword ptr [bx], 0x12345678', 'mov al, [0x1234]', 'mov ax, [0x1234]', 'mov [0x1234], al', 'mov [0x1234], ax',
  'mov eax, [0x1234]', 'mov cl, dh', 'mov sp, bp', 'mov esi, edi',
  'mov ax, es', 'mov es, ax', 'mov ds, ax', 'mov ss, ax', 'mov fs, ax', 'mov gs, ax', 'mov [bx], ds', 'mov ss, [bp]',
  'mov eax, cr0', 'mov cr0, eax', 'mov cr3, ebx', 'mov cr4, ecx', 'mov eax, cr2', 'mov dr7, eax', 'mov eax, dr6',
  'movzx ax, bl', 'movzx eax, byte ptr [bx]', 'movzx eax, word ptr [si]', 'movsx ax, bl', 'movsx eax, word ptr [di]',
  'lea ax, [bx+si+4]', 'lea eax, [ebx+ecx*2]', 'xchg ax, bx', 'xchg cx, ax', 'xchg [bx], al', 'xchg eax, edx',
  // stack
  'push ax', 'push eax', 'push si', 'pop di', 'pop eax', 'push word ptr [bx]', 'push dword ptr [bx]', 'pop word ptr [bx+2]',
  'push 0x12', 'push -2', 'push 0x1234', 'push es', 'push cs', 'push ss', 'push ds', 'push fs', 'push gs', 'pop es', 'pop ss',
  'pop ds', 'pop fs', 'pop gs', 'pushf', 'popf', 'pushfd', 'popfd', 'pusha', 'popa', 'pushad', 'popad', 'leave', 'enter 0x10, 0',
  // arithmetic
  'inc ax', 'dec si', 'inc eax', 'inc byte ptr [bx]', 'dec word ptr [bp+2]', 'neg ax', 'not byte ptr [si]', 'mul bl',
  'mul word ptr [bx]', 'imul cx', 'imul ax, bx', 'imul ax, [si], 5', 'imul ax, bx, 0x1234', 'div cl', 'idiv word ptr [di]',
  'test al, 1', 'test ax, 0x1234', 'test bl, cl', 'test word ptr [bx], 0x8000', 'test [si], ax',
  ...shifts(['al', 'bx'], '[bx+si]'),
  'shld ax, bx, 4', 'shrd ax, bx, cl', 'shld [bx], ax, cl', 'bt ax, 3', 'bts word ptr [bx], 5', 'btr ax, cx', 'btc [si], ax',
  'bsf ax, bx', 'bsr ax, [bx]', 'cbw', 'cwde', 'cwd', 'cdq',
  ...CC.map((c) => `set${c} al`), 'sete byte ptr [bx]',
  ...CC.map((c) => `cmov${c} ax, bx`), 'cmovz eax, [bx]',
  // control flow
  ...CC.map((c) => `j${c} .+0x10`), ...CC.map((c) => `j${c} .+0x1000`),
  'jmp .+0x10', 'jmp .+0x1000', 'jmp .-0x20', 'call .+0x100', 'jmp ax', 'jmp word ptr [bx]', 'call bx', 'call word ptr [si+2]',
  'jmp 0x1234:0x5678', 'call 0x1234:0x5678', 'jmp dword ptr [bx]', 'call dword ptr [bx]', 'ljmp [bx]', 'lcall [si]',
  'ret', 'ret 8', 'retf', 'retf 0x10', 'loop .+0x10', 'loope .-0x10', 'loopne .+0x20', 'jcxz .+0x10', 'jecxz .+0x10',
  'int 0x10', 'int3', 'into', 'iret', 'iretd',
  // string
  'movsb', 'movsw', 'movsd', 'stosb', 'stosw', 'stosd', 'lodsb', 'lodsw', 'lodsd', 'cmpsb', 'cmpsw', 'scasb', 'scasw', 'insb',
  'insw', 'outsb', 'outsw', 'rep movsb', 'rep stosw', 'repe cmpsb', 'repne scasb', 'rep insb', 'rep outsw', 'es movsb',
  // flags / misc / system
  'cld', 'std', 'clc', 'stc', 'cmc', 'cli', 'sti', 'nop', 'pause', 'hlt', 'in al, 0x60', 'in ax, 0x60', 'in al, dx',
  'in ax, dx', 'in eax, dx', 'out 0x80, al', 'out 0x80, ax', 'out dx, al', 'out dx, ax', 'out dx, eax',
  'lgdt [bx]', 'lidt [si]', 'sgdt [bx]', 'sidt [bx]', 'lldt ax', 'sldt ax', 'ltr bx', 'str cx', 'lmsw ax', 'smsw ax',
  'smsw word ptr [bx]', 'lar ax, bx', 'lsl ax, [bx]', 'verr ax', 'verw word ptr [bx]', 'clts', 'rdmsr', 'wrmsr', 'rdtsc',
  'rdtscp', 'cpuid', 'invlpg [bx]', 'invd', 'wbinvd', 'lock cmpxchg [bx], cx', 'cmpxchg8b [bx]', 'lock xadd [bx], ax',
  'xadd ax, bx', 'fxsave [bx]', 'fxrstor [bx]', 'ud2', 'lds ax, [bx]', 'les bx, [si]', 'lss sp, [bx]', 'lfs ax, [bx]',
  'lgs ax, [bx]', 'bswap eax', 'lahf', 'sahf', 'xlat', 'lock add word ptr [bx], 1', 'lock inc word ptr [bx]',
];

const CORPUS32: string[] = [
  ...alu32(),
  // every 32-bit addressing form
  'mov eax, [eax]', 'mov eax, [ecx]', 'mov eax, [esp]', 'mov eax, [ebp]', 'mov eax, [esi]', 'mov eax, [0x12345678]',
  'mov eax, [esp+4]', 'mov eax, [ebp-4]', 'mov eax, [esp+0x1000]', 'mov eax, [ebp+0x12345678]', 'mov eax, [eax+ecx]',
  'mov eax, [eax+ecx*2]', 'mov eax, [eax+ecx*4+0x10]', 'mov eax, [eax+ecx*8-0x10]', 'mov eax, [ecx*4]',
  'mov eax, [ecx*8+0x1000]', 'mov eax, [ebp+eax*2]', 'mov eax, [esp+ebp*4]', 'mov eax, [edx+ebp]',
  'mov eax, es:[eax]', 'mov eax, cs:[ebx]', 'mov eax, ss:[ecx]', 'mov eax, ds:[ebp]', 'mov eax, fs:[0x30]', 'mov eax, gs:[eax+4]',
  'mov eax, [bx+si]', 'mov ax, [bp+8]',
  // moves
  'mov al, 0x12', 'mov bh, 0xff', 'mov cx, 0x1234', 'mov edx, 0x12345678', 'mov byte ptr [eax], 1', 'mov word ptr [eax], 0x1234',
  'mov dword ptr [eax+4], 1', 'mov al, [0x12345678]', 'mov eax, [0x12345678]', 'mov [0x12345678], ax', 'mov [0x12345678], eax',
  'mov al, fs:[0x10]', 'mov cl, dh', 'mov esp, ebp', 'mov ax, cx', 'mov eax, es', 'mov ax, ds', 'mov [eax], ss', 'mov es, eax',
  'mov ds, ax', 'mov ss, [esp]', 'mov fs, eax', 'mov gs, word ptr [eax]',
  'mov eax, cr0', 'mov eax, cr2', 'mov eax, cr3', 'mov eax, cr4', 'mov cr0, eax', 'mov cr3, edi', 'mov cr4, esi',
  'mov eax, dr0', 'mov ebx, dr3', 'mov dr6, eax', 'mov dr7, ecx',
  'movzx eax, bl', 'movzx eax, bx', 'movzx ax, byte ptr [eax]', 'movzx eax, word ptr [eax]', 'movsx eax, cl',
  'movsx eax, word ptr [esi+2]', 'movsx cx, byte ptr [edi]', 'lea eax, [ebx+ecx*4+0x10]', 'lea esp, [esp+4]',
  'lea ax, [eax+1]', 'xchg eax, ebx', 'xchg ecx, eax', 'xchg [eax], ecx', 'xchg al, ah', 'xchg ax, dx', 'xchg esp, eax',
  // stack
  'push eax', 'push esp', 'push ax', 'pop ebp', 'pop cx', 'push dword ptr [eax]', 'push word ptr [eax]', 'pop dword ptr [eax+4]',
  'push 0x12', 'push -1', 'push 0x12345678', 'pushw 0x1234', 'push es', 'push cs', 'push ss', 'push ds', 'push fs', 'push gs',
  'pop es', 'pop ss', 'pop ds', 'pop fs', 'pop gs', 'pushw fs', 'pushf', 'popf', 'pushfw', 'popfw', 'pusha', 'popa',
  'pushaw', 'popaw', 'leave', 'enter 0x20, 1',
  // arithmetic
  'inc eax', 'dec edi', 'inc ax', 'inc byte ptr [eax]', 'dec dword ptr [eax]', 'neg ecx', 'not dword ptr [esi]', 'mul ebx',
  'mul byte ptr [ecx]', 'imul ecx', 'imul eax, ebx', 'imul eax, [ecx]', 'imul eax, ebx, 5', 'imul eax, [ecx], 0x12345678',
  'imul eax, eax, -3', 'imul ax, bx, 0x1234', 'div ecx', 'div word ptr [ebx]', 'idiv eax', 'idiv byte ptr [eax]',
  'test al, 0x12', 'test eax, 0x12345678', 'test ecx, ebx', 'test dword ptr [eax], 0x100', 'test [eax], cl', 'test bh, 3',
  ...shifts(['al', 'ecx', 'si'], '[ebx+4]'),
  'shld eax, ebx, 4', 'shld [eax], ecx, cl', 'shrd eax, ebx, 0x1f', 'shrd word ptr [eax], bx, cl', 'bt eax, 3', 'bt [eax], ecx',
  'bts ecx, 31', 'bts dword ptr [eax], 2', 'btr eax, ecx', 'btr word ptr [eax], 1', 'btc [eax], edx', 'btc eax, 7',
  'bsf eax, ebx', 'bsf ax, [eax]', 'bsr ecx, [edx]', 'cbw', 'cwde', 'cwd', 'cdq',
  ...CC.map((c) => `set${c} al`), 'sete byte ptr [eax]', 'setne bh',
  ...CC.map((c) => `cmov${c} eax, ebx`), 'cmovz ax, [eax]', ...CC_ALIASES.map((c) => `cmov${c} ecx, [esi]`),
  // control flow
  ...CC.map((c) => `j${c} .+0x10`), ...CC.map((c) => `j${c} .+0x10000`), ...CC_ALIASES.map((c) => `j${c} .-0x20`),
  'jmp .+0x10', 'jmp .+0x10000', 'jmp .-2', 'call .+0x100', 'call .-0x1000', 'jmp eax', 'jmp dword ptr [eax]', 'call ebx',
  'call dword ptr [eax+8]', 'jmp word ptr [eax]', 'call ax', 'jmp 0x10:0x12345678', 'call 0x10:0x12345678',
  'jmp fword ptr [eax]', 'call fword ptr [ebx+4]', 'ljmp [eax]', 'lcall [eax]', 'ret', 'ret 4', 'retf', 'retf 8', 'retw',
  'loop .+0x10', 'loope .+0x10', 'loopne .-0x10', 'jecxz .+0x10', 'jcxz .+0x10', 'int 0x80', 'int3', 'into', 'iret', 'iretw',
  // string
  'movsb', 'movsw', 'movsd', 'stosb', 'stosw', 'stosd', 'lodsb', 'lodsw', 'lodsd', 'cmpsb', 'cmpsw', 'cmpsd', 'scasb', 'scasw',
  'scasd', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd', 'rep movsd', 'rep stosb', 'rep stosd', 'repe cmpsb',
  'repne scasb', 'repz cmpsd', 'repnz scasd', 'rep lodsb', 'rep insd', 'rep outsb', 'fs movsb', 'movsb es:[di], [si]',
  // flags / misc / system
  'cld', 'std', 'clc', 'stc', 'cmc', 'cli', 'sti', 'nop', 'pause', 'hlt', 'nop eax', 'nop dword ptr [eax]',
  'nop dword ptr [eax+eax*1+0]', 'nop word ptr [eax+eax*1+0]', 'xchg ax, ax',
  'in al, 0x60', 'in eax, 0x60', 'in al, dx', 'in eax, dx', 'out 0x80, al', 'out 0x80, eax', 'out dx, al', 'out dx, ax',
  'lgdt [eax]', 'lidt [eax]', 'sgdt [eax]', 'sidt [eax]', 'lldt ax', 'lldt word ptr [eax]', 'sldt eax', 'sldt word ptr [eax]',
  'ltr ax', 'str eax', 'str word ptr [eax]', 'lmsw ax', 'smsw eax', 'smsw word ptr [eax]', 'lar eax, ecx', 'lar eax, word ptr [eax]',
  'lsl eax, ecx', 'lsl ax, word ptr [eax]', 'verr ax', 'verw word ptr [eax]', 'clts', 'rdmsr', 'wrmsr', 'rdtsc', 'rdtscp',
  'cpuid', 'invlpg [eax]', 'invlpg byte ptr [eax+0x1000]', 'invd', 'wbinvd', 'cmpxchg [eax], ecx', 'lock cmpxchg [eax], ecx',
  'lock cmpxchg byte ptr [eax], bl', 'cmpxchg ecx, edx', 'cmpxchg8b [eax]', 'lock cmpxchg8b [esi]', 'xadd eax, ebx',
  'lock xadd [eax], ecx', 'lock xadd byte ptr [eax], cl', 'fxsave [eax]', 'fxrstor [eax]', 'ud2', 'ud0 eax, [eax]',
  'ud1 eax, [ecx]', 'ud1 ecx, edx', 'lock add dword ptr [eax], 1', 'lock or [eax], ecx', 'lock adc byte ptr [eax], 1',
  'lock sbb [eax], ecx', 'lock and dword ptr [eax], -2', 'lock sub [eax], cx', 'lock xor [eax], ecx', 'lock inc dword ptr [eax]',
  'lock dec byte ptr [eax]', 'lock neg dword ptr [eax]', 'lock not word ptr [eax]', 'lock xchg [eax], ecx',
  'lock bts [eax], ecx', 'lock btr dword ptr [eax], 3', 'lock btc [eax], ecx',
  'vmxon [eax]', 'vmxoff', 'vmclear [eax]', 'vmptrld [eax]', 'vmptrst [eax]', 'vmread eax, ebx', 'vmread [eax], ebx',
  'vmwrite eax, ebx', 'vmwrite eax, [ebx]', 'vmlaunch', 'vmresume', 'vmcall', 'invept eax, [ebx]', 'invvpid ecx, [edx]',
  'lds eax, [ebx]', 'les ax, [ebx]', 'lss esp, [eax]', 'lfs eax, [eax]', 'lgs eax, [eax]', 'bswap ecx', 'lahf', 'sahf', 'xlat',
  'xlat byte ptr es:[ebx]',
];

const CORPUS64: string[] = [
  ...alu64(),
  // every 64-bit addressing form
  'mov rax, [rax]', 'mov rax, [r8]', 'mov rax, [rsp]', 'mov rax, [r12]', 'mov rax, [rbp]', 'mov rax, [r13]', 'mov rax, [rip]',
  'mov rax, [rip+0x1000]', 'mov rax, [rip-0x10]', 'mov rax, [rax+rbx]', 'mov rax, [rax+r15*8]', 'mov rax, [r12+r13*2+0x100]',
  'mov rax, [r13+rbp*4-0x10]', 'mov rax, [rcx*4]', 'mov rax, [r9*8+0x1000]', 'mov rax, [0x12345678]', 'mov rax, [rsp+8]',
  'mov rax, [r12+8]', 'mov rax, [rbp-8]', 'mov rax, [r13-8]', 'mov rax, [rsp+rax]', 'mov rax, [rbp+r12*1]',
  'mov eax, [eax]', 'mov eax, [r8d+0x10]', 'mov eax, [eax+ebx*4]', 'mov rax, fs:[0x28]', 'mov rax, gs:[rax]',
  'mov rax, gs:[0]', 'mov eax, es:[rax]', 'mov eax, cs:[rax]', 'mov eax, ss:[rax]', 'mov eax, ds:[rax]',
  // registers
  'mov al, bl', 'mov ah, bh', 'mov sil, dil', 'mov spl, bpl', 'mov r8b, r15b', 'mov r9w, r10w', 'mov r11d, r12d', 'mov r13, r14',
  'mov ax, bx', 'mov eax, ebx', 'mov rax, rbx',
  // moves
  'mov al, 0x12', 'mov r8b, 0x12', 'mov ax, 0x1234', 'mov eax, 0x12345678', 'mov rax, 0x12345678', 'mov rax, -1',
  'mov r15, 0x123456789abcdef0', 'movabs rax, 0x1234', 'mov byte ptr [rax], 1', 'mov qword ptr [rax], -1',
  'mov qword ptr [rip+0x10], 0x12345678', 'mov dword ptr [r8], 1', 'movabs al, [0x123456789abc]',
  'movabs rax, [0x123456789abcdef0]', 'movabs [0x123456789abc], eax', 'movabs [0x1000], ax', 'mov eax, [0x1000]',
  'mov rax, es', 'mov eax, ds', 'mov ax, ss', 'mov [rax], fs', 'mov es, eax', 'mov ds, ax', 'mov ss, [rsp]', 'mov fs, rax',
  'mov gs, eax', 'mov rax, cr0', 'mov rax, cr2', 'mov rax, cr3', 'mov rbx, cr4', 'mov rax, cr8', 'mov cr0, rax', 'mov cr3, r15',
  'mov cr4, rcx', 'mov cr8, rax', 'mov rax, dr0', 'mov r10, dr7', 'mov dr7, rax', 'mov dr6, r8',
  'movzx eax, bl', 'movzx rax, byte ptr [rax]', 'movzx r8, word ptr [rax]', 'movzx ax, r9b', 'movzx r10d, sil',
  'movsx rax, bl', 'movsx rax, word ptr [rax]', 'movsx eax, byte ptr [r12]', 'movsxd rax, ecx', 'movsxd rax, dword ptr [rcx]',
  'movsxd r8, r9d', 'lea rax, [rip+0x100]', 'lea rax, [rax+rbx*2+8]', 'lea eax, [rax+1]', 'lea r8d, [eax+ebx]',
  'lea rsp, [rsp+8]', 'xchg rax, rbx', 'xchg rcx, rax', 'xchg r8, rax', 'xchg eax, r9d', 'xchg [rax], rcx', 'xchg r8b, al',
  'xchg ax, r10w',
  // stack
  'push rax', 'push r8', 'push r15', 'pop rbp', 'pop r12', 'push ax', 'pop r9w', 'push qword ptr [rax]', 'push word ptr [rax]',
  'pop qword ptr [rsp+8]', 'push 0x12', 'push -1', 'push 0x12345678', 'pushw 0x1234', 'push fs', 'push gs', 'pop fs', 'pop gs',
  'pushw gs', 'pushf', 'popf', 'pushfw', 'popfw', 'leave', 'enter 0x100, 0',
  // arithmetic
  'inc rax', 'inc eax', 'dec r8', 'inc byte ptr [rax]', 'dec qword ptr [rax]', 'neg rcx', 'not r9d', 'mul rbx',
  'mul byte ptr [rcx]', 'imul r10', 'imul rax, rbx', 'imul r8, [rcx]', 'imul rax, rbx, 5', 'imul rax, [rcx], 0x12345678',
  'imul rax, rax, -3', 'imul r9w, r10w, 0x1234', 'div rcx', 'div dword ptr [rbx]', 'idiv rax', 'idiv byte ptr [rax]',
  'test al, 0x12', 'test rax, 0x12345678', 'test rax, -1', 'test rcx, rbx', 'test qword ptr [rax], 0x100', 'test [rax], r8b',
  'test sil, 3',
  ...shifts(['al', 'rcx', 'r9d', 'sil'], '[rbx+4]'),
  'shl qword ptr [rax], 1', 'sar r10, 63',
  'shld rax, rbx, 4', 'shld [rax], rcx, cl', 'shrd rax, rbx, 0x3f', 'shrd word ptr [rax], bx, cl', 'bt rax, 3', 'bt [rax], rcx',
  'bts rcx, 63', 'bts qword ptr [rax], 2', 'btr eax, ecx', 'btr word ptr [rax], 1', 'btc [rax], rdx', 'btc r8, 7',
  'bsf rax, rbx', 'bsf ax, [rax]', 'bsr r8, [rdx]', 'cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo',
  ...CC.map((c) => `set${c} al`), 'sete byte ptr [rax]', 'setne sil', 'setb r10b',
  ...CC.map((c) => `cmov${c} rax, rbx`), 'cmovz ax, [rax]', 'cmovnz r8d, [r9]',
  // control flow
  ...CC.map((c) => `j${c} .+0x10`), ...CC.map((c) => `j${c} .+0x10000`),
  'jmp .+0x10', 'jmp .+0x10000', 'jmp .-2', 'call .+0x100', 'call .-0x1000', 'jmp rax', 'jmp r8', 'jmp qword ptr [rax]',
  'jmp qword ptr [rip+0x100]', 'call rbx', 'call qword ptr [rax+8]', 'call qword ptr [r12]', 'jmp fword ptr [rax]',
  'call fword ptr [rbx+4]', 'rex.w jmp fword ptr [rax]', 'rex.w call fword ptr [rbx]', 'ljmp [rax]', 'lcall [rax]', 'ret', 'ret 4',
  'retf', 'retf 8', 'retfq', 'loop .+0x10', 'loope .+0x10', 'loopne .-0x10', 'jrcxz .+0x10', 'jecxz .+0x10', 'int 0x80',
  'int3', 'iretq', 'iret', 'iretw', 'syscall', 'sysretd', 'sysretq', 'swapgs',
  // string
  'movsb', 'movsw', 'movsd', 'movsq', 'stosb', 'stosw', 'stosd', 'stosq', 'lodsb', 'lodsw', 'lodsd', 'lodsq', 'cmpsb', 'cmpsw',
  'cmpsd', 'cmpsq', 'scasb', 'scasw', 'scasd', 'scasq', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd', 'rep movsq',
  'rep stosb', 'rep stosq', 'repe cmpsb', 'repne scasb', 'repz cmpsq', 'repnz scasd', 'rep lodsb', 'rep insd', 'rep outsb',
  'movsb es:[edi], [esi]', 'gs movsq',
  // flags / misc / system
  'cld', 'std', 'clc', 'stc', 'cmc', 'cli', 'sti', 'nop', 'pause', 'hlt', 'nop eax', 'nop dword ptr [rax]', 'nop qword ptr [rax]',
  'nop dword ptr [rax+rax*1+0]', 'nop word ptr [rax+rax*1+0]', 'xchg ax, ax',
  'in al, 0x60', 'in eax, 0x60', 'in ax, 0x60', 'in al, dx', 'in eax, dx', 'out 0x80, al', 'out 0x80, eax', 'out dx, al',
  'out dx, ax', 'lgdt [rax]', 'lidt [rax]', 'sgdt [rax]', 'sidt [rip+0x10]', 'lldt ax', 'lldt word ptr [rax]', 'sldt eax',
  'sldt rax', 'sldt word ptr [rax]', 'ltr ax', 'ltr word ptr [rax]', 'str eax', 'str rax', 'str word ptr [rax]', 'lmsw ax',
  'lmsw word ptr [rax]', 'smsw eax', 'smsw rax', 'smsw word ptr [rax]', 'lar eax, ecx', 'lar rax, rcx',
  'lar eax, word ptr [rax]', 'lsl rax, rcx', 'lsl eax, word ptr [rax]', 'verr ax', 'verw word ptr [rax]', 'clts', 'rdmsr',
  'wrmsr', 'rdtsc', 'rdtscp', 'cpuid', 'invlpg [rax]', 'invlpg byte ptr [rip+0x1000]', 'invd', 'wbinvd',
  'cmpxchg [rax], rcx', 'lock cmpxchg [rax], ecx', 'lock cmpxchg byte ptr [rax], r8b', 'cmpxchg rcx, rdx', 'cmpxchg8b [rax]',
  'lock cmpxchg8b [rsi]', 'cmpxchg16b [rax]', 'lock cmpxchg16b [r8]', 'xadd rax, rbx', 'lock xadd [rax], rcx',
  'lock xadd byte ptr [rax], cl', 'fxsave [rax]', 'fxrstor [rax]', 'fxsave64 [rax]', 'fxrstor64 [rsp]', 'ud2',
  'ud0 eax, [rax]', 'ud1 rax, [rcx]', 'ud1 ecx, edx', 'lock add qword ptr [rax], 1', 'lock or [rax], ecx',
  'lock adc byte ptr [rax], 1', 'lock sbb [rax], rcx', 'lock and dword ptr [rax], -2', 'lock sub [rax], cx',
  'lock xor [rax], r8', 'lock inc qword ptr [rax]', 'lock dec byte ptr [rax]', 'lock neg dword ptr [rax]',
  'lock not word ptr [rax]', 'lock xchg [rax], rcx', 'lock bts [rax], rcx', 'lock btr qword ptr [rax], 3',
  'lock btc [rax], ecx', 'lock add byte ptr [rip+0x10], 1',
  'vmxon [rax]', 'vmxoff', 'vmclear [rax]', 'vmptrld [rax]', 'vmptrst [rax]', 'vmread rax, rbx', 'vmread [rax], rbx',
  'vmwrite rax, rbx', 'vmwrite rax, [rbx]', 'vmlaunch', 'vmresume', 'vmcall', 'invept rax, [rbx]', 'invvpid rcx, [rdx]',
  'invept r8, [r9]', '.byte 0x48, 0x0f, 0xb2, 0x20', 'lfs eax, [rax]', '.byte 0x48, 0x0f, 0xb5, 0x00', 'bswap ecx', 'bswap r8', 'bswap rax', 'lahf',
  'sahf', 'xlat',
];

/** The corpus, per mode. */
export const DECODE_CORPUS: Readonly<Record<16 | 32 | 64, readonly string[]>> = {
  16: CORPUS16,
  32: CORPUS32,
  64: CORPUS64,
};
