//go:build amd64 && !purego

#include "textflag.h"

// Both kernels XOR b in place with the 32-bit key k repeated, k's low byte meeting b[0]. From
// alignFrom bytes on, a head first brings DI to a vector boundary, so that no vector load or store
// straddles two cache lines (a slice that follows a frame header seldom starts aligned). After the
// head every vector and word step covers a multiple of 4 bytes, so the key stays in phase with no
// rotation until the last 0 to 3 bytes, which take its low bytes one at a time. Every load and
// store lies within b: each step runs only while at least its width remains.
//
// Registers: DI the next byte, CX the bytes left, AX the key repeated over 64 bits and in phase
// with DI.

// alignFrom is the length from which the kernels align DI first; below it the head costs more
// than the split accesses it saves.
#define alignFrom 256

// KEY64 loads k from the arguments into AX, repeated over 64 bits, and b into DI and CX.
#define KEY64 \
	MOVQ b_base+0(FP), DI \
	MOVQ b_len+8(FP), CX  \
	MOVL k+24(FP), AX     \
	MOVQ AX, DX           \
	SHLQ $32, DX          \
	ORQ  DX, AX

// func maskSSE2(b []byte, k uint32)
TEXT ·maskSSE2(SB), NOSPLIT, $0-28
	KEY64
	CMPQ CX, $16
	JB   sse2tail
	CMPQ CX, $alignFrom
	JB   sse2body
	MOVQ DI, BX
	NEGQ BX
	ANDQ $15, BX
	CALL maskHead<>(SB)

sse2body:
	MOVQ       AX, X0
	PUNPCKLQDQ X0, X0
	CMPQ       CX, $64
	JB         sse2loop16

sse2loop64:
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
	JAE   sse2loop64
	CMPQ  CX, $16
	JB    sse2tail

sse2loop16:
	MOVOU (DI), X1
	PXOR  X0, X1
	MOVOU X1, (DI)
	ADDQ  $16, DI
	SUBQ  $16, CX
	CMPQ  CX, $16
	JAE   sse2loop16

sse2tail:
	CALL maskTail<>(SB)
	RET

// func maskAVX2(b []byte, k uint32)
TEXT ·maskAVX2(SB), NOSPLIT, $0-28
	KEY64
	CMPQ CX, $16
	JB   avx2tail
	CMPQ CX, $alignFrom
	JB   avx2body
	MOVQ DI, BX
	NEGQ BX
	ANDQ $31, BX
	CALL maskHead<>(SB)

avx2body:
	MOVQ         AX, X0
	VPBROADCASTQ X0, Y0
	CMPQ         CX, $128
	JB           avx2loop32

avx2loop128:
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
	JAE     avx2loop128

avx2loop32:
	CMPQ    CX, $32
	JB      avx2last16
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $32, CX
	JMP     avx2loop32

avx2last16:
	CMPQ    CX, $16
	JB      avx2done
	VPXOR   (DI), X0, X1
	VMOVDQU X1, (DI)
	ADDQ    $16, DI
	SUBQ    $16, CX

avx2done:
	VZEROUPPER

avx2tail:
	CALL maskTail<>(SB)
	RET

// maskHead masks the BX < 32 bytes at DI that precede a vector boundary (the caller ensures
// CX > BX) in steps of 1, 2, 4, 8 and 16 bytes, each of which leaves DI aligned to twice its
// width, and rotates AX past the odd steps so that it stays in phase with DI.
TEXT maskHead<>(SB), NOSPLIT|NOFRAME, $0
	SUBQ  BX, CX
	TESTQ $1, BX
	JZ    head2
	XORB  AL, (DI)
	RORQ  $8, AX
	INCQ  DI

head2:
	TESTQ $2, BX
	JZ    head4
	XORW  AX, (DI)
	RORQ  $16, AX
	ADDQ  $2, DI

head4:
	TESTQ $4, BX
	JZ    head8
	XORL  AX, (DI)
	ADDQ  $4, DI

head8:
	TESTQ $8, BX
	JZ    head16
	XORQ  AX, (DI)
	ADDQ  $8, DI

head16:
	TESTQ $16, BX
	JZ    headdone
	XORQ  AX, (DI)
	XORQ  AX, 8(DI)
	ADDQ  $16, DI

headdone:
	RET

// maskTail finishes the last CX < 16 bytes at DI with the key in AX, in phase with DI.
TEXT maskTail<>(SB), NOSPLIT|NOFRAME, $0
	CMPQ CX, $8
	JB   tail4
	XORQ AX, (DI)
	ADDQ $8, DI
	SUBQ $8, CX

tail4:
	CMPQ CX, $4
	JB   tail1
	XORL AX, (DI)
	ADDQ $4, DI
	SUBQ $4, CX

tail1:
	TESTQ CX, CX
	JZ    done

loop1:
	XORB AL, (DI)
	SHRQ $8, AX
	INCQ DI
	DECQ CX
	JNZ  loop1

done:
	RET
