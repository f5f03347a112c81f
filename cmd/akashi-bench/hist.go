// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets, HDR-style: each
// power-of-two range of microseconds is split into 64 linear sub-buckets,
// so any recorded value is known to within 1.6%, from 1 µs to hours, in
// fixed memory.
type histogram struct {
	counts [64][subBuckets]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

const subBuckets = 64

func (h *histogram) record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 1))
	e := bits.Len64(us) - 1 // us in [2^e, 2^(e+1))
	var sub uint64
	if e >= 6 {
		sub = (us >> (e - 6)) - subBuckets // the top 6 bits below the leading one
	} else {
		sub = us - 1<<e // exact below 64 µs: spread over the first buckets
	}
	h.counts[e][sub]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for e := range h.counts {
		for s := range h.counts[e] {
			h.counts[e][s] += o.counts[e][s]
		}
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for e := range h.counts {
		for s := range h.counts[e] {
			seen += h.counts[e][s]
			if seen >= rank && h.counts[e][s] > 0 {
				var upper uint64
				if e >= 6 {
					upper = (uint64(s) + subBuckets + 1) << (e - 6)
				} else {
					upper = 1<<e + uint64(s)
				}
				return min(time.Duration(upper)*time.Microsecond, h.max)
			}
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
