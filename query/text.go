// SPDX-License-Identifier: Apache-2.0

package query

import (
	"strings"
	"unicode"

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
	var out []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	tokenize(s, add)
	return out
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) || r == 'ー' || r == '々' || r == '〆'
}

// tokenize calls add with every token of s, repeats included.
func tokenize(s string, add func(string)) {
	s = strings.ToLower(norm.NFKC.String(s))
	var run []rune // the current CJK run
	var word strings.Builder
	flushRun := func() {
		switch len(run) {
		case 0:
		case 1:
			add(string(run))
		default:
			for i := 0; i+1 < len(run); i++ {
				add(string(run[i : i+2]))
			}
		}
		run = run[:0]
	}
	flushWord := func() {
		if word.Len() > 0 {
			add(word.String())
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case isCJK(r):
			flushWord()
			run = append(run, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			flushRun()
			word.WriteRune(r)
		default:
			flushRun()
			flushWord()
		}
	}
	flushRun()
	flushWord()
}
