// SPDX-License-Identifier: Apache-2.0

package query

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestRuneClasses checks the tokenizer's rune table against the
// definitions it stands for, on every rune, and what normalizeFast
// assumes of ASCII: a boundary before every ASCII character.
func TestRuneClasses(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if got, want := isCJK(r), r >= 0x3000 && isCJKSlow(r); got != want {
			t.Fatalf("isCJK(%U) = %v, want %v", r, got, want)
		}
		if got, want := isWordRune(r), isWordRuneSlow(r); got != want {
			t.Fatalf("isWordRune(%U) = %v, want %v", r, got, want)
		}
	}
	for c := rune(0); c < utf8.RuneSelf; c++ {
		s := string(c)
		if !norm.NFKC.PropertiesString(s).BoundaryBefore() || norm.NFKC.String(s) != s {
			t.Errorf("%q: NFKC changes it or it combines with what precedes it", s)
		}
		if runeClasses()[c]&classStarter == 0 {
			t.Errorf("%q is not a starter in the table", s)
		}
	}
}

// normalizeCases are texts on which NFKC and lower-casing do something.
var normalizeCases = []string{
	"",
	"abc",
	"ABC Def",
	"東京都感染拡大防止協力金",
	"緊急事態措置期間中（4月16日から5月6日まで）、都の要請に応じ",
	"ＡＢＣ２０２０年",                           // full width
	"ｶﾀｶﾅ ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ",                   // half width, with voiced marks
	"か\u3099き\u3099 は\u309a",             // combining voiced marks compose
	"か\u309b さ\u309c",                    // spacing voiced marks
	"cafe\u0301 CAFE\u0301",              // e + acute
	"e\u0301\u0327 \u1e0b\u0323",         // marks reordered
	"\u1100\u1161\u11a8 \uac00\u11a8 가각", // Hangul jamo compose
	"ﬁnance ﬂow",                         // ligatures
	"İstanbul ΣΊΣΥΦΟΣ Ω \u2126",          // İ lower-cases to two runes; the ohm sign
	"㈱さくら ㍻2年 ① Ⅻ ㎏ ¥500,000",
	"a" + strings.Repeat("\u0301", 40) + "b", // a stream-safe break is inserted
	"é" + strings.Repeat("\u0316", 35),
	"\ufffd",
	"ok \xff bad",
	"\U0001F600 \U00020B9F𠮷野家 \U0001D400",
	"ABC\u0300DEF",
	"ﾞ",
	"\u3099かな",
}

func TestNormalize(t *testing.T) {
	for _, s := range normalizeCases {
		if got, want := normalize(s), normalizeSlow(s); got != want {
			t.Errorf("normalize(%+q) = %+q, want %+q", s, got, want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normalize(s), normalizeSlow(s); got != want {
			t.Errorf("normalize(%+q) = %+q, want %+q", s, got, want)
		}
	})
}

var benchTexts = map[string]string{
	"japanese": "緊急事態措置期間中（4月16日から5月6日まで）、都の要請に応じ、施設の使用停止又は営業時間の短縮に全面的に協力した中小の事業者に協力金を支給する。" +
		"1店舗のみの事業者は50万円、2店舗以上の事業者は100万円。申請受付は4月22日から6月15日まで。",
	"english": "Cooperation allowance for small businesses that fully complied with the Metropolitan Government's requests to close or shorten their hours from 16 April to 6 May 2020.",
}

// BenchmarkTokens measures the tokenizer on a Japanese and an English
// description, with the reference normalization for comparison.
func BenchmarkTokens(b *testing.B) {
	for name, text := range benchTexts {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				sortedUnique(appendTokens(nil, text))
			}
		})
		b.Run(name+"/normalize", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				normalize(text)
			}
		})
		b.Run(name+"/normalize-reference", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				normalizeSlow(text)
			}
		})
	}
}
