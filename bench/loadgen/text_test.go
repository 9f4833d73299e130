package main

import "testing"

func TestStampRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 15, 16, 255, 123_456_789, 1 << 40} {
		frame := appendStamp([]byte("x~"), v)
		frame = append(frame, '"')
		got, n := readStamp(frame, 2)
		if got != v || n != len(frame)-3 {
			t.Fatalf("stamp %d read back as %d over %d bytes", v, got, n)
		}
	}
}

func TestMarksCountsEveryTokenOfAMergedDelta(t *testing.T) {
	text := newWords(1)
	frame := []byte(`{"type":"response.delta","delta":"`)
	for i := 0; i < 3; i++ {
		frame = append(frame, ' ')
		frame = append(frame, text.next()...)
		frame = append(frame, '~')
		frame = appendStamp(frame, int64(100+i))
	}
	frame = append(frame, `"}`...)
	before := delivered.Load()
	marks(frame, 110)
	if got := delivered.Load() - before; got != 3 {
		t.Fatalf("counted %d tokens in %s", got, frame)
	}
}

func TestWordsRepeatLikeALanguage(t *testing.T) {
	text := newWords(2)
	seen := map[string]int{}
	for i := 0; i < 300; i++ {
		seen[text.next()]++
	}
	// a 300-word answer in English uses roughly 150 distinct words
	if len(seen) < 60 || len(seen) > 250 {
		t.Fatalf("%d distinct words in 300", len(seen))
	}
}
