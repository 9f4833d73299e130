package main

import (
	"math/rand"
)

// A token is a word followed by its emit stamp: " word~<stamp>". The words follow a Zipf
// law over a fixed vocabulary, as a language's do, and the stamp is written in punctuation
// only, which PostgreSQL's text search parser skips. A stamp made of letters and digits
// made every token a lexeme never seen before, so the full-text index of answers grew by
// 300 new keys per answer (73 MB for 13 000 answers), which no language does; at that size
// an answer's end cost 3.6 ms in pgbench against 1.6 ms for the same answer in words.
const stampDigits = "!#$%()*+,:;=?@[]"

var stampValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(stampDigits); i++ {
		t[stampDigits[i]] = int8(i)
	}
	return t
}()

// appendStamp writes v in base 16 with stampDigits, most significant first.
func appendStamp(out []byte, v int64) []byte {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = stampDigits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(out, buf[i:]...)
}

// readStamp parses the stamp starting at frame[i]; n is how many bytes it spans (0: none).
func readStamp(frame []byte, i int) (v int64, n int) {
	for j := i; j < len(frame); j++ {
		d := stampValue[frame[j]]
		if d < 0 {
			return v, j - i
		}
		v = v<<4 | int64(d)
	}
	return v, len(frame) - i
}

const vocabularySize = 20_000

var vocabulary = func() []string {
	const consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
	words := make([]string, vocabularySize)
	for i := range words {
		// two or three syllables: base-90 digits of i+90, so every word differs
		var w []byte
		for n := i + 90; n > 0; n /= 90 {
			s := n % 90
			w = append(w, consonants[s/5], vowels[s%5])
		}
		words[i] = string(w)
	}
	return words
}()

// words draws an answer's words; one per answer (a rand.Rand is not safe to share).
type words struct{ z *rand.Zipf }

func newWords(seed int64) words {
	return words{rand.NewZipf(rand.New(rand.NewSource(seed)), 1.1, 1, vocabularySize-1)}
}

func (w words) next() string { return vocabulary[w.z.Uint64()] }
