package fakecodecommit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// writeJSON writes a CodeCommit answer in the JSON 1.1 protocol: the output
// object, or an error object with __type and message and the
// x-amzn-ErrorType header.
func writeJSON(w http.ResponseWriter, out any, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID())
	if e != nil {
		w.Header().Set("x-amzn-ErrorType", e.code)
		w.WriteHeader(e.status)
		b, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.message})
		w.Write(b)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	b, _ := json.Marshal(out)
	w.Write(b)
}

// Wire shapes, named as CodeCommit names them.
type (
	repositoryMetadata struct {
		AccountID        string  `json:"accountId"`
		RepositoryID     string  `json:"repositoryId"`
		RepositoryName   string  `json:"repositoryName"`
		DefaultBranch    string  `json:"defaultBranch,omitempty"`
		LastModifiedDate float64 `json:"lastModifiedDate"`
		CreationDate     float64 `json:"creationDate"`
		CloneURLHTTP     string  `json:"cloneUrlHttp"`
		CloneURLSSH      string  `json:"cloneUrlSsh"`
		Arn              string  `json:"Arn"`
	}
	wireTarget struct {
		RepositoryName       string `json:"repositoryName"`
		SourceReference      string `json:"sourceReference"`
		DestinationReference string `json:"destinationReference,omitempty"`
	}
	wirePullRequestTarget struct {
		RepositoryName       string            `json:"repositoryName"`
		SourceReference      string            `json:"sourceReference"`
		DestinationReference string            `json:"destinationReference"`
		SourceCommit         string            `json:"sourceCommit"`
		DestinationCommit    string            `json:"destinationCommit"`
		MergeBase            string            `json:"mergeBase"`
		MergeMetadata        wireMergeMetadata `json:"mergeMetadata"`
	}
	wireMergeMetadata struct {
		IsMerged      bool   `json:"isMerged"`
		MergedBy      string `json:"mergedBy,omitempty"`
		MergeCommitID string `json:"mergeCommitId,omitempty"`
		MergeOption   string `json:"mergeOption,omitempty"`
	}
	wirePullRequest struct {
		PullRequestID      string                  `json:"pullRequestId"`
		Title              string                  `json:"title"`
		Description        string                  `json:"description,omitempty"`
		LastActivityDate   float64                 `json:"lastActivityDate"`
		CreationDate       float64                 `json:"creationDate"`
		PullRequestStatus  string                  `json:"pullRequestStatus"`
		AuthorArn          string                  `json:"authorArn"`
		PullRequestTargets []wirePullRequestTarget `json:"pullRequestTargets"`
		ClientRequestToken string                  `json:"clientRequestToken,omitempty"`
		RevisionID         string                  `json:"revisionId"`
	}
)

// input is the union of the request members the fake reads.
type input struct {
	NextToken          string       `json:"nextToken"`
	MaxResults         *int         `json:"maxResults"`
	RepositoryName     string       `json:"repositoryName"`
	RepositoryNames    []string     `json:"repositoryNames"`
	BranchName         string       `json:"branchName"`
	CommitID           string       `json:"commitId"`
	PullRequestID      string       `json:"pullRequestId"`
	PullRequestStatus  string       `json:"pullRequestStatus"`
	Title              *string      `json:"title"`
	Description        string       `json:"description"`
	Targets            []wireTarget `json:"targets"`
	ClientRequestToken string       `json:"clientRequestToken"`
}

