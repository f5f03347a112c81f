// SPDX-License-Identifier: Apache-2.0

// Package akashi is the root of the Akashi transparency ledger: a signed,
// append-only, verifiable log of public decisions, requests and allowance
// payments. See README.md; the code lives in ledger/, server/, client/,
// record/ and cmd/akashi/.
//
// This package only embeds the generated OpenAPI document, so that the
// server can publish it.
package akashi

import _ "embed"

// OpenAPI is the OpenAPI v2 document of the REST API, generated from the
// protobuf definitions into gen/openapiv2/.
//
//go:embed gen/openapiv2/akashi.swagger.json
var OpenAPI []byte
