package fakecodecommit

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// EventBridge delivers events to an API destination with these headers
// besides the connection's authorization ("Headers included in requests to
// API destinations", EventBridge user guide); Content-Length and Host are
// the transport's.
var eventBridgeHeaders = map[string]string{
	"User-Agent":      "Amazon/EventBridge/ApiDestinations",
	"Content-Type":    "application/json; charset=utf-8",
	"Range":           "bytes=0-1048575",
	"Accept-Encoding": "gzip,deflate",
	"Connection":      "close",
}

// SecretHeader is the API-key header of the EventBridge connection that
// delivers to forgebridge, its value the integration's webhook secret.
const SecretHeader = "X-Forgebridge-Webhook-Secret"

const zeroCommit = "0000000000000000000000000000000000000000"

// PushDelivery is the request an EventBridge rule's API destination sends
// forgebridge when ref (refs/heads/… or refs/tags/…) of r moves from before
// to after: a "CodeCommit Repository State Change" event, referenceCreated
// when before is empty (or git's zero id), referenceDeleted when after is,
// referenceUpdated otherwise. It returns the headers, the API key among
// them, and the body.
func (s *Server) PushDelivery(r *Repo, ref, before, after, secret string) (http.Header, []byte) {
	if before == zeroCommit {
		before = ""
	}
	if after == zeroCommit {
		after = ""
	}
	refType, name := "branch", strings.TrimPrefix(ref, "refs/heads/")
	if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		refType, name = "tag", tag
	}
	detail := map[string]any{"repositoryName": r.name, "repositoryId": r.id, "referenceType": refType,
		"referenceName": name, "referenceFullName": ref}
	switch {
	case before == "":
		detail["event"], detail["commitId"] = "referenceCreated", after
	case after == "":
		detail["event"], detail["oldCommitId"] = "referenceDeleted", before
	default:
		detail["event"], detail["commitId"], detail["oldCommitId"] = "referenceUpdated", after, before
	}
	return s.delivery(r, "CodeCommit Repository State Change", detail, secret)
}

// PullRequestDelivery is the request an API destination sends forgebridge
// for event (pullRequestCreated, pullRequestSourceBranchUpdated,
// pullRequestStatusChanged, pullRequestMergeStatusUpdated, …) on pull
// request id of r: a "CodeCommit Pull Request State Change" event whose
// detail describes the pull request as it is now.
func (s *Server) PullRequestDelivery(r *Repo, id int, event, secret string) (http.Header, []byte) {
	s.mu.Lock()
	detail := map[string]any{"event": event, "pullRequestId": strconv.Itoa(id), "repositoryNames": []string{r.name}}
	if pr, ok := s.prs[strconv.Itoa(id)]; ok && pr.repo == r.name {
		src, dst := s.prCommitsLocked(pr)
		status, merged := "Open", "False"
		if pr.status == "CLOSED" {
			status = "Closed"
		}
		if pr.merge != nil {
			merged = "True"
			detail["mergeOption"] = pr.merge.option
		}
		// The documented examples write these dates as Java's Date.toString does.
		for k, v := range map[string]any{"author": pr.author, "callerUserArn": pr.author,
			"creationDate": pr.created.UTC().Format(time.UnixDate), "lastModifiedDate": pr.updated.UTC().Format(time.UnixDate),
			"description": pr.description, "title": pr.title, "isMerged": merged, "pullRequestStatus": status,
			"revisionId": pr.revision, "sourceReference": pr.source, "sourceCommit": src,
			"destinationReference": pr.destination, "destinationCommit": dst,
			"notificationBody": "A pull request event occurred in the following AWS CodeCommit repository: " + r.name + "."} {
			detail[k] = v
		}
	}
	s.mu.Unlock()
	return s.delivery(r, "CodeCommit Pull Request State Change", detail, secret)
}

// delivery wraps detail in an EventBridge event from aws.codecommit about r.
func (s *Server) delivery(r *Repo, detailType string, detail map[string]any, secret string) (http.Header, []byte) {
	body, _ := json.Marshal(map[string]any{
		"version": "0", "id": newUUID(), "detail-type": detailType, "source": "aws.codecommit",
		"account": Account, "time": time.Now().UTC().Format(time.RFC3339), "region": s.region,
		"resources": []string{s.repoARN(r.name)}, "detail": detail,
	})
	h := http.Header{}
	for k, v := range eventBridgeHeaders {
		h.Set(k, v)
	}
	h.Set(SecretHeader, secret)
	return h, body
}
