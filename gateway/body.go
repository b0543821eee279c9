package gateway

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/minio/crc64nvme"
)

// Request bodies.
//
// A body reaches the store through a chain of readers that decode and check
// it as it streams: the aws-chunked decoder (chunk signatures verified when
// keys are configured), the payload hash of x-amz-content-sha256, and the
// flexible checksums (x-amz-checksum-*, in a header or in the trailer of an
// aws-chunked body). Each check fails at the end of the body at the
// latest, before the store commits anything, so a body that does not verify
// leaves nothing behind. Nothing is buffered beyond a line of chunk framing.

// prepareBody sets q.body and q.size from the request's headers.
func (s *server) prepareBody(q *request) error {
	r := q.r
	q.size = r.ContentLength
	var body io.Reader = strictBody{r.Body}
	var trailers func() map[string]string
	switch sha := r.Header.Get("X-Amz-Content-Sha256"); sha {
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer:
		q.size = -1
		if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return errorf(ErrInvalidArgument, "x-amz-decoded-content-length must be a non-negative integer")
			}
			q.size = n
		}
		cr := &chunkReader{br: bufio.NewReaderSize(body, 16<<10), trailer: sha != streamingSigned}
		if sha != streamingUnsignedTrailer && q.auth != nil {
			cr.sig = q.auth
			cr.prevSig = q.auth.seedSig
			cr.h = sha256.New()
		}
		body, trailers = cr, cr.trailers
	case "", unsignedPayload:
	default:
		want, err := hex.DecodeString(sha)
		if err != nil || len(want) != sha256.Size {
			return errorf(ErrInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a hex SHA-256")
		}
		body = &hashReader{r: body, h: sha256.New(), check: func(sum []byte) error {
			if !hmac.Equal(sum, want) {
				return ErrContentSHA256Mismatch
			}
			return nil
		}}
	}
	if cs, err := checksumFor(q, body, trailers); err != nil {
		return err
	} else if cs != nil {
		body = cs
	}
	q.body = body
	return nil
}

// strictBody turns a body cut short into IncompleteBody: the store takes
// io.ErrUnexpectedEOF for the end of the content.
type strictBody struct{ r io.Reader }

func (b strictBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = withCause(ErrIncompleteBody, err)
	}
	return n, err
}

