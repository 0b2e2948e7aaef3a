package engine

import (
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// permessage-deflate (RFC 7692) on a connection. Without context takeover a connection holds no
// compression state: two bytes of its reader (whether deflate is on and its parameters, packed)
// and a flag for the message being read. Compressors and decompressors are pooled (sync.Pool is
// per P, and a loop never yields inside a message) and reset per message. With context takeover
// only the sliding windows are kept, 2^bits bytes each way at most, in the optional state, and
// restored as the dictionary of the next message, as gws does.

// Defaults of DeflateConfig fields left zero.
const (
	DefaultDeflateThreshold = 512 // bytes: smaller messages gain little and cost a compressor's time
	DefaultDeflateLevel     = flate.BestSpeed
)

// DeflateConfig enables permessage-deflate on the connections of a Config.
type DeflateConfig struct {
	// DeflateConfig is the mode, context takeover or not, and the largest window kept with it.
	codec.DeflateConfig
	// Threshold is the size below which a data message is sent uncompressed (0: 512).
	Threshold int
	// Level is the compression level, flate's 1 (fastest) to 9 (smallest), used with a full 32 KiB
	// window (0: 1). A smaller negotiated window uses klauspost/compress's windowed encoder, which
	// has one level of its own.
	Level int
}

func (d *DeflateConfig) threshold() int {
	if d.Threshold > 0 {
		return d.Threshold
	}
	return DefaultDeflateThreshold
}

func (d *DeflateConfig) level() int {
	if d.Level >= flate.BestSpeed && d.Level <= flate.BestCompression {
		return d.Level
	}
	return DefaultDeflateLevel
}

// pmd is the negotiated permessage-deflate of a connection, packed in two bytes: 0 when none was
// negotiated; otherwise pmdOn, the two no-context-takeover flags, and the two windows as the
// answer named them (4 bits each, 0 when not named).
type pmd uint16

const (
	pmdOn          pmd = 1 << 0
	pmdServerReset pmd = 1 << 1
	pmdClientReset pmd = 1 << 2
	pmdServerShift     = 4
	pmdClientShift     = 8
)

func packPMD(p codec.DeflateParams) pmd {
	s := pmdOn | pmd(p.ServerMaxWindowBits)<<pmdServerShift | pmd(p.ClientMaxWindowBits)<<pmdClientShift
	if p.ServerNoContextTakeover {
		s |= pmdServerReset
	}
	if p.ClientNoContextTakeover {
		s |= pmdClientReset
	}
	return s
}

func (s pmd) params() codec.DeflateParams {
	return codec.DeflateParams{
		ServerNoContextTakeover: s&pmdServerReset != 0,
		ClientNoContextTakeover: s&pmdClientReset != 0,
		ServerMaxWindowBits:     int(s>>pmdServerShift) & 0xf,
		ClientMaxWindowBits:     int(s>>pmdClientShift) & 0xf,
	}
}

// deflateWindows are the sliding windows of a connection with context takeover: the last bytes
// of plaintext sent (out, under c.mu) and received (in, loop only), each capped at its direction's
// window, nil for a direction that resets per message.
type deflateWindows struct {
	out, in []byte
}

// slide appends p to the window w of capacity size, keeping the last size bytes.
func slide(w, p []byte, size int) []byte {
	if w == nil {
		w = make([]byte, 0, size)
	}
	if len(p) >= size {
		return append(w[:0], p[len(p)-size:]...)
	}
	if keep := size - len(p); len(w) > keep {
		w = w[:copy(w, w[len(w)-keep:])]
	}
	return append(w, p...)
}

// setDeflate records the negotiated p on the connection, before it opens: the windows its
// context takeover needs, if any.
func (c *Conn) setDeflate(p codec.DeflateParams) {
	c.rd.pmd = packPMD(p)
	outKeep, _ := p.Outgoing(c.cfg.Role)
	inKeep, _ := p.Incoming(c.cfg.Role)
	if outKeep || inKeep {
		c.optional().win = new(deflateWindows)
	}
}

// negotiateDeflate chooses the server's answer to the client's offers, when deflate is on.
func (c *Conn) negotiateDeflate(req *codec.Request) {
	if c.cfg.Deflate == nil {
		return
	}
	if p, ok := codec.NegotiateDeflate(req.Extensions, c.cfg.Deflate.DeflateConfig); ok {
		c.setDeflate(p)
	}
}

// deflateHeader returns the headers of the 101: extra, plus the permessage-deflate answer when one
// was negotiated (extra is not modified).
func (c *Conn) deflateHeader(extra []codec.HeaderField) []codec.HeaderField {
	if c.rd.pmd == 0 {
		return extra
	}
	return append(extra[:len(extra):len(extra)], codec.HeaderField{Name: "Sec-WebSocket-Extensions", Value: c.rd.pmd.params().Answer()})
}

// offerDeflate adds the client's permessage-deflate offer to req, when deflate is on.
func (c *Conn) offerDeflate(req *codec.ClientRequest) {
	if c.cfg.Deflate == nil {
		return
	}
	offer := codec.DeflateOffer(c.cfg.Deflate.DeflateConfig)
	if req.Extensions != "" {
		offer = req.Extensions + ", " + offer
	}
	req.Extensions = offer
}

// acceptDeflate checks the server's answer to the client's offer and records what it chose.
func (c *Conn) acceptDeflate(resp *codec.Response) error {
	if c.cfg.Deflate == nil {
		return nil
	}
	p, ok, err := codec.AcceptDeflate(resp.Extensions, c.cfg.Deflate.DeflateConfig)
	if ok {
		c.setDeflate(p)
	}
	return err
}

// parseHeader parses a frame header, with RSV1 allowed on first frames when deflate is on.
func (c *Conn) parseHeader(in []byte) (codec.Header, int, error) {
	if c.rd.pmd != 0 {
		return codec.ParseHeaderDeflate(in, c.cfg.Role, c.cfg.maxMessage())
	}
	return codec.ParseHeader(in, c.cfg.Role, c.cfg.maxMessage())
}

// compresses reports whether a data message of n bytes goes compressed. c.mu is held.
func (c *Conn) compresses(n int) bool {
	return c.rd.pmd != 0 && n >= c.cfg.Deflate.threshold()
}

// deflateAhead compresses payload before its send takes the lock for good, when the connection is
// open, compresses a message of this size and keeps no context in its sending direction: then
// the compressed bytes depend on the payload alone, and the loop, which takes the same lock every
// turn, does not wait for a sender's compression. It returns nil otherwise (the payload is then
// compressed, or not, under the lock, in queue order, as context takeover needs). The caller gives
// the buffer back.
func (c *Conn) deflateAhead(payload []byte) *bufpool.Buffer {
	if c.cfg.Deflate == nil || len(payload) < c.cfg.Deflate.threshold() {
		return nil // never compressed: no need to look at the connection
	}
	c.mu.Lock()
	alone := c.state == Open && c.compresses(len(payload))
	takeover, bits := false, 0
	if alone {
		takeover, bits = c.rd.pmd.params().Outgoing(c.cfg.Role)
	}
	c.mu.Unlock()
	if !alone || takeover {
		return nil
	}
	z := bufpool.Get()
	z.B = deflate(z.B, payload, nil, c.cfg.Deflate.level(), bits)
	return z
}

// appendDeflatedLocked queues payload compressed, as one frame with RSV1. c.mu is held.
func (c *Conn) appendDeflatedLocked(op codec.Opcode, payload []byte) {
	takeover, bits := c.rd.pmd.params().Outgoing(c.cfg.Role)
	var dict []byte
	if takeover {
		dict = c.opt.win.out
	}
	z := bufpool.Get()
	z.B = deflate(z.B, payload, dict, c.cfg.Deflate.level(), bits)
	c.queue().appendCompressed(c.cfg.Role, op, z.B)
	bufpool.Put(z)
	if takeover {
		c.opt.win.out = slide(c.opt.win.out, payload, 1<<bits)
	}
}

// appendSharedDeflateLocked queues the prepared frame s on a connection with deflate, when its
// payload is to be compressed: the compressed variant of s, built once for all connections that
// reset their context and use the full window, or compressed for this connection alone. It
// reports whether it queued anything. c.mu is held and the send was allowed.
func (c *Conn) appendSharedDeflateLocked(s *Shared) bool {
	payload := s.Payload()
	if !c.compresses(len(payload)) {
		return false
	}
	if takeover, bits := c.rd.pmd.params().Outgoing(c.cfg.Role); takeover || bits < codec.MaxWindowBits {
		c.appendDeflatedLocked(s.op, payload)
		return true
	}
	c.queue().appendShared(s.deflated(c.cfg.Deflate.level()))
	return true
}

// appendCompressed queues a frame with RSV1 whose payload z is compressed, masked for a client.
func (q *outq) appendCompressed(role codec.Role, op codec.Opcode, z []byte) {
	h := codec.Header{Fin: true, Rsv: 4, Opcode: op, Length: int64(len(z))}
	if role == codec.ClientRole {
		h.Masked, h.Mask = true, maskKey()
	}
	b := q.buffer()
	b.B = slices.Grow(b.B, codec.MaxHeaderLen+len(z))
	b.B = codec.AppendHeader(b.B, h)
	n := len(b.B)
	b.B = append(b.B, z...)
	if h.Masked {
		codec.Mask(h.Mask, 0, b.B[n:])
	}
}

// deflated returns the compressed variant of the prepared frame s, building it on first use. It
// lives as long as s.
func (s *Shared) deflated(level int) *Shared {
	if z := s.z.Load(); z != nil {
		return z
	}
	payload := s.Payload()
	z := &Shared{buf: bufpool.Get(), op: s.op}
	tmp := bufpool.Get()
	tmp.B = deflate(tmp.B, payload, nil, level, codec.MaxWindowBits)
	z.buf.B = slices.Grow(z.buf.B, codec.MaxHeaderLen+len(tmp.B))
	z.buf.B = codec.AppendHeader(z.buf.B, codec.Header{Fin: true, Rsv: 4, Opcode: s.op, Length: int64(len(tmp.B))})
	z.buf.B = append(z.buf.B, tmp.B...)
	bufpool.Put(tmp)
	z.refs.Store(1)
	if !s.z.CompareAndSwap(nil, z) {
		z.release()
		return s.z.Load()
	}
	return z
}

// deflater is a pooled compressor and the sink it writes to.
type deflater struct {
	w    *flate.Writer
	sink sink
}

// sink appends what is written to b.
type sink struct{ b []byte }

func (s *sink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// deflaters pools compressors: one pool per window below 15 bits (klauspost's windowed encoder),
// then one per level with the full window.
var deflaters [codec.MaxWindowBits - codec.MinWindowBits + flate.BestCompression + 1]sync.Pool

// deflate appends payload compressed to dst, as RFC 7692 section 7.2.1 has it: flushed, with the
// final 0x00 0x00 0xff 0xff removed; dict is the window kept from earlier messages (nil without
// context takeover), bits the window to stay within.
func deflate(dst, payload, dict []byte, level, bits int) []byte {
	i := bits - codec.MinWindowBits
	if bits == codec.MaxWindowBits {
		i += level
	}
	d, _ := deflaters[i].Get().(*deflater)
	if d == nil {
		d = new(deflater)
		if bits < codec.MaxWindowBits {
			d.w, _ = flate.NewWriterWindow(&d.sink, 1<<bits) // bits is 8..14: a valid window
		} else {
			d.w, _ = flate.NewWriter(&d.sink, level) // level is 1..9: valid
		}
	}
	d.sink.b = dst
	d.w.ResetDict(&d.sink, dict)
	_, _ = d.w.Write(payload) // the sink never fails
	_ = d.w.Flush()
	out := d.sink.b
	d.sink.b = nil
	d.w.ResetDict(&d.sink, nil) // drop the reference to dict
	deflaters[i].Put(d)
	if n := len(out); n >= 4 && out[n-4] == 0 && out[n-3] == 0 && out[n-2] == 0xff && out[n-1] == 0xff {
		out = out[:n-4]
	}
	return out
}

// inflater is a pooled decompressor and its input: a compressed message, then the tail RFC 7692
// section 7.2.2 has the receiver append.
type inflater struct {
	r   io.ReadCloser
	src tailReader
}

var inflaters = sync.Pool{New: func() any {
	f := new(inflater)
	f.r = flate.NewReader(&f.src)
	return f
}}

// deflateTail ends every compressed message once its sender removed it.
var deflateTail = [4]byte{0, 0, 0xff, 0xff}

// tailReader reads p, then deflateTail. It is an io.ByteReader, so that flate reads no further
// than it needs and wraps it in nothing.
type tailReader struct {
	p    []byte
	tail int // bytes of deflateTail read
}

func (r *tailReader) Read(b []byte) (int, error) {
	if len(r.p) > 0 {
		n := copy(b, r.p)
		r.p = r.p[n:]
		return n, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(b, deflateTail[r.tail:])
	r.tail += n
	return n, nil
}

func (r *tailReader) ReadByte() (byte, error) {
	if len(r.p) > 0 {
		c := r.p[0]
		r.p = r.p[1:]
		return c, nil
	}
	if r.tail == len(deflateTail) {
		return 0, io.EOF
	}
	r.tail++
	return deflateTail[r.tail-1], nil
}

// inflate appends the decompressed z to out, with dict as the history, growing out to at most
// limit bytes: a message that inflates past it is ErrMessageTooBig (1009) before more is
// allocated, invalid data ErrInvalidDeflate (1007).
func inflate(out *bufpool.Buffer, z, dict []byte, limit int) error {
	f := inflaters.Get().(*inflater)
	defer func() {
		f.src = tailReader{} // hold no reference to the message
		inflaters.Put(f)
	}()
	f.src = tailReader{p: z}
	if err := f.r.(flate.Resetter).Reset(&f.src, dict); err != nil {
		return codec.ErrInvalidDeflate
	}
	for {
		if len(out.B) >= limit {
			var one [1]byte
			if n, err := f.r.Read(one[:]); n > 0 {
				return codec.ErrMessageTooBig
			} else if err != io.EOF && (err != io.ErrUnexpectedEOF || f.src.tail != len(deflateTail)) {
				return codec.ErrInvalidDeflate
			}
			return nil
		}
		if len(out.B) == cap(out.B) {
			out.B = slices.Grow(out.B, min(max(len(out.B), 512), limit-len(out.B)))
		}
		n, err := f.r.Read(out.B[len(out.B):min(cap(out.B), limit)])
		out.B = out.B[:len(out.B)+n]
		switch {
		case err == nil:
		case err == io.EOF || (err == io.ErrUnexpectedEOF && f.src.tail == len(deflateTail)):
			return nil // the end of a final block, or of the input at a flush point
		default:
			return codec.ErrInvalidDeflate
		}
	}
}

// inflateMessage decompresses the message z of type op and delivers it, with what a text message
// needs (UTF-8 validation) and the connection's context kept when takeover was negotiated. It
// reports false when the connection failed.
func (c *Conn) inflateMessage(op codec.Opcode, z []byte) bool {
	takeover, bits := c.rd.pmd.params().Incoming(c.cfg.Role)
	var dict []byte
	if takeover {
		dict = c.opt.win.in
	}
	out := bufpool.Get()
	if err := inflate(out, z, dict, int(c.cfg.maxMessage())); err != nil {
		bufpool.Put(out)
		c.failProtocol(err)
		return false
	}
	if takeover {
		c.opt.win.in = slide(c.opt.win.in, out.B, 1<<bits)
	}
	if op == codec.OpText && !codec.ValidUTF8(out.B) {
		bufpool.Put(out)
		c.failProtocol(codec.ErrInvalidUTF8)
		return false
	}
	if op == codec.OpBinary && c.ev.StreamBinary() {
		if c.deliverable() {
			c.ev.StreamStart()
			c.ev.StreamChunk(out.B)
			c.ev.StreamEnd(nil)
		}
		bufpool.Put(out)
		return true
	}
	c.retire(out, c.deliver(op, out.B))
	return true
}
