// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"compress/gzip"
	"errors"
	"net/http"
	"strings"

	"github.com/akashi-ledger/akashi/ledger"
	"github.com/akashi-ledger/akashi/ledger/verify"
)

// tilesHandler serves the C2SP tlog-tiles API (https://c2sp.org/tlog-tiles)
// straight from the ledger's store: /checkpoint, /tile/<L>/<N>[.p/<W>] and
// /tile/entries/<N>[.p/<W>]. Only canonical paths of resources that the
// current tree holds are served.
type tilesHandler struct{ log *ledger.Log }

func (h *tilesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !getOrHead(w, r) {
		return
	}
	if r.URL.Path == "/checkpoint" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(h.log.Checkpoint())
		return
	}
	t, err := verify.ParseTilePath(r.URL.Path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := h.log.ReadTile(r.Context(), t)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, ledger.ErrClosed), errors.Is(err, ledger.ErrStorage):
		http.Error(w, "the log is unavailable", http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// Tiles never change: a partial tile of width W is W hashes forever.
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if t.Entries && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		zw.Write(data)
		zw.Close()
		return
	}
	w.Write(data)
}
