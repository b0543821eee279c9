package main

// The admin API client that `hoard fs` and `hoard runTests` use. They reach
// the running daemon only through it: they never open the metadata store,
// which the daemon holds.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hoardfs/hoard/gateway"
)

// adminClient talks to the admin API at hoard.web.address.
type adminClient struct {
	addr  string // host:port, for messages
	base  string // http://host:port/api/v1/fs/
	token string
	hc    *http.Client
}

func newAdminClient(c *Config) *adminClient {
	// No overall timeout: ls of a large tree, load and persist stream for
	// as long as they take. Connecting and the first answer are bounded.
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Minute, // persist?wait, CACHE_THROUGH writes of big files
		MaxIdleConnsPerHost:   4,
	}
	return &adminClient{
		addr:  c.WebAddress,
		base:  "http://" + c.WebAddress + gateway.AdminPrefix,
		token: c.WebToken,
		hc:    &http.Client{Transport: tr},
	}
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

// call sends one request and returns the response of a 2xx answer; other
// answers become an *apiError carrying the daemon's message.
func (c *adminClient) call(ctx context.Context, method, op string, q url.Values, body io.Reader) (*http.Response, error) {
	u := c.base + op
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("cannot reach the Hoard daemon at %s (hoard.web.address): %v; is it running? start it with `hoard start`", c.addr, op.Err)
		}
		return nil, fmt.Errorf("admin API at %s: %w", c.addr, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ae gateway.AdminError
	if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
		return nil, &apiError{Status: resp.StatusCode, Code: ae.Code, Msg: ae.Error}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, &apiError{Status: resp.StatusCode, Code: "EACCES", Msg: "the daemon wants a bearer token: set hoard.web.token as the daemon has it"}
	}
	return nil, &apiError{Status: resp.StatusCode, Code: "EIO",
		Msg: fmt.Sprintf("admin API at %s: %s: %s", c.addr, resp.Status, strings.TrimSpace(string(b)))}
}

// do sends a request and decodes its JSON answer into out (when not nil).
func (c *adminClient) do(ctx context.Context, method, op string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.call(ctx, method, op, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin API %s: bad answer: %w", op, err)
	}
	return nil
}

// stream sends a request whose answer is JSON lines and calls fn with each
// line. A line that carries an error ends the stream with that error; a
// stream that ends early is an error too (the daemon went away).
func (c *adminClient) stream(ctx context.Context, method, op string, q url.Values, fn func(line []byte) error) error {
	resp, err := c.call(ctx, method, op, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(`{"error":`)) {
			var ae gateway.AdminError
			if json.Unmarshal(line, &ae) == nil {
				return &apiError{Status: http.StatusOK, Code: ae.Code, Msg: ae.Error}
			}
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("admin API %s: the answer broke off: %w", op, err)
	}
	return nil
}

// readAll streams a raw answer (cat) into w.
func (c *adminClient) readAll(ctx context.Context, op string, q url.Values, w io.Writer) (int64, error) {
	resp, err := c.call(ctx, http.MethodGet, op, q, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("%s: the answer broke off after %d bytes: %w", q.Get("path"), n, err)
	}
	return n, nil
}

// put sends body as the content of a file (the write operation).
func (c *adminClient) put(ctx context.Context, q url.Values, body []byte) (*gateway.AdminEntry, error) {
	resp, err := c.call(ctx, http.MethodPut, "write", q, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var e gateway.AdminEntry
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return nil, fmt.Errorf("write %s: bad answer: %w", q.Get("path"), err)
	}
	return &e, nil
}

// pathQuery is the common query of one path.
func pathQuery(p string, kv ...string) url.Values {
	q := url.Values{"path": {p}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}
