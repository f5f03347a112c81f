// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	rng := rand.New(rand.NewPCG(1, 2))
	var all []time.Duration
	for range 100000 {
		d := time.Duration(rng.ExpFloat64()*float64(3*time.Millisecond)) + 20*time.Microsecond
		h.record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if rel := float64(got-exact) / float64(exact); rel < -0.02 || rel > 0.04 {
			t.Errorf("quantile(%v) = %v, exact %v (%.1f%% off)", q, got, exact, 100*rel)
		}
	}
	if h.quantile(1) != all[len(all)-1] {
		t.Errorf("quantile(1) = %v, want the max %v", h.quantile(1), all[len(all)-1])
	}
	var small histogram
	for _, us := range []int{1, 2, 3, 63, 64, 65} {
		small.record(time.Duration(us) * time.Microsecond)
	}
	if got := small.quantile(0.5); got != 3*time.Microsecond {
		t.Errorf("small quantile(0.5) = %v, want 3µs", got)
	}
}
