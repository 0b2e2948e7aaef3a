// Package bufpool lends byte buffers with a hard size cap.
//
// It is a thin layer over github.com/valyala/bytebufferpool. A connection borrows a buffer only
// while it holds bytes it cannot release yet (a partial frame, a fragmented message, unsent output)
// and gives it back the moment it is drained. Growing a buffer past its cap is an error, never a
// silent growth: the engine turns it into close 1009. Out reports how many buffers are lent, so a
// test can prove that a closed connection gave everything back.
package bufpool
