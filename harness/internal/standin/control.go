package standin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxUsersBody bounds a POST /_standin/users body.
const maxUsersBody = 4 << 20

// serveControl answers the control endpoints, which are never counted as
// calls and never subject to faults:
//
//	GET  /_standin/calls   {"calls":N}
//	POST /_standin/reset   resets the count, answers {"calls":0}
//	GET  /_standin/fault   the fault in force
//	POST /_standin/fault   ?latency=20ms&status=500&mode=hang; no query clears it
//	GET  /_standin/users   the user table
//	POST /_standin/users   a JSON array of users replaces the table
func (r *Resolver) serveControl(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case ControlPrefix + "calls":
		if allow(w, req, http.MethodGet) {
			writeJSON(w, http.StatusOK, map[string]int64{"calls": r.Calls()})
		}
	case ControlPrefix + "reset":
		if allow(w, req, http.MethodPost) {
			r.ResetCalls()
			writeJSON(w, http.StatusOK, map[string]int64{"calls": 0})
		}
	case ControlPrefix + "fault":
		if req.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, faultJSON(r.CurrentFault()))
			return
		}
		if !allow(w, req, http.MethodPost) {
			return
		}
		f, err := parseFault(req.URL.Query())
		if err != nil {
			http.Error(w, "standin: fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.SetFault(f)
		writeJSON(w, http.StatusOK, faultJSON(f))
	case ControlPrefix + "users":
		if req.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, r.Users())
			return
		}
		if allow(w, req, http.MethodPost) {
			r.postUsers(w, req)
		}
	default:
		http.Error(w, "standin: unknown control endpoint: use /_standin/calls, reset, fault or users", http.StatusNotFound)
	}
}

func (r *Resolver) postUsers(w http.ResponseWriter, req *http.Request) {
	var users []User
	dec := json.NewDecoder(io.LimitReader(req.Body, maxUsersBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&users); err != nil {
		http.Error(w, "standin: users: want a JSON array of users: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := validateUsers(users); err != nil {
		http.Error(w, "standin: users: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.SetUsers(users)
	writeJSON(w, http.StatusOK, map[string]int{"users": len(users)})
}

// allow answers 405 and returns false unless req uses method.
func allow(w http.ResponseWriter, req *http.Request, method string) bool {
	if req.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	http.Error(w, fmt.Sprintf("standin: %s wants %s", req.URL.Path, method), http.StatusMethodNotAllowed)
	return false
}

type faultView struct {
	Latency string `json:"latency"`
	Status  int    `json:"status"`
	Mode    string `json:"mode"`
}

func faultJSON(f Fault) faultView {
	return faultView{Latency: f.Latency.String(), Status: f.Status, Mode: f.Mode}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "standin: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(hdrNosniff, valNosniff)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
