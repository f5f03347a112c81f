// SPDX-License-Identifier: Apache-2.0

package query

import (
	"slices"
	"strings"
	"unicode"
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

func isCJK(r rune) bool {
	if r < 0x3000 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー' || r == '々' || r == '〆'
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// normalize returns s in NFKC, lower-cased.
func normalize(s string) string {
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

// appendTokens appends the tokens of s to dst, repeats included. The
// tokens are substrings of s's normal form: cutting them costs no copies.
func appendTokens(dst []string, s string) []string {
	s = normalize(s)
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
	for i, r := range s {
		switch {
		case isCJK(r):
			if word >= 0 {
				dst = append(dst, s[word:i])
				word = -1
			}
			prev, cur = cur, i
			run++
			if run >= 2 {
				dst = append(dst, s[prev:i+utf8.RuneLen(r)])
			}
		case isWordRune(r):
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
