package fakecodecommit

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

func parseForm(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }

// sts answers the STS query-protocol actions the fake knows (GetCallerIdentity).
func (s *Server) sts(w http.ResponseWriter, action string, k keyEntry) {
	if action != "GetCallerIdentity" {
		writeQuery(w, nil, errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version 2011-06-15.", action))
		return
	}
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	account := Account
	if parts := strings.Split(k.ARN, ":"); len(parts) > 4 && parts[4] != "" {
		account = parts[4]
	}
	writeQuery(w, struct {
		XMLName xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  result   `xml:"GetCallerIdentityResult"`
		Meta    struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}{Xmlns: stsNamespace, Result: result{Arn: k.ARN, UserID: userID(k.ARN), Account: account},
		Meta: struct {
			RequestID string `xml:"RequestId"`
		}{requestID()}}, nil)
}

// userID is a stable AIDA… unique id for an ARN, as IAM gives users.
func userID(arn string) string {
	sum := sha1.Sum([]byte(arn))
	return "AIDA" + strings.ToUpper(hex.EncodeToString(sum[:]))[:17]
}

// writeQuery writes an STS answer: the result document, or the query
// protocol's ErrorResponse.
func writeQuery(w http.ResponseWriter, out any, e *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	if e == nil {
		w.Header().Set("x-amzn-RequestId", requestID())
		b, _ := xml.Marshal(out)
		w.Write(b)
		return
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	var doc struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		RequestID string `xml:"RequestId"`
	}
	doc.Xmlns = stsNamespace
	doc.Error.Type, doc.Error.Code, doc.Error.Message = typ, e.code, e.message
	doc.RequestID = requestID()
	b, _ := xml.Marshal(doc)
	w.WriteHeader(e.status)
	w.Write(b)
}
