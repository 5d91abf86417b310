/*
 * ALU fixture harness: mode runners.
 *
 * rt_run64 runs one snippet in 64-bit mode, rt_run32 runs one in 32-bit compatibility mode by
 * far-jumping to the user 32-bit code segment (CS = 0x23, __USER32_CS on Linux x86-64) and far-
 * jumping back to CS = 0x33 (__USER_CS) afterwards. The executable is linked non-PIE, so all
 * code and data here (and the 32-bit snippets) sit below 4 GiB; the 32-bit leg runs on a private
 * stack in .bss, also below 4 GiB.
 *
 * A snippet is "<instruction>; ret". The runners load RFLAGS (popf) and every GPR except RSP
 * from rt_in_*, call the snippet through rt_target, and store RFLAGS (pushf) and the GPRs to
 * rt_out_*. Only mov/push/pop/call/ret sit between popf and the instruction and between the
 * instruction and pushf, none of which touches the flags. RSP is never loaded or compared.
 *
 * Register slots (8 bytes each): rax rcx rdx rbx rsp rbp rsi rdi r8 .. r15.
 * In 32-bit mode only the low 32 bits of slots 0-3 and 5-7 are used.
 */
        .intel_syntax noprefix

        .bss
        .p2align 6
        .globl rt_in_regs, rt_out_regs, rt_in_flags, rt_out_flags, rt_target
rt_in_regs:     .space 128
rt_out_regs:    .space 128
rt_in_flags:    .space 8
rt_out_flags:   .space 8
rt_target:      .space 8
rt_saved_rsp:   .space 8
rt_saved_ds:    .space 8
rt_saved_es:    .space 8
        .p2align 12
rt_lowstack:    .space 1048576      /* 32-bit leg stack; also holds signal frames (#DE) */
rt_lowstack_top:

        .data
        .p2align 3
rt_far32:       .long rt_entry32    /* m16:32 far pointer: offset, selector */
                .word 0x23

        .text
        .code64
        .globl rt_run64
        .type rt_run64, @function
rt_run64:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        sub rsp, 8
        push qword ptr [rip + rt_in_flags]
        popfq
        mov rax, [rip + rt_in_regs + 0]
        mov rcx, [rip + rt_in_regs + 8]
        mov rdx, [rip + rt_in_regs + 16]
        mov rbx, [rip + rt_in_regs + 24]
        mov rbp, [rip + rt_in_regs + 40]
        mov rsi, [rip + rt_in_regs + 48]
        mov rdi, [rip + rt_in_regs + 56]
        mov r8,  [rip + rt_in_regs + 64]
        mov r9,  [rip + rt_in_regs + 72]
        mov r10, [rip + rt_in_regs + 80]
        mov r11, [rip + rt_in_regs + 88]
        mov r12, [rip + rt_in_regs + 96]
        mov r13, [rip + rt_in_regs + 104]
        mov r14, [rip + rt_in_regs + 112]
        mov r15, [rip + rt_in_regs + 120]
        call qword ptr [rip + rt_target]
        pushfq
        pop qword ptr [rip + rt_out_flags]
        mov [rip + rt_out_regs + 0], rax
        mov [rip + rt_out_regs + 8], rcx
        mov [rip + rt_out_regs + 16], rdx
        mov [rip + rt_out_regs + 24], rbx
        mov [rip + rt_out_regs + 40], rbp
        mov [rip + rt_out_regs + 48], rsi
        mov [rip + rt_out_regs + 56], rdi
        mov [rip + rt_out_regs + 64], r8
        mov [rip + rt_out_regs + 72], r9
        mov [rip + rt_out_regs + 80], r10
        mov [rip + rt_out_regs + 88], r11
        mov [rip + rt_out_regs + 96], r12
        mov [rip + rt_out_regs + 104], r13
        mov [rip + rt_out_regs + 112], r14
        mov [rip + rt_out_regs + 120], r15
        cld
        add rsp, 8
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
        .size rt_run64, . - rt_run64

        .globl rt_run32
        .type rt_run32, @function
rt_run32:
        push rbx
        push rbp
        push r12
        push r13
        push r14
        push r15
        mov [rip + rt_saved_rsp], rsp
        mov word ptr [rip + rt_saved_ds], ds
        mov word ptr [rip + rt_saved_es], es
        lea rsp, [rip + rt_lowstack_top]
        jmp fword ptr [rip + rt_far32]      /* FF /5 m16:32 -> 0x23:rt_entry32 */

        .code32
rt_entry32:
        mov eax, 0x2b                       /* __USER_DS: null DS/ES fault in compat mode */
        mov ds, eax
        mov es, eax
        mov ss, eax
        push dword ptr [rt_in_flags]
        popfd
        mov eax, [rt_in_regs + 0]
        mov ecx, [rt_in_regs + 8]
        mov edx, [rt_in_regs + 16]
        mov ebx, [rt_in_regs + 24]
        mov ebp, [rt_in_regs + 40]
        mov esi, [rt_in_regs + 48]
        mov edi, [rt_in_regs + 56]
        call dword ptr [rt_target]
        pushfd
        pop dword ptr [rt_out_flags]
        mov [rt_out_regs + 0], eax
        mov [rt_out_regs + 8], ecx
        mov [rt_out_regs + 16], edx
        mov [rt_out_regs + 24], ebx
        mov [rt_out_regs + 40], ebp
        mov [rt_out_regs + 48], esi
        mov [rt_out_regs + 56], edi
        cld
        ljmp 0x33, offset rt_back64

        .code64
rt_back64:
        mov ds, word ptr [rip + rt_saved_ds]
        mov es, word ptr [rip + rt_saved_es]
        mov rsp, [rip + rt_saved_rsp]
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbp
        pop rbx
        ret
        .size rt_run32, . - rt_run32

        .section .note.GNU-stack,"",@progbits
