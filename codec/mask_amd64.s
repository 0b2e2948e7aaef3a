//go:build amd64 && !purego

#include "textflag.h"

// Both kernels XOR b in place with the 32-bit key k repeated, k's low byte meeting b[0]. From
// vecAlignFrom bytes on, a head first brings DI to a vector boundary, so that no vector load or
// store straddles two cache lines (a slice that follows a frame header seldom starts aligned).
// After the head every vector and word step covers a multiple of 4 bytes, so the key stays in
// phase with no rotation until the last 0 to 3 bytes, which take its low bytes one at a time.
// Every load and store lies within b: the loop runs only while a whole step remains, and the
// steps after it are chosen by the bits of the count left, each width at most once.
//
// The path of a short slice is kept as short as can be, since at 64 bytes every instruction
// shows: the vector key is broadcast straight from the argument, the shared steps are macros
// rather than calls (the kernels stay leaf functions, without a frame), and the scalar key is
// taken from the vector one only when a tail needs it.
//
// Registers: DI the next byte, CX the bytes left, X0 (Y0) the key in phase with DI, AX the key
// repeated over 64 bits, in phase with DI, where the head and the tail need it.

// vecAlignFrom is the length from which the kernels align DI first; below it the head costs more
// than the split accesses it saves.
#define vecAlignFrom 256

// KEY64 loads k into AX, repeated over 64 bits.
#define KEY64 \
	MOVL k+24(FP), AX \
	MOVQ AX, DX       \
	SHLQ $32, DX      \
	ORQ  DX, AX

// HEAD masks the bytes before the next multiple of align+1 (16 or 32) from DI, CX > align, in
// steps of 1, 2, 4, 8 and 16 bytes, each of which leaves DI aligned to twice its width, and
// rotates AX past the odd steps so that it stays in phase with DI. It uses BX.
#define HEAD(align) \
	MOVQ  DI, BX       \
	NEGQ  BX           \
	ANDQ  $align, BX   \
	SUBQ  BX, CX       \
	TESTQ $1, BX       \
	JZ    head2        \
	XORB  AL, (DI)     \
	RORQ  $8, AX       \
	INCQ  DI           \
head2:                 \
	TESTQ $2, BX       \
	JZ    head4        \
	XORW  AX, (DI)     \
	RORQ  $16, AX      \
	ADDQ  $2, DI       \
head4:                 \
	TESTQ $4, BX       \
	JZ    head8        \
	XORL  AX, (DI)     \
	ADDQ  $4, DI       \
head8:                 \
	TESTQ $8, BX       \
	JZ    head16       \
	XORQ  AX, (DI)     \
	ADDQ  $8, DI       \
head16:                \
	TESTQ $16, BX      \
	JZ    headdone     \
	XORQ  AX, (DI)     \
	XORQ  AX, 8(DI)    \
	ADDQ  $16, DI      \
headdone:

// TAIL masks the last CX&15 bytes at DI with AX (bits 3, 2, then the last 0 to 3 bytes one at a
// time) and returns.
#define TAIL \
	TESTQ $15, CX     \
	JZ    taildone    \
	TESTQ $8, CX      \
	JZ    tail4       \
	XORQ  AX, (DI)    \
	ADDQ  $8, DI      \
tail4:                \
	TESTQ $4, CX      \
	JZ    tail1       \
	XORL  AX, (DI)    \
	ADDQ  $4, DI      \
tail1:                \
	ANDQ  $3, CX      \
	JZ    taildone    \
tailloop:             \
	XORB  AL, (DI)    \
	SHRQ  $8, AX      \
	INCQ  DI          \
	DECQ  CX          \
	JNZ   tailloop    \
taildone:             \
	RET

// func maskKernel(b []byte, key [4]byte, pos int)
//
// The kernels take k where maskKernel has key, at the same offset: it rotates the key there (a
// callee owns its argument slots) and jumps.
TEXT ·maskKernel(SB), NOSPLIT, $0-40
	LEAQ key+24(FP), DX // through a pointer: vet checks an array argument byte by byte
	MOVL (DX), AX
	MOVQ pos+32(FP), CX
	SHLL $3, CX
	RORL CX, AX
	MOVL AX, (DX)
	CMPB ·maskAVX2Enabled(SB), $0
	JNE  avx2
	JMP  ·maskSSE2(SB)

avx2:
	JMP ·maskAVX2(SB)

// func maskSSE2(b []byte, k uint32)
TEXT ·maskSSE2(SB), NOSPLIT, $0-28
	MOVQ   b_base+0(FP), DI
	MOVQ   b_len+8(FP), CX
	CMPQ   CX, $16
	JB     short
	CMPQ   CX, $vecAlignFrom
	JAE    align
	MOVL   k+24(FP), X0
	PSHUFD $0, X0, X0

body:
	CMPQ CX, $64
	JB   rest

loop64:
	MOVOU (DI), X1
	MOVOU 16(DI), X2
	MOVOU 32(DI), X3
	MOVOU 48(DI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)
	MOVOU X3, 32(DI)
	MOVOU X4, 48(DI)
	ADDQ  $64, DI
	SUBQ  $64, CX
	CMPQ  CX, $64
	JAE   loop64

rest:
	// CX < 64: bits 5 and 4 say whether 32 and 16 bytes remain.
	TESTQ $32, CX
	JZ    rest16
	MOVOU (DI), X1
	MOVOU 16(DI), X2
	PXOR  X0, X1
	PXOR  X0, X2
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)
	ADDQ  $32, DI

rest16:
	TESTQ $16, CX
	JZ    vdone
	MOVOU (DI), X1
	PXOR  X0, X1
	MOVOU X1, (DI)
	ADDQ  $16, DI

vdone:
	MOVQ X0, AX

tail:
	TAIL

short:
	KEY64
	JMP tail

align:
	KEY64
	HEAD(15)
	MOVQ       AX, X0
	PUNPCKLQDQ X0, X0
	JMP        body

// func maskAVX2(b []byte, k uint32)
//
// Below 32 bytes it touches no YMM register, and so needs no VZEROUPPER.
TEXT ·maskAVX2(SB), NOSPLIT, $0-28
	MOVQ         b_base+0(FP), DI
	MOVQ         b_len+8(FP), CX
	CMPQ         CX, $32
	JB           short
	CMPQ         CX, $vecAlignFrom
	JAE          align
	LEAQ         k+24(FP), DX
	VPBROADCASTD (DX), Y0

body:
	CMPQ CX, $128
	JB   rest

loop128:
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JAE     loop128

rest:
	// CX < 128: bits 6, 5 and 4 say whether 64, 32 and 16 bytes remain.
	TESTQ   $64, CX
	JZ      rest32
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	ADDQ    $64, DI

rest32:
	TESTQ   $32, CX
	JZ      rest16
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI

rest16:
	TESTQ   $16, CX
	JZ      vdone
	VPXOR   (DI), X0, X1
	VMOVDQU X1, (DI)
	ADDQ    $16, DI

vdone:
	MOVQ       X0, AX
	VZEROUPPER

tail:
	TAIL

short:
	// CX < 32: bit 4 says whether 16 bytes remain before the tail.
	KEY64
	TESTQ $16, CX
	JZ    tail
	XORQ  AX, (DI)
	XORQ  AX, 8(DI)
	ADDQ  $16, DI
	JMP   tail

align:
	KEY64
	HEAD(31)
	MOVQ         AX, X0
	VPBROADCASTQ X0, Y0
	JMP          body
