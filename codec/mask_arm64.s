//go:build arm64 && !purego

#include "textflag.h"

// func maskNEON(b []byte, k uint32)
//
// XORs b in place with the 32-bit key k repeated, k's low byte meeting b[0]. Every vector and
// word step covers a multiple of 4 bytes, so the key stays in phase until the last 0 to 3 bytes,
// which take its low bytes one at a time. Every load and store lies within b: each step runs only
// while at least its width remains. Unlike the amd64 kernels it does not align first: arm64 cores
// pay less for a vector access that straddles two cache lines.
//
// Registers: R0 the next byte, R1 the bytes left, R2 the key repeated over 64 bits, V0 over 128.
TEXT ·maskNEON(SB), NOSPLIT, $0-28
	MOVD  b_base+0(FP), R0
	MOVD  b_len+8(FP), R1
	MOVWU k+24(FP), R2
	ORR   R2<<32, R2, R2
	CMP   $16, R1
	BLT   tail
	VDUP  R2, V0.D2
	CMP   $64, R1
	BLT   loop16

loop64:
	VLD1  (R0), [V1.B16, V2.B16, V3.B16, V4.B16]
	VEOR  V0.B16, V1.B16, V1.B16
	VEOR  V0.B16, V2.B16, V2.B16
	VEOR  V0.B16, V3.B16, V3.B16
	VEOR  V0.B16, V4.B16, V4.B16
	VST1.P [V1.B16, V2.B16, V3.B16, V4.B16], 64(R0)
	SUB   $64, R1
	CMP   $64, R1
	BGE   loop64
	CMP   $16, R1
	BLT   tail

loop16:
	VLD1   (R0), [V1.B16]
	VEOR   V0.B16, V1.B16, V1.B16
	VST1.P [V1.B16], 16(R0)
	SUB    $16, R1
	CMP    $16, R1
	BGE    loop16

tail:
	// R1 < 16: its bits 3 and 2 say whether a word and a half word remain.
	TBZ    $3, R1, tail4
	MOVD   (R0), R3
	EOR    R2, R3
	MOVD.P R3, 8(R0)

tail4:
	TBZ    $2, R1, tail1
	MOVWU  (R0), R3
	EORW   R2, R3
	MOVW.P R3, 4(R0)

tail1:
	ANDS $3, R1
	BEQ  done

loop1:
	MOVBU  (R0), R3
	EORW   R2, R3
	MOVB.P R3, 1(R0)
	LSR    $8, R2
	SUBS   $1, R1
	BNE    loop1

done:
	RET