// codecommit runs one CodeCommit operation for key k.
func (s *Server) codecommit(op string, body []byte, k keyEntry) (any, *apiError) {
	var in input
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf(http.StatusBadRequest, "SerializationException", "The request body is not valid JSON.")
	}
	resource := s.repoARN(in.RepositoryName)
	if in.RepositoryName == "" {
		resource = s.repoARN("*")
	}
	if e := s.allowed(k, "codecommit:"+op, resource); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "ListRepositories":
		return s.listRepositories(in)
	case "BatchGetRepositories":
		return s.batchGetRepositories(in)
	case "GetRepository":
		r, e := s.repoLocked(in.RepositoryName)
		if e != nil {
			return nil, e
		}
		return map[string]any{"repositoryMetadata": s.metadataLocked(r)}, nil
	case "ListBranches":
		return s.listBranches(in)
	case "GetBranch":
		return s.getBranch(in)
	case "CreateBranch":
		return s.createBranch(in)
	case "DeleteBranch":
		return s.deleteBranch(in)
	case "ListPullRequests":
		return s.listPullRequests(in)
	case "GetPullRequest":
		pr, ok := s.prs[in.PullRequestID]
		if in.PullRequestID == "" {
			return nil, errorf(http.StatusBadRequest, "PullRequestIdRequiredException", "A pull request ID is required.")
		}
		if _, err := strconv.Atoi(in.PullRequestID); err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidPullRequestIdException", "The pull request ID is not valid.")
		}
		if !ok {
			return nil, errorf(http.StatusBadRequest, "PullRequestDoesNotExistException", "The pull request ID could not be found.")
		}
		return map[string]any{"pullRequest": s.wirePRLocked(pr)}, nil
	case "CreatePullRequest":
		return s.createPullRequest(in, k)
	}
	return nil, errorf(http.StatusBadRequest, "UnknownOperationException", "The fake does not implement %s.", op)
}

func (s *Server) repoLocked(name string) (*Repo, *apiError) {
	if name == "" {
		return nil, errorf(http.StatusBadRequest, "RepositoryNameRequiredException", "A repository name is required.")
	}
	r, ok := s.repos[name]
	if !ok {
		return nil, errorf(http.StatusBadRequest, "RepositoryDoesNotExistException", "%s does not exist", name)
	}
	return r, nil
}

func (s *Server) metadataLocked(r *Repo) repositoryMetadata {
	created := float64(r.created.UnixMilli()) / 1000
	return repositoryMetadata{
		AccountID: Account, RepositoryID: r.id, RepositoryName: r.name, DefaultBranch: r.defaultBranchLocked(),
		LastModifiedDate: created, CreationDate: created,
		CloneURLHTTP: "https://git-codecommit." + s.region + ".amazonaws.com/v1/repos/" + r.name,
		CloneURLSSH:  "ssh://git-codecommit." + s.region + ".amazonaws.com/v1/repos/" + r.name,
		Arn:          s.repoARN(r.name),
	}
}

