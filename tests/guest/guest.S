/*
 * guest.S - Ferry's migration test guest: one 512-byte boot sector.
 *
 * SeaBIOS loads it at 0x7c00 from a raw disk.  It enables A20, enters
 * 32-bit flat protected mode (no paging, no interrupts), prints
 * "FERRY-GUEST READY\n" on COM1 and then loops forever: for each 4 KiB page
 * in [start, end) it increments the page's first byte, spins `spin' times
 * (this sets the dirty rate), and after every `hb_pages' pages prints a
 * heartbeat "HB xxxxxxxx\n" (8 lowercase hex digits, the heartbeat count,
 * 1 first).  At any instant the first bytes read v+1 below the sweep and v
 * from it on (mod 256): tests/guest/guestcheck.c checks exactly that.
 * The rest of each page is never written.
 *
 * The parameter block sits at offset PARAMS_OFF of the image, found and
 * patched by tests/guest/mkguest.c (little-endian):
 *   +0  8 bytes  magic "FYGUEST1"
 *   +8  u32      start, bytes (page aligned, >= 1 MiB)
 *   +12 u32      end, bytes, exclusive (page aligned, > start)
 *   +16 u32      spin count between pages (0 = none)
 *   +20 u32      hb_pages, pages between heartbeats (>= 1)
 *   +24 u32      reserved, 0
 * The values assembled here are mkguest's defaults, so the template boots
 * as it is.  Keep them in step with DEF_* in mkguest.c (guest.sh checks).
 *
 * Registers in the loop: %ebx page address, %ebp pages to the next
 * heartbeat, %edi heartbeat count; %eax %ecx %edx %esi are scratch.  They
 * are part of the vCPU state, so a migrated guest continues the count.
 *
 * Built without the C flags (no sanitizers): assembled as a 64-bit object
 * with .code16/.code32, linked at 0x7c00 and cut out with objcopy -O binary.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define PARAMS_OFF	0x1c0
#define COM1		0x3f8
#define COM1_LSR	(COM1 + 5)
#define LSR_THRE	0x20
#define SEL_CODE	0x08
#define SEL_DATA	0x10

	.code16
	.text
	.globl	_start
_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	ljmp	$0, $real		/* some BIOSes jump to 07c0:0000 */
real:
	inb	$0x92, %al		/* fast A20; never the reset bit */
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92
	lgdtl	gdt_desc
	movl	%cr0, %eax
	orl	$1, %eax		/* PE */
	movl	%eax, %cr0
	ljmpl	$SEL_CODE, $pm

	.code32
pm:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	$0x7c00, %esp

	movl	$ready_msg, %esi
	call	puts
	xorl	%edi, %edi
	movl	p_hb, %ebp
sweep:
	movl	p_start, %ebx
page:
	incb	(%ebx)
	movl	p_spin, %ecx
	jecxz	spun
spin:
	decl	%ecx
	jnz	spin
spun:
	decl	%ebp
	jnz	next
	movl	p_hb, %ebp
	incl	%edi
	call	heartbeat
next:
	addl	$4096, %ebx
	cmpl	p_end, %ebx
	jb	page
	jmp	sweep

/* "HB " + %edi as 8 hex digits + "\n".  Clobbers %eax %ecx %edx. */
heartbeat:
	movb	$'H', %al
	call	putc
	movb	$'B', %al
	call	putc
	movb	$' ', %al
	call	putc
	movl	$8, %ecx
1:	roll	$4, %edi
	movl	%edi, %eax
	andb	$0x0f, %al
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	2f
	addb	$('a' - '0' - 10), %al
2:	call	putc
	loop	1b
	movb	$'\n', %al
	jmp	putc

/* Print the NUL-terminated string at %esi.  Clobbers %eax %edx %esi. */
puts:
	lodsb
	testb	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* Write %al to COM1 once the transmitter is empty.  Clobbers %edx. */
putc:
	pushl	%eax
	movw	$COM1_LSR, %dx
1:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jz	1b
	popl	%eax
	movw	$COM1, %dx
	outb	%al, %dx
	ret

ready_msg:
	.asciz	"FERRY-GUEST READY\n"

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: code, base 0, 4 GiB, 32-bit */
	.quad	0x00cf92000000ffff	/* 0x10: data, base 0, 4 GiB */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt

	.org	PARAMS_OFF
params:
	.ascii	"FYGUEST1"
p_start:
	.long	1 << 20
p_end:
	.long	100 << 20
p_spin:
	.long	10000
p_hb:
	.long	256
	.long	0

	.org	510
	.byte	0x55, 0xaa
