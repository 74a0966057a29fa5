package authgear

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxWebhookBody bounds an Authgear webhook delivery; real ones are a few KiB.
const maxWebhookBody = 64 << 10

// signatureLength is the length of X-Authgear-Body-Signature: a hex SHA-256.
const signatureLength = 2 * sha256.Size

// webhookEvent is the part of Authgear's event envelope that names the user
// and tells a fresh delivery from a replay: the event's id and timestamp.
type webhookEvent struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Payload webhookPayload `json:"payload"`
	Context webhookContext `json:"context"`
}

// webhookPayload holds payload.user of user events.
type webhookPayload struct {
	User webhookUser `json:"user"`
}

// webhookUser holds payload.user.id.
type webhookUser struct {
	ID string `json:"id"`
}

// webhookContext holds context.user_id and context.timestamp (Unix
// seconds, kept raw: one of another form makes the delivery late, not
// unreadable).
type webhookContext struct {
	UserID    string          `json:"user_id"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// serveWebhook receives an Authgear webhook delivery: it checks the body's
// signature and evicts every cached answer of the user the event names, in
// every middleware instance that serves the same Authgear app, then relays
// it to webhookPeers (unless it is itself a relay) and answers. Any event
// type counts: a needless eviction costs one resolver call, a missed one a
// stale identity. A replay of a delivery accepted within replayWindow
// changes nothing; a late one evicts here only (see admission).
func serveWebhook(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		writeText(rw, http.StatusMethodNotAllowed, "method not allowed: Authgear webhook deliveries are POST")
		return
	}
	// The signature's form first: a post that cannot be a delivery costs no
	// body read.
	signature := req.Header.Get("X-Authgear-Body-Signature")
	if !isHexSignature(signature) {
		refuseWebhook(m, rw)
		return
	}
	if req.ContentLength > maxWebhookBody {
		writeText(rw, http.StatusRequestEntityTooLarge, "webhook body over 64 KiB")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
	if err != nil {
		writeText(rw, http.StatusBadRequest, "cannot read the webhook body")
		return
	}
	if len(body) > maxWebhookBody {
		writeText(rw, http.StatusRequestEntityTooLarge, "webhook body over 64 KiB")
		return
	}
	if !validSignature(m.settings.webhookSecret, body, signature) {
		refuseWebhook(m, rw)
		return
	}
	var event webhookEvent
	if err := json.Unmarshal(body, &event); err != nil {
		m.metrics.deliveriesInvalid.Add(1)
		writeText(rw, http.StatusBadRequest, "webhook body is not a JSON event")
		return
	}
	admission := admitEvent(m.shared.app.host, &event, time.Now())
	if admission == duplicateEvent {
		m.metrics.deliveriesDuplicate.Add(1)
		writeText(rw, http.StatusOK, "ok: duplicate delivery, already handled")
		return
	}
	evicted := evictEventUser(m, &event)
	m.metrics.evictedByWebhook.Add(int64(evicted))
	if admission != admitted {
		answerUnrelayed(m, rw, admission)
		return
	}
	m.metrics.deliveriesOK.Add(1)
	answer := "ok: " + strconv.Itoa(evicted) + " cached answers evicted"
	if len(m.settings.webhookPeers) > 0 && req.Header.Get(relayHeader) == "" {
		ok, tried := relayDelivery(m, req, body)
		m.metrics.relaysOK.Add(int64(ok))
		m.metrics.relaysFailed.Add(int64(tried - ok))
		answer += "; relayed to " + strconv.Itoa(ok) + " of " + strconv.Itoa(tried) + " peers"
	}
	writeText(rw, http.StatusOK, answer)
}

// evictEventUser evicts the cached answers of the user the event names
// (context.user_id, else payload.user.id) from every cache of the app in
// this Traefik, and returns how many there were.
func evictEventUser(m *Middleware, event *webhookEvent) int {
	userID := event.Context.UserID
	if userID == "" {
		userID = event.Payload.User.ID
	}
	evicted := 0
	if userID != "" {
		for _, c := range cachesOfApp(m.shared.app.host) {
			evicted += c.evictUser(userID)
		}
	}
	return evicted
}

// answerUnrelayed answers a delivery that was evicted locally but that a
// replay could not be told from (late, or the memory of ids full): 200, so
// that Authgear does not retry it, without relaying it and without the
// count of evicted answers, which would tell a replayer what the user had.
func answerUnrelayed(m *Middleware, rw http.ResponseWriter, a admission) {
	if a == unrememberedEvent {
		m.metrics.deliveriesUnremembered.Add(1)
		writeText(rw, http.StatusOK, "ok: evicted locally; not relayed: too many recent deliveries to recognise a replay of this one")
		return
	}
	m.metrics.deliveriesLate.Add(1)
	writeText(rw, http.StatusOK, "ok: evicted locally; not relayed: no event id, or context.timestamp missing or outside the replay window")
}

// refuseWebhook answers a post without a valid signature.
func refuseWebhook(m *Middleware, rw http.ResponseWriter) {
	m.metrics.deliveriesRefused.Add(1)
	m.shared.logWebhook("webhook delivery with a missing or wrong X-Authgear-Body-Signature refused: check webhookSecret")
	writeText(rw, http.StatusUnauthorized, "invalid webhook signature")
}

// isHexSignature reports whether s has the form of a signature: 64
// lowercase hex digits.
func isHexSignature(s string) bool {
	if len(s) != signatureLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validSignature reports whether signature is the lowercase hex HMAC-SHA256
// of body under secret, compared in constant time.
func validSignature(secret, body []byte, signature string) bool {
	mac := hmac.New(sha256.New, secret)
	_, _ = mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(expected), []byte(signature)) == 1
}