// page cuts sorted items into the page nextToken points at. Tokens are
// opaque to clients: here the base64 of the offset.
func (s *Server) page(items []string, nextToken string, limit int) ([]string, string, *apiError) {
	start := 0
	if nextToken != "" {
		b, err := base64.StdEncoding.DecodeString(nextToken)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", errorf(http.StatusBadRequest, "InvalidContinuationTokenException", "The specified continuation token is not valid.")
		}
		start = n
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

func (s *Server) listRepositories(in input) (any, *apiError) {
	names := make([]string, 0, len(s.repos))
	for n := range s.repos {
		names = append(names, n)
	}
	sort.Strings(names)
	pg, next, e := s.page(names, in.NextToken, s.pageSize)
	if e != nil {
		return nil, e
	}
	type pair struct {
		RepositoryName string `json:"repositoryName"`
		RepositoryID   string `json:"repositoryId"`
	}
	out := struct {
		Repositories []pair `json:"repositories"`
		NextToken    string `json:"nextToken,omitempty"`
	}{Repositories: []pair{}, NextToken: next}
	for _, n := range pg {
		out.Repositories = append(out.Repositories, pair{n, s.repos[n].id})
	}
	return out, nil
}

// maxBatchRepositories is BatchGetRepositories' limit on names per call.
const maxBatchRepositories = 25

func (s *Server) batchGetRepositories(in input) (any, *apiError) {
	if len(in.RepositoryNames) == 0 {
		return nil, errorf(http.StatusBadRequest, "RepositoryNamesRequiredException", "At least one repository name is required.")
	}
	if len(in.RepositoryNames) > maxBatchRepositories {
		return nil, errorf(http.StatusBadRequest, "MaximumRepositoryNamesExceededException",
			"The maximum number of allowed repository names was exceeded. Currently, this number is %d.", maxBatchRepositories)
	}
	type batchError struct {
		RepositoryName string `json:"repositoryName"`
		ErrorCode      string `json:"errorCode"`
		ErrorMessage   string `json:"errorMessage"`
	}
	out := struct {
		Repositories         []repositoryMetadata `json:"repositories"`
		RepositoriesNotFound []string             `json:"repositoriesNotFound"`
		Errors               []batchError         `json:"errors"`
	}{Repositories: []repositoryMetadata{}, RepositoriesNotFound: []string{}, Errors: []batchError{}}
	for _, n := range in.RepositoryNames {
		r, ok := s.repos[n]
		if !ok {
			out.RepositoriesNotFound = append(out.RepositoriesNotFound, n)
			out.Errors = append(out.Errors, batchError{n, "REPOSITORY_DOES_NOT_EXIST_EXCEPTION", n + " does not exist"})
			continue
		}
		out.Repositories = append(out.Repositories, s.metadataLocked(r))
	}
	return out, nil
}

func (s *Server) listBranches(in input) (any, *apiError) {
	r, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	var names []string
	for ref := range listRefs(r.gitLocked().Dir, "refs/heads/") {
		names = append(names, strings.TrimPrefix(ref, "refs/heads/"))
	}
	sort.Strings(names)
	pg, next, e := s.page(names, in.NextToken, s.pageSize)
	if e != nil {
		return nil, e
	}
	return struct {
		Branches  []string `json:"branches"`
		NextToken string   `json:"nextToken,omitempty"`
	}{append([]string{}, pg...), next}, nil
}

func (s *Server) getBranch(in input) (any, *apiError) {
	r, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	if in.BranchName == "" {
		return nil, errorf(http.StatusBadRequest, "BranchNameRequiredException", "A branch name is required.")
	}
	c, ok := r.branchLocked(in.BranchName)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "BranchDoesNotExistException", "Branch %s does not exist", in.BranchName)
	}
	return map[string]any{"branch": map[string]string{"branchName": in.BranchName, "commitId": c}}, nil
}

func (s *Server) createBranch(in input) (any, *apiError) {
	r, e := s.repoLocked(in.RepositoryName)
	if e != nil {
		return nil, e
	}
	switch {
	case in.BranchName == "":
		return nil, errorf(http.StatusBadRequest, "BranchNameRequiredException", "A branch name is required.")
	case !validRefName(in.BranchName):
		return nil, errorf(http.StatusBadRequest, "InvalidBranchNameException", "The specified reference name is not valid.")
	case in.CommitID == "":
		return nil, errorf(http.StatusBadRequest, "CommitIdRequiredException", "A commit ID is required.")
	case !hexID.MatchString(in.CommitID):
		return nil, errorf(http.StatusBadRequest, "InvalidCommitIdException", "The specified commit ID is not valid.")
	}
	if _, ok := r.branchLocked(in.BranchName); ok {
		return nil, errorf(http.StatusBadRequest, "BranchNameExistsException", "Branch %s already exists", in.BranchName)
	}
	if c, ok := r.gitLocked().Resolve(in.CommitID); !ok || c != in.CommitID {
		return nil, errorf(http.StatusBadRequest, "CommitDoesNotExistException", "Could not find commit %s", in.CommitID)
	}
	switch err := r.setRefLocked("refs/heads/"+in.BranchName, in.CommitID, ""); {
	case errors.Is(err, fakegit.ErrStale):
		return nil, errorf(http.StatusBadRequest, "BranchNameExistsException", "Branch %s already exists", in.BranchName)
	case err != nil:
		return nil, errorf(http.StatusInternalServerError, "InternalFailure", "%v", err)
	}
	return nil, nil
}

// maxListPullRequests is the largest maxResults ListPullRequests accepts.
const maxListPullRequests = 100

