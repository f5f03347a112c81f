// SPDX-License-Identifier: Apache-2.0

package akashi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPIExamples: every REST operation in the published OpenAPI
// document has a summary and an example, and no lint directive of the
// proto comments shows through.
func TestOpenAPIExamples(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string `json:"summary"`
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Paths) == 0 {
		t.Fatal("the OpenAPI document has no paths")
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.Summary == "" || !strings.Contains(op.Description, "Example") || strings.Contains(op.Summary+op.Description, "buf:lint") {
				t.Errorf("%s %s: summary %q, description %q; want a summary and an example, no lint directive", strings.ToUpper(method), path, op.Summary, op.Description)
			}
		}
	}
}
