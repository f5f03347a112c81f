// SPDX-License-Identifier: Apache-2.0

// Package record holds the pure rules of the Akashi record schema that are
// shared by the ledger server and the client SDK: identifiers and their
// check digits, currencies, dates and periods, and commitments to
// personal data, strict decoding and validation of statements and records,
// and statement signatures. It has no I/O; it depends only on the standard
// library, protobuf and the generated schema (gen/akashi/v1). Apart from
// [NewSalt] and [NewPayeeID] every function is deterministic.
//
// # Errors
//
// Every validation failure is a [*FieldError] (or, where one call can find
// several, an [Errors] list of them) that reads
//
//	field: got X, want Y
//
// and wraps one sentinel ([ErrFormat], [ErrCheckDigit], [ErrOutOfRange],
// [ErrUnknownCode], [ErrNoMinorUnit], [ErrNotLocalGovernment],
// [ErrPeriodOrder]) for [errors.Is]. Functions here do not know where a
// value came from, so they return errors without a field, or with a
// relative one ("start"); a validator places them with [At] or collects
// several with [Errors.Add]:
//
//	var errs record.Errors
//	if _, err := record.ParseOrgID(r.Publisher.Id); err != nil {
//		errs.Add("record.publisher.id", err)
//	}
//	if _, err := record.ParsePeriod(r.Period.Start, r.Period.End); err != nil {
//		errs.Add("record.period", err)
//	}
//	return errs.Err()
//
// which reports, for example,
//
//	record.publisher.id: got "JP-JCN-1234", want a 13-digit corporate number with a valid check digit
//
// Offending strings are Go-quoted and cut to 64 bytes; personal data is
// never echoed.
//
// # Organisation identifiers
//
// An org-id is "{SCHEME}-{id}" ([ParseOrgID], [OrgID]). SCHEME is two
// uppercase letters (a country, or XI/XM), "-", and 2..5 uppercase
// letters or digits ("JP-JCN", "GB-COH", "XI-LEI"); id is 1..100
// characters without white space, control or format characters. A
// [SchemeJPJCN] id must be a valid corporate number:
// "JP-JCN-8000020130001" is the Tokyo Metropolitan Government.
//
// # Corporate numbers (法人番号)
//
// 13 ASCII digits whose first digit is a check digit over the other 12
// ([ValidateCorporateNumber], [CorporateNumberCheckDigit],
// [CorporateNumberFromBase]). A local government's corporate number is
// the check digit, "000020" and its local government code
// ([LocalGovernmentCorporateNumber],
// [LocalGovernmentCodeFromCorporateNumber]): "8000020130001" ↔ "130001".
//
// # Local government codes (全国地方公共団体コード)
//
// 6 ASCII digits: a 2-digit prefecture number 01..47, a 3-digit
// municipality number and a check digit ([ValidateLocalGovernmentCode],
// [LocalGovernmentCodeCheckDigit], [LocalGovernmentCodeFromBase]). The
// prefecture of a code is [PrefectureOf]; the 47 prefectures, with their
// own codes and English and Japanese names, are [Prefectures].
// Existence of a municipality is not checked.
//
// # Currencies
//
// [CurrencyExponent] accepts an active ISO 4217 alphabetic code (embedded
// List One, in force from 2026-01-01) and returns its minor unit exponent:
// JPY 0, USD 2, KWD 3: an amount of n minor units is n × 10^-exponent
// units of the currency.
//
// # Dates and periods
//
// Dates are YYYY-MM-DD, years 0001..9999, proleptic Gregorian calendar,
// no time zone ([ParseDate], [Date]). A [Period] is an inclusive range
// Start..End with Start <= End ([ParsePeriod]). Helpers give the Japanese
// fiscal year (April..March: 2020-04-01..2021-03-31 is FY2020,
// [Date.FiscalYear], [FiscalYearPeriod]) and calendar and fiscal quarters
// ([Date.Quarter], [QuarterPeriod], [Date.FiscalQuarter],
// [FiscalQuarterPeriod]).
//
// # Personal data
//
// A natural-person payee appears in a record only as an opaque payee
// identifier ([NewPayeeID], [ValidatePayeeID]) and a 32-byte commitment
// SHA-256(salt ‖ canonical) ([Commit], [VerifyCommitment]) where salt is
// 32 secret random bytes kept by the agency ([NewSalt]) and canonical is
// the unambiguous, length-prefixed, key-sorted encoding of the person's
// data fields ([CanonicalPersonalData]). Values are not Unicode-normalised:
// callers must supply the exact bytes they will reproduce later. Unsalted
// hashes are forbidden because names, birth dates and My Numbers are few
// enough to be recovered by brute force.
package record
