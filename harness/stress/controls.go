package main

import (
	"net/http"
	"strings"
)

// controlChannels sends a harmless control header the ways the spoofing
// matrix sends forged ones, without the middleware in the way (route
// /plain/), and returns which ways deliver it to the backend at all, e.g.
// "HTTP/1.1 declared trailer: no". A way that delivers nothing proves
// nothing about the plugin; the report says so.
func controlChannels(s *stack) []string {
	const name = "X-Stress-Control-Probe"
	var out []string
	say := func(way string, a answer) {
		verdict := "no"
		if strings.Contains(a.control, normName(name)+"=sent") {
			verdict = "yes"
		}
		out = append(out, way+": "+verdict)
	}
	addr := s.traefik.EntryAddr
	say("HTTP/1.1 header", sendRaw(addr, rawMessage("GET", "/plain/x?small=1", addr, []string{name + ": sent"}, false, nil)))
	say("HTTP/1.1 underscore header", sendRaw(addr, rawMessage("GET", "/plain/x?small=1", addr, []string{strings.ReplaceAll(name, "-", "_") + ": sent"}, false, nil)))
	say("HTTP/1.1 declared trailer", sendRaw(addr, rawMessage("POST", "/plain/x?small=1", addr, []string{"Trailer: " + name, "Te: trailers"}, true, []string{name + ": sent"})))
	say("HTTP/1.1 undeclared trailer", sendRaw(addr, rawMessage("POST", "/plain/x?small=1", addr, nil, true, []string{name + ": sent"})))
	trailerReq := func(base string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+"/plain/x?small=1", strings.NewReader("hello"))
		req.ContentLength = -1
		req.Trailer = http.Header{name: {"sent"}}
		return req
	}
	tlsClient := newTLSClient()
	say("HTTP/2 (TLS) header", answerOf(tlsClient.Do(get("https://"+s.TLSAddr+"/plain/x?small=1", http.Header{name: {"sent"}}))))
	say("HTTP/2 (TLS) trailer", answerOf(tlsClient.Do(trailerReq("https://"+s.TLSAddr))))
	if h2c := newH2CClient(); h2c != nil {
		say("h2c header", answerOf(h2c.Do(get(s.traefik.URL+"/plain/x?small=1", http.Header{name: {"sent"}}))))
		say("h2c trailer", answerOf(h2c.Do(trailerReq(s.traefik.URL))))
	}
	return out
}
