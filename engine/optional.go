package engine

// optional is the loop-lifetime state that only some connections need: keepalive's, and the
// compression windows of a permessage-deflate with context takeover. A connection with neither
// pays one nil pointer for both; the struct is allocated the first time one of them is needed.
type optional struct {
	ka   keepalive
	kaOn bool            // keepalive runs: ka is in use
	win  *deflateWindows // nil unless context takeover was negotiated in some direction
}

// optional returns the connection's optional state, allocating it the first time. Loop only, or
// before the connection opens.
func (c *Conn) optional() *optional {
	if c.opt == nil {
		c.opt = new(optional)
	}
	return c.opt
}

// kaState returns the keepalive state, nil while keepalive is off.
func (c *Conn) kaState() *keepalive {
	if c.opt == nil || !c.opt.kaOn {
		return nil
	}
	return &c.opt.ka
}
