// SPDX-License-Identifier: Apache-2.0

package record

import "strconv"

// Local government codes (全国地方公共団体コード).
//
// A local government code is 6 ASCII digits: a 5-digit base (2-digit
// prefecture number, 3-digit municipality number) and a check digit
// (11 − (Σ dᵢ·wᵢ mod 11)) mod 10 with weights 6, 5, 4, 3, 2 over the base.
// The prefecture number is 01..47 (JIS X 0401); a prefecture itself has
// municipality number 000, so Tokyo Metropolis is "130001".

const (
	lgCodeLen = 6
	lgBaseLen = 5
	// NumPrefectures is the number of prefectures, numbered 1..47.
	NumPrefectures = 47
)

const (
	wantLGCode = "a 6-digit local government code with prefecture 01-47 and a valid check digit"
	wantLGBase = "a 5-digit local government code base with prefecture 01-47"
)

// LocalGovernmentCodeCheckDigit returns the check digit (0..9) of the local
// government code whose 5-digit base is base. base must be exactly 5 ASCII
// digits; its prefecture part is not checked.
func LocalGovernmentCodeCheckDigit(base string) (int, error) {
	if !isDigits(base, lgBaseLen) {
		return 0, newError(quote(base), wantLGBase, ErrFormat)
	}
	return lgCheckDigit(base), nil
}

// lgCheckDigit computes the check digit of a base already known to be 5
// ASCII digits.
func lgCheckDigit(base string) int {
	sum := 0
	for i := 0; i < lgBaseLen; i++ {
		sum += int(base[i]-'0') * (6 - i)
	}
	return (11 - sum%11) % 10
}

// LocalGovernmentCodeFromBase returns the 6-digit local government code
// with the 5-digit base (the form used by many statistics tables), that is
// base followed by its check digit. The prefecture part must be 01..47.
func LocalGovernmentCodeFromBase(base string) (string, error) {
	if !isDigits(base, lgBaseLen) {
		return "", newError(quote(base), wantLGBase, ErrFormat)
	}
	if _, ok := prefectureNumber(base); !ok {
		return "", newError(quote(base), wantLGBase, ErrOutOfRange)
	}
	return base + strconv.Itoa(lgCheckDigit(base)), nil
}

// ValidateLocalGovernmentCode reports whether code is a local government
// code: exactly 6 ASCII digits, prefecture part 01..47, and a valid check
// digit. The error wraps [ErrFormat], [ErrOutOfRange] or [ErrCheckDigit].
// It does not check that the municipality exists.
func ValidateLocalGovernmentCode(code string) error {
	if err := checkLocalGovernmentCode(code); err != nil {
		return newError(quote(code), wantLGCode, err)
	}
	return nil
}

// checkLocalGovernmentCode is ValidateLocalGovernmentCode returning a bare
// sentinel.
func checkLocalGovernmentCode(code string) error {
	if !isDigits(code, lgCodeLen) {
		return ErrFormat
	}
	if _, ok := prefectureNumber(code); !ok {
		return ErrOutOfRange
	}
	if int(code[lgBaseLen]-'0') != lgCheckDigit(code[:lgBaseLen]) {
		return ErrCheckDigit
	}
	return nil
}

// prefectureNumber returns the prefecture number in the first two digits
// of s (which must be ASCII digits) and whether it is 1..47.
func prefectureNumber(s string) (int, bool) {
	n := int(s[0]-'0')*10 + int(s[1]-'0')
	return n, n >= 1 && n <= NumPrefectures
}

// Prefecture is one of Japan's 47 prefectures.
type Prefecture struct {
	// Number is the JIS X 0401 prefecture number, 1..47: the first two
	// digits of every local government code in the prefecture.
	Number int
	// Code is the prefecture's own 6-digit local government code,
	// for example "130001" for Tokyo.
	Code string
	// NameEN is the romanised name without suffix, e.g. "Tokyo".
	NameEN string
	// NameJA is the official Japanese name with suffix, e.g. "東京都".
	NameJA string
}

