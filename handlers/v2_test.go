package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

// TestRegistryRoutes checks hearth's read-only OCI registry: the version check, manifests by tag and
// by digest served byte for byte with their digest, ranged blob reads, and errors in the registry's
// error shape.
func TestRegistryRoutes(t *testing.T) {
	e := newStoreEnv(t)
	gguf := tinyGGUF(t, llamaKV(nil))
	d := e.createGGUF("tiny", gguf)

	get := func(method, path string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	resp, body := get("GET", "/v2/", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("/v2/: %d %v %q", resp.StatusCode, resp.Header, body)
	}

	resp, manifest := get("GET", "/v2/library/tiny/manifests/latest", nil)
	sum := sha256.Sum256(manifest)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != digest ||
		resp.Header.Get("Content-Type") != "application/vnd.docker.distribution.manifest.v2+json" || !strings.Contains(string(manifest), d) {
		t.Errorf("manifest: %d %v %s", resp.StatusCode, resp.Header, manifest)
	}
	list, _ := e.client.List(context.Background())
	if "sha256:"+list.Models[0].Digest != digest {
		t.Errorf("served manifest digest %s, /api/tags digest %s", digest, list.Models[0].Digest)
	}
	if resp, body := get("HEAD", "/v2/library/Tiny/manifests/LATEST", nil); resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(manifest)) {
		t.Errorf("HEAD manifest: %d len %d", resp.StatusCode, resp.ContentLength)
	}
	if resp, body := get("GET", "/v2/library/tiny/manifests/"+digest, nil); resp.StatusCode != 200 || string(body) != string(manifest) {
		t.Errorf("manifest by digest: %d", resp.StatusCode)
	}

	blob := "/v2/library/tiny/blobs/" + d
	resp, body = get("GET", blob, nil)
	if resp.StatusCode != 200 || string(body) != string(gguf) || resp.Header.Get("Docker-Content-Digest") != d || resp.Header.Get("Location") == "" {
		t.Errorf("blob: %d %v (%d bytes)", resp.StatusCode, resp.Header, len(body))
	}
	resp, body = get("GET", blob, http.Header{"Range": {"bytes=4-11"}})
	if resp.StatusCode != http.StatusPartialContent || string(body) != string(gguf[4:12]) || resp.Header.Get("Content-Range") != "bytes 4-11/"+strconv.Itoa(len(gguf)) {
		t.Errorf("ranged blob: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := get("HEAD", blob, nil); resp.StatusCode != 200 || resp.ContentLength != int64(len(gguf)) {
		t.Errorf("HEAD blob: %d %d", resp.StatusCode, resp.ContentLength)
	}

	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v2/library/nope/manifests/latest", 404, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/library/tiny/manifests/v9", 404, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/library/tiny/manifests/sha256:" + strings.Repeat("0", 64), 404, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/library/tiny/manifests/sha256:bad", 400, "DIGEST_INVALID"},
		{"GET", "/v2/..%2F..%2Fetc/tiny/manifests/latest", 400, "NAME_INVALID"},
		{"GET", "/v2/library/tiny/blobs/sha256:" + strings.Repeat("0", 64), 404, "BLOB_UNKNOWN"},
		{"GET", "/v2/library/tiny/blobs/sha256:..%2Fx", 400, "DIGEST_INVALID"},
	}
	for _, c := range cases {
		resp, body := get(c.method, c.path, nil)
		if resp.StatusCode != c.status || !strings.Contains(string(body), `"code":"`+c.code+`"`) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, resp.StatusCode, body, c.status, c.code)
		}
	}
	for _, method := range []string{"PUT", "POST", "DELETE", "PATCH"} {
		if resp, _ := get(method, "/v2/library/tiny/manifests/latest", nil); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s manifest: %d, want 405 (read-only)", method, resp.StatusCode)
		}
	}
}

// TestPullFromHearth is the fleet case: one hearth pulls a model from another's /v2/ over plain
// http, then serves and shows it like any other model.
func TestPullFromHearth(t *testing.T) {
	ctx := context.Background()
	source := newStoreEnv(t)
	source.createGGUF("shared", tinyGGUF(t, llamaKV(nil)))
	if err := source.client.Copy(ctx, &api.CopyRequest{Source: "shared", Destination: "hf.co/team/other:q8"}); err != nil {
		t.Fatal(err)
	}

	dest := newStoreEnv(t)
	name := source.host() + "/library/shared:latest"
	var statuses []string
	err := dest.client.Pull(ctx, &api.PullRequest{Model: name, Insecure: true}, func(p api.ProgressResponse) error {
		if len(statuses) == 0 || statuses[len(statuses)-1] != p.Status {
			statuses = append(statuses, p.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if statuses[0] != "pulling manifest" || !slices.Contains(statuses, "verifying sha256 digest") ||
		!slices.Contains(statuses, "writing manifest") || statuses[len(statuses)-1] != "success" {
		t.Errorf("statuses %q", statuses)
	}
	srcList, _ := source.client.List(ctx)
	dstList, _ := dest.client.List(ctx)
	if len(dstList.Models) != 1 || dstList.Models[0].Name != name || dstList.Models[0].Size != srcList.Models[0].Size {
		t.Errorf("pulled: %+v", dstList.Models)
	}
	if show := dest.show(name); show.Details.Family != "llama" || !strings.Contains(show.Template, "<|im_start|>") {
		t.Errorf("pulled model shows %+v", show.Details)
	}

	// A model kept under another host is served under its namespace and name too.
	if err := dest.client.Pull(ctx, &api.PullRequest{Model: source.host() + "/team/other:q8", Insecure: true}, func(api.ProgressResponse) error { return nil }); err != nil {
		t.Errorf("pull of a non-default-host model: %v", err)
	}

	err = dest.client.Pull(ctx, &api.PullRequest{Model: source.host() + "/library/absent", Insecure: true}, func(api.ProgressResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "pull model manifest: file does not exist") {
		t.Errorf("pull of an absent model: %v", err)
	}
	noStream := false
	err = dest.client.Pull(ctx, &api.PullRequest{Model: "http://" + source.host() + "/library/shared", Stream: &noStream}, func(api.ProgressResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "insecure protocol http") {
		t.Errorf("http:// without insecure: %v", err)
	}
	// Pushing to a hearth is refused: its registry is read-only.
	err = dest.client.Push(ctx, &api.PushRequest{Model: name, Insecure: true}, func(api.ProgressResponse) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "405") {
		t.Errorf("push to a hearth: %v", err)
	}
}
