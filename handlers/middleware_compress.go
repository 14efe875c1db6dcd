package handlers

import (
	"net/http"

	"github.com/klauspost/compress/gzhttp"
)

// Compress compresses non-streaming JSON replies with zstd or gzip when the client's Accept-Encoding asks
// for it (zstd preferred). NDJSON and server-sent-event streams are never compressed: each line must reach
// the client when it is flushed, not when a compression block fills. Small bodies go out as they are.
func Compress() func(http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.EnableZstd(true),
		gzhttp.PreferZstd(true),
		gzhttp.MinSize(1024),
		gzhttp.ContentTypes([]string{"application/json"}),
	)
	if err != nil {
		panic("handlers: compression options: " + err.Error()) // options are constants
	}
	return func(next http.Handler) http.Handler { return wrap(next) }
}
