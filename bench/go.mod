module github.com/wsloop/wsloop/bench

go 1.26

require github.com/wsloop/wsloop v0.0.0

replace github.com/wsloop/wsloop => ../
