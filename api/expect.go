package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Bounds of a window of expected changes asked for over HTTP: one left
// open by mistake must not keep the pager quiet for long.
const (
	MaxExpectFor    = 7 * 24 * time.Hour
	MaxExpectReason = 256 // bytes
)

// ErrNoSuchCluster is returned by Expect and Unexpect for a cluster not in
// the config: the answer is 404.
var ErrNoSuchCluster = errors.New("no such cluster")

// expectRequest is the body of POST /v1/expect.
type expectRequest struct {
	Cluster string `json:"cluster"`
	For     string `json:"for"` // a Go duration: 30m, 2h
	Reason  string `json:"reason"`
}

// expect is POST /v1/expect: a window of expected changes opens.
func (s *Server) expect(w http.ResponseWriter, r *http.Request) {
	if s.Expect == nil {
		httpError(w, http.StatusNotFound, "windows of expected changes are not available")
		return
	}
	var req expectRequest
	if err := decodeBody(w, r, &req); err != nil {
		httpError(w, http.StatusBadRequest, `body: want {"cluster": NAME, "for": "30m", "reason": "..."}: `+describeBodyError(err))
		return
	}
	d, err := checkExpect(req)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := s.Expect(r.Context(), req.Cluster, d, req.Reason)
	s.answerValue(w, v, err)
}

// decodeBody decodes a request's body, one JSON object of v's fields and
// nothing after it: a second object or stray text is an error, not
// silently left unread.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more after the JSON object: send one")
	}
	return nil
}

// describeBodyError says what a JSON body got wrong in the request's terms:
// encoding/json names the Go struct and types behind it instead.
func describeBodyError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return err.Error()
	}
	want := typeErr.Type.Kind().String()
	if want == "struct" {
		want = "object"
	}
	if typeErr.Field == "" {
		return fmt.Sprintf("got %s, want %s", typeErr.Value, want)
	}
	return fmt.Sprintf("%q: got %s, want %s", typeErr.Field, typeErr.Value, want)
}

func checkExpect(req expectRequest) (time.Duration, error) {
	if req.Cluster == "" {
		return 0, errors.New(`"cluster" is required`)
	}
	d, err := time.ParseDuration(req.For)
	switch {
	case req.For == "":
		return 0, errors.New(`"for" is required: how long changes are expected, e.g. "30m"`)
	case err != nil:
		return 0, fmt.Errorf(`"for": %q is not a duration such as "30m" or "2h"`, req.For)
	case d <= 0 || d > MaxExpectFor:
		return 0, fmt.Errorf(`"for": %s is not in (0, %s]`, d, MaxExpectFor)
	case len(req.Reason) > MaxExpectReason:
		return 0, fmt.Errorf(`"reason" is %d bytes long, over the limit of %d`, len(req.Reason), MaxExpectReason)
	}
	return d, nil
}

// unexpect is DELETE /v1/expect?cluster=NAME: the cluster's window ends.
func (s *Server) unexpect(w http.ResponseWriter, r *http.Request) {
	if s.Unexpect == nil {
		httpError(w, http.StatusNotFound, "windows of expected changes are not available")
		return
	}
	cluster := r.URL.Query().Get("cluster")
	if cluster == "" {
		httpError(w, http.StatusBadRequest, "no cluster named: DELETE /v1/expect?cluster=NAME")
		return
	}
	v, err := s.Unexpect(r.Context(), cluster)
	s.answerValue(w, v, err)
}

// answerValue writes v with 200, or the error as answer does, a cluster
// not in the config as a 404.
func (s *Server) answerValue(w http.ResponseWriter, v any, err error) {
	if errors.Is(err, ErrNoSuchCluster) {
		httpError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.answer(w, err, 0)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