func (s *Server) listPullRequests(in input) (any, *apiError) {
	if _, e := s.repoLocked(in.RepositoryName); e != nil {
		return nil, e
	}
	if in.PullRequestStatus != "" && in.PullRequestStatus != "OPEN" && in.PullRequestStatus != "CLOSED" {
		return nil, errorf(http.StatusBadRequest, "InvalidPullRequestStatusException", "The pull request status is not valid.")
	}
	limit := maxListPullRequests
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > maxListPullRequests {
			return nil, errorf(http.StatusBadRequest, "InvalidMaxResultsException", "The specified number of maximum results is not valid.")
		}
		limit = *in.MaxResults
	}
	limit = min(limit, s.pageSize)
	var ids []int
	for _, pr := range s.prs {
		if pr.repo == in.RepositoryName && (in.PullRequestStatus == "" || pr.status == in.PullRequestStatus) {
			n, _ := strconv.Atoi(pr.id)
			ids = append(ids, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ids))) // newest first
	strs := make([]string, len(ids))
	for i, n := range ids {
		strs[i] = strconv.Itoa(n)
	}
	pg, next, e := s.page(strs, in.NextToken, limit)
	if e != nil {
		return nil, e
	}
	return struct {
		PullRequestIDs []string `json:"pullRequestIds"`
		NextToken      string   `json:"nextToken,omitempty"`
	}{append([]string{}, pg...), next}, nil
}

func fullRef(ref string) string {
	if strings.HasPrefix(ref, "refs/") {
		return ref
	}
	return "refs/heads/" + ref
}

func (s *Server) createPullRequest(in input, k keyEntry) (any, *apiError) {
	switch {
	case in.Title == nil:
		return nil, errorf(http.StatusBadRequest, "TitleRequiredException", "A pull request title is required.")
	case *in.Title == "" || len(*in.Title) > 150:
		return nil, errorf(http.StatusBadRequest, "InvalidTitleException", "The title of the pull request is not valid.")
	case len(in.Description) > 10240:
		return nil, errorf(http.StatusBadRequest, "InvalidDescriptionException", "The pull request description is not valid.")
	case len(in.Targets) == 0:
		return nil, errorf(http.StatusBadRequest, "TargetsRequiredException", "An array of target objects is required.")
	case len(in.Targets) > 1:
		return nil, errorf(http.StatusBadRequest, "MultipleRepositoriesInPullRequestException", "You cannot include more than one repository in a pull request.")
	}
	t := in.Targets[0]
	// A token already used answers the pull request it created, provided the
	// parameters are the same.
	sum := sha256.Sum256(mustJSON([]any{*in.Title, in.Description, t}))
	params := hex.EncodeToString(sum[:])
	if use, ok := s.tokens[in.ClientRequestToken]; ok && in.ClientRequestToken != "" {
		if use.params != params {
			return nil, errorf(http.StatusBadRequest, "IdempotencyParameterMismatchException",
				"The client request token is not valid. Either the token is not in a valid format, or the token has been used in a previous request and cannot be reused.")
		}
		return map[string]any{"pullRequest": s.wirePRLocked(s.prs[use.prID])}, nil
	}
	r, e := s.repoLocked(t.RepositoryName)
	if e != nil {
		return nil, e
	}
	pr, e := s.openPullLocked(r, t.SourceReference, t.DestinationReference, *in.Title, in.Description, k.ARN, in.ClientRequestToken)
	if e != nil {
		return nil, e
	}
	if in.ClientRequestToken != "" {
		s.tokens[in.ClientRequestToken] = tokenUse{params: params, prID: pr.id}
	}
	return map[string]any{"pullRequest": s.wirePRLocked(pr)}, nil
}