// prefectures is indexed by Number-1. Every Code is Number as two digits,
// "000" and the check digit; TestPrefectureTable verifies this.
var prefectures = [NumPrefectures]Prefecture{
	{1, "010006", "Hokkaido", "北海道"},
	{2, "020001", "Aomori", "青森県"},
	{3, "030007", "Iwate", "岩手県"},
	{4, "040002", "Miyagi", "宮城県"},
	{5, "050008", "Akita", "秋田県"},
	{6, "060003", "Yamagata", "山形県"},
	{7, "070009", "Fukushima", "福島県"},
	{8, "080004", "Ibaraki", "茨城県"},
	{9, "090000", "Tochigi", "栃木県"},
	{10, "100005", "Gunma", "群馬県"},
	{11, "110001", "Saitama", "埼玉県"},
	{12, "120006", "Chiba", "千葉県"},
	{13, "130001", "Tokyo", "東京都"},
	{14, "140007", "Kanagawa", "神奈川県"},
	{15, "150002", "Niigata", "新潟県"},
	{16, "160008", "Toyama", "富山県"},
	{17, "170003", "Ishikawa", "石川県"},
	{18, "180009", "Fukui", "福井県"},
	{19, "190004", "Yamanashi", "山梨県"},
	{20, "200000", "Nagano", "長野県"},
	{21, "210005", "Gifu", "岐阜県"},
	{22, "220001", "Shizuoka", "静岡県"},
	{23, "230006", "Aichi", "愛知県"},
	{24, "240001", "Mie", "三重県"},
	{25, "250007", "Shiga", "滋賀県"},
	{26, "260002", "Kyoto", "京都府"},
	{27, "270008", "Osaka", "大阪府"},
	{28, "280003", "Hyogo", "兵庫県"},
	{29, "290009", "Nara", "奈良県"},
	{30, "300004", "Wakayama", "和歌山県"},
	{31, "310000", "Tottori", "鳥取県"},
	{32, "320005", "Shimane", "島根県"},
	{33, "330001", "Okayama", "岡山県"},
	{34, "340006", "Hiroshima", "広島県"},
	{35, "350001", "Yamaguchi", "山口県"},
	{36, "360007", "Tokushima", "徳島県"},
	{37, "370002", "Kagawa", "香川県"},
	{38, "380008", "Ehime", "愛媛県"},
	{39, "390003", "Kochi", "高知県"},
	{40, "400009", "Fukuoka", "福岡県"},
	{41, "410004", "Saga", "佐賀県"},
	{42, "420000", "Nagasaki", "長崎県"},
	{43, "430005", "Kumamoto", "熊本県"},
	{44, "440001", "Oita", "大分県"},
	{45, "450006", "Miyazaki", "宮崎県"},
	{46, "460001", "Kagoshima", "鹿児島県"},
	{47, "470007", "Okinawa", "沖縄県"},
}

// Prefectures returns the 47 prefectures in order of Number. The slice is
// a fresh copy.
func Prefectures() []Prefecture {
	out := make([]Prefecture, NumPrefectures)
	copy(out, prefectures[:])
	return out
}

// PrefectureByNumber returns the prefecture with the given JIS X 0401
// number, and false if n is not 1..47.
func PrefectureByNumber(n int) (Prefecture, bool) {
	if n < 1 || n > NumPrefectures {
		return Prefecture{}, false
	}
	return prefectures[n-1], true
}

// PrefectureOf returns the prefecture of a local government code, that is
// of its first two digits. code must pass [ValidateLocalGovernmentCode].
func PrefectureOf(code string) (Prefecture, error) {
	if err := ValidateLocalGovernmentCode(code); err != nil {
		return Prefecture{}, err
	}
	n, _ := prefectureNumber(code)
	return prefectures[n-1], nil
}
