// SPDX-License-Identifier: Apache-2.0

package query

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text search.
//
// Text is normalised with Unicode NFKC (so full-width ＡＢＣ and ２０２０
// and half-width ｶﾀｶﾅ read as ABC, 2020 and カタカナ) and lower-cased, then
// cut into tokens:
//
//   - a run of Han, Hiragana or Katakana characters (with ー and 々)
//     gives its character bigrams, "協力金" → "協力", "力金"; a run of one
//     character gives that character;
//   - a run of other letters and digits gives one word, "Restaurants" →
//     "restaurants";
//   - everything else separates tokens.
//
// A query term matches a text holding all of its tokens. So English words
// match whole, and Japanese, which has no spaces between words, matches
// where every pair of adjacent characters of the term occurs in the text
// (the usual bigram approximation of a substring search).

// Tokens returns the distinct tokens of s, in order of first occurrence.
func Tokens(s string) []string {
	all := appendTokens(nil, s)
	out := all[:0]
	for i, t := range all {
		if !slices.Contains(all[:i], t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func isCJK(r rune) bool { return classOf(runeClasses(), r)&classCJK != 0 }

func isCJKSlow(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー' || r == '々' || r == '〆'
}

func isWordRune(r rune) bool { return classOf(runeClasses(), r)&classWord != 0 }

func isWordRuneSlow(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// What the tokenizer needs to know of each rune of the Basic Multilingual
// Plane, looked up in one table instead of the Unicode tables' searches
// (which cost more than the rest of the tokenizer together).
const (
	// classStarter: NFKC leaves the rune as it is, and nothing before it
	// combines with it (norm's BoundaryBefore): a normalization boundary.
	classStarter = 1 << iota
	// classLower: unicode.ToLower leaves the rune as it is.
	classLower
	classCJK  // isCJKSlow
	classWord // isWordRuneSlow
)

// runeClasses returns the class bits of every BMP rune, computed once (in
// about 15 ms) from the definitions the slow paths use.
var runeClasses = sync.OnceValue(func() *[0x10000]uint8 {
	var t [0x10000]uint8
	for r := rune(0); r < 0x10000; r++ {
		if utf16.IsSurrogate(r) {
			continue // never decoded from valid UTF-8
		}
		var c uint8
		s := string(r)
		if norm.NFKC.PropertiesString(s).BoundaryBefore() && norm.NFKC.String(s) == s {
			c |= classStarter
		}
		if unicode.ToLower(r) == r {
			c |= classLower
		}
		if r >= 0x3000 && isCJKSlow(r) {
			c |= classCJK
		}
		if isWordRuneSlow(r) {
			c |= classWord
		}
		t[r] = c
	}
	return &t
})

// classOf returns r's class bits: from the table cls (runeClasses) in the
// BMP, CJK and word from their definitions beyond it.
func classOf(cls *[0x10000]uint8, r rune) uint8 {
	if r < 0x10000 {
		return cls[r]
	}
	var c uint8
	if isCJKSlow(r) {
		c |= classCJK
	}
	if isWordRuneSlow(r) {
		c |= classWord
	}
	return c
}

// normalize returns s in NFKC, lower-cased: normalizeSlow(s), faster.
func normalize(s string) string {
	if out, ok := normalizeFast(s); ok {
		return out
	}
	return normalizeSlow(s)
}

// normalizeSlow is the definition of normalize.
func normalizeSlow(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKC.String(s)
	}
	return strings.ToLower(s)
}

// normalizeFast is normalize for valid UTF-8 without U+FFFD (ok false
// otherwise). Text is mostly starters that NFKC leaves alone; only the
// runs of other runes go through norm, each up to the next starter (a
// boundary: NFKC is the same on either side of it), appended to the
// normal form so far (norm's Append combines them with the starter before
// them where they combine). Then it lower-cases what needs it.
func normalizeFast(s string) (string, bool) {
	cls := runeClasses()
	var b []byte // the normal form so far, once it differs from s
	done := 0    // s[:done] is in b (when b != nil)
	ascii := true
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		ascii = false
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError {
			return "", false
		}
		if r < 0x10000 && cls[r]&classStarter != 0 {
			i += n
			continue
		}
		end := i + n
		for end < len(s) && s[end] >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[end:])
			if r == utf8.RuneError {
				return "", false
			}
			if r < 0x10000 && cls[r]&classStarter != 0 {
				break
			}
			end += n
		}
		if b == nil {
			b = make([]byte, 0, len(s)+16)
		}
		b = norm.NFKC.AppendString(append(b, s[done:i]...), s[i:end])
		done, i = end, end
	}
	if ascii {
		return strings.ToLower(s), true
	}
	if b != nil {
		s = string(append(b, s[done:]...))
	}
	return toLower(s, cls), true
}

// toLower is strings.ToLower for valid UTF-8, with the table's help.
func toLower(s string, cls *[0x10000]uint8) string {
	var b []byte // the result so far, once it differs from s
	done := 0    // s[:done] is in b (when b != nil)
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		switch {
		case r < utf8.RuneSelf:
			if r < 'A' || r > 'Z' {
				i++
				continue
			}
		default:
			r, n = utf8.DecodeRuneInString(s[i:])
			if r < 0x10000 && cls[r]&classLower != 0 {
				i += n
				continue
			}
		}
		if l := unicode.ToLower(r); l != r {
			if b == nil {
				b = make([]byte, 0, len(s))
			}
			b = append(b, s[done:i]...)
			b = utf8.AppendRune(b, l)
			done = i + n
		}
		i += n
	}
	if b == nil {
		return s
	}
	return string(append(b, s[done:]...))
}

// appendTokens appends the tokens of s to dst, repeats included. The
// tokens are substrings of s's normal form: cutting them costs no copies.
func appendTokens(dst []string, s string) []string {
	s = normalize(s)
	if dst == nil {
		// Japanese text gives about a token per character.
		dst = make([]string, 0, len(s)/3+1)
	}
	// The current CJK run: the start of its previous rune (-1 before its
	// second), of its current rune, and the run's length in runes.
	prev, cur, run := -1, -1, 0
	word := -1 // the start of the current word, or -1
	flushRun := func() {
		if run == 1 {
			_, n := utf8.DecodeRuneInString(s[cur:])
			dst = append(dst, s[cur:cur+n])
		}
		run = 0
	}
	cls := runeClasses()
	for i, r := range s {
		c := classOf(cls, r)
		switch {
		case c&classCJK != 0:
			if word >= 0 {
				dst = append(dst, s[word:i])
				word = -1
			}
			prev, cur = cur, i
			run++
			if run >= 2 {
				dst = append(dst, s[prev:i+utf8.RuneLen(r)])
			}
		case c&classWord != 0:
			flushRun()
			if word < 0 {
				word = i
			}
		default:
			flushRun()
			if word >= 0 {
				dst = append(dst, s[word:i])
				word = -1
			}
		}
	}
	flushRun()
	if word >= 0 {
		dst = append(dst, s[word:])
	}
	return dst
}