// hashReader hashes what it reads and calls check with the sum at the end;
// check's error replaces io.EOF.
type hashReader struct {
	r     io.Reader
	h     hash.Hash
	check func(sum []byte) error
	done  bool
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF && !h.done {
		h.done = true
		if cerr := h.check(h.h.Sum(nil)); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// checksumAlgos are the flexible checksums S3 accepts, by header name.
var checksumAlgos = map[string]func() hash.Hash{
	"x-amz-checksum-crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"x-amz-checksum-crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"x-amz-checksum-crc64nvme": func() hash.Hash { return crc64nvme.New() },
	"x-amz-checksum-sha1":      sha1.New,
	"x-amz-checksum-sha256":    sha256.New,
}

// checksumFor returns a reader that checks the body's flexible checksum,
// announced in a header (value given there) or in x-amz-trailer (value in
// the aws-chunked trailer), or nil when there is none.
func checksumFor(q *request, body io.Reader, trailers func() map[string]string) (io.Reader, error) {
	r := q.r
	name := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Amz-Trailer")))
	value := ""
	if name == "" {
		for n := range checksumAlgos {
			if v := r.Header.Get(n); v != "" {
				name, value = n, v
				break
			}
		}
	}
	if name == "" {
		return nil, nil
	}
	newHash, ok := checksumAlgos[name]
	if !ok {
		return nil, errorf(ErrInvalidArgument, "Unsupported checksum %q", name)
	}
	if value == "" && trailers == nil {
		return nil, errorf(ErrInvalidRequest, "x-amz-trailer %s needs an aws-chunked body", name)
	}
	return &hashReader{r: body, h: newHash(), check: func(sum []byte) error {
		want := value
		if want == "" {
			want = trailers()[name]
		}
		if want == "" {
			return nil // announced, never sent: nothing to check
		}
		got := base64.StdEncoding.EncodeToString(sum)
		q.checksum = [2]string{name, got}
		if got != want {
			return errorf(ErrChecksumMismatch, "The %s you specified did not match the calculated checksum.", strings.TrimPrefix(name, "x-amz-checksum-"))
		}
		return nil
	}}, nil
}

// chunkReader decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
//	[<trailer name>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
//
// With sig set it verifies each chunk's signature, chained from the seed
// signature of the request, and the trailer's.
type chunkReader struct {
	br      *bufio.Reader
	trailer bool // trailers may follow the last chunk

	sig      *authInfo // nil: signatures are not checked
	h        hash.Hash // sha256 of the current chunk, when checking
	prevSig  string
	chunkSig string

	left int64 // bytes of the current chunk not read yet
	done bool
	err  error
	tr   map[string]string
}

func (c *chunkReader) trailers() map[string]string { return c.tr }

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.err == nil && c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		c.err = c.next()
	}
	if c.err != nil {
		return 0, c.err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	if c.left == 0 {
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	if err == io.EOF && c.left > 0 {
		err = ErrInvalidChunkedEncoding
	}
	if err != nil && err != io.EOF {
		c.err = err
		return n, err
	}
	return n, nil
}

// readLine reads one line of framing without its line ending.
func (c *chunkReader) readLine() (string, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", withCause(ErrInvalidChunkedEncoding, err)
	}
	if err != nil && (err != io.EOF || len(line) == 0) {
		if err == io.EOF {
			return "", io.EOF
		}
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// next reads the header of the next chunk; the last one brings the
// trailers with it.
func (c *chunkReader) next() error {
	line, err := c.readLine()
	if err != nil {
		if err == io.EOF {
			return ErrInvalidChunkedEncoding
		}
		return err
	}
	sizeStr, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
	if err != nil || size < 0 {
		return ErrInvalidChunkedEncoding
	}
	c.chunkSig = strings.TrimPrefix(strings.TrimSpace(ext), "chunk-signature=")
	if c.h != nil {
		c.h.Reset()
	}
	if size > 0 {
		c.left = size
		return nil
	}
	if err := c.checkChunkSig(); err != nil {
		return err
	}
	c.done = true
	return c.readTrailers()
}

// endChunk checks the CRLF after a chunk's data and its signature.
func (c *chunkReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
		return ErrInvalidChunkedEncoding
	}
	return c.checkChunkSig()
}

func (c *chunkReader) checkChunkSig() error {
	if c.sig == nil {
		return nil
	}
	sum := hex.EncodeToString(c.h.Sum(nil))
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.sig.amzDate + "\n" + c.sig.scope + "\n" + c.prevSig + "\n" + emptySHA256 + "\n" + sum
	want := hex.EncodeToString(hmacSHA256(c.sig.signingKey, sts))
	if !hmac.Equal([]byte(want), []byte(c.chunkSig)) {
		return withCause(ErrSignatureDoesNotMatch, errors.New("chunk signature"))
	}
	c.prevSig = want
	return nil
}

// readTrailers reads what follows the last chunk up to the end of the
// body: trailer headers, and with signatures, the trailer's signature.
func (c *chunkReader) readTrailers() error {
	c.tr = map[string]string{}
	var signed strings.Builder
	var trailerSig string
	total := 0
	for {
		line, err := c.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if total += len(line); total > 16<<10 {
			return ErrInvalidChunkedEncoding
		}
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !c.trailer {
			return ErrInvalidChunkedEncoding
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "x-amz-trailer-signature" {
			trailerSig = strings.TrimSpace(value)
			continue
		}
		c.tr[name] = strings.TrimSpace(value)
		signed.WriteString(name + ":" + strings.TrimSpace(value) + "\n")
	}
	if c.sig != nil && c.trailer {
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.sig.amzDate + "\n" + c.sig.scope + "\n" + c.prevSig + "\n" + sha256Hex(signed.String())
		want := hex.EncodeToString(hmacSHA256(c.sig.signingKey, sts))
		if !hmac.Equal([]byte(want), []byte(trailerSig)) {
			return withCause(ErrSignatureDoesNotMatch, errors.New("trailer signature"))
		}
	}
	return nil
}
