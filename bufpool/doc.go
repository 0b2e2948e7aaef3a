// Package bufpool lends byte buffers with a hard size cap.
package bufpool
