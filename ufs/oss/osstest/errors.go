package osstest

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
)

// ossError is an error answer as OSS gives it: an HTTP status, a code and a
// message, plus the extra elements some codes carry (Key, BucketName, ...).
type ossError struct {
	status  int
	code    string
	message string
	extra   []xmlElem
}

type xmlElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func (e *ossError) Error() string { return e.code + ": " + e.message }

func newErr(status int, code, message string, extra ...string) *ossError {
	e := &ossError{status: status, code: code, message: message}
	for i := 0; i+1 < len(extra); i += 2 {
		e.extra = append(e.extra, xmlElem{XMLName: xml.Name{Local: extra[i]}, Value: extra[i+1]})
	}
	return e
}

// The codes and messages below are the ones OSS documents.

func errNoSuchBucket(bucket string) *ossError {
	return newErr(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.", "BucketName", bucket)
}

func errNoSuchKey(key string) *ossError {
	return newErr(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "Key", key)
}

func errNoSuchUpload(id string) *ossError {
	return newErr(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", "UploadId", id)
}

func errInvalidArgument(msg, name, value string) *ossError {
	return newErr(http.StatusBadRequest, "InvalidArgument", msg, "ArgumentName", name, "ArgumentValue", value)
}

func errMalformedXML() *ossError {
	return newErr(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
}

func errInvalidDigest() *ossError {
	return newErr(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid.")
}

func errAccessDenied(msg string) *ossError {
	return newErr(http.StatusForbidden, "AccessDenied", msg)
}

func errInternal() *ossError {
	return newErr(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}

func errNotImplemented() *ossError {
	return newErr(http.StatusNotImplemented, "NotImplemented", "A header or query you provided requested a function that is not implemented.")
}

// errorBody is the XML body of an error answer.
type errorBody struct {
	XMLName   xml.Name  `xml:"Error"`
	Code      string    `xml:"Code"`
	Message   string    `xml:"Message"`
	RequestID string    `xml:"RequestId"`
	HostID    string    `xml:"HostId"`
	Extra     []xmlElem `xml:",any"`
}

// writeError answers with e. HEAD answers cannot carry a body, so OSS puts
// the base64 of the XML in the x-oss-err header instead; the SDK decodes it.
func writeError(w http.ResponseWriter, r *http.Request, requestID, hostID string, e *ossError) {
	body, _ := xml.Marshal(errorBody{
		Code: e.code, Message: e.message, RequestID: requestID, HostID: hostID, Extra: e.extra,
	})
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	w.Write(body)
}
