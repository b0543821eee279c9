package osstest

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"time"
)

// The XML documents OSS answers with. Element names and order follow the
// OSS API reference.

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type contents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Type         string `xml:"Type"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
	Owner        *owner `xml:"Owner,omitempty"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Contents       []contents     `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

type listBucketResultV2 struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	Contents              []contents     `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type bucketEntry struct {
	Name             string `xml:"Name"`
	CreationDate     string `xml:"CreationDate"`
	ExtranetEndpoint string `xml:"ExtranetEndpoint"`
	IntranetEndpoint string `xml:"IntranetEndpoint"`
	Location         string `xml:"Location"`
	StorageClass     string `xml:"StorageClass"`
	Region           string `xml:"Region"`
}

type listAllMyBucketsResult struct {
	XMLName     xml.Name      `xml:"ListAllMyBucketsResult"`
	Prefix      string        `xml:"Prefix"`
	Marker      string        `xml:"Marker"`
	MaxKeys     int           `xml:"MaxKeys"`
	IsTruncated bool          `xml:"IsTruncated"`
	NextMarker  string        `xml:"NextMarker,omitempty"`
	Owner       owner         `xml:"Owner"`
	Buckets     []bucketEntry `xml:"Buckets>Bucket"`
}

type bucketInfo struct {
	XMLName xml.Name `xml:"BucketInfo"`
	Bucket  struct {
		Name               string `xml:"Name"`
		AccessMonitor      string `xml:"AccessMonitor"`
		Location           string `xml:"Location"`
		CreationDate       string `xml:"CreationDate"`
		ExtranetEndpoint   string `xml:"ExtranetEndpoint"`
		IntranetEndpoint   string `xml:"IntranetEndpoint"`
		ACL                string `xml:"AccessControlList>Grant"`
		DataRedundancyType string `xml:"DataRedundancyType"`
		Owner              owner  `xml:"Owner"`
		StorageClass       string `xml:"StorageClass"`
		Versioning         string `xml:"Versioning,omitempty"`
	} `xml:"Bucket"`
}

type bucketStat struct {
	XMLName              xml.Name `xml:"BucketStat"`
	Storage              int64    `xml:"Storage"`
	ObjectCount          int64    `xml:"ObjectCount"`
	MultipartUploadCount int64    `xml:"MultipartUploadCount"`
	LiveChannelCount     int64    `xml:"LiveChannelCount"`
	LastModifiedTime     int64    `xml:"LastModifiedTime"`
	StandardStorage      int64    `xml:"StandardStorage"`
	StandardObjectCount  int64    `xml:"StandardObjectCount"`
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName      xml.Name `xml:"DeleteResult"`
	EncodingType string   `xml:"EncodingType,omitempty"`
	Deleted      []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
}

type initiateResult struct {
	XMLName      xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	EncodingType string   `xml:"EncodingType,omitempty"`
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName      xml.Name `xml:"CompleteMultipartUploadResult"`
	EncodingType string   `xml:"EncodingType,omitempty"`
	Location     string   `xml:"Location"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	ETag         string   `xml:"ETag"`
}

type partEntry struct {
	PartNumber    int    `xml:"PartNumber"`
	LastModified  string `xml:"LastModified"`
	ETag          string `xml:"ETag"`
	HashCrc64ecma uint64 `xml:"HashCrc64ecma"`
	Size          int64  `xml:"Size"`
}

type listPartsResult struct {
	XMLName              xml.Name    `xml:"ListPartsResult"`
	EncodingType         string      `xml:"EncodingType,omitempty"`
	Bucket               string      `xml:"Bucket"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	PartNumberMarker     int         `xml:"PartNumberMarker"`
	NextPartNumberMarker int         `xml:"NextPartNumberMarker"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	Parts                []partEntry `xml:"Part"`
}

type uploadEntry struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type listUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Delimiter          string         `xml:"Delimiter"`
	Prefix             string         `xml:"Prefix"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Uploads            []uploadEntry  `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// isoTime formats t as OSS does in XML bodies.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// quote makes an ETag header or element value.
func quote(etag string) string { return `"` + etag + `"` }

// writeXML answers 200 with v as the body.
func (c *call) writeXML(v any) *ossError {
	body, err := xml.Marshal(v)
	if err != nil {
		return errInternal()
	}
	body = append([]byte(xml.Header), body...)
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(body)
	return nil
}

// urlEncoding tells whether the request asked for encoding-type=url, and
// returns the function that encodes keys and prefixes accordingly.
func (c *call) urlEncoding() (string, func(string) string) {
	if c.t.query.Get("encoding-type") == "url" {
		return "url", queryEscape
	}
	return "", func(s string) string { return s }
}
