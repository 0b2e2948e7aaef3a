//go:build amd64 && !purego

#include "textflag.h"

// Both kernels return the number of leading ASCII bytes of p (len(p) >= 32): the index of the
// first byte with its top bit set, which PMOVMSKB gathers 16 or 32 at a time, or len(p). The last
// block is the last 16 or 32 bytes of p, overlapping bytes already found ASCII, whose bits are
// clear; so every load lies within p.
//
// Registers: DI the start of p, SI the next byte, CX the bytes left.

// func asciiPrefixSSE2(p []byte) int
TEXT ·asciiPrefixSSE2(SB), NOSPLIT, $0-32
	MOVQ p_base+0(FP), DI
	MOVQ p_len+8(FP), CX
	MOVQ DI, SI

sse2loop64:
	CMPQ     CX, $64
	JB       sse2loop16
	MOVOU    (SI), X0
	MOVOU    16(SI), X1
	MOVOU    32(SI), X2
	MOVOU    48(SI), X3
	MOVOU    X0, X4
	POR      X1, X4
	MOVOU    X2, X5
	POR      X3, X5
	POR      X4, X5
	PMOVMSKB X5, AX
	TESTL    AX, AX
	JNZ      sse2found64
	ADDQ     $64, SI
	SUBQ     $64, CX
	JMP      sse2loop64

sse2loop16:
	CMPQ     CX, $16
	JB       sse2last
	MOVOU    (SI), X0
	PMOVMSKB X0, AX
	TESTL    AX, AX
	JNZ      sse2found
	ADDQ     $16, SI
	SUBQ     $16, CX
	JMP      sse2loop16

sse2last:
	LEAQ     -16(SI)(CX*1), SI
	MOVOU    (SI), X0
	PMOVMSKB X0, AX
	TESTL    AX, AX
	JNZ      sse2found
	MOVQ     p_len+8(FP), AX
	MOVQ     AX, ret+24(FP)
	RET

sse2found64:
	// The first of the four vectors with a bit set.
	PMOVMSKB X0, AX
	TESTL    AX, AX
	JNZ      sse2found
	ADDQ     $16, SI
	PMOVMSKB X1, AX
	TESTL    AX, AX
	JNZ      sse2found
	ADDQ     $16, SI
	PMOVMSKB X2, AX
	TESTL    AX, AX
	JNZ      sse2found
	ADDQ     $16, SI
	PMOVMSKB X3, AX

sse2found:
	BSFL AX, AX
	ADDQ SI, AX
	SUBQ DI, AX
	MOVQ AX, ret+24(FP)
	RET

// func asciiPrefixAVX2(p []byte) int
TEXT ·asciiPrefixAVX2(SB), NOSPLIT, $0-32
	MOVQ p_base+0(FP), DI
	MOVQ p_len+8(FP), CX
	MOVQ DI, SI

avx2loop64:
	CMPQ      CX, $64
	JB        avx2rest
	VMOVDQU   (SI), Y0
	VPOR      32(SI), Y0, Y1
	VPMOVMSKB Y1, AX
	TESTL     AX, AX
	JNZ       avx2found64
	ADDQ      $64, SI
	SUBQ      $64, CX
	JMP       avx2loop64

avx2rest:
	CMPQ      CX, $32
	JB        avx2last
	VMOVDQU   (SI), Y0
	VPMOVMSKB Y0, AX
	TESTL     AX, AX
	JNZ       avx2found
	ADDQ      $32, SI
	SUBQ      $32, CX

avx2last:
	LEAQ      -32(SI)(CX*1), SI
	VMOVDQU   (SI), Y0
	VPMOVMSKB Y0, AX
	TESTL     AX, AX
	JNZ       avx2found
	VZEROUPPER
	MOVQ      p_len+8(FP), AX
	MOVQ      AX, ret+24(FP)
	RET

avx2found64:
	// Y1 is both halves ORed: when the first has no bit set, Y1's bits are the second's.
	VPMOVMSKB Y0, AX
	TESTL     AX, AX
	JNZ       avx2found
	ADDQ      $32, SI
	VPMOVMSKB Y1, AX

avx2found:
	VZEROUPPER
	BSFL AX, AX
	ADDQ SI, AX
	SUBQ DI, AX
	MOVQ AX, ret+24(FP)
	RET
