package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// serveControl answers the control endpoints, which are never counted as
// calls and never subject to faults:
//
//	GET  /_standin/calls   {"calls":N}
//	GET  /_standin/fault   the fault in force
//	POST /_standin/fault   ?latency=20ms&status=500&mode=hang; no query clears it
func (r *Resolver) serveControl(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case ControlPrefix + "calls":
		if allow(w, req, http.MethodGet) {
			writeJSON(w, map[string]int64{"calls": r.Calls()})
		}
	case ControlPrefix + "fault":
		f, err := parseFault(req.URL.Query())
		switch {
		case req.Method == http.MethodGet:
			writeJSON(w, faultJSON(r.CurrentFault()))
		case !allow(w, req, http.MethodPost):
		case err != nil:
			http.Error(w, "standin: fault: "+err.Error(), http.StatusBadRequest)
		default:
			r.SetFault(f)
			writeJSON(w, faultJSON(f))
		}
	default:
		http.Error(w, "standin: unknown control endpoint: use /_standin/calls or fault", http.StatusNotFound)
	}
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

// faultJSON is f as GET and POST /_standin/fault answer it.
func faultJSON(f Fault) map[string]any {
	return map[string]any{"latency": f.Latency.String(), "status": f.Status, "mode": f.Mode}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(hdrNosniff, valNosniff)
	_ = json.NewEncoder(w).Encode(v) // maps of strings and numbers always encode
}
