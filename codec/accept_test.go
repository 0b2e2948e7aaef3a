package codec

import "testing"

func TestAcceptRFCExample(t *testing.T) {
	// RFC 6455 section 1.3.
	got := AppendAccept(nil, []byte("dGhlIHNhbXBsZSBub25jZQ=="))
	if string(got) != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept = %q", got)
	}
	if !CheckAccept([]byte("dGhlIHNhbXBsZSBub25jZQ=="), got) {
		t.Fatal("CheckAccept rejected the RFC value")
	}
	if CheckAccept([]byte("dGhlIHNhbXBsZSBub25jZQ=="), []byte("s3pPLMBiTxaQ9kYGzzhZRbK+xOo!")) {
		t.Fatal("CheckAccept accepted a wrong value")
	}
	long := make([]byte, 100)
	if len(AppendAccept(nil, long)) != AcceptLen {
		t.Fatal("long key")
	}
}

func BenchmarkAppendAccept(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendAccept(buf[:0], key)
	}
}
