package api

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// Group is the API of a node in a group of leaderhook nodes (ha:).
type Group struct {
	// Status is GET /v1/ha.
	Status func() any
	// Forward takes what another node of the group took in and forwards
	// to the leader: POST /v1/ha/forward.
	Forward func(ctx context.Context, body []byte) error
	// Join and Remove change the group's members, on its leader: POST
	// /v1/ha/join {"id", "address"} and POST /v1/ha/remove {"id"}.
	Join   func(id, address string) error
	Remove func(id string) error
}

// member is the body of POST /v1/ha/join and /v1/ha/remove.
type member struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

func (s *Server) groupRoutes(mux *http.ServeMux) {
	g := s.Group
	if g == nil {
		mux.HandleFunc("GET /v1/ha", func(w http.ResponseWriter, _ *http.Request) {
			httpError(w, http.StatusNotFound, "this leaderhook runs alone: the config has no ha block")
		})
		return
	}
	mux.HandleFunc("GET /v1/ha", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, g.Status()) })
	mux.HandleFunc("POST /v1/ha/forward", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4*s.currentLimits().MaxBody))
		if err != nil {
			httpError(w, http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
		s.answer(w, g.Forward(r.Context(), body), http.StatusAccepted)
	}))
	mux.HandleFunc("POST /v1/ha/join", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		m, ok := readMember(w, r)
		if !ok {
			return
		}
		if m.ID == "" || m.Address == "" {
			httpError(w, http.StatusBadRequest, `both "id" and "address" (the node's raft address) are required`)
			return
		}
		s.answer(w, g.Join(m.ID, m.Address), http.StatusOK)
	}))
	mux.HandleFunc("POST /v1/ha/remove", s.authorized(func(w http.ResponseWriter, r *http.Request) {
		m, ok := readMember(w, r)
		if !ok {
			return
		}
		if m.ID == "" {
			httpError(w, http.StatusBadRequest, `"id" is required`)
			return
		}
		s.answer(w, g.Remove(m.ID), http.StatusOK)
	}))
}

func readMember(w http.ResponseWriter, r *http.Request) (member, bool) {
	var m member
	if err := decodeBody(w, r, &m); err != nil {
		httpError(w, http.StatusBadRequest, "body: "+describeBodyError(err))
		return m, false
	}
	return m, true
}

// answer writes ok as {"status":"ok"} with code, ErrBusy as a 503 to try
// again, and other errors as a 500.
func (s *Server) answer(w http.ResponseWriter, err error, code int) {
	switch {
	case err == nil:
		writeJSON(w, code, map[string]string{"status": "ok"})
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, err.Error())
	default:
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}
