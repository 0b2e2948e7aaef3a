package natsbroker

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// MaxEncodedTopic is the longest topic, in bytes, whose subject encodes it in full (base64url);
// longer topics are published on a subject that names their SHA-256, so that a subject always
// fits in the NATS control line.
const MaxEncodedTopic = 512

// topicSubject returns the NATS subject of topic under prefix: one token after the prefix, a
// kind letter then the topic's encoding. Both encodings use only [A-Za-z0-9_-], so a topic can
// never add a token, a wildcard or a space, and the letter keeps the two kinds apart.
func topicSubject(prefix, topic string) string {
	if len(topic) > MaxEncodedTopic {
		sum := sha256.Sum256([]byte(topic))
		return prefix + ".h" + hex.EncodeToString(sum[:])
	}
	var b strings.Builder
	b.Grow(len(prefix) + 2 + base64.RawURLEncoding.EncodedLen(len(topic)))
	b.WriteString(prefix)
	b.WriteString(".b")
	enc := base64.NewEncoder(base64.RawURLEncoding, &b)
	enc.Write([]byte(topic))
	enc.Close()
	return b.String()
}

// errBadPrefix says that a subject prefix is not a literal NATS subject.
var errBadPrefix = errors.New("natsbroker: the subject prefix must be dot-separated non-empty tokens without wildcards or spaces")

// checkPrefix says whether prefix is a literal NATS subject: non-empty tokens, no wildcard token,
// no whitespace or control character.
func checkPrefix(prefix string) error {
	for tok := range strings.SplitSeq(prefix, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return errBadPrefix
		}
	}
	return nil
}