// openPullLocked opens a pull request from source into dest ("" for the
// default branch) after CodeCommit's checks on the references.
func (s *Server) openPullLocked(r *Repo, source, dest, title, description, author, token string) (*pullRequest, *apiError) {
	if source == "" {
		return nil, errorf(http.StatusBadRequest, "ReferenceNameRequiredException", "A reference name is required.")
	}
	if dest == "" {
		dest = r.defaultBranchLocked()
	}
	src, dst := fullRef(source), fullRef(dest)
	if src == dst {
		return nil, errorf(http.StatusBadRequest, "SourceAndDestinationAreSameException",
			"The source branch and destination branch for the pull request are the same. You must specify different branches for the source and destination.")
	}
	srcCommit, ok := r.branchLocked(strings.TrimPrefix(src, "refs/heads/"))
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ReferenceDoesNotExistException", "The specified reference %s does not exist.", source)
	}
	dstCommit, ok := r.branchLocked(strings.TrimPrefix(dst, "refs/heads/"))
	if !ok {
		return nil, errorf(http.StatusBadRequest, "ReferenceDoesNotExistException", "The specified reference %s does not exist.", dest)
	}
	s.nextPR++
	now := time.Now()
	pr := &pullRequest{id: strconv.Itoa(s.nextPR), title: title, description: description, status: "OPEN",
		author: author, token: token, revision: newUUID(), repo: r.name,
		source: src, destination: dst, sourceCommit: srcCommit, destCommit: dstCommit, created: now, updated: now}
	s.prs[pr.id] = pr
	return pr, nil
}

// setPullStateLocked closes or merges an open pull request. Merging moves
// the destination branch: fast-forward when it is an ancestor of the
// source, else a merge commit of both.
func (s *Server) setPullStateLocked(pr *pullRequest, state string) error {
	switch {
	case state != "OPEN" && state != "CLOSED" && state != "MERGED":
		return fmt.Errorf("fakecodecommit: pull request state %q is not OPEN, CLOSED or MERGED", state)
	case pr.status == "CLOSED" && state != "CLOSED" || pr.status == "CLOSED" && pr.merge != nil:
		return fmt.Errorf("fakecodecommit: pull request %s is already closed", pr.id)
	case state == "OPEN" || pr.status == "CLOSED":
		return nil
	}
	r := s.repos[pr.repo]
	src, dst := s.prCommitsLocked(pr)
	if state == "MERGED" {
		if src == "" || dst == "" {
			return fmt.Errorf("fakecodecommit: pull request %s has lost a branch", pr.id)
		}
		m := &mergeMetadata{commit: src, option: "FAST_FORWARD_MERGE", by: AuthorARN}
		if !r.git.IsAncestor(dst, src) {
			c, err := mergeCommit(r.git, dst, src, "Merge pull request "+pr.id)
			if err != nil {
				return err
			}
			m.commit, m.option = c, "THREE_WAY_MERGE"
		}
		if err := r.git.UpdateRef(pr.destination, m.commit, dst); err != nil {
			return err
		}
		pr.merge = m
	}
	pr.status, pr.sourceCommit, pr.destCommit, pr.updated = "CLOSED", src, dst, time.Now()
	return nil
}

// prCommitsLocked is where an open pull request's branches are now, and
// where a closed one's were when it closed.
func (s *Server) prCommitsLocked(pr *pullRequest) (src, dst string) {
	if pr.status != "OPEN" {
		return pr.sourceCommit, pr.destCommit
	}
	r := s.repos[pr.repo]
	src, _ = r.branchLocked(strings.TrimPrefix(pr.source, "refs/heads/"))
	dst, _ = r.branchLocked(strings.TrimPrefix(pr.destination, "refs/heads/"))
	return src, dst
}

func (s *Server) wirePRLocked(pr *pullRequest) wirePullRequest {
	src, dst := s.prCommitsLocked(pr)
	t := wirePullRequestTarget{RepositoryName: pr.repo, SourceReference: pr.source, DestinationReference: pr.destination,
		SourceCommit: src, DestinationCommit: dst, MergeBase: s.mergeBaseLocked(s.repos[pr.repo].git, src, dst)}
	if pr.merge != nil {
		t.MergeMetadata = wireMergeMetadata{IsMerged: true, MergedBy: pr.merge.by, MergeCommitID: pr.merge.commit,
			MergeOption: pr.merge.option}
	}
	return wirePullRequest{PullRequestID: pr.id, Title: pr.title, Description: pr.description,
		LastActivityDate: epochSeconds(pr.updated), CreationDate: epochSeconds(pr.created), PullRequestStatus: pr.status,
		AuthorArn: pr.author, PullRequestTargets: []wirePullRequestTarget{t}, ClientRequestToken: pr.token,
		RevisionID: pr.revision}
}

// epochSeconds is a time as CodeCommit's JSON protocol writes timestamps.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
