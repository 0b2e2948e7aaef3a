package natsbroker

import (
	"encoding/base64"
	"strings"
	"testing"
)

// checkSubject says why subject is not the safe encoding of topic under prefix, or "" if it is:
// the prefix, then one token of [A-Za-z0-9_-] after a kind letter, which decodes to topic (kind
// 'b') or is 64 hex digits (kind 'h', for a topic over MaxEncodedTopic bytes).
func checkSubject(prefix, topic, subject string) string {
	rest, ok := strings.CutPrefix(subject, prefix+".")
	if !ok {
		return "does not start with the prefix"
	}
	if rest == "" {
		return "has an empty token"
	}
	for _, c := range []byte(rest) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return "holds " + string(c)
		}
	}
	switch kind, enc := rest[0], rest[1:]; {
	case len(topic) > MaxEncodedTopic:
		if kind != 'h' || len(enc) != 64 || strings.Trim(enc, "0123456789abcdef") != "" {
			return "is not the hashed form"
		}
	case kind != 'b':
		return "is not the base64url form"
	default:
		dec, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || string(dec) != topic {
			return "does not decode to the topic"
		}
	}
	return ""
}

// Every topic, whatever it holds, maps to one literal subject token that decodes back to it;
// distinct topics get distinct subjects, and long ones a bounded subject.
func TestTopicSubject(t *testing.T) {
	topics := []string{"", "a", "room.1", "*", ">", "a.*.>", "with spaces\tand\ttabs\r\n", "ünïcødé", "\x00\xff",
		"..", strings.Repeat("x", MaxEncodedTopic), strings.Repeat("x", MaxEncodedTopic+1), strings.Repeat("y.", 5000)}
	seen := map[string]string{}
	for _, topic := range topics {
		subject := topicSubject("wsloop", topic)
		if why := checkSubject("wsloop", topic, subject); why != "" {
			t.Errorf("subject %q of topic %q %s", subject, topic, why)
		}
		if len(subject) > len("wsloop.b")+base64.RawURLEncoding.EncodedLen(MaxEncodedTopic) {
			t.Errorf("subject of a %d-byte topic is %d bytes", len(topic), len(subject))
		}
		if other, dup := seen[subject]; dup {
			t.Errorf("topics %q and %q share subject %q", other, topic, subject)
		}
		seen[subject] = topic
	}
}

// The prefix must be a literal subject.
func TestCheckPrefix(t *testing.T) {
	for prefix, ok := range map[string]bool{"wsloop": true, "a.b-c_d": true, "": false, "a.": false, ".a": false,
		"a..b": false, "a.*": false, ">": false, "a b": false, "a\tb": false} {
		if err := checkPrefix(prefix); (err == nil) != ok {
			t.Errorf("checkPrefix(%q) = %v", prefix, err)
		}
	}
}

func FuzzTopicSubject(f *testing.F) {
	for _, s := range []string{"", "a.b", "*", ">", " x ", strings.Repeat("z", MaxEncodedTopic+1)} {
		f.Add(s, "other")
	}
	f.Fuzz(func(t *testing.T, topic, other string) {
		subject := topicSubject("wsloop", topic)
		if why := checkSubject("wsloop", topic, subject); why != "" {
			t.Fatalf("subject %q of topic %q %s", subject, topic, why)
		}
		if other != topic && topicSubject("wsloop", other) == subject {
			t.Fatalf("topics %q and %q share subject %q", topic, other, subject)
		}
	})
}
