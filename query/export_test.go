// SPDX-License-Identifier: Apache-2.0

package query

// Shrinks returns how many times the follower found a chunk too large
// for one transaction.
func Shrinks(x *Follower) int { return int(x.shrinks.Load()) }

// SetFactSortBlocks sets maxFactSortBlocks, for tests of both ways to
// sort; it returns a function that restores it.
func SetFactSortBlocks(n int) func() {
	old := maxFactSortBlocks
	maxFactSortBlocks = n
	return func() { maxFactSortBlocks = old }
}
