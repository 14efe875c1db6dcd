package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthlink/hearth/registry/registrytest"
)

// TestPullBlobFailuresAreTheRegistrys pulls a model whose manifest arrives but whose blobs do not: a
// registry that stops answering fails the pull with ErrRegistryTimeout once the part's tries are spent,
// one that drops every connection mid-blob with ErrUnreachable, each naming the host, so a handler
// answers 504 or 502 rather than 500.
func TestPullBlobFailuresAreTheRegistrys(t *testing.T) {
	reg := registrytest.StartDistribution(t)
	ctx := context.Background()
	a := openStore(t, Options{})
	name := reg + "/library/flaky:latest"
	addTransferModel(t, a, name, 64<<10)
	if err := a.Push(ctx, name, fastTransfer(nil)); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, reg)
	opts := fastTransfer(nil)
	opts.MaxRetries, opts.ResponseTimeout = 2, 200*time.Millisecond
	proxied := p.host() + "/library/flaky:latest"

	p.mu.Lock()
	p.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		<-r.Context().Done() // never answers; the client gives up
		return true
	}
	p.mu.Unlock()
	err := openStore(t, Options{}).Pull(ctx, proxied, opts)
	var ue *UpstreamError
	if !errors.Is(err, ErrRegistryTimeout) || !errors.As(err, &ue) || ue.Host != p.host() {
		t.Errorf("pull from a registry that stops answering: %v", err)
	}

	p.mu.Lock()
	p.intercept = nil
	p.cut = func(r *http.Request) int64 {
		if strings.Contains(r.URL.Path, "/blobs/") {
			return 10
		}
		return -1
	}
	p.mu.Unlock()
	err = openStore(t, Options{}).Pull(ctx, proxied, opts)
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrRegistryTimeout) {
		t.Errorf("pull from a registry that drops every blob: %v", err)
	}
}
