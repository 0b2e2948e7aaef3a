// Package bufpool lends byte buffers with a hard size cap.
//
// A connection borrows a buffer only while it holds bytes it cannot release yet (a partial frame, a
// fragmented message, unsent output) and gives it back the moment it is drained. Growing a buffer
// past its cap is an error, never a silent growth: the engine turns it into close 1009. Out reports
// how many buffers are lent, so a test can prove that a closed connection gave everything back.
//
// Buffers are pooled by size class, one sync.Pool per power of two from 512 B to 64 KiB, so that
// every size stays pooled whatever mix of sizes came before: a pool that calibrates to the sizes it
// sees, as bytebufferpool's does, drops the bigger buffers after a phase of small ones and then
// allocates for every bigger message. Buffer is bytebufferpool's ByteBuffer.
package bufpool
