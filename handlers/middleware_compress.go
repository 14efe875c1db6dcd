package handlers

import (
	"net"
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// Compress compresses non-streaming JSON replies to clients on other machines with zstd or gzip when
// the client's Accept-Encoding asks for it (zstd preferred), at each codec's fastest level. NDJSON and
// server-sent-event streams are never compressed: each line must reach the client when it is flushed, not
// when a compression block fills. Small bodies go out as they are, and so does everything for a client on
// this machine (loopback or a Unix socket): there, compressing and decompressing only costs time —
// about a millisecond of an /api/embed round trip on a 2-core machine.
func Compress() func(http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.EnableZstd(true),
		gzhttp.PreferZstd(true),
		gzhttp.CompressionLevel(gzip.BestSpeed),
		gzhttp.MinSize(1024),
		gzhttp.ContentTypes([]string{"application/json"}),
	)
	if err != nil {
		panic("handlers: compression options: " + err.Error()) // options are constants
	}
	return func(next http.Handler) http.Handler {
		compressed := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if localClient(r.RemoteAddr) {
				next.ServeHTTP(w, r)
				return
			}
			compressed.ServeHTTP(w, r)
		})
	}
}

// localClient reports whether a request's RemoteAddr is this machine: a loopback address, or no IP
// address at all (a Unix socket).
func localClient(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip == nil || ip.IsLoopback()
}
