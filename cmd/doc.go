// Package cmd holds the wsloop programs, one folder each: echo (the server every check runs
// against), chat (the original's chat sample) and loadgen (the load generator).
package cmd
