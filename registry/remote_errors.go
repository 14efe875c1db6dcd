package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors of a pull or push that say whose fault it was, for errors.Is. A handler answers
// ErrInsecureProtocol with 400 (the client asked for plain http without insecure), ErrUnreachable with
// 502, ErrRegistryTimeout with 504, ErrBadRegistryAnswer with 502, ErrRemoteNotFound with 404, and a
// *RemoteError by its status.
var (
	// ErrInsecureProtocol reports an http:// model name pulled or pushed without insecure, in Ollama's words.
	ErrInsecureProtocol = errors.New("insecure protocol http")
	// ErrUnreachable reports a registry that could not be talked to: its host does not resolve, or it
	// refuses, resets or drops the connection.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrRegistryTimeout reports a registry that accepted the connection but did not answer in time.
	ErrRegistryTimeout = errors.New("registry timed out")
	// ErrBadRegistryAnswer reports a registry that answered with something that cannot be right: a
	// manifest that does not decode, a blob whose bytes do not match its digest, a range it was not asked for.
	ErrBadRegistryAnswer = errors.New("bad answer from registry")
	// ErrRemoteNotFound is a registry's 404 for a manifest or blob. It reads "file does not exist" and
	// matches fs.ErrNotExist, as Ollama's does: its CLI and scripts look for those words.
	ErrRemoteNotFound error = remoteNotFound{}
)

type remoteNotFound struct{}

func (remoteNotFound) Error() string { return fs.ErrNotExist.Error() }

func (remoteNotFound) Is(target error) bool { return target == fs.ErrNotExist }

// insecureError is ErrInsecureProtocol with what to do about it.
func insecureError() error {
	return fmt.Errorf("%w: set insecure (ollama pull/push --insecure) to use a plain-http registry", ErrInsecureProtocol)
}

// RemoteError is a registry's answer with an error status, other than the 404 that means "no such
// manifest or blob" (that one is ErrRemoteNotFound).
type RemoteError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the start of the response body, usually an OCI error document.
	Body string
}

// Error reads like Ollama's "<status>: <body>".
func (e *RemoteError) Error() string {
	return fmt.Sprintf("%d: %s", e.StatusCode, strings.TrimSpace(e.Body))
}

// UpstreamError is a registry that could not be reached, or did not answer in time.
type UpstreamError struct {
	// Host is the registry's host:port.
	Host string
	// Timeout is true when the registry (or its name server) did not answer in time.
	Timeout bool
	// Err is the network error, without the request URL it was wrapped in.
	Err error
}

// Error names the registry and the cause, e.g. "connection to registry 127.0.0.1:1 failed: dial tcp
// 127.0.0.1:1: connect: connection refused".
func (e *UpstreamError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("registry %s did not answer in time: %v", e.Host, e.Err)
	}
	return fmt.Sprintf("connection to registry %s failed: %v", e.Host, e.Err)
}

// Unwrap returns the network error.
func (e *UpstreamError) Unwrap() error { return e.Err }

// Is makes errors.Is true for ErrRegistryTimeout or ErrUnreachable, whichever it is.
func (e *UpstreamError) Is(target error) bool {
	if e.Timeout {
		return target == ErrRegistryTimeout
	}
	return target == ErrUnreachable
}

// BadAnswerError is a registry answer that cannot be used.
type BadAnswerError struct {
	// Host is the registry's host:port.
	Host string
	// Err says what was wrong with the answer.
	Err error
}

// Error names the registry and what was wrong.
func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("registry %s answered badly: %v", e.Host, e.Err)
}

// Unwrap returns what was wrong.
func (e *BadAnswerError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBadRegistryAnswer) true.
func (e *BadAnswerError) Is(target error) bool { return target == ErrBadRegistryAnswer }

// upstreamError turns the error of an exchange with host into an *UpstreamError when it is the
// network's doing (a name that does not resolve, a refused or reset connection, a timeout), so that a
// handler can tell a gateway failure from its own. The caller's own cancellation, and errors that are
// not the network's, are returned as they are.
func upstreamError(ctx context.Context, host string, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return err
	}
	cause := err
	var uerr *url.Error
	if errors.As(err, &uerr) {
		cause = uerr.Err // the URL is the caller's business; the host is named instead
	}
	var nerr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errHeaderTimeout),
		errors.As(err, &nerr) && nerr.Timeout():
		return &UpstreamError{Host: host, Timeout: true, Err: cause}
	case isNetworkError(err):
		return &UpstreamError{Host: host, Err: cause}
	}
	return err
}

// errHeaderTimeout is what send reports when a registry took longer than ResponseTimeout to answer.
var errHeaderTimeout = errors.New("no answer")

// isNetworkError reports errors of the connection itself rather than of what was said over it.
func isNetworkError(err error) bool {
	var (
		dns *net.DNSError
		op  *net.OpError
	)
	return errors.As(err, &dns) || errors.As(err, &op) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// DefaultResponseTimeout is how long a registry has to start answering one request of a pull or push when
// TransferOptions.ResponseTimeout is 0 (hearth serve's HEARTH_REGISTRY_TIMEOUT default). Generous, because
// committing a pushed blob makes the registry hash it before it answers; a registry that accepts
// connections and never answers still fails the transfer instead of hanging it.
const DefaultResponseTimeout = 2 * time.Minute

// responseTimeout is opts.ResponseTimeout or the default.
func (o *TransferOptions) responseTimeout() time.Duration {
	if o.ResponseTimeout > 0 {
		return o.ResponseTimeout
	}
	return DefaultResponseTimeout
}

// permanentStatus reports registry statuses that another try cannot fix: a client error other than a
// timeout or rate limit.
func permanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}
